#include "pki/device_identity.h"

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <nlohmann/json.hpp>

#include "common/base64.h"
#include "common/files.h"
#include "common/log.h"
#include "common/sha256.h"
#include "pki/canonical_json.h"
#include "pki/ossl.h"
#include "pki/pki.h"

namespace veridge::pki {
namespace {

// pki/ossl.h's owners for the handles the rest of pki/ uses too; these three only here.
using Pkey = ossl::PkeyPtr;
using Cert = ossl::X509Ptr;
using Bio = ossl::BioPtr;
using BnPtr = std::unique_ptr<BIGNUM, ossl::Deleter<BN_free>>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, ossl::Deleter<ECDSA_SIG_free>>;
using ReqPtr = std::unique_ptr<X509_REQ, ossl::Deleter<X509_REQ_free>>;

// The OpenSSL error queue as text, for internal-failure messages (never holds key material).
std::string BioToString(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(n));
}

Result<Pkey> GenerateP256() {
  Pkey key(EVP_EC_gen("P-256"));
  if (!key) return Status::Internal("key_generation_failed", "could not generate a P-256 key: " + OpenSslErrors());
  return key;
}

std::string PrivateKeyPem(EVP_PKEY* key) {
  Bio bio(BIO_new(BIO_s_secmem()));
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  return BioToString(bio.get());
}

std::string CertPem(X509* cert) {
  Bio bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert);
  return BioToString(bio.get());
}

Result<Pkey> ParsePrivateKey(const std::string& pem) {
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  Pkey key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  if (!key || EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_EC || EVP_PKEY_get_bits(key.get()) != 256)
    return Status::InvalidInput("bad_device_key", "device key is not an unencrypted PEM ECDSA P-256 private key");
  return key;
}

std::vector<Cert> ParseCertChain(const std::string& pem) {
  std::vector<Cert> out;
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  while (X509* c = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) out.emplace_back(c);
  ERR_clear_error();  // the end of the PEM stream leaves a "no start line" error behind
  return out;
}

Status AddExt(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (!ext) return Status::Internal("cert_issue_failed", std::string("bad certificate extension ") + value + ": " + OpenSslErrors());
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  return Status::Ok();
}

// Issues a certificate for `subject_key`; self-signed when issuer is null.
Result<Cert> IssueCert(EVP_PKEY* subject_key, const std::string& cn, bool is_ca, EVP_PKEY* issuer_key, X509* issuer,
                       std::int64_t now_unix, int days) {
  Cert cert(X509_new());
  X509_set_version(cert.get(), 2);
  unsigned char serial[16];
  RAND_bytes(serial, sizeof serial);
  serial[0] &= 0x7F;  // positive
  BnPtr bn(BN_bin2bn(serial, sizeof serial, nullptr));
  BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert.get()));
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>("Veridge development"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : name);
  time_t now = static_cast<time_t>(now_unix);
  X509_time_adj_ex(X509_getm_notBefore(cert.get()), 0, -300, &now);  // 5 min of clock-skew slack
  X509_time_adj_ex(X509_getm_notAfter(cert.get()), days, 0, &now);
  X509_set_pubkey(cert.get(), subject_key);
  X509* iss = issuer ? issuer : cert.get();
  if (is_ca) {
    VERIDGE_RETURN_IF_ERROR(AddExt(cert.get(), iss, NID_basic_constraints, "critical,CA:TRUE,pathlen:0"));
    VERIDGE_RETURN_IF_ERROR(AddExt(cert.get(), iss, NID_key_usage, "critical,keyCertSign,cRLSign"));
  } else {
    VERIDGE_RETURN_IF_ERROR(AddExt(cert.get(), iss, NID_basic_constraints, "critical,CA:FALSE"));
    VERIDGE_RETURN_IF_ERROR(AddExt(cert.get(), iss, NID_key_usage, "critical,digitalSignature"));
  }
  VERIDGE_RETURN_IF_ERROR(AddExt(cert.get(), iss, NID_subject_key_identifier, "hash"));
  if (issuer) VERIDGE_RETURN_IF_ERROR(AddExt(cert.get(), iss, NID_authority_key_identifier, "keyid:always"));
  if (X509_sign(cert.get(), issuer_key ? issuer_key : subject_key, EVP_sha256()) <= 0)
    return Status::Internal("cert_issue_failed", "signing the certificate failed: " + OpenSslErrors());
  return cert;
}

std::string Der(X509* cert) {
  unsigned char* der = nullptr;
  int n = i2d_X509(cert, &der);
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(n > 0 ? n : 0));
  OPENSSL_free(der);
  return out;
}

// RFC 7638: SHA-256 over {"crv":"P-256","kty":"EC","x":...,"y":...} with members in that order.
Result<std::string> JwkThumbprint(EVP_PKEY* key) {
  BIGNUM* x = nullptr;
  BIGNUM* y = nullptr;
  if (EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_X, &x) != 1 ||
      EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_Y, &y) != 1) {
    BN_free(x);
    BN_free(y);
    return Status::Internal("bad_device_key", "cannot read the device public key coordinates");
  }
  std::string xb(32, '\0'), yb(32, '\0');
  BN_bn2binpad(x, reinterpret_cast<unsigned char*>(xb.data()), 32);
  BN_bn2binpad(y, reinterpret_cast<unsigned char*>(yb.data()), 32);
  BN_free(x);
  BN_free(y);
  std::string jwk = R"({"crv":"P-256","kty":"EC","x":")" + Base64UrlEncode(xb) + R"(","y":")" + Base64UrlEncode(yb) + R"("})";
  return Base64UrlEncode(Sha256(jwk));
}

bool Exists(const std::filesystem::path& p) {
  std::error_code ec;
  return std::filesystem::exists(p, ec);
}

Status EnsureParent(const std::filesystem::path& p) {
  std::error_code ec;
  if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path(), ec);
  if (ec) return Status::Io("write_failed", p.parent_path().string() + ": cannot create directory: " + ec.message());
  return Status::Ok();
}

}  // namespace

struct DeviceSigner::Impl {
  Pkey key;
  std::string kid;
  std::vector<std::string> x5c;
  std::string header_b64;  // the protected header never changes: encode it once
};

DeviceSigner::DeviceSigner() = default;
DeviceSigner::DeviceSigner(DeviceSigner&&) noexcept = default;
DeviceSigner& DeviceSigner::operator=(DeviceSigner&&) noexcept = default;
DeviceSigner::DeviceSigner(const DeviceSigner&) = default;
DeviceSigner& DeviceSigner::operator=(const DeviceSigner&) = default;
DeviceSigner::~DeviceSigner() = default;
const std::string& DeviceSigner::kid() const { return impl_->kid; }
const std::vector<std::string>& DeviceSigner::x5c() const { return impl_->x5c; }

Result<DeviceSigner> DeviceSigner::Load(const std::filesystem::path& key_file, const std::filesystem::path& chain_file) {
  auto pem = ReadSecretFile(key_file);
  if (!pem.ok()) return pem.status().WithContext("device key");
  auto key = ParsePrivateKey(*pem);
  OPENSSL_cleanse(pem->data(), pem->size());
  if (!key.ok()) return key.status().WithContext(key_file.string());
  auto chain_pem = ReadFileBounded(chain_file, 1024 * 1024);
  if (!chain_pem.ok()) return chain_pem.status().WithContext("device certificate chain");
  auto chain = ParseCertChain(*chain_pem);
  if (chain.empty())
    return Status::InvalidInput("bad_device_chain", chain_file.string() + ": no PEM certificate found; run veridge keys init or install the chain from your CA");
  if (X509_check_private_key(chain[0].get(), key->get()) != 1) {
    ERR_clear_error();
    return Status::InvalidInput("bad_device_chain", chain_file.string() + ": the first certificate does not match the device key; install the certificate issued for this key");
  }
  auto impl = std::make_shared<Impl>();
  impl->key = std::move(*key);
  auto kid = JwkThumbprint(impl->key.get());
  if (!kid.ok()) return kid.status();
  impl->kid = *kid;
  for (auto& c : chain) impl->x5c.push_back(Base64Encode(Der(c.get())));
  nlohmann::json header = {{"alg", "ES256"}, {"kid", impl->kid}, {"x5c", impl->x5c}};
  auto canon = CanonicalJson(header);
  if (!canon.ok()) return canon.status();
  impl->header_b64 = Base64UrlEncode(*canon);
  DeviceSigner s;
  s.impl_ = std::move(impl);
  return s;
}

Result<std::string> DeviceSigner::SignJws(std::string_view payload) const {
  std::string input = impl_->header_b64 + "." + Base64UrlEncode(payload);
  ossl::MdCtxPtr ctx(EVP_MD_CTX_new());
  size_t len = 0;
  if (EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, impl_->key.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1)
    return Status::Internal("sign_failed", "ES256 signing failed: " + OpenSslErrors());
  std::string der(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(der.data()), &len,
                     reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1)
    return Status::Internal("sign_failed", "ES256 signing failed: " + OpenSslErrors());
  // OpenSSL produces DER (SEQUENCE of two INTEGERs); JWS wants the fixed-width r||s (RFC 7518 §3.4).
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(len)));
  if (!sig) return Status::Internal("sign_failed", "cannot decode the ECDSA signature");
  std::string raw(64, '\0');
  BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), reinterpret_cast<unsigned char*>(raw.data()), 32);
  BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), reinterpret_cast<unsigned char*>(raw.data()) + 32, 32);
  return input + "." + Base64UrlEncode(raw);
}

Result<KeysInitReport> InitKeys(const KeysInitOptions& o, const Clock& clock) {
  KeysInitReport report;
  if (o.device_key_file.empty() || o.device_cert_chain.empty())
    return Status::InvalidInput("missing_config", "[device].key_file and [device].cert_chain must be set");

  if (!o.store_key_file.empty()) {
    if (Exists(o.store_key_file)) {
      report.kept.push_back(o.store_key_file.string());
    } else {
      VERIDGE_RETURN_IF_ERROR(EnsureParent(o.store_key_file));
      std::string key(32, '\0');
      if (RAND_bytes(reinterpret_cast<unsigned char*>(key.data()), 32) != 1)
        return Status::Internal("key_generation_failed", "no randomness for the store key: " + OpenSslErrors());
      Status st = WriteFileAtomic(o.store_key_file, key, 0600);
      OPENSSL_cleanse(key.data(), key.size());
      VERIDGE_RETURN_IF_ERROR(st);
      report.created.push_back(o.store_key_file.string());
    }
  }

  const bool had_key = Exists(o.device_key_file);
  const bool had_chain = Exists(o.device_cert_chain);
  if (had_chain && !had_key)
    return Status::InvalidInput("chain_without_key", o.device_cert_chain.string() +
                                                         " exists but the device key does not; restore the key or remove the stale chain");
  Pkey device_key;
  if (had_key) {
    auto pem = ReadSecretFile(o.device_key_file);
    if (!pem.ok()) return pem.status().WithContext("device key");
    auto k = ParsePrivateKey(*pem);
    OPENSSL_cleanse(pem->data(), pem->size());
    if (!k.ok()) return k.status().WithContext(o.device_key_file.string());
    device_key = std::move(*k);
    report.kept.push_back(o.device_key_file.string());
  } else {
    auto k = GenerateP256();
    if (!k.ok()) return k.status();
    device_key = std::move(*k);
    VERIDGE_RETURN_IF_ERROR(EnsureParent(o.device_key_file));
    std::string pem = PrivateKeyPem(device_key.get());
    Status st = WriteFileAtomic(o.device_key_file, pem, 0600);
    OPENSSL_cleanse(pem.data(), pem.size());
    VERIDGE_RETURN_IF_ERROR(st);
    report.created.push_back(o.device_key_file.string());
  }
  if (had_chain) {
    report.kept.push_back(o.device_cert_chain.string());
    return report;
  }

  // Development chain: a local dev CA beside the device key (reused when present).
  const auto dir = o.device_key_file.parent_path();
  const auto ca_key_file = dir / "dev-ca.key";
  const auto ca_cert_file = dir / "dev-ca.pem";
  const std::int64_t now = clock.NowUnixSeconds();
  Pkey ca_key;
  Cert ca_cert;
  if (Exists(ca_key_file) && Exists(ca_cert_file)) {
    auto pem = ReadSecretFile(ca_key_file);
    if (!pem.ok()) return pem.status().WithContext("dev CA key");
    auto k = ParsePrivateKey(*pem);
    if (!k.ok()) return k.status().WithContext(ca_key_file.string());
    ca_key = std::move(*k);
    auto cpem = ReadFileBounded(ca_cert_file, 1024 * 1024);
    if (!cpem.ok()) return cpem.status();
    auto certs = ParseCertChain(*cpem);
    if (certs.empty()) return Status::InvalidInput("bad_dev_ca", ca_cert_file.string() + ": no certificate");
    ca_cert = std::move(certs[0]);
    report.kept.push_back(ca_key_file.string());
    report.kept.push_back(ca_cert_file.string());
  } else {
    auto k = GenerateP256();
    if (!k.ok()) return k.status();
    ca_key = std::move(*k);
    auto c = IssueCert(ca_key.get(), "Veridge development CA", true, nullptr, nullptr, now, 3650);
    if (!c.ok()) return c.status();
    ca_cert = std::move(*c);
    std::string pem = PrivateKeyPem(ca_key.get());
    Status st = WriteFileAtomic(ca_key_file, pem, 0600);
    OPENSSL_cleanse(pem.data(), pem.size());
    VERIDGE_RETURN_IF_ERROR(st);
    VERIDGE_RETURN_IF_ERROR(WriteFileAtomic(ca_cert_file, CertPem(ca_cert.get()), 0644));
    report.created.push_back(ca_key_file.string());
    report.created.push_back(ca_cert_file.string());
  }
  auto dev = IssueCert(device_key.get(), o.device_id.empty() ? "veridge-device" : o.device_id, false, ca_key.get(),
                       ca_cert.get(), now, o.dev_cert_days);
  if (!dev.ok()) return dev.status();
  VERIDGE_RETURN_IF_ERROR(EnsureParent(o.device_cert_chain));
  VERIDGE_RETURN_IF_ERROR(WriteFileAtomic(o.device_cert_chain, CertPem(dev->get()) + CertPem(ca_cert.get()), 0644));
  report.created.push_back(o.device_cert_chain.string());
  return report;
}

Result<std::string> MakeCsrPem(const std::filesystem::path& device_key_file, const std::string& device_id) {
  auto pem = ReadSecretFile(device_key_file);
  if (!pem.ok()) return pem.status().WithContext("device key");
  auto key = ParsePrivateKey(*pem);
  OPENSSL_cleanse(pem->data(), pem->size());
  if (!key.ok()) return key.status();
  ReqPtr req(X509_REQ_new());
  X509_REQ_set_version(req.get(), 0);
  X509_NAME* name = X509_REQ_get_subject_name(req.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(device_id.c_str()), -1, -1, 0);
  X509_REQ_set_pubkey(req.get(), key->get());
  if (X509_REQ_sign(req.get(), key->get(), EVP_sha256()) <= 0)
    return Status::Internal("sign_failed", "signing the CSR failed: " + OpenSslErrors());
  Bio bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509_REQ(bio.get(), req.get());
  return BioToString(bio.get());
}

}  // namespace veridge::pki
