// net/tls_context.h — builds the OpenSSL client context the HTTPS client uses. (Planned home:
// pki/, which owns TLS contexts; it lives here until pki/ has a build.)
//
// Contract: TLS 1.2 minimum, peer verification on with ONLY the trust anchors of
// TlsOptions::ca_file (no system store), optional client certificate + key for mTLS (the key
// read with ReadSecretFile: refused when group/world readable), renegotiation off.
// Codes (kInvalidInput): tls_config_invalid — the message names the file and what is wrong.
// Not thread-safe while configuring; the configured SSL_CTX may then be shared read-only.
#pragma once

#include "common/status.h"
#include "net/https_client.h"

struct ssl_ctx_st;  // OpenSSL's SSL_CTX, kept opaque here

namespace veridge::net {

Status ConfigureClientTls(ssl_ctx_st* ctx, const TlsOptions& options);

}  // namespace veridge::net
