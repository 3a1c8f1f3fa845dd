// HTTPS client against a real TLS server (Node, tests/lender/receiver.mjs) on 127.0.0.1 with an
// ephemeral port and certificates generated at test time. Each fault is its own test case.
#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lender/lender_fixture.h"
#include "net/https_client.h"

using namespace veridge;
using namespace veridge::net;
using namespace veridge::testing;
using Ms = std::chrono::milliseconds;

namespace {

struct Fixture {
  TempDir dir;
  LenderPki pki;
  NodeReceiver receiver;
  std::string skip;   // node or the npm packages are not installed: the test skips
  std::string error;  // they are, but the lender could not be started: the test fails

  explicit Fixture(const std::string& mode, const std::string& which_cert = "server") {
    skip = NodeMissingReason();
    if (!skip.empty()) return;
    if (!MakeLenderPki(dir / "pki", &pki)) { error = "openssl could not generate the test PKI"; return; }
    NodeReceiver::Config c;
    c.cert = which_cert == "wrongname" ? pki.wrongname_cert() : which_cert == "expired" ? pki.expired_cert() : pki.server_cert();
    c.key = pki.server_key();
    c.log = dir / "receiver.log";
    c.mode = mode;
    error = receiver.Start(c);
  }
  HttpsClientOptions Options() const {
    HttpsClientOptions o;
    o.tls.ca_file = pki.ca();
    o.connect_timeout = Ms(2000);
    o.handshake_timeout = Ms(2000);
    o.total_timeout = Ms(5000);
    return o;
  }
  HttpRequest Post(const std::string& host = "127.0.0.1") const {
    HttpRequest r;
    r.url = receiver.url(host);
    r.headers = {{"content-type", "application/json"}};
    r.body = R"({"hello":"lender"})";
    return r;
  }
};

#define SKIP_IF_NO_LENDER(f)                      \
  if (!(f).skip.empty()) VERIDGE_SKIP((f).skip); \
  INFO((f).error);                               \
  REQUIRE((f).error.empty())

}  // namespace

TEST_CASE("POST over verified TLS succeeds and keeps the connection alive") {
  Fixture f("accept");
  SKIP_IF_NO_LENDER(f);
  auto client = HttpsClient::Create(f.Options());
  REQUIRE(client.ok());
  auto r1 = (*client)->Send(f.Post());
  REQUIRE(r1.ok());
  CHECK(r1->status == 204);
  CHECK_FALSE(r1->reused_connection);
  auto r2 = (*client)->Send(f.Post());
  REQUIRE(r2.ok());
  CHECK(r2->status == 204);
  CHECK(r2->reused_connection);
  // By DNS name too (SNI + hostname check against DNS:localhost); a new host means a new connection.
  auto r3 = (*client)->Send(f.Post("localhost"));
  REQUIRE(r3.ok());
  CHECK_FALSE(r3->reused_connection);
  CHECK(f.receiver.Log().size() == 3);
}

TEST_CASE("A server restart between requests is survived by reconnecting once") {
  Fixture f("accept");
  SKIP_IF_NO_LENDER(f);
  auto client = HttpsClient::Create(f.Options());
  REQUIRE(client.ok());
  REQUIRE((*client)->Send(f.Post()).ok());
  // Kill the server: the kept-alive connection is now dead; a fresh server on another port.
  f.receiver.Stop();
  auto dead = (*client)->Send(f.Post());
  REQUIRE_FALSE(dead.ok());
  CHECK(dead.status().code() == "connection_refused");
}

TEST_CASE("Lender down: connection refused") {
  // A port that was just free: bind, learn the port, close, connect.
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  socklen_t len = sizeof a;
  ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  int port = ntohs(a.sin_port);
  ::close(s);
  TempDir dir;
  LenderPki pki;
  REQUIRE(MakeLenderPki(dir / "pki", &pki));
  HttpsClientOptions o;
  o.tls.ca_file = pki.ca();
  auto client = HttpsClient::Create(o);
  REQUIRE(client.ok());
  HttpRequest r;
  r.url = "https://127.0.0.1:" + std::to_string(port) + "/hook";
  auto res = (*client)->Send(r);
  REQUIRE_FALSE(res.ok());
  CHECK(res.status().code() == "connection_refused");
  CHECK(res.status().kind() == Status::Kind::kUnavailable);
}

TEST_CASE("TLS name mismatch is refused") {
  Fixture f("accept", "wrongname");
  SKIP_IF_NO_LENDER(f);
  auto client = HttpsClient::Create(f.Options());
  REQUIRE(client.ok());
  auto res = (*client)->Send(f.Post());
  REQUIRE_FALSE(res.ok());
  CHECK(res.status().code() == "tls_name_mismatch");
  auto by_name = (*client)->Send(f.Post("localhost"));
  REQUIRE_FALSE(by_name.ok());
  CHECK(by_name.status().code() == "tls_name_mismatch");
  CHECK(f.receiver.Log().empty());  // nothing reached the application
}

TEST_CASE("An expired lender certificate is refused") {
  Fixture f("accept", "expired");
  SKIP_IF_NO_LENDER(f);
  auto client = HttpsClient::Create(f.Options());
  REQUIRE(client.ok());
  auto res = (*client)->Send(f.Post());
  REQUIRE_FALSE(res.ok());
  CHECK(res.status().code() == "tls_certificate_expired");
}

TEST_CASE("A lender that speaks only TLS 1.0 or 1.1 is refused with tls_protocol_too_old") {
  Fixture f("tls1.1");
  SKIP_IF_NO_LENDER(f);
  // Control: the server does complete a TLS 1.1 handshake with a client that allows it, so the
  // refusal below is the client's protocol floor and nothing else (certificate, cipher, name).
  std::string out;
  const std::string probe = "openssl s_client -connect 127.0.0.1:" + std::to_string(f.receiver.port()) +
                            " -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0' </dev/null 2>&1";
  if (FILE* p = ::popen(probe.c_str(), "r")) {
    char buf[512];
    while (fgets(buf, sizeof buf, p)) out += buf;
    ::pclose(p);
  }
  INFO(out);
  REQUIRE(out.find("Protocol  : TLSv1.1") != std::string::npos);

  auto client = HttpsClient::Create(f.Options());
  REQUIRE(client.ok());
  auto res = (*client)->Send(f.Post());
  REQUIRE_FALSE(res.ok());
  CHECK(res.status().code() == "tls_protocol_too_old");
  CHECK(res.status().message().find("TLS 1.2") != std::string::npos);
  CHECK(f.receiver.Log().empty());  // no request was sent over the old protocol
}

TEST_CASE("A redirect from the lender is returned as a 3xx, never followed") {
  Fixture f("redirect");
  SKIP_IF_NO_LENDER(f);
  auto client = HttpsClient::Create(f.Options());
  REQUIRE(client.ok());
  auto res = (*client)->Send(f.Post());
  REQUIRE(res.ok());
  CHECK(res->status == 307);
  REQUIRE(res->Header("location").has_value());
  CHECK(res->Header("location")->find("/elsewhere") != std::string::npos);
  // One request reached the server, to the configured path; none went to the Location.
  for (int i = 0; i < 50 && f.receiver.Log().empty(); ++i) ::usleep(20000);
  ::usleep(200000);  // a follow-up request, if one were made, would be logged by now
  auto log = f.receiver.Log();
  REQUIRE(log.size() == 1);
  CHECK(log[0]["reason"] == "redirect_sent");
  CHECK(log[0]["path"] == "/hooks/veridge");
}

TEST_CASE("A server not signed by [lender].ca_file is refused") {
  Fixture f("accept");
  SKIP_IF_NO_LENDER(f);
  auto o = f.Options();
  o.tls.ca_file = f.pki.other_ca();
  auto client = HttpsClient::Create(o);
  REQUIRE(client.ok());
  auto res = (*client)->Send(f.Post());
  REQUIRE_FALSE(res.ok());
  CHECK(res.status().code() == "tls_certificate_untrusted");
}

TEST_CASE("SPKI pin: the right pin passes, another is refused") {
  Fixture f("accept");
  SKIP_IF_NO_LENDER(f);
  auto o = f.Options();
  o.tls.spki_pin = SpkiPinOf(f.pki.server_cert());
  REQUIRE(o.tls.spki_pin.size() == 7 + 44);
  auto good = HttpsClient::Create(o);
  REQUIRE(good.ok());
  auto ok = (*good)->Send(f.Post());
  REQUIRE(ok.ok());
  CHECK(ok->status == 204);
  o.tls.spki_pin = SpkiPinOf(f.pki.other_ca());
  auto bad = HttpsClient::Create(o);
  REQUIRE(bad.ok());
  auto res = (*bad)->Send(f.Post());
  REQUIRE_FALSE(res.ok());
  CHECK(res.status().code() == "tls_pin_mismatch");
}

TEST_CASE("A slow response past the total timeout fails in bounded time") {
  Fixture f("slow:5000");
  SKIP_IF_NO_LENDER(f);
  auto o = f.Options();
  o.total_timeout = Ms(700);
  auto client = HttpsClient::Create(o);
  REQUIRE(client.ok());
  auto t0 = std::chrono::steady_clock::now();
  auto res = (*client)->Send(f.Post());
  auto took = std::chrono::steady_clock::now() - t0;
  REQUIRE_FALSE(res.ok());
  CHECK(res.status().code() == "response_timeout");
  CHECK(took >= Ms(600));
  CHECK(took < Ms(2500));
}

TEST_CASE("A huge (1 GiB) response is cut at the body limit, not buffered") {
  Fixture f("huge");
  SKIP_IF_NO_LENDER(f);
  auto o = f.Options();
  o.max_response_body_bytes = 64 * 1024;
  auto client = HttpsClient::Create(o);
  REQUIRE(client.ok());
  auto t0 = std::chrono::steady_clock::now();
  auto res = (*client)->Send(f.Post());
  auto took = std::chrono::steady_clock::now() - t0;
  REQUIRE_FALSE(res.ok());
  CHECK(res.status().code() == "response_too_large");
  CHECK(res.status().message().find("HTTP 200") != std::string::npos);
  CHECK(took < Ms(3000));
  // The server saw the client hang up long before 1 GiB was sent.
  for (int i = 0; i < 50 && f.receiver.Log().empty(); ++i) ::usleep(20000);
  auto log = f.receiver.Log();
  REQUIRE(log.size() == 1);
  CHECK(log[0]["reason"] == "huge_stopped");
  CHECK(log[0]["sent"].get<double>() < 64.0 * 1024 * 1024);
}

TEST_CASE("Configuration errors are reported before any connection") {
  HttpsClientOptions o;
  CHECK(HttpsClient::Create(o).status().code() == "tls_config_invalid");
  o.tls.ca_file = "/nonexistent/ca.pem";
  auto missing = HttpsClient::Create(o);
  CHECK(missing.status().code() == "tls_config_invalid");
  CHECK(missing.status().message().find("/nonexistent/ca.pem") != std::string::npos);
  TempDir dir;
  std::ofstream(dir / "junk.pem") << "not a certificate";
  o.tls.ca_file = dir / "junk.pem";
  CHECK(HttpsClient::Create(o).status().code() == "tls_config_invalid");
}

TEST_CASE("ParseHttpsUrl accepts https URLs only") {
  auto u = ParseHttpsUrl("https://lender.example/hooks/veridge?x=1");
  REQUIRE(u.ok());
  CHECK(u->host == "lender.example");
  CHECK(u->port == "443");
  CHECK(u->target == "/hooks/veridge?x=1");
  auto v6 = ParseHttpsUrl("https://[::1]:8443");
  REQUIRE(v6.ok());
  CHECK(v6->host == "::1");
  CHECK(v6->port == "8443");
  CHECK(v6->target == "/");
  CHECK(ParseHttpsUrl("http://lender.example/").status().code() == "bad_url");
  CHECK(ParseHttpsUrl("https://user:pw@lender.example/").status().code() == "bad_url");
  CHECK(ParseHttpsUrl("https://lender.example:99999/").status().code() == "bad_url");
  CHECK(ParseHttpsUrl("https:///x").status().code() == "bad_url");
}

TEST_CASE("Mutual TLS: the client certificate is presented when configured, and required by the server") {
  auto why = NodeMissingReason();
  if (!why.empty()) VERIDGE_SKIP(why);
  TempDir dir;
  LenderPki pki;
  REQUIRE(MakeLenderPki(dir / "pki", &pki));
  NodeReceiver rx;
  NodeReceiver::Config c;
  c.cert = pki.server_cert();
  c.key = pki.server_key();
  c.log = dir / "rx.log";
  c.mode = "accept";
  c.client_ca = pki.ca();
  REQUIRE(rx.Start(c) == "");
  HttpRequest req;
  req.url = rx.url();
  req.body = "{}";
  HttpsClientOptions o;
  o.tls.ca_file = pki.ca();
  o.total_timeout = Ms(5000);
  auto anonymous = HttpsClient::Create(o);
  REQUIRE(anonymous.ok());
  auto refused = (*anonymous)->Send(req);
  REQUIRE_FALSE(refused.ok());  // the server ends the handshake (TLS 1.3: on the first read)
  CHECK(rx.Log().empty());
  o.tls.client_cert = pki.client_cert();
  o.tls.client_key = pki.client_key();
  auto mtls = HttpsClient::Create(o);
  REQUIRE(mtls.ok());
  auto ok = (*mtls)->Send(req);
  INFO(ok.status().ToString());
  REQUIRE(ok.ok());
  CHECK(ok->status == 204);
  // Half a pair, or a key for another certificate, is a configuration error.
  o.tls.client_key.clear();
  CHECK(HttpsClient::Create(o).status().code() == "tls_config_invalid");
  o.tls.client_key = pki.server_key();
  CHECK(HttpsClient::Create(o).status().code() == "tls_config_invalid");
}
