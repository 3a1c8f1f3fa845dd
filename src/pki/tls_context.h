// pki/tls_context.h — the TLS client settings and the OpenSSL client context net/'s HTTPS client
// uses (pki/ owns TLS contexts; net/ owns only the transport).
//
// Contract: TLS 1.2 minimum, peer verification on with ONLY the trust anchors of
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

}  // namespace veridge::pki
