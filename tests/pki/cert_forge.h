// tests/pki/cert_forge.h — a small certificate generator for the path-validation rule tests.
//
// Some cases cannot be written with the openssl CLI that tools/pki/make-test-pki.sh drives (zero or
// 21-octet serials, a critical SAN beside a subject, an AKI without keyIdentifier, raw malformed
// extensions), so the rule tests build their certificates here with the OpenSSL API, fresh keys
// per run. Extensions are given in openssl.cnf syntax ("critical,DNS:a.test", "DER:30:00"), so a
// test reads like the config it would otherwise need.
#pragma once

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace veridge::testing::forge {

struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct CertFree {
  void operator()(X509* x) const { X509_free(x); }
};
using Key = std::shared_ptr<EVP_PKEY>;
using CertPtr = std::unique_ptr<X509, CertFree>;

inline Key EcKey() { return Key(EVP_EC_gen("P-256"), KeyFree{}); }
inline Key RsaKey(unsigned bits) { return Key(EVP_RSA_gen(bits), KeyFree{}); }
// DSA with fresh 2048-bit domain parameters (slow: generate once per test binary run).
inline Key DsaKey() {
  EVP_PKEY_CTX* pctx = EVP_PKEY_CTX_new_from_name(nullptr, "DSA", nullptr);
  EVP_PKEY* params = nullptr;
  EVP_PKEY* key = nullptr;
  if (pctx && EVP_PKEY_paramgen_init(pctx) == 1 && EVP_PKEY_CTX_set_dsa_paramgen_bits(pctx, 2048) == 1 &&
      EVP_PKEY_CTX_set_dsa_paramgen_q_bits(pctx, 256) == 1 && EVP_PKEY_paramgen(pctx, &params) == 1) {
    EVP_PKEY_CTX* kctx = EVP_PKEY_CTX_new(params, nullptr);
    if (kctx && EVP_PKEY_keygen_init(kctx) == 1) EVP_PKEY_keygen(kctx, &key);
    EVP_PKEY_CTX_free(kctx);
  }
  EVP_PKEY_free(params);
  EVP_PKEY_CTX_free(pctx);
  return Key(key, KeyFree{});
}

struct Spec {
  std::vector<std::pair<std::string, std::string>> subject;  // (attribute short name, UTF-8 value)
  std::string serial_hex = "4a3f01";                          // big-endian magnitude, as written
  long not_before = 1420070400;                               // 2015-01-01
  long not_after = 2366841600;                                // 2045-01-01
  std::vector<std::pair<std::string, std::string>> ext;      // (name or OID, openssl.cnf value)
  Key key;                                                    // default: a fresh P-256 key
  const EVP_MD* md = EVP_sha256();
};

struct Cert {
  std::shared_ptr<X509> x;
  Key key;
  std::string Pem() const {
    BIO* b = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(b, x.get());
    char* data = nullptr;
    long n = BIO_get_mem_data(b, &data);
    std::string out(data, static_cast<std::size_t>(n));
    BIO_free(b);
    return out;
  }
};

// Issues spec under issuer (nullptr: self-signed). Throws on any OpenSSL failure, naming the step.
inline Cert Issue(Spec spec, const Cert* issuer) {
  auto fail = [](const std::string& what) { throw std::runtime_error("forge: " + what); };
  if (!spec.key) spec.key = EcKey();
  CertPtr x(X509_new());
  X509_set_version(x.get(), 2);
  BIGNUM* bn = nullptr;
  if (!BN_hex2bn(&bn, spec.serial_hex.c_str())) fail("serial " + spec.serial_hex);
  ASN1_INTEGER* serial = BN_to_ASN1_INTEGER(bn, nullptr);
  BN_free(bn);
  X509_set_serialNumber(x.get(), serial);
  ASN1_INTEGER_free(serial);
  X509_NAME* name = X509_NAME_new();
  for (const auto& [attr, value] : spec.subject)
    if (X509_NAME_add_entry_by_txt(name, attr.c_str(), MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(value.data()),
                                   static_cast<int>(value.size()), -1, 0) != 1)
      fail("subject attribute " + attr);
  X509_set_subject_name(x.get(), name);
  X509_set_issuer_name(x.get(), issuer ? X509_get_subject_name(issuer->x.get()) : name);
  X509_NAME_free(name);
  ASN1_TIME_set(X509_getm_notBefore(x.get()), spec.not_before);
  ASN1_TIME_set(X509_getm_notAfter(x.get()), spec.not_after);
  X509_set_pubkey(x.get(), spec.key.get());
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer ? issuer->x.get() : x.get(), x.get(), nullptr, nullptr, 0);
  for (const auto& [ename, value] : spec.ext) {
    X509_EXTENSION* e = X509V3_EXT_nconf(nullptr, &ctx, ename.c_str(), value.c_str());
    if (!e) fail("extension " + ename + " = " + value);
    X509_add_ext(x.get(), e, -1);
    X509_EXTENSION_free(e);
  }
  EVP_PKEY* signer = issuer ? issuer->key.get() : spec.key.get();
  const EVP_MD* md = EVP_PKEY_get_base_id(signer) == EVP_PKEY_ED25519 ? nullptr : spec.md;
  if (X509_sign(x.get(), signer, md) <= 0) fail("signing");
  return Cert{std::shared_ptr<X509>(x.release(), CertFree{}), spec.key};
}

// A CRL from issuer (no revoked entries), valid 2026-01-01 .. 2036-01-01; with_number adds a
// crlNumber. Returned as PEM.
inline std::string Crl(const Cert& issuer, bool with_number) {
  X509_CRL* crl = X509_CRL_new();
  X509_CRL_set_version(crl, 1);
  X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer.x.get()));
  ASN1_TIME* t = ASN1_TIME_set(nullptr, 1767225600);
  X509_CRL_set1_lastUpdate(crl, t);
  ASN1_TIME_set(t, 2082758400);
  X509_CRL_set1_nextUpdate(crl, t);
  ASN1_TIME_free(t);
  if (with_number) {
    ASN1_INTEGER* num = ASN1_INTEGER_new();
    ASN1_INTEGER_set(num, 7);
    X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0);
    ASN1_INTEGER_free(num);
  }
  X509_CRL_sign(crl, issuer.key.get(), EVP_sha256());
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_X509_CRL(b, crl);
  char* data = nullptr;
  long n = BIO_get_mem_data(b, &data);
  std::string out(data, static_cast<std::size_t>(n));
  BIO_free(b);
  X509_CRL_free(crl);
  return out;
}

// The usual extension sets: a CA (self-signed when it is a root: no AKI) and a TLS server leaf.
inline std::vector<std::pair<std::string, std::string>> CaExt(bool root, const std::string& bc = "critical,CA:TRUE") {
  std::vector<std::pair<std::string, std::string>> e = {{"basicConstraints", bc},
                                                        {"keyUsage", "critical,keyCertSign,cRLSign"},
                                                        {"subjectKeyIdentifier", "hash"}};
  if (!root) e.emplace_back("authorityKeyIdentifier", "keyid:always");
  return e;
}
inline std::vector<std::pair<std::string, std::string>> ServerExt(const std::string& san) {
  return {{"basicConstraints", "critical,CA:FALSE"},
          {"keyUsage", "critical,digitalSignature"},
          {"extendedKeyUsage", "serverAuth"},
          {"subjectKeyIdentifier", "hash"},
          {"authorityKeyIdentifier", "keyid:always"},
          {"subjectAltName", san}};
}

}  // namespace veridge::testing::forge
