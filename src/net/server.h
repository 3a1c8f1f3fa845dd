// net/server.h — the HTTP/1.1 server of `veridge serve`: listeners (plain on loopback for the
// kiosk, TLS for the lender/staff API), the route table, and the limits every request from
// outside is held to. Boost.Beast/Asio stay inside server.cpp (this header names none of them).
//
// Contract
//  * Routes. A Router maps (method, path pattern) to a Handler with a line of help text. Patterns
//    are literal segments and `{name}` segments (one non-empty segment, handed to the handler in
//    Request::params); a pattern may end in '/' ("/kiosk/", a directory index), which matches
//    only that path with its slash. A route that changes state must be POST (Router::Add refuses it otherwise),
//    so a link, a prefetch or a cross-site <img> can never change anything. Unknown path → 404,
//    known path with another method → 405 with Allow. Errors are JSON {"error":{"code","message"}}.
//  * Limits, per listener (ListenerOptions), each answered the same way every time:
//      - request body over max_body_bytes → 413 (a declared Content-Length over the limit is
//        refused before any body byte is read), then the connection is closed;
//      - request line + headers over max_header_bytes → 431, then close;
//      - more than max_connections open connections → the new connection is closed at once (plain
//        listeners first get a best-effort `503`, written without blocking); counted in stats;
//      - more than rate.per_second requests per client address (token bucket of rate.burst) →
//        429 with Retry-After (whole seconds until a token is back); the connection stays usable;
//      - timeouts: TLS handshake, idle keep-alive (waiting for the first byte of the next request),
//        header (first byte → end of headers: a slow-header client is cut off however slowly it
//        trickles), body, and response write. A timed-out connection is closed without a response;
//      - malformed requests → 400, then close; at most max_requests_per_connection per connection.
//    Each connection handles one request at a time (no pipelined queue to bound).
//  * TLS (ListenerOptions::tls set): TLS 1.2+, context from pki::ConfigureServerTls; a bad
//    certificate or key fails Server::Listen, not the first client.
//  * Handlers run on the server's I/O threads, one request at a time per connection, several
//    connections in parallel: they must be thread-safe and short (no waiting on the network). A
//    handler that throws gets a 500 {"error":{"code":"internal"}} (the exception text is logged,
//    never sent). Responses carry Cache-Control: no-store and X-Content-Type-Options: nosniff.
//  * Lifetime: Listen() binds at once (port 0 picks a free port, reported in BoundListener) so a
//    port in use fails start-up; Start() runs the I/O threads; Shutdown(deadline) stops accepting,
//    lets in-flight requests finish (their responses say Connection: close), closes idle keep-alive
//    connections at once, aborts whatever is left at the deadline, and joins the threads. The
//    destructor calls Shutdown(0) if needed. Routers are shared, immutable after Listen.
//  * Thread-safety: Listen before Start from one thread; Stats/Responsive/Shutdown from any thread.
//  * Logs (spdlog): listener start/stop at info; connection-level events at debug. Request bodies,
//    headers and query strings are never logged (they may carry tokens or images).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "pki/tls_context.h"

namespace veridge::net {

enum class Method { kGet, kPost };
const char* ToString(Method m);

struct Request {
  Method method = Method::kGet;
  std::string path;    // the target before '?', as sent (no percent-decoding)
  std::string query;   // after '?', without it
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string remote_address;                 // client IP, text form
  std::map<std::string, std::string> params;  // {name} segments of the matched pattern
  // First header with this name (case-insensitive).
  std::optional<std::string> Header(const std::string& name) const;
};

// A response body that is written as it is produced, for a stream with no end of its own (the
// kiosk's multipart/x-mixed-replace preview). The server sends the head (no Content-Length,
// Connection: close), then asks for one chunk at a time and writes it; the body ends when the
// stream says so, the client goes, a chunk write exceeds write_timeout, or the server drains.
//  * Pull(deliver) runs on the connection's strand, once the head or the previous chunk is
//    written. The stream calls `deliver` exactly once, from any thread and never while holding a
//    lock the I/O threads take, with the next chunk, or with nullptr to end the body. Until then
//    nothing is written: at most one chunk per connection is ever queued, so a slow client only
//    gets fewer chunks (the stream decides what it skips) and never holds memory or an I/O thread.
//  * Cancel() runs on the strand when the connection closes; the stream must then drop the
//    `deliver` it holds (it keeps the connection alive) and not call it. Calling it anyway is
//    harmless (ignored).
//  * While streaming the connection counts as idle for Shutdown: draining closes it at once.
class BodyStream {
 public:
  using Deliver = std::function<void(std::shared_ptr<const std::string> chunk)>;
  virtual ~BodyStream() = default;
  virtual void Pull(Deliver deliver) = 0;
  virtual void Cancel() = 0;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::shared_ptr<BodyStream> stream;  // set: `body` is ignored and the stream is the body
  // {"error":{"code":code,"message":message}} with the status.
  static Response Error(int status, const std::string& code, const std::string& message);
  static Response Json(int status, std::string body);
  static Response Text(int status, std::string body, std::string content_type = "text/plain; charset=utf-8");
  static Response Streamed(std::string content_type, std::shared_ptr<BodyStream> stream);
};

using Handler = std::function<Response(const Request&)>;

struct Route {
  Method method = Method::kGet;
  std::string pattern;          // "/healthz", "/v1/sessions/{id}"
  std::string help;             // one line, for `--help`-style listings and docs
  Handler handler;
  bool changes_state = false;   // true: must be POST
};

// The route table. Build it, then share it read-only (Dispatch is const and thread-safe).
class Router {
 public:
  // Codes (kInvalidInput) route_invalid: empty handler, pattern not starting with '/', an empty or
  // malformed segment, a duplicate (method, pattern), a state-changing route that is not POST.
  Status Add(Route route);
  // Finds the route and calls its handler (404 / 405 otherwise). `request.params` is filled.
  Response Dispatch(Request& request) const;
  // "GET  /healthz  — the process is alive" lines, in the order added.
  std::string Help() const;
  const std::vector<Route>& routes() const { return routes_; }

 private:
  const Route* Match(const Request& request, std::map<std::string, std::string>* params, std::string* allow) const;
  std::vector<Route> routes_;
};

// Per-client token bucket (key: the client address). A client starts with `burst` tokens; each
// request takes one; tokens come back at `per_second`. At most max_clients buckets are kept:
// when full, buckets that have refilled are dropped first, then the least recently used.
// Thread-safe (one mutex; each call is O(1) except the rare prune, O(max_clients)).
struct RateLimitOptions {
  double per_second = 20.0;  // 0 disables the limit
  double burst = 40.0;
  std::size_t max_clients = 4096;
};

class RateLimiter {
 public:
  RateLimiter(RateLimitOptions options, const Clock& clock);
  // nullopt: allowed (a token was taken). Otherwise refused, with the whole seconds (>= 1) until
  // the next token is back, for Retry-After.
  std::optional<std::chrono::seconds> Acquire(const std::string& client);
  std::size_t tracked_clients() const;

 private:
  struct Bucket {
    double tokens = 0;
    std::chrono::steady_clock::time_point last;
  };
  void Prune(std::chrono::steady_clock::time_point now);
  RateLimitOptions options_;
  const Clock& clock_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;
};

struct ListenerOptions {
  std::string name = "http";          // "kiosk", "api": in logs and stats
  std::string address = "127.0.0.1";  // IP literal to bind
  std::uint16_t port = 0;             // 0 = an ephemeral port (see BoundListener)
  bool loopback_only = false;         // refuse to bind a non-loopback address (the kiosk listener)
  std::optional<pki::ServerTlsOptions> tls;  // set: HTTPS
  std::size_t max_body_bytes = 1024 * 1024;
  std::size_t max_header_bytes = 16 * 1024;
  int max_connections = 128;
  int max_requests_per_connection = 1000;
  RateLimitOptions rate;
  std::chrono::milliseconds handshake_timeout{10000};
  std::chrono::milliseconds idle_timeout{30000};
  std::chrono::milliseconds header_timeout{10000};
  std::chrono::milliseconds body_timeout{30000};
  std::chrono::milliseconds write_timeout{30000};
};

struct BoundListener {
  std::string name;
  std::string address;
  std::uint16_t port = 0;
  bool tls = false;
};

struct ListenerStats {
  std::string name;
  std::int64_t open_connections = 0;
  std::int64_t accepted = 0;
  std::int64_t rejected_connections = 0;  // over max_connections
  std::int64_t requests = 0;              // requests answered (any status)
  std::int64_t rate_limited = 0;          // 429s
  std::int64_t too_large = 0;             // 413s and 431s
  std::int64_t timeouts = 0;              // connections cut by a timeout
  std::int64_t tls_failures = 0;          // failed handshakes
  std::int64_t server_errors = 0;         // 5xx answered
};

struct ServerOptions {
  int threads = 2;  // the one I/O pool of the process (ARCHITECTURE.md: strand per connection)
};

class Server {
 public:
  explicit Server(ServerOptions options = {});
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and listens now. Codes (kInvalidInput): listen_address_invalid (not an IP literal, or
  // not loopback with loopback_only), tls_config_invalid; (kUnavailable) listen_failed (port in
  // use, permission). Only before Start.
  Result<BoundListener> Listen(const ListenerOptions& options, std::shared_ptr<const Router> router);
  // Starts the I/O threads; listeners begin accepting.
  void Start();
  // Graceful stop within `deadline` (see the contract). True when every connection closed on its
  // own before the deadline; false when some had to be aborted. Idempotent.
  bool Shutdown(std::chrono::milliseconds deadline);
  // True when an I/O thread ran a posted no-op within `timeout` (the watchdog's check that the
  // pool is not stuck). False before Start and after Shutdown.
  bool Responsive(std::chrono::milliseconds timeout);
  std::vector<ListenerStats> Stats() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace veridge::net
