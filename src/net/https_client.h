// net/https_client.h — the HTTPS client the outbox delivers with (Boost.Beast over OpenSSL,
// kept out of this header: pimpl).
//
// Contract
//  * HTTPS only. TLS 1.2 or newer; the server certificate must chain to TlsOptions::ca_file
//    (the system store is NOT used: a lender is trusted explicitly); SNI is sent and the
//    certificate must name the URL's host (DNS name, or IP address for an IP literal); an optional
//    SPKI pin must match a certificate of the verified chain; an optional client certificate is
//    presented for mTLS.
//  * Bounded: connect, TLS handshake and the whole exchange each have a timeout
//    (HttpsClientOptions); response headers and body are limited in size and read as a stream —
//    an oversized body stops the read at the limit (the connection is closed), it is never
//    buffered whole.
//  * Keep-alive: the connection is reused for the next request to the same host and port while
//    the server keeps it open. A request that fails on a reused connection before any response
//    byte arrives is retried once on a fresh connection (delivery is idempotent by webhook-id).
//  * Errors (Status kind kUnavailable unless noted), stable codes:
//      bad_url (kInvalidInput), tls_config_invalid (kInvalidInput: CA/client cert/key unreadable),
//      dns_failed, connection_refused, connect_timeout, connect_failed,
//      tls_name_mismatch, tls_certificate_expired, tls_certificate_not_yet_valid,
//      tls_certificate_untrusted, tls_pin_mismatch, tls_protocol_too_old (the server offers only
//      TLS < 1.2), tls_handshake_failed, response_timeout, response_too_large, connection_closed,
//      http_protocol_error.
//  * Redirects are never followed: a 3xx is returned to the caller as a response like any other
//    (the outbox retries it as a failure), so a lender cannot steer deliveries to another host.
//    Messages name the host and say what to check; they never contain request bodies or secrets.
//  * Thread-safety: one HttpsClient serves one request at a time (Send blocks the caller); use one
//    client per thread. Not copyable.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "pki/tls_context.h"

namespace veridge::net {

// TLS settings live with the TLS context in pki/ (pki/tls_context.h).
using TlsOptions = pki::TlsOptions;

struct HttpsClientOptions {
  TlsOptions tls;
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds handshake_timeout{5000};
  std::chrono::milliseconds total_timeout{30000};  // the whole Send, from first byte to last
  std::size_t max_response_header_bytes = 16 * 1024;
  std::size_t max_response_body_bytes = 64 * 1024;
  std::size_t max_request_body_bytes = 2 * 1024 * 1024;
  std::string user_agent = "veridge";
};

struct HttpRequest {
  std::string method = "POST";
  std::string url;  // https://host[:port]/path
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

struct HttpResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool reused_connection = false;  // served over a kept-alive connection
  // First header with this name (case-insensitive).
  std::optional<std::string> Header(const std::string& name) const;
};

// The seam the outbox depends on (a fake in unit tests, HttpsClient for real).
class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  virtual Result<HttpResponse> Send(const HttpRequest& request) = 0;
};

class HttpsClient final : public HttpTransport {
 public:
  // Loads the trust anchors and client certificate now, so a bad configuration fails at start-up.
  static Result<std::unique_ptr<HttpsClient>> Create(const HttpsClientOptions& options);
  ~HttpsClient() override;
  HttpsClient(const HttpsClient&) = delete;
  HttpsClient& operator=(const HttpsClient&) = delete;

  Result<HttpResponse> Send(const HttpRequest& request) override;
  // Drops a kept-alive connection (the next Send connects afresh).
  void CloseConnection();

 private:
  struct Impl;
  explicit HttpsClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

struct Url {
  std::string host;  // without brackets for IPv6 literals
  std::string port;  // "443" by default
  std::string target;  // "/path?query", "/" if empty
};
// Parses an https:// URL. Code "bad_url" for other schemes, user-info, or a missing host.
Result<Url> ParseHttpsUrl(const std::string& url);

}  // namespace veridge::net
