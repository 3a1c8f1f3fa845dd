// HTTPS client: Boost.Beast ssl_stream<tcp_stream> driven by C++20 coroutines on a private
// io_context; Send() blocks the caller until the exchange ends or its deadline passes.
// Vendor errors (asio error_code, OpenSSL verify results) are translated here into Status codes.
#include "net/https_client.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <algorithm>
#include <cctype>

#include "common/files.h"
#include "pki/tls_context.h"

namespace veridge::net {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using Stream = beast::ssl_stream<beast::tcp_stream>;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

bool IsIpLiteral(const std::string& host) {
  boost::system::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// Maps a failed handshake onto a code a human can act on, from the certificate verify result.
Status HandshakeError(SSL* ssl, const std::string& host, const boost::system::error_code& ec) {
  long vr = SSL_get_verify_result(ssl);
  const std::string who = "lender TLS server " + host;
  switch (vr) {
    case X509_V_OK: break;
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
      return Status::Unavailable("tls_name_mismatch", who + ": its certificate does not name this host; check [lender].url or the lender's certificate");
    case X509_V_ERR_CERT_HAS_EXPIRED:
      return Status::Unavailable("tls_certificate_expired", who + ": its certificate (or a CA in its chain) has expired; the lender must renew it");
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return Status::Unavailable("tls_certificate_not_yet_valid", who + ": its certificate is not yet valid; check this device's clock");
    default:
      return Status::Unavailable("tls_certificate_untrusted", who + ": certificate rejected (" +
                                                                  X509_verify_cert_error_string(vr) + "); check [lender].ca_file");
  }
  if (ec == beast::error::timeout)
    return Status::Unavailable("tls_handshake_failed", who + ": TLS handshake timed out");
  // A lender that offers only TLS 1.0/1.1 (the client's minimum is TLS 1.2, pki/tls_context.h):
  // say so, because the fix is on the lender's side, not in [lender].ca_file.
  if (ec.category() == boost::asio::error::get_ssl_category()) {
    switch (ERR_GET_REASON(static_cast<unsigned long>(ec.value()))) {
      case SSL_R_UNSUPPORTED_PROTOCOL:
      case SSL_R_VERSION_TOO_LOW:
      case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
        return Status::Unavailable("tls_protocol_too_old", who + ": it offers only a TLS version below 1.2 (" + ec.message() +
                                                                 "); Veridge delivers over TLS 1.2 or 1.3 only, the lender must upgrade its endpoint");
      default: break;
    }
  }
  return Status::Unavailable("tls_handshake_failed", who + ": TLS handshake failed (" + ec.message() + ")");
}

bool PinMatches(SSL* ssl, const std::string& pin) {
  constexpr std::string_view kPrefix = "sha256/";
  std::string_view want(pin);
  if (want.substr(0, kPrefix.size()) == kPrefix) want.remove_prefix(kPrefix.size());
  STACK_OF(X509)* chain = SSL_get0_verified_chain(ssl);
  if (!chain) return false;
  for (int i = 0; i < sk_X509_num(chain); ++i) {
    X509* c = sk_X509_value(chain, i);
    unsigned char* der = nullptr;
    int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(c), &der);
    if (n <= 0) continue;
    unsigned char md[32];
    unsigned int mdlen = 0;
    EVP_Digest(der, static_cast<size_t>(n), md, &mdlen, EVP_sha256(), nullptr);
    OPENSSL_free(der);
    unsigned char b64[64];
    int blen = EVP_EncodeBlock(b64, md, 32);
    if (std::string_view(reinterpret_cast<char*>(b64), static_cast<size_t>(blen)) == want) return true;
  }
  return false;
}

bool IsStaleConnectionError(const boost::system::error_code& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset ||
         ec == asio::error::broken_pipe || ec == ssl::error::stream_truncated;
}

}  // namespace

std::optional<std::string> HttpResponse::Header(const std::string& name) const {
  const std::string want = Lower(name);
  for (const auto& [k, v] : headers)
    if (Lower(k) == want) return v;
  return std::nullopt;
}

Result<Url> ParseHttpsUrl(const std::string& url) {
  constexpr std::string_view kScheme = "https://";
  if (url.size() > 2048) return Status::InvalidInput("bad_url", "URL longer than 2048 characters");
  if (Lower(url.substr(0, kScheme.size())) != kScheme)
    return Status::InvalidInput("bad_url", "only https:// URLs are accepted for delivery: " + url);
  std::string rest = url.substr(kScheme.size());
  size_t slash = rest.find_first_of("/?#");
  std::string authority = rest.substr(0, slash);
  Url out;
  out.target = slash == std::string::npos ? "/" : rest.substr(slash);
  if (auto hash = out.target.find('#'); hash != std::string::npos) out.target.resize(hash);
  if (out.target.empty() || out.target[0] != '/') out.target = "/" + out.target;
  if (authority.find('@') != std::string::npos)
    return Status::InvalidInput("bad_url", "URLs with user:password@ are refused; put credentials in headers");
  out.port = "443";
  if (!authority.empty() && authority[0] == '[') {
    size_t close = authority.find(']');
    if (close == std::string::npos) return Status::InvalidInput("bad_url", "unterminated IPv6 literal in " + url);
    out.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return Status::InvalidInput("bad_url", "bad port in " + url);
      out.port = authority.substr(close + 2);
    }
  } else {
    size_t colon = authority.rfind(':');
    out.host = authority.substr(0, colon);
    if (colon != std::string::npos) out.port = authority.substr(colon + 1);
  }
  if (out.host.empty()) return Status::InvalidInput("bad_url", "no host in " + url);
  if (out.port.empty() || out.port.size() > 5 || !std::all_of(out.port.begin(), out.port.end(), ::isdigit) ||
      std::stoi(out.port) == 0 || std::stoi(out.port) > 65535)
    return Status::InvalidInput("bad_url", "bad port in " + url);
  return out;
}

struct HttpsClient::Impl {
  HttpsClientOptions opts;
  asio::io_context ioc;
  ssl::context ctx{ssl::context::tls_client};
  tcp::resolver resolver{ioc};
  std::unique_ptr<Stream> stream;  // the kept-alive connection, if any
  std::string conn_host, conn_port;
  beast::flat_buffer buffer;       // bytes read past a response stay here for the next one

  struct Outcome {
    Status status;
    HttpResponse response;
    bool retry_fresh = false;  // a stale kept-alive connection failed before any response byte
  };

  void Drop() {
    if (stream) {
      boost::system::error_code ec;
      beast::get_lowest_layer(*stream).socket().close(ec);
    }
    stream.reset();
    buffer.clear();
  }

  Clock::time_point Min(Clock::time_point a, Clock::time_point b) { return a < b ? a : b; }

  asio::awaitable<Status> Connect(const Url& url, Clock::time_point deadline) {
    Drop();
    auto [rec, results] = co_await resolver.async_resolve(url.host, url.port, kUseTuple);
    if (rec) co_return Status::Unavailable("dns_failed", "cannot resolve lender host " + url.host + ": " + rec.message());
    stream = std::make_unique<Stream>(ioc, ctx);
    SSL* ssl = stream->native_handle();
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    if (IsIpLiteral(url.host)) {
      X509_VERIFY_PARAM_set1_ip_asc(param, url.host.c_str());
    } else {
      SSL_set_tlsext_host_name(ssl, url.host.c_str());  // SNI (not sent for IP literals, RFC 6066)
      X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      X509_VERIFY_PARAM_set1_host(param, url.host.c_str(), 0);
    }
    auto& tcp_layer = beast::get_lowest_layer(*stream);
    tcp_layer.expires_at(Min(deadline, Clock::now() + opts.connect_timeout));
    auto [cec, ep] = co_await tcp_layer.async_connect(results, kUseTuple);
    (void)ep;
    if (cec) {
      const std::string where = url.host + ":" + url.port;
      Drop();
      if (cec == beast::error::timeout) co_return Status::Unavailable("connect_timeout", "connecting to " + where + " timed out; is the lender reachable?");
      if (cec == asio::error::connection_refused)
        co_return Status::Unavailable("connection_refused", "connection to " + where + " refused; the lender's server is down or the port is wrong");
      co_return Status::Unavailable("connect_failed", "cannot connect to " + where + ": " + cec.message());
    }
    tcp_layer.socket().set_option(tcp::no_delay(true));
    tcp_layer.expires_at(Min(deadline, Clock::now() + opts.handshake_timeout));
    auto [hec] = co_await stream->async_handshake(ssl::stream_base::client, kUseTuple);
    if (hec) {
      Status st = HandshakeError(stream->native_handle(), url.host, hec);
      Drop();
      co_return st;
    }
    if (!opts.tls.spki_pin.empty() && !PinMatches(stream->native_handle(), opts.tls.spki_pin)) {
      Drop();
      co_return Status::Unavailable("tls_pin_mismatch", "lender TLS server " + url.host +
                                                             ": no certificate in its chain matches [lender].spki_pin; the lender changed keys or this is not the lender");
    }
    conn_host = url.host;
    conn_port = url.port;
    co_return Status::Ok();
  }

  asio::awaitable<Outcome> Exchange(const Url& url, const http::request<http::string_body>& req,
                                    Clock::time_point deadline, bool allow_reuse) {
    Outcome out;
    bool reused = allow_reuse && stream && conn_host == url.host && conn_port == url.port;
    if (!reused) {
      out.status = co_await Connect(url, deadline);
      if (!out.status.ok()) co_return out;
    }
    auto& tcp_layer = beast::get_lowest_layer(*stream);
    tcp_layer.expires_at(deadline);
    auto [wec, wn] = co_await http::async_write(*stream, req, kUseTuple);
    (void)wn;
    http::response_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(opts.max_response_header_bytes));
    parser.body_limit(opts.max_response_body_bytes);
    boost::system::error_code rec;
    if (!wec) {
      auto [ec, n] = co_await http::async_read(*stream, buffer, parser, kUseTuple);
      (void)n;
      rec = ec;
    }
    auto ec = wec ? wec : rec;
    const std::string where = url.host + ":" + url.port;
    if (ec) {
      bool any_byte = parser.got_some();
      Drop();
      if (reused && !any_byte && IsStaleConnectionError(ec)) {
        out.retry_fresh = true;
        co_return out;
      }
      if (ec == beast::error::timeout)
        out.status = Status::Unavailable("response_timeout", "no complete response from " + where + " within the time limit");
      else if (ec == http::error::body_limit)
        out.status = Status::Unavailable("response_too_large", "response from " + where + " (HTTP " +
                                                                   std::to_string(parser.is_header_done() ? parser.get().result_int() : 0) +
                                                                   ") exceeds the " + std::to_string(opts.max_response_body_bytes) + "-byte limit; reading stopped");
      else if (ec == http::error::header_limit)
        out.status = Status::Unavailable("response_too_large", "response headers from " + where + " exceed the limit");
      else if (IsStaleConnectionError(ec))
        out.status = Status::Unavailable("connection_closed", where + " closed the connection before a complete response");
      else if (ec.category() == http::make_error_code(http::error::end_of_stream).category())
        out.status = Status::Unavailable("http_protocol_error", "malformed HTTP response from " + where + ": " + ec.message());
      else
        out.status = Status::Unavailable("connection_closed", "exchange with " + where + " failed: " + ec.message());
      co_return out;
    }
    auto& res = parser.get();
    out.response.status = static_cast<int>(res.result_int());
    for (const auto& f : res) out.response.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
    out.response.body = std::move(res.body());
    out.response.reused_connection = reused;
    if (!res.keep_alive()) Drop();
    co_return out;
  }
};

HttpsClient::HttpsClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpsClient::~HttpsClient() = default;
void HttpsClient::CloseConnection() { impl_->Drop(); }

Result<std::unique_ptr<HttpsClient>> HttpsClient::Create(const HttpsClientOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->opts = options;
  VERIDGE_RETURN_IF_ERROR(pki::ConfigureClientTls(impl->ctx.native_handle(), options.tls));
  return std::unique_ptr<HttpsClient>(new HttpsClient(std::move(impl)));
}

Result<HttpResponse> HttpsClient::Send(const HttpRequest& request) {
  auto url = ParseHttpsUrl(request.url);
  if (!url.ok()) return url.status();
  if (request.body.size() > impl_->opts.max_request_body_bytes)
    return Status::InvalidInput("request_too_large", "request body exceeds " + std::to_string(impl_->opts.max_request_body_bytes) + " bytes");
  http::request<http::string_body> req;
  req.method_string(request.method);
  req.target(url->target);
  req.version(11);
  const bool default_port = url->port == "443";
  const std::string host_header = (url->host.find(':') != std::string::npos ? "[" + url->host + "]" : url->host) +
                                  (default_port ? "" : ":" + url->port);
  req.set(http::field::host, host_header);
  req.set(http::field::user_agent, impl_->opts.user_agent);
  req.keep_alive(true);
  for (const auto& [k, v] : request.headers) req.set(k, v);
  req.body() = request.body;
  req.prepare_payload();

  const auto deadline = Clock::now() + impl_->opts.total_timeout;
  for (int round = 0; round < 2; ++round) {
    std::optional<Impl::Outcome> outcome;
    std::exception_ptr failure;
    impl_->ioc.restart();
    asio::co_spawn(impl_->ioc, impl_->Exchange(*url, req, deadline, round == 0),
                   [&](std::exception_ptr e, Impl::Outcome o) {
                     failure = e;
                     outcome = std::move(o);
                   });
    // The stream's own expiries bound connect, handshake and I/O; this also bounds name
    // resolution (which has no expiry of its own), with a little slack for the handlers.
    impl_->ioc.run_until(deadline + std::chrono::milliseconds(200));
    if (!impl_->ioc.stopped()) {
      // Cancel what is pending; the coroutine sees operation_aborted and unwinds (it resets the
      // stream itself, after its operation has returned).
      impl_->resolver.cancel();
      if (impl_->stream) {
        boost::system::error_code ignored;
        beast::get_lowest_layer(*impl_->stream).socket().close(ignored);
      }
      impl_->ioc.run();
      if (!outcome || outcome->status.ok())
        return Status::Unavailable("response_timeout", "exchange with " + url->host + " exceeded the time limit");
    }
    if (failure || !outcome) {
      impl_->Drop();
      return Status::Internal("http_client_failed", "unexpected failure in the HTTPS client for " + url->host);
    }
    if (outcome->retry_fresh) continue;
    if (!outcome->status.ok()) return outcome->status;
    return std::move(outcome->response);
  }
  return Status::Unavailable("connection_closed", url->host + " closed the connection twice before answering");
}

}  // namespace veridge::net
