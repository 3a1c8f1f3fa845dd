// pki/tls_context.h — the TLS settings and the OpenSSL contexts net/ uses: the client context of
// the HTTPS client (delivery to the lender) and the server context of the API listener
// (pki/ owns TLS contexts; net/ owns only the transport).
//
// Client contract: TLS 1.2 minimum, peer verification on with ONLY the trust anchors of
// TlsOptions::ca_file (no system store), optional client certificate + key for mTLS (the key
// read with ReadSecretFile: refused when group/world readable), renegotiation off.
// Codes (kInvalidInput): tls_config_invalid — the message names the file and what is wrong.
// Not thread-safe while configuring; the configured SSL_CTX may then be shared read-only.
#pragma once

#include <filesystem>
#include <string>

#include "common/status.h"

struct ssl_ctx_st;  // OpenSSL's SSL_CTX, kept opaque here

namespace veridge::pki {

struct TlsOptions {
  std::filesystem::path ca_file;      // [lender].ca_file: PEM trust anchors (required)
  // Optional pin "sha256/<base64 of SHA-256(SubjectPublicKeyInfo DER)>", like HPKP/curl's
  // --pinnedpubkey; it must match one certificate of the verified chain (checked by net/).
  std::string spki_pin;
  std::filesystem::path client_cert;  // optional mTLS certificate chain (PEM)
  std::filesystem::path client_key;   // its private key (PEM, mode 0600)
};

Status ConfigureClientTls(ssl_ctx_st* ctx, const TlsOptions& options);

// Server contract: TLS 1.2 minimum (1.3 preferred), TLS 1.2 limited to ECDHE + AEAD suites (forward
// secrecy), the server's cipher order, renegotiation, compression and session tickets off (no
// long-lived ticket key in memory). The certificate chain file holds the server certificate first,
// then its CAs; the key is read with ReadSecretFile (refused when group/world accessible), wiped
// from memory after parsing, and must match the certificate. No client certificate is requested.
// Codes (kInvalidInput): tls_config_invalid — the message names the file and what is wrong, never
// the key's content.
struct ServerTlsOptions {
  std::filesystem::path cert_chain;  // [serve].tls_cert: PEM, server certificate first
  std::filesystem::path key_file;    // [serve].tls_key: PEM private key, mode 0600
};

Status ConfigureServerTls(ssl_ctx_st* ctx, const ServerTlsOptions& options);

}  // namespace veridge::pki
