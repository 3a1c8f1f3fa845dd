#include "pki/tls_context.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <memory>

#include "common/files.h"
#include "pki/ossl.h"

namespace veridge::pki {
namespace {

struct BioFree { void operator()(BIO* b) const { BIO_free(b); } };
struct PkeyFree { void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); } };
struct X509Free { void operator()(X509* p) const { X509_free(p); } };

// Reads a private key file (refused when group/world accessible), wipes the PEM text from memory,
// installs the key and checks that it matches the certificate already set on ctx.
// `key_name` names the config key in messages; `cert_desc` the certificate it must match.
Status UsePrivateKey(ssl_ctx_st* ctx, const std::filesystem::path& key_file, const std::string& key_name,
                     const std::string& cert_desc) {
  auto key_pem = ReadSecretFile(key_file);
  if (!key_pem.ok()) return Status::InvalidInput("tls_config_invalid", key_name + ": " + key_pem.status().message());
  std::unique_ptr<BIO, BioFree> kb(BIO_new_mem_buf(key_pem->data(), static_cast<int>(key_pem->size())));
  std::unique_ptr<EVP_PKEY, PkeyFree> key(PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr));
  OPENSSL_cleanse(key_pem->data(), key_pem->size());
  if (!key) return Status::InvalidInput("tls_config_invalid", key_file.string() + ": not an unencrypted PEM private key");
  if (SSL_CTX_use_PrivateKey(ctx, key.get()) != 1 || SSL_CTX_check_private_key(ctx) != 1)
    return Status::InvalidInput("tls_config_invalid", key_file.string() + ": does not match " + cert_desc);
  return Status::Ok();
}

}  // namespace

Status ConfigureClientTls(ssl_ctx_st* ctx, const TlsOptions& o) {
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  if (o.ca_file.empty())
    return Status::InvalidInput("tls_config_invalid", "no trust anchors: set [lender].ca_file to the CA bundle for the lender's server");
  // Read through the bounded helper so a missing file gets our usual message, then hand the PEM
  // to OpenSSL's store.
  auto pem = ReadFileBounded(o.ca_file, 4 * 1024 * 1024);
  if (!pem.ok()) return Status::InvalidInput("tls_config_invalid", "[lender].ca_file: " + pem.status().message());
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size())));
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  int added = 0;
  while (X509* c = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    if (X509_STORE_add_cert(store, c) == 1) ++added;
    X509_free(c);
  }
  ERR_clear_error();
  if (added == 0)
    return Status::InvalidInput("tls_config_invalid", o.ca_file.string() + ": no PEM certificate found; it must hold the lender's CA certificate(s)");

  if (o.client_cert.empty() != o.client_key.empty())
    return Status::InvalidInput("tls_config_invalid", "mTLS needs both [lender].client_cert and [lender].client_key");
  if (!o.client_cert.empty()) {
    // Read through common/files.h (regular file, bounded, never blocks on a FIFO), then parsed from
    // memory: SSL_CTX_use_certificate_chain_file would open the path itself.
    auto chain_pem = ReadFileBounded(o.client_cert, 1024 * 1024);
    if (!chain_pem.ok()) return Status::InvalidInput("tls_config_invalid", "[lender].client_cert: " + chain_pem.status().message());
    std::unique_ptr<BIO, BioFree> cb(BIO_new_mem_buf(chain_pem->data(), static_cast<int>(chain_pem->size())));
    std::unique_ptr<X509, X509Free> leaf(PEM_read_bio_X509_AUX(cb.get(), nullptr, nullptr, nullptr));
    bool loaded = leaf && SSL_CTX_use_certificate(ctx, leaf.get()) == 1 && SSL_CTX_clear_chain_certs(ctx) == 1;
    while (loaded) {
      X509* extra = PEM_read_bio_X509(cb.get(), nullptr, nullptr, nullptr);
      if (extra == nullptr) break;
      if (SSL_CTX_add0_chain_cert(ctx, extra) != 1) {  // takes ownership only on success
        X509_free(extra);
        loaded = false;
      }
    }
    if (!loaded)
      return Status::InvalidInput("tls_config_invalid", o.client_cert.string() + ": cannot load the client certificate chain (" + ossl::DrainErrors() + ")");
    ERR_clear_error();  // the end of the PEM stream is reported as an error
    VERIDGE_RETURN_IF_ERROR(UsePrivateKey(ctx, o.client_key, "client key", "the client certificate"));
  }
  ERR_clear_error();
  return Status::Ok();
}

Status ConfigureServerTls(ssl_ctx_st* ctx, const ServerTlsOptions& o) {
  if (o.cert_chain.empty() || o.key_file.empty())
    return Status::InvalidInput("tls_config_invalid", "the API listener needs both [serve].tls_cert and [serve].tls_key");
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_TICKET);
  // TLS 1.3 suites are all AEAD with forward secrecy; for 1.2 allow only the ECDHE AEAD ones.
  if (SSL_CTX_set_cipher_list(ctx, "ECDHE+AESGCM:ECDHE+CHACHA20") != 1)
    return Status::InvalidInput("tls_config_invalid", "OpenSSL refused the TLS 1.2 cipher list (" + ossl::DrainErrors() + ")");
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  auto chain = ReadFileBounded(o.cert_chain, 1024 * 1024);
  if (!chain.ok()) return Status::InvalidInput("tls_config_invalid", "[serve].tls_cert: " + chain.status().message());
  std::unique_ptr<BIO, BioFree> cb(BIO_new_mem_buf(chain->data(), static_cast<int>(chain->size())));
  std::unique_ptr<X509, X509Free> leaf(PEM_read_bio_X509(cb.get(), nullptr, nullptr, nullptr));
  if (!leaf || SSL_CTX_use_certificate(ctx, leaf.get()) != 1)
    return Status::InvalidInput("tls_config_invalid", o.cert_chain.string() + ": no PEM server certificate could be loaded (" + ossl::DrainErrors() + ")");
  while (X509* ca = PEM_read_bio_X509(cb.get(), nullptr, nullptr, nullptr)) {
    if (SSL_CTX_add_extra_chain_cert(ctx, ca) != 1) {  // takes ownership on success only
      X509_free(ca);
      return Status::InvalidInput("tls_config_invalid", o.cert_chain.string() + ": cannot add a CA certificate of the chain");
    }
  }
  ERR_clear_error();  // the loop ends on "no start line"
  VERIDGE_RETURN_IF_ERROR(UsePrivateKey(ctx, o.key_file, "[serve].tls_key", "the certificate in " + o.cert_chain.string()));
  ERR_clear_error();
  return Status::Ok();
}

}  // namespace veridge::pki
