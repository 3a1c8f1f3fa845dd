// The HTTP/1.1 server: Beast over Asio, one strand per connection, completion handlers bound to
// shared_from_this() (do_x / on_x pairs), one Session class template for plain and TLS streams.
// Vendor errors (asio/beast error_code, OpenSSL) are translated here; nothing Beast leaves this file.
#include "net/server.h"

#include <openssl/ssl.h>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <array>
#include <condition_variable>
#include <exception>
#include <future>
#include <list>
#include <optional>
#include <thread>
#include <type_traits>

#include "common/log.h"

namespace veridge::net {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

namespace {

// What a connection needs to close on request (drain, abort), type-erased over plain/TLS.
class Connection {
 public:
  virtual ~Connection() = default;
  virtual void Abort() = 0;        // close the socket now (posted onto the connection's strand)
  virtual void CloseIfIdle() = 0;  // close it if it is waiting for the next request
};

// Every live connection of the server, for Shutdown. Weak references: a connection's lifetime is
// owned by its pending handlers, never by this list.
class Registry {
 public:
  std::uint64_t Add(std::weak_ptr<Connection> c) {
    std::lock_guard<std::mutex> lock(mu_);
    const auto id = ++next_;
    live_.emplace(id, std::move(c));
    return id;
  }
  void Remove(std::uint64_t id) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      live_.erase(id);
    }
    cv_.notify_all();
  }
  std::vector<std::shared_ptr<Connection>> Snapshot() {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<std::shared_ptr<Connection>> out;
    for (auto& [id, w] : live_)
      if (auto c = w.lock()) out.push_back(std::move(c));
    return out;
  }
  // Waits until no connection is left or the deadline passes; true when none is left.
  bool WaitEmpty(std::chrono::steady_clock::time_point deadline) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_until(lock, deadline, [&] { return live_.empty(); });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::uint64_t next_ = 0;
  std::unordered_map<std::uint64_t, std::weak_ptr<Connection>> live_;
};

struct Counters {
  std::atomic<std::int64_t> open{0}, accepted{0}, rejected{0}, requests{0}, rate_limited{0}, too_large{0}, timeouts{0},
      tls_failures{0}, server_errors{0};
};

// Shared by a listener and its connections; outlives both (held by shared_ptr).
struct ListenerState {
  ListenerOptions opts;
  std::shared_ptr<const Router> router;
  std::unique_ptr<RateLimiter> limiter;
  std::unique_ptr<ssl::context> tls;  // null for plain HTTP
  Counters counters;
  std::shared_ptr<Registry> registry;
  std::shared_ptr<std::atomic<bool>> draining;
};

// Translates a handler's Response into a Beast message with the headers every answer carries.
http::response<http::string_body> ToBeast(const Response& r, unsigned version, bool keep_alive) {
  http::response<http::string_body> res{static_cast<http::status>(r.status), version};
  res.set(http::field::content_type, r.content_type);
  res.set(http::field::cache_control, "no-store");
  res.set("X-Content-Type-Options", "nosniff");
  for (const auto& [k, v] : r.headers) res.set(k, v);
  res.body() = r.body;
  res.keep_alive(keep_alive);
  res.prepare_payload();
  return res;
}

template <bool kTls>
class Session final : public Connection, public std::enable_shared_from_this<Session<kTls>> {
  using Stream = std::conditional_t<kTls, beast::ssl_stream<beast::tcp_stream>, beast::tcp_stream>;

 public:
  Session(tcp::socket&& socket, std::shared_ptr<ListenerState> state)
      : state_(std::move(state)),
        stream_(MakeStream(std::move(socket), *state_)) {
    error_code ec;
    auto ep = beast::get_lowest_layer(stream_).socket().remote_endpoint(ec);
    remote_ = ec ? std::string("unknown") : ep.address().to_string();
    ++state_->counters.open;
  }

  ~Session() override {
    --state_->counters.open;
    if (id_) state_->registry->Remove(id_);
  }

  void Run() {
    id_ = state_->registry->Add(this->weak_from_this());
    // The socket was accepted onto this connection's strand; run the first step there too.
    asio::dispatch(stream_.get_executor(), beast::bind_front_handler(&Session::OnRun, this->shared_from_this()));
  }

  void Abort() override {
    asio::post(stream_.get_executor(), [self = this->shared_from_this()] { self->CloseSocket(); });
  }

  void CloseIfIdle() override {
    asio::post(stream_.get_executor(), [self = this->shared_from_this()] {
      if (self->idle_ || self->body_stream_) self->CloseSocket();
    });
  }

 private:
  static Stream MakeStream(tcp::socket&& socket, ListenerState& st) {
    if constexpr (kTls) return Stream(std::move(socket), *st.tls);
    else return Stream(std::move(socket));
  }

  beast::tcp_stream& Lowest() { return beast::get_lowest_layer(stream_); }

  void CloseSocket() {
    idle_ = false;
    if (auto body = std::move(body_stream_)) body->Cancel();  // it drops the Deliver that holds us
    error_code ec;
    Lowest().socket().shutdown(tcp::socket::shutdown_both, ec);
    Lowest().socket().close(ec);
  }

  void OnRun() {
    if constexpr (kTls) {
      Lowest().expires_after(state_->opts.handshake_timeout);
      stream_.async_handshake(ssl::stream_base::server,
                              beast::bind_front_handler(&Session::OnHandshake, this->shared_from_this()));
    } else {
      DoRead();
    }
  }

  void OnHandshake(error_code ec) {
    if (ec) {
      ++state_->counters.tls_failures;
      if (ec == beast::error::timeout) ++state_->counters.timeouts;
      spdlog::debug("{}: TLS handshake with {} failed: {}", state_->opts.name, remote_, ec.message());
      return CloseSocket();
    }
    DoRead();
  }

  // Waits for the first bytes of the next request under the idle timeout, then reads the rest
  // under the header timeout. The first bytes are read through the stream (not by waiting for the
  // socket to become readable): over TLS the request may already sit decrypted or buffered in the
  // TLS engine, read along with the handshake or the previous request.
  void DoRead() {
    if (state_->draining->load() || served_ >= state_->opts.max_requests_per_connection) return DoClose();
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(state_->opts.max_header_bytes));
    parser_->body_limit(state_->opts.max_body_bytes);
    if (buffer_.size() > 0) return DoReadHeader();  // pipelined: the next request is here already
    idle_ = true;
    Lowest().expires_after(state_->opts.idle_timeout);
    stream_.async_read_some(buffer_.prepare(kFirstRead), beast::bind_front_handler(&Session::OnFirstBytes, this->shared_from_this()));
  }

  void OnFirstBytes(error_code ec, std::size_t n) {
    idle_ = false;
    buffer_.commit(n);
    if (ec == beast::error::timeout) {
      ++state_->counters.timeouts;
      spdlog::debug("{}: closing idle connection from {}", state_->opts.name, remote_);
      return CloseSocket();
    }
    if (ec) return CloseSocket();  // closed by the client, by drain or by abort
    DoReadHeader();
  }

  void DoReadHeader() {
    Lowest().expires_after(state_->opts.header_timeout);
    http::async_read_header(stream_, buffer_, *parser_,
                            beast::bind_front_handler(&Session::OnReadHeader, this->shared_from_this()));
  }

  void OnReadHeader(error_code ec, std::size_t) {
    if (ec) return OnReadError(ec);
    if (parser_->is_done()) return OnReadBody({}, 0);
    auto& req = parser_->get();
    // Clients that ask first (curl does for bodies over 1 KiB) get the go-ahead only after the
    // declared length passed the body limit in the header parse above.
    if (beast::iequals(req[http::field::expect], "100-continue")) {
      auto cont = std::make_shared<http::response<http::empty_body>>(http::status::continue_, req.version());
      Lowest().expires_after(state_->opts.write_timeout);
      http::async_write(stream_, *cont, [self = this->shared_from_this(), cont](error_code wec, std::size_t) {
        if (wec) return self->CloseSocket();
        self->DoReadBody();
      });
      return;
    }
    DoReadBody();
  }

  void DoReadBody() {
    Lowest().expires_after(state_->opts.body_timeout);
    http::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&Session::OnReadBody, this->shared_from_this()));
  }

  void OnReadError(error_code ec) {
    if (ec == http::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset ||
        ec == ssl::error::stream_truncated)
      return CloseSocket();
    if (ec == beast::error::timeout) {
      // tcp_stream has closed the socket already: a slow client gets no answer, only the close.
      ++state_->counters.timeouts;
      spdlog::debug("{}: read from {} timed out", state_->opts.name, remote_);
      return CloseSocket();
    }
    if (ec == asio::error::operation_aborted) return;
    unread_input_ = true;  // the rest of this request is still on its way: close by lingering
    if (ec == http::error::body_limit) {
      ++state_->counters.too_large;
      return Send(Response::Error(413, "body_too_large",
                                  "the request body exceeds " + std::to_string(state_->opts.max_body_bytes) + " bytes"),
                  /*close=*/true);
    }
    if (ec == http::error::header_limit) {
      ++state_->counters.too_large;
      return Send(Response::Error(431, "headers_too_large",
                                  "the request line and headers exceed " + std::to_string(state_->opts.max_header_bytes) + " bytes"),
                  /*close=*/true);
    }
    if (ec.category() == http::make_error_code(http::error::end_of_stream).category())
      return Send(Response::Error(400, "bad_request", "malformed HTTP request"), /*close=*/true);
    spdlog::debug("{}: read from {} failed: {}", state_->opts.name, remote_, ec.message());
    CloseSocket();
  }

  void OnReadBody(error_code ec, std::size_t) {
    if (ec) return OnReadError(ec);
    auto& req = parser_->get();
    ++served_;
    const bool keep_alive = req.keep_alive();
    Response res = Handle(req);
    if (res.stream) return StartStream(std::move(res));
    Send(std::move(res), !keep_alive);
  }

  // A streamed body (BodyStream in server.h): the head, then one chunk at a time, then close.
  void StartStream(Response r) {
    ++state_->counters.requests;
    body_stream_ = std::move(r.stream);
    const unsigned version = parser_ && parser_->is_header_done() ? parser_->get().version() : 11;
    auto head = std::make_shared<http::response<http::empty_body>>(static_cast<http::status>(r.status), version);
    head->set(http::field::content_type, r.content_type);
    head->set(http::field::cache_control, "no-store");
    head->set("X-Content-Type-Options", "nosniff");
    for (const auto& [k, v] : r.headers) head->set(k, v);
    head->keep_alive(false);  // the body ends when the connection does
    Lowest().expires_after(state_->opts.write_timeout);
    http::async_write(stream_, *head, [self = this->shared_from_this(), head](error_code ec, std::size_t) { self->OnChunkWritten(ec); });
  }

  void OnChunkWritten(error_code ec) {
    if (ec) {
      if (ec == beast::error::timeout) ++state_->counters.timeouts;
      return CloseSocket();
    }
    if (!body_stream_ || state_->draining->load()) return CloseSocket();
    Lowest().expires_never();  // waiting for the stream is not the client's time
    body_stream_->Pull([self = this->shared_from_this()](std::shared_ptr<const std::string> chunk) {
      asio::post(self->stream_.get_executor(), [self, chunk = std::move(chunk)]() mutable { self->WriteChunk(std::move(chunk)); });
    });
  }

  void WriteChunk(std::shared_ptr<const std::string> chunk) {
    if (!body_stream_) return;  // closed meanwhile
    if (!chunk) {
      body_stream_.reset();
      return DoClose();
    }
    Lowest().expires_after(state_->opts.write_timeout);
    asio::async_write(stream_, asio::buffer(*chunk),
                      [self = this->shared_from_this(), chunk](error_code ec, std::size_t) { self->OnChunkWritten(ec); });
  }

  Response Handle(http::request<http::string_body>& req) {
    if (auto wait = state_->limiter->Acquire(remote_)) {
      ++state_->counters.rate_limited;
      Response r = Response::Error(429, "rate_limited", "too many requests from this client; retry after the Retry-After seconds");
      r.headers.emplace_back("Retry-After", std::to_string(wait->count()));
      return r;
    }
    Request r;
    if (req.method() == http::verb::get) r.method = Method::kGet;
    else if (req.method() == http::verb::post) r.method = Method::kPost;
    else return Response::Error(405, "method_not_allowed", "only GET and POST are served");
    const std::string target(req.target());
    if (target.empty() || target[0] != '/') return Response::Error(400, "bad_request", "the request target must be a path");
    const auto q = target.find('?');
    r.path = target.substr(0, q);
    if (q != std::string::npos) r.query = target.substr(q + 1);
    for (const auto& f : req) r.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
    r.body = std::move(req.body());
    r.remote_address = remote_;
    try {
      return state_->router->Dispatch(r);
    } catch (const std::exception& e) {
      spdlog::error("{}: handler for {} {} threw: {}", state_->opts.name, ToString(r.method), r.path, e.what());
    } catch (...) {
      spdlog::error("{}: handler for {} {} threw a non-standard exception", state_->opts.name, ToString(r.method), r.path);
    }
    return Response::Error(500, "internal", "internal error");
  }

  void Send(Response r, bool close) {
    ++state_->counters.requests;
    if (r.status >= 500) ++state_->counters.server_errors;
    close = close || state_->draining->load() || served_ >= state_->opts.max_requests_per_connection;
    const unsigned version = parser_ && parser_->is_header_done() ? parser_->get().version() : 11;
    res_.emplace(ToBeast(r, version, !close));
    Lowest().expires_after(state_->opts.write_timeout);
    http::async_write(stream_, *res_, beast::bind_front_handler(&Session::OnWrite, this->shared_from_this(), close));
  }

  void OnWrite(bool close, error_code ec, std::size_t) {
    res_.reset();
    if (ec) {
      if (ec == beast::error::timeout) ++state_->counters.timeouts;
      return CloseSocket();
    }
    if (close) return DoClose();
    DoRead();
  }

  void DoClose() {
    if constexpr (kTls) {
      if (unread_input_) return DoLingerClose();
      Lowest().expires_after(std::chrono::seconds(2));
      stream_.async_shutdown(beast::bind_front_handler(&Session::OnShutdown, this->shared_from_this()));
    } else {
      DoLingerClose();
    }
  }

  // Lingering close: closing with unread input (say, the body of a refused 413 request) makes the
  // kernel send a reset, which can destroy the response before the client reads it. So half-close
  // the TCP connection, then discard what still arrives, bounded in bytes and time. (Over TLS this
  // skips close_notify: the response is complete by its Content-Length.)
  void DoLingerClose() {
    error_code ec;
    Lowest().socket().shutdown(tcp::socket::shutdown_send, ec);
    Lowest().expires_after(std::chrono::seconds(2));
    DoLinger();
  }

  void DoLinger() {
    Lowest().async_read_some(asio::buffer(scratch_), beast::bind_front_handler(&Session::OnLinger, this->shared_from_this()));
  }

  void OnLinger(error_code ec, std::size_t n) {
    lingered_ += n;
    if (ec || lingered_ > kMaxLingerBytes) return CloseSocket();
    DoLinger();
  }

  void OnShutdown(error_code) { CloseSocket(); }

  static constexpr std::size_t kMaxLingerBytes = 1024 * 1024;
  static constexpr std::size_t kFirstRead = 4096;
  std::array<char, 4096> scratch_{};
  std::size_t lingered_ = 0;

  std::shared_ptr<ListenerState> state_;
  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<http::response<http::string_body>> res_;
  std::shared_ptr<BodyStream> body_stream_;  // set while a streamed body is being written
  std::string remote_;
  std::uint64_t id_ = 0;
  int served_ = 0;
  bool idle_ = false;          // waiting for the first byte of the next request
  bool unread_input_ = false;  // answered before the whole request was read
};

// Accepts connections for one address; each new socket gets its own strand.
class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(asio::io_context& ioc, std::shared_ptr<ListenerState> state)
      : ioc_(ioc), acceptor_(asio::make_strand(ioc)), retry_timer_(acceptor_.get_executor()), state_(std::move(state)) {}

  Status Open(const tcp::endpoint& ep) {
    error_code ec;
    const std::string where = ep.address().to_string() + ":" + std::to_string(ep.port());
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return Status::Unavailable("listen_failed", "cannot listen on " + where + " (" + state_->opts.name + "): " + ec.message());
    return Status::Ok();
  }

  std::uint16_t port() const {
    error_code ec;
    auto ep = acceptor_.local_endpoint(ec);
    return ec ? 0 : ep.port();
  }

  void Run() {
    asio::dispatch(acceptor_.get_executor(), beast::bind_front_handler(&Listener::DoAccept, shared_from_this()));
  }

  void Close() {
    asio::post(acceptor_.get_executor(), [self = shared_from_this()] {
      error_code ec;
      self->retry_timer_.cancel();
      self->acceptor_.close(ec);
    });
  }

 private:
  void DoAccept() {
    if (!acceptor_.is_open()) return;
    acceptor_.async_accept(asio::make_strand(ioc_), beast::bind_front_handler(&Listener::OnAccept, shared_from_this()));
  }

  void OnAccept(error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
    if (ec) {
      // Out of descriptors or a transient network error: back off briefly instead of spinning.
      spdlog::warn("{}: accept failed: {}", state_->opts.name, ec.message());
      retry_timer_.expires_after(std::chrono::milliseconds(100));
      retry_timer_.async_wait([self = shared_from_this()](error_code tec) {
        if (!tec) self->DoAccept();
      });
      return;
    }
    ++state_->counters.accepted;
    if (state_->draining->load() || state_->counters.open.load() >= state_->opts.max_connections) {
      ++state_->counters.rejected;
      Reject(socket);
    } else if (state_->tls) {
      std::make_shared<Session<true>>(std::move(socket), state_)->Run();
    } else {
      std::make_shared<Session<false>>(std::move(socket), state_)->Run();
    }
    DoAccept();
  }

  // Over the connection limit: a plain client gets a canned 503 if the socket can take it at once
  // (a fresh socket's send buffer is empty, so it normally can); a TLS client is closed without a
  // handshake — spending CPU on a flood is what the limit prevents.
  void Reject(tcp::socket& socket) {
    error_code ec;
    if (!state_->tls) {
      static const std::string kBusy = [] {
        const std::string body = R"({"error":{"code":"too_many_connections","message":"the server is busy; retry in a second"}})";
        return "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\n"
               "Connection: close\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
      }();
      socket.non_blocking(true, ec);
      if (!ec) socket.write_some(asio::buffer(kBusy), ec);
      socket.shutdown(tcp::socket::shutdown_send, ec);
    }
    socket.close(ec);
  }

  asio::io_context& ioc_;
  tcp::acceptor acceptor_;
  asio::steady_timer retry_timer_;
  std::shared_ptr<ListenerState> state_;
};

}  // namespace

struct Server::Impl {
  ServerOptions opts;
  std::shared_ptr<Registry> registry = std::make_shared<Registry>();
  std::shared_ptr<std::atomic<bool>> draining = std::make_shared<std::atomic<bool>>(false);
  std::vector<std::shared_ptr<ListenerState>> states;
  std::vector<std::shared_ptr<Listener>> listeners;
  std::vector<std::thread> threads;
  bool started = false;
  bool stopped = false;
  std::mutex mu;  // Shutdown vs Responsive vs Start
  // Declared last so it is destroyed first: pending handlers (and the sessions they own) go while
  // the registry and listener states they point at still exist.
  std::unique_ptr<asio::io_context> ioc;
  // Keeps the I/O threads in run() between Start and Shutdown. Without it, run() returns as soon
  // as no operation is pending, e.g. once Shutdown has closed the acceptors while a streamed body
  // waits for its producer (no socket operation outstanding): the CloseIfIdle/Abort handlers
  // posted next would then never run, and Shutdown would wait out its whole deadline.
  // Declared after ioc so it is destroyed before it; Shutdown resets it first anyway.
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
};

Server::Server(ServerOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->opts = options;
  if (impl_->opts.threads < 1) impl_->opts.threads = 1;
  impl_->ioc = std::make_unique<asio::io_context>(impl_->opts.threads);
}

Server::~Server() { Shutdown(std::chrono::milliseconds(0)); }

Result<BoundListener> Server::Listen(const ListenerOptions& options, std::shared_ptr<const Router> router) {
  if (impl_->started) return Status::Internal("server_started", "Listen must come before Start");
  if (!router) return Status::Internal("no_router", "Listen needs a router");
  error_code ec;
  auto addr = asio::ip::make_address(options.address, ec);
  if (ec)
    return Status::InvalidInput("listen_address_invalid", options.name + ": \"" + options.address + "\" is not an IP address");
  if (options.loopback_only && !addr.is_loopback())
    return Status::InvalidInput("listen_address_invalid", options.name + ": " + options.address +
                                                              " is not a loopback address; this listener serves the local kiosk only (use 127.0.0.1)");
  auto state = std::make_shared<ListenerState>();
  state->opts = options;
  state->router = std::move(router);
  state->limiter = std::make_unique<RateLimiter>(options.rate, SystemClock::Instance());
  state->registry = impl_->registry;
  state->draining = impl_->draining;
  if (options.tls) {
    state->tls = std::make_unique<ssl::context>(ssl::context::tls_server);
    VERIDGE_RETURN_IF_ERROR(pki::ConfigureServerTls(state->tls->native_handle(), *options.tls));
  }
  auto listener = std::make_shared<Listener>(*impl_->ioc, state);
  VERIDGE_RETURN_IF_ERROR(listener->Open(tcp::endpoint(addr, options.port)));
  impl_->states.push_back(state);
  impl_->listeners.push_back(listener);
  BoundListener b{options.name, options.address, listener->port(), options.tls.has_value()};
  spdlog::info("{}: listening on {}://{}:{}", b.name, b.tls ? "https" : "http",
               addr.is_v6() ? "[" + b.address + "]" : b.address, b.port);
  return b;
}

void Server::Start() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (impl_->started) return;
  impl_->started = true;
  impl_->work.emplace(impl_->ioc->get_executor());
  for (auto& l : impl_->listeners) l->Run();
  for (int i = 0; i < impl_->opts.threads; ++i)
    impl_->threads.emplace_back([this] {
      // A handler that escapes its own try/catch must not take the pool down silently.
      for (;;) {
        try {
          impl_->ioc->run();
          return;
        } catch (const std::exception& e) {
          spdlog::error("I/O thread: unexpected exception: {}", e.what());
        }
      }
    });
}

bool Server::Shutdown(std::chrono::milliseconds deadline) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (impl_->stopped) return true;
  impl_->stopped = true;
  const auto until = std::chrono::steady_clock::now() + deadline;
  impl_->draining->store(true);
  for (auto& l : impl_->listeners) l->Close();
  bool clean = true;
  if (impl_->started) {
    for (auto& c : impl_->registry->Snapshot()) c->CloseIfIdle();
    clean = impl_->registry->WaitEmpty(until);
    if (!clean) {
      spdlog::warn("shutdown: aborting connections still open at the deadline");
      for (auto& c : impl_->registry->Snapshot()) c->Abort();
      impl_->registry->WaitEmpty(std::chrono::steady_clock::now() + std::chrono::seconds(1));
    }
  }
  impl_->work.reset();
  impl_->ioc->stop();
  for (auto& t : impl_->threads) t.join();
  impl_->threads.clear();
  return clean;
}

bool Server::Responsive(std::chrono::milliseconds timeout) {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    if (!impl_->started || impl_->stopped) return false;
  }
  auto done = std::make_shared<std::promise<void>>();
  auto fut = done->get_future();
  asio::post(*impl_->ioc, [done] { done->set_value(); });
  return fut.wait_for(timeout) == std::future_status::ready;
}

std::vector<ListenerStats> Server::Stats() const {
  std::vector<ListenerStats> out;
  for (const auto& s : impl_->states) {
    const auto& c = s->counters;
    out.push_back({s->opts.name, c.open.load(), c.accepted.load(), c.rejected.load(), c.requests.load(), c.rate_limited.load(),
                   c.too_large.load(), c.timeouts.load(), c.tls_failures.load(), c.server_errors.load()});
  }
  return out;
}

}  // namespace veridge::net
