// The HTTP(S) server: routes, every limit answered with its status, timeouts, TLS, drain. Real
// sockets on 127.0.0.1 with ephemeral ports; TLS with certificates generated at test time.
#include <catch2/catch.hpp>

#include <openssl/ssl.h>
#include <sys/stat.h>

#include <thread>

#include "lender/lender_fixture.h"
#include "net/https_client.h"
#include "net/server.h"
#include "support/raw_http.h"

using namespace veridge;
using namespace veridge::net;
using namespace veridge::testing;
using Ms = std::chrono::milliseconds;

namespace {

std::shared_ptr<Router> TestRouter() {
  auto r = std::make_shared<Router>();
  REQUIRE(r->Add({Method::kGet, "/hello", "says hello", [](const Request&) { return Response::Json(200, R"({"hello":"world"})"); }}).ok());
  REQUIRE(r->Add({Method::kPost, "/echo", "echoes the body", [](const Request& q) { return Response::Json(200, q.body); }, true}).ok());
  REQUIRE(r->Add({Method::kGet, "/items/{id}", "one item",
                  [](const Request& q) { return Response::Json(200, "{\"id\":\"" + q.params.at("id") + "\"}"); }}).ok());
  REQUIRE(r->Add({Method::kGet, "/slow", "answers after 300 ms", [](const Request&) {
                    std::this_thread::sleep_for(Ms(300));
                    return Response::Json(200, "{}");
                  }}).ok());
  REQUIRE(r->Add({Method::kGet, "/throw", "a buggy handler", [](const Request&) -> Response { throw std::runtime_error("secret detail"); }}).ok());
  return r;
}

ListenerOptions Plain() {
  ListenerOptions o;
  o.name = "test";
  o.address = "127.0.0.1";
  o.port = 0;
  o.rate.per_second = 0;  // off unless a test turns it on
  return o;
}

// Counters are updated by the server's handler after the client has seen the effect: poll briefly.
template <typename Pred>
bool Eventually(Pred pred, int timeout_ms = 2000) {
  const auto deadline = std::chrono::steady_clock::now() + Ms(timeout_ms);
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(Ms(10));
  }
  return true;
}

struct Running {
  Server server;
  BoundListener bound;
  explicit Running(const ListenerOptions& o) {
    auto b = server.Listen(o, TestRouter());
    INFO(b.status().ToString());
    REQUIRE(b.ok());
    bound = *b;
    REQUIRE(bound.port != 0);
    server.Start();
  }
  int port() const { return bound.port; }
  ListenerStats stats() { return server.Stats().at(0); }
};

}  // namespace

TEST_CASE("router: state-changing routes must be POST, duplicates and bad patterns are refused") {
  Router r;
  auto h = [](const Request&) { return Response::Json(200, "{}"); };
  CHECK(r.Add({Method::kGet, "/delete", "", h, true}).code() == "route_invalid");
  CHECK(r.Add({Method::kPost, "/delete", "", h, true}).ok());
  CHECK(r.Add({Method::kPost, "/delete", "", h, true}).code() == "route_invalid");
  CHECK(r.Add({Method::kGet, "nope", "", h}).code() == "route_invalid");
  CHECK(r.Add({Method::kGet, "/a//b", "", h}).code() == "route_invalid");
  CHECK(r.Add({Method::kGet, "//", "", h}).code() == "route_invalid");
  CHECK(r.Add({Method::kGet, "/dir/", "", h}).ok());  // a directory index: a trailing '/' is allowed
  CHECK(r.Add({Method::kGet, "/a/{x", "", h}).code() == "route_invalid");
  CHECK(r.Add({Method::kGet, "/x", "", nullptr}).code() == "route_invalid");
  CHECK(r.Help().find("POST /delete") != std::string::npos);
}

TEST_CASE("router: 404, 405 with Allow, and {name} parameters") {
  auto r = TestRouter();
  Request q;
  q.path = "/nowhere";
  CHECK(r->Dispatch(q).status == 404);
  q.path = "/hello";
  q.method = Method::kPost;
  auto res = r->Dispatch(q);
  CHECK(res.status == 405);
  REQUIRE(res.headers.size() == 1);
  CHECK(res.headers[0] == std::make_pair(std::string("Allow"), std::string("GET")));
  q.method = Method::kGet;
  q.path = "/items/abc";
  CHECK(r->Dispatch(q).body == R"({"id":"abc"})");
  q.path = "/items/";
  CHECK(r->Dispatch(q).status == 404);
  q.path = "/items/a/b";
  CHECK(r->Dispatch(q).status == 404);
}

TEST_CASE("router: a pattern ending in a slash matches only that path with its slash") {
  Router r;
  auto h = [](const Request&) { return Response::Json(200, R"({"dir":true})"); };
  REQUIRE(r.Add({Method::kGet, "/dir/", "", h}).ok());
  Request q;
  q.path = "/dir/";
  CHECK(r.Dispatch(q).status == 200);
  q.path = "/dir";
  CHECK(r.Dispatch(q).status == 404);
  q.path = "/dir/x";
  CHECK(r.Dispatch(q).status == 404);
  q.path = "/dir//";
  CHECK(r.Dispatch(q).status == 404);
}

TEST_CASE("rate limiter: burst, refill, Retry-After, per client, bounded table") {
  FakeClock clock;
  RateLimiter lim({/*per_second=*/1.0, /*burst=*/3.0, /*max_clients=*/2}, clock);
  CHECK_FALSE(lim.Acquire("a"));
  CHECK_FALSE(lim.Acquire("a"));
  CHECK_FALSE(lim.Acquire("a"));
  auto wait = lim.Acquire("a");
  REQUIRE(wait);
  CHECK(wait->count() == 1);
  CHECK_FALSE(lim.Acquire("b"));  // another client is not affected
  clock.Advance(std::chrono::seconds(1));
  CHECK_FALSE(lim.Acquire("a"));
  CHECK(lim.Acquire("a"));
  CHECK_FALSE(lim.Acquire("c"));  // a third client: the table stays at its bound
  CHECK(lim.tracked_clients() <= 2);
  RateLimiter slow({0.1, 1.0, 10}, clock);
  CHECK_FALSE(slow.Acquire("a"));
  auto w = slow.Acquire("a");
  REQUIRE(w);
  CHECK(w->count() == 10);
}

TEST_CASE("server: GET and POST over keep-alive, with the safety headers") {
  Running s(Plain());
  RawConn c(s.port());
  REQUIRE(c.ok());
  REQUIRE(c.Send(c.Request("GET", "/hello")));
  auto r1 = c.Read();
  REQUIRE(r1);
  CHECK(r1->status == 200);
  CHECK(r1->body == R"({"hello":"world"})");
  CHECK(r1->header("x-content-type-options") == "nosniff");
  CHECK(r1->header("cache-control") == "no-store");
  REQUIRE(c.Send(c.Request("POST", "/echo", R"({"x":1})")));
  auto r2 = c.Read();
  REQUIRE(r2);
  CHECK(r2->status == 200);
  CHECK(r2->body == R"({"x":1})");
  REQUIRE(c.Send(c.Request("GET", "/echo")));
  auto r3 = c.Read();
  REQUIRE(r3);
  CHECK(r3->status == 405);
  CHECK(r3->header("allow") == "POST");
  REQUIRE(c.Send(c.Request("DELETE", "/hello")));
  auto r4 = c.Read();
  REQUIRE(r4);
  CHECK(r4->status == 405);
  CHECK(Eventually([&] { return s.stats().requests == 4; }));
}

TEST_CASE("server: a handler that throws gets 500 without the exception text") {
  Running s(Plain());
  auto r = RawRequest(s.port(), "GET", "/throw");
  REQUIRE(r);
  CHECK(r->status == 500);
  CHECK(r->body.find("secret") == std::string::npos);
  CHECK(r->body.find("\"internal\"") != std::string::npos);
}

TEST_CASE("server: a body over the limit gets 413 before it is read, then the connection closes") {
  auto o = Plain();
  o.max_body_bytes = 1024;
  Running s(o);
  RawConn c(s.port());
  REQUIRE(c.Send(c.Request("POST", "/echo", std::string(5000, 'x'))));
  auto r = c.Read();
  REQUIRE(r);
  CHECK(r->status == 413);
  CHECK(r->body.find("body_too_large") != std::string::npos);
  CHECK(c.ClosedWithin(3000));
  // Chunked, so no Content-Length says it in advance: refused once the limit is crossed.
  RawConn d(s.port());
  std::string chunked = "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 3; ++i) chunked += "200\r\n" + std::string(512, 'y') + "\r\n";
  chunked += "0\r\n\r\n";
  REQUIRE(d.Send(chunked));
  auto rd = d.Read();
  REQUIRE(rd);
  CHECK(rd->status == 413);
  // At the limit is fine.
  auto ok = RawRequest(s.port(), "POST", "/echo", std::string(1024, 'z'));
  REQUIRE(ok);
  CHECK(ok->status == 200);
  CHECK(Eventually([&] { return s.stats().too_large == 2; }));
}

TEST_CASE("server: headers over the limit get 431") {
  auto o = Plain();
  o.max_header_bytes = 2048;
  Running s(o);
  auto r = RawRequest(s.port(), "GET", "/hello", "", "X-Big: " + std::string(4000, 'h') + "\r\n");
  REQUIRE(r);
  CHECK(r->status == 431);
  auto small = RawRequest(s.port(), "GET", "/hello", "", "X-Small: " + std::string(500, 'h') + "\r\n");
  REQUIRE(small);
  CHECK(small->status == 200);
}

TEST_CASE("server: a malformed request gets 400") {
  Running s(Plain());
  RawConn c(s.port());
  REQUIRE(c.Send("GET /hello HTTP/1.1\r\nBad Header Without Colon\r\n\r\n"));
  auto r = c.Read();
  REQUIRE(r);
  CHECK(r->status == 400);
}

TEST_CASE("server: per-client request rate gets 429 with Retry-After") {
  auto o = Plain();
  o.rate.per_second = 0.5;
  o.rate.burst = 3;
  Running s(o);
  RawConn c(s.port());
  int ok = 0;
  std::optional<RawResponse> limited;
  for (int i = 0; i < 6 && !limited; ++i) {
    REQUIRE(c.Send(c.Request("GET", "/hello")));
    auto r = c.Read();
    REQUIRE(r);
    if (r->status == 200) ++ok;
    else limited = r;
  }
  CHECK(ok == 3);
  REQUIRE(limited);
  CHECK(limited->status == 429);
  CHECK(limited->header("retry-after") == "2");
  // The connection is still usable (the next answer is another 429, not a close).
  REQUIRE(c.Send(c.Request("GET", "/hello")));
  auto again = c.Read();
  REQUIRE(again);
  CHECK(again->status == 429);
  CHECK(Eventually([&] { return s.stats().rate_limited == 2; }));
}

TEST_CASE("server: connections over max_connections are refused and a freed slot is reused") {
  auto o = Plain();
  o.max_connections = 2;
  Running s(o);
  RawConn a(s.port()), b(s.port());
  REQUIRE(a.Send(a.Request("GET", "/hello")));
  REQUIRE(a.Read());
  REQUIRE(b.Send(b.Request("GET", "/hello")));
  REQUIRE(b.Read());
  {
    RawConn c(s.port());
    REQUIRE(c.ok());  // the kernel accepts; the server then answers 503 and closes
    c.Send(c.Request("GET", "/hello"));
    auto r = c.Read(3000);
    if (r) CHECK(r->status == 503);
    CHECK(c.ClosedWithin(3000));
  }
  CHECK(Eventually([&] { return s.stats().rejected_connections == 1; }));
  a.Close();
  // The server notices the close; within a bounded time a new connection is served.
  bool served = false;
  for (int i = 0; i < 20 && !served; ++i) {
    std::this_thread::sleep_for(Ms(100));
    auto r = RawRequest(s.port(), "GET", "/hello");
    served = r && r->status == 200;
  }
  CHECK(served);
}

TEST_CASE("server: a slow-header client is cut off at the header timeout") {
  auto o = Plain();
  o.header_timeout = Ms(500);
  o.idle_timeout = Ms(5000);
  Running s(o);
  RawConn c(s.port());
  REQUIRE(c.Send("GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\n"));
  const auto start = std::chrono::steady_clock::now();
  bool closed = false;
  // Trickle one header byte every 100 ms (each byte would reset a per-read timeout).
  for (int i = 0; i < 40 && !closed; ++i) {
    if (!c.Send("X")) closed = true;
    else closed = c.ClosedWithin(100);
  }
  const auto took = std::chrono::steady_clock::now() - start;
  CHECK(closed);
  CHECK(took < Ms(2500));
  CHECK(Eventually([&] { return s.stats().timeouts >= 1; }));
  CHECK(s.stats().requests == 0);
}

TEST_CASE("server: an idle keep-alive connection is closed at the idle timeout") {
  auto o = Plain();
  o.idle_timeout = Ms(300);
  Running s(o);
  RawConn c(s.port());
  REQUIRE(c.Send(c.Request("GET", "/hello")));
  REQUIRE(c.Read());
  const auto start = std::chrono::steady_clock::now();
  CHECK(c.ClosedWithin(3000));
  CHECK(std::chrono::steady_clock::now() - start < Ms(2000));
}

TEST_CASE("server: the kiosk listener refuses a non-loopback address, and a port in use fails Listen") {
  Server server;
  auto o = Plain();
  o.loopback_only = true;
  o.address = "0.0.0.0";
  CHECK(server.Listen(o, TestRouter()).status().code() == "listen_address_invalid");
  o.address = "localhost";
  CHECK(server.Listen(o, TestRouter()).status().code() == "listen_address_invalid");
  o.address = "127.0.0.1";
  auto first = server.Listen(o, TestRouter());
  REQUIRE(first.ok());
  Server other;
  o.port = first->port;
  CHECK(other.Listen(o, TestRouter()).status().code() == "listen_failed");
}

TEST_CASE("server: shutdown closes idle connections, finishes in-flight requests, then stops") {
  auto s = std::make_unique<Running>(Plain());
  RawConn idle(s->port());
  REQUIRE(idle.Send(idle.Request("GET", "/hello")));
  REQUIRE(idle.Read());
  RawConn busy(s->port());
  REQUIRE(busy.Send(busy.Request("GET", "/slow")));
  std::this_thread::sleep_for(Ms(100));  // the handler is running
  bool clean = false;
  std::thread stopper([&] { clean = s->server.Shutdown(Ms(3000)); });
  auto r = busy.Read(3000);
  stopper.join();
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->header("connection") == "close");
  CHECK(clean);
  CHECK(idle.ClosedWithin(1000));
  RawConn late(s->port());
  CHECK_FALSE((late.ok() && late.Send(late.Request("GET", "/hello")) && late.Read(500)));
}

namespace {

struct TlsFixture {
  TempDir dir;
  LenderPki pki;
  bool made = false;
  TlsFixture() { made = MakeLenderPki(dir / "pki", &pki); }
  ListenerOptions Options() const {
    auto o = Plain();
    o.name = "api";
    o.tls = pki::ServerTlsOptions{pki.server_cert(), pki.server_key()};
    return o;
  }
  Result<HttpResponse> Get(int port, const std::string& path) const {
    HttpsClientOptions co;
    co.tls.ca_file = pki.ca();
    co.connect_timeout = co.handshake_timeout = Ms(3000);
    co.total_timeout = Ms(5000);
    auto client = HttpsClient::Create(co);
    if (!client.ok()) return client.status();
    HttpRequest req;
    req.method = "GET";
    req.url = "https://127.0.0.1:" + std::to_string(port) + path;
    return (*client)->Send(req);
  }
};

// Handshakes with the given protocol bounds; true when the server accepted.
bool HandshakeWith(int port, int min_version, int max_version) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_security_level(ctx, 0);  // let the client offer old versions; the server must refuse
  SSL_CTX_set_min_proto_version(ctx, min_version);
  SSL_CTX_set_max_proto_version(ctx, max_version);
  SSL* ssl = SSL_new(ctx);
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = false;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    timeval tv{3, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    SSL_set_fd(ssl, fd);
    ok = SSL_connect(ssl) == 1;
  }
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  ::close(fd);
  return ok;
}

}  // namespace

TEST_CASE("server TLS: verified HTTPS with the configured certificate, and old TLS versions refused") {
  TlsFixture f;
  REQUIRE(f.made);
  Running s(f.Options());
  CHECK(s.bound.tls);
  auto r = f.Get(s.port(), "/hello");
  INFO(r.status().ToString());
  REQUIRE(r.ok());
  CHECK(r->status == 200);
  CHECK(r->body == R"({"hello":"world"})");
  CHECK(HandshakeWith(s.port(), TLS1_2_VERSION, TLS1_2_VERSION));
  CHECK(HandshakeWith(s.port(), TLS1_3_VERSION, TLS1_3_VERSION));
  CHECK_FALSE(HandshakeWith(s.port(), TLS1_VERSION, TLS1_1_VERSION));
  CHECK(Eventually([&] { return s.stats().tls_failures >= 1; }));
}

TEST_CASE("server TLS: limits apply over TLS too (413)") {
  TlsFixture f;
  REQUIRE(f.made);
  auto o = f.Options();
  o.max_body_bytes = 100;
  Running s(o);
  HttpsClientOptions co;
  co.tls.ca_file = f.pki.ca();
  auto client = HttpsClient::Create(co);
  REQUIRE(client.ok());
  HttpRequest req;
  req.url = "https://127.0.0.1:" + std::to_string(s.port()) + "/echo";
  req.body = std::string(1000, 'x');
  auto r = (*client)->Send(req);
  INFO(r.status().ToString());
  REQUIRE(r.ok());
  CHECK(r->status == 413);
}

TEST_CASE("server TLS: a key file readable by others, or a key that does not match, fails Listen") {
  TlsFixture f;
  REQUIRE(f.made);
  Server server;
  ::chmod(f.pki.server_key().c_str(), 0644);
  auto r = server.Listen(f.Options(), TestRouter());
  CHECK(r.status().code() == "tls_config_invalid");
  CHECK(r.status().message().find("BEGIN") == std::string::npos);
  ::chmod(f.pki.server_key().c_str(), 0600);
  auto o = f.Options();
  o.tls->key_file = f.pki.client_key();
  CHECK(server.Listen(o, TestRouter()).status().code() == "tls_config_invalid");
  o.tls->cert_chain = f.dir / "missing.pem";
  CHECK(server.Listen(o, TestRouter()).status().code() == "tls_config_invalid");
}

TEST_CASE("server: 100 concurrent clients are all answered") {
  auto o = Plain();
  o.max_connections = 128;
  Running s(o);
  constexpr int kClients = 100;
  std::vector<std::unique_ptr<RawConn>> conns;
  // All connections are open at once before any request is sent, so they are truly concurrent.
  for (int i = 0; i < kClients; ++i) {
    conns.push_back(std::make_unique<RawConn>(s.port()));
    REQUIRE(conns.back()->ok());
  }
  std::vector<std::thread> threads;
  std::atomic<int> answered{0};
  for (int i = 0; i < kClients; ++i)
    threads.emplace_back([&, i] {
      auto& c = *conns[static_cast<std::size_t>(i)];
      if (!c.Send(c.Request("GET", "/items/" + std::to_string(i)))) return;
      auto r = c.Read(10000);
      if (r && r->status == 200 && r->body == "{\"id\":\"" + std::to_string(i) + "\"}") ++answered;
    });
  for (auto& t : threads) t.join();
  CHECK(answered == kClients);
  CHECK(s.stats().rejected_connections == 0);
}

namespace {

// A streamed body for the tests: chunk n is "part-<n>;" (padded to `pad` bytes) up to `limit`
// chunks, then the end; `hold` keeps each Deliver until Cancel (a stream with nothing to say).
class TestStream final : public BodyStream {
 public:
  TestStream(int limit, std::size_t pad, bool hold) : limit_(limit), pad_(pad), hold_(hold) {}
  void Pull(Deliver deliver) override {
    const int n = ++pulls;
    if (hold_) {
      std::lock_guard<std::mutex> lock(mu_);
      held_ = std::move(deliver);
      return;
    }
    if (n > limit_) return deliver(nullptr);
    std::string chunk = "part-" + std::to_string(n) + ";";
    if (chunk.size() < pad_) chunk.resize(pad_, '.');
    deliver(std::make_shared<const std::string>(std::move(chunk)));
  }
  void Cancel() override {
    cancelled = true;
    std::lock_guard<std::mutex> lock(mu_);
    held_ = nullptr;
  }
  std::atomic<int> pulls{0};
  std::atomic<bool> cancelled{false};

 private:
  int limit_;
  std::size_t pad_;
  bool hold_;
  std::mutex mu_;
  Deliver held_;
};

struct StreamingServer {
  Server server;
  int port = 0;
  std::mutex mu;
  std::shared_ptr<TestStream> last;
  StreamingServer(const ListenerOptions& o, int limit, std::size_t pad, bool hold) {
    auto r = TestRouter();
    REQUIRE(r->Add({Method::kGet, "/stream", "a streamed body", [this, limit, pad, hold](const Request&) {
                      auto s = std::make_shared<TestStream>(limit, pad, hold);
                      std::lock_guard<std::mutex> lock(mu);
                      last = s;
                      return Response::Streamed("text/plain", s);
                    }}).ok());
    auto b = server.Listen(o, r);
    REQUIRE(b.ok());
    port = b->port;
    server.Start();
  }
  std::shared_ptr<TestStream> stream() {
    std::lock_guard<std::mutex> lock(mu);
    return last;
  }
};

}  // namespace

TEST_CASE("server streaming: a streamed body is written chunk by chunk with no length, then the connection closes") {
  StreamingServer s(Plain(), 5, 0, false);
  RawConn c(s.port);
  REQUIRE(c.Send(c.Request("GET", "/stream")));
  auto r = c.Read(5000);  // no Content-Length: read to the close
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->header("content-type") == "text/plain");
  CHECK(r->header("content-length").empty());
  CHECK(r->header("cache-control") == "no-store");
  CHECK(r->header("connection") == "close");
  CHECK(r->body == "part-1;part-2;part-3;part-4;part-5;");
  CHECK(s.stream()->pulls == 6);
  // The server is still fine for ordinary requests.
  auto h = RawRequest(s.port, "GET", "/hello");
  REQUIRE(h);
  CHECK(h->status == 200);
}

TEST_CASE("server streaming: a client that stops reading is cut at the write timeout and the stream is cancelled") {
  auto o = Plain();
  o.write_timeout = Ms(300);
  StreamingServer s(o, 1000000, 256 * 1024, false);
  RawConn c(s.port);
  REQUIRE(c.Send(c.Request("GET", "/stream")));
  // Never read: the socket buffers fill, the next chunk write times out.
  REQUIRE(Eventually([&] { return s.stream() && s.stream()->cancelled.load(); }, 5000));
  const int pulls = s.stream()->pulls;
  CHECK(pulls < 200);  // bounded by the socket buffers: one chunk in flight, never a queue
  CHECK(Eventually([&] { return s.server.Stats().at(0).timeouts >= 1; }));
  CHECK(Eventually([&] { return s.server.Stats().at(0).open_connections == 0; }));
}

TEST_CASE("server streaming: a client that goes away cancels the stream, and shutdown closes a waiting stream at once") {
  SECTION("client goes away") {
    StreamingServer s(Plain(), 1000000, 1024, false);
    {
      RawConn c(s.port);
      REQUIRE(c.Send(c.Request("GET", "/stream")));
      REQUIRE(c.ReadUntilCount("part-", 3, 5000));
    }
    CHECK(Eventually([&] { return s.stream()->cancelled.load(); }, 3000));
    CHECK(Eventually([&] { return s.server.Stats().at(0).open_connections == 0; }));
  }
  SECTION("shutdown") {
    StreamingServer s(Plain(), 0, 0, /*hold=*/true);
    RawConn c(s.port);
    REQUIRE(c.Send(c.Request("GET", "/stream")));
    REQUIRE(Eventually([&] { return s.stream() && s.stream()->pulls == 1; }));
    const auto t0 = std::chrono::steady_clock::now();
    CHECK(s.server.Shutdown(Ms(5000)));  // closed as idle, not aborted at the deadline
    CHECK(std::chrono::steady_clock::now() - t0 < Ms(1000));
    CHECK(s.stream()->cancelled);
    CHECK(c.ClosedWithin(1000));
  }
}
