#include "outbox/signing.h"

#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <algorithm>
#include <cctype>
#include <array>
#include <charconv>
#include <limits>
#include <memory>

#include "common/base64.h"

namespace veridge::outbox {
namespace {

struct PkeyFree { void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); } };
struct X509Free { void operator()(X509* p) const { X509_free(p); } };
struct MdCtxFree { void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); } };
struct SigFree { void operator()(ECDSA_SIG* p) const { ECDSA_SIG_free(p); } };
void sk_X509_free_fn(STACK_OF(X509)* s) { sk_X509_free(s); }  // frees the stack, not the certificates

}  // namespace

std::string HmacSha256(std::string_view key, std::string_view data) {
  std::string out(32, '\0');
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), reinterpret_cast<unsigned char*>(out.data()), &len);
  return out;
}

// ---- Standard Webhooks -------------------------------------------------------------------------

Result<WebhookSecret> WebhookSecret::Parse(std::string_view text) {
  auto is_space = [](char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; };
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  constexpr std::string_view kPrefix = "whsec_";
  if (text.substr(0, kPrefix.size()) != kPrefix)
    return Status::InvalidInput("bad_webhook_secret", "webhook secret must look like whsec_<base64>; ask the lender for their Standard Webhooks secret");
  text.remove_prefix(kPrefix.size());
  auto key = Base64Decode(text);
  if (!key.ok()) return Status::InvalidInput("bad_webhook_secret", "the part after whsec_ is not valid base64");
  if (key->size() < 16) return Status::InvalidInput("bad_webhook_secret", "webhook secret is shorter than 16 bytes; use a longer one");
  WebhookSecret s;
  s.key_ = std::move(*key);
  return s;
}

std::string WebhookSecret::Generate() {
  std::string key(32, '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(key.data()), static_cast<int>(key.size()));
  std::string out = "whsec_" + Base64Encode(key);
  OPENSSL_cleanse(key.data(), key.size());
  return out;
}

std::string WebhookSignature(const WebhookSecret& secret, std::string_view id, std::int64_t timestamp,
                             std::string_view body) {
  std::string to_sign;
  to_sign.reserve(id.size() + body.size() + 24);
  to_sign.append(id).append(".").append(std::to_string(timestamp)).append(".").append(body);
  return "v1," + Base64Encode(HmacSha256(secret.key(), to_sign));
}

namespace {

// RFC 9110 token characters: what a header name may be made of.
bool IsHeaderName(std::string_view name) {
  if (name.empty()) return false;
  for (unsigned char c : name)
    if (!(std::isalnum(c) || std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos)) return false;
  return true;
}

Status BadHeaders(const std::string& why) {
  return Status::InvalidInput("bad_headers", why + "; give the delivery's headers as a JSON object or as \"Name: value\" lines");
}

}  // namespace

Result<WebhookHeaders> ParseWebhookHeaders(std::string_view input) {
  const std::string text(input);
  WebhookHeaders h;
  auto set = [&h](std::string name, std::string value) {
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (name == "webhook-id") h.id = value;
    else if (name == "webhook-timestamp") h.timestamp = value;
    else if (name == "webhook-signature") h.signature = value;
  };
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (it.value().is_string()) set(it.key(), it.value().get<std::string>());
      else if (it.key().rfind("webhook-", 0) == 0) return BadHeaders("header " + it.key() + " is not a string");
    }
    return h;
  }
  if (!j.is_discarded()) return BadHeaders("JSON that is not an object");
  std::size_t pos = 0;
  int lineno = 0, headers = 0;
  while (pos < text.size()) {
    std::size_t eol = text.find('\n', pos);
    std::string line = text.substr(pos, eol == std::string::npos ? std::string::npos : eol - pos);
    pos = eol == std::string::npos ? text.size() : eol + 1;
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) {
      if (headers > 0) break;  // end of the header block (a saved raw request continues with its body)
      continue;
    }
    if (lineno == 1 && line.find(" HTTP/") != std::string::npos) continue;  // "POST /hook HTTP/1.1"
    auto colon = line.find(':');
    if (colon == std::string::npos || !IsHeaderName(std::string_view(line).substr(0, colon)))
      return BadHeaders("line " + std::to_string(lineno) + " is not a \"Name: value\" header");
    std::string value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.erase(0, 1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.pop_back();
    set(line.substr(0, colon), value);
    ++headers;
  }
  if (headers == 0) return BadHeaders("no header found");
  return h;
}

Status VerifyWebhook(const WebhookSecret& secret, const WebhookHeaders& headers, std::string_view body,
                     std::int64_t now_unix, std::chrono::seconds tolerance) {
  if (headers.id.empty() || headers.timestamp.empty() || headers.signature.empty())
    return Status::InvalidInput("missing_header", "delivery lacks webhook-id, webhook-timestamp or webhook-signature");
  std::int64_t ts = 0;
  auto [p, ec] = std::from_chars(headers.timestamp.data(), headers.timestamp.data() + headers.timestamp.size(), ts);
  if (ec != std::errc() || p != headers.timestamp.data() + headers.timestamp.size())
    return Status::InvalidInput("bad_timestamp", "webhook-timestamp is not a decimal number of seconds");
  if (tolerance.count() < 0) return Status::InvalidInput("bad_tolerance", "the timestamp tolerance must not be negative");
  // now ± tolerance is formed only where it cannot wrap (a huge tolerance once made a current
  // delivery "too new"); where it would, no timestamp lies beyond it.
  using Limits = std::numeric_limits<std::int64_t>;
  const std::int64_t tol = tolerance.count();
  if (now_unix >= Limits::min() + tol && ts < now_unix - tol)
    return Status::InvalidInput("timestamp_too_old", "webhook-timestamp is older than the tolerance; a replayed or delayed delivery is refused");
  if (now_unix <= Limits::max() - tol && ts > now_unix + tol)
    return Status::InvalidInput("timestamp_too_new", "webhook-timestamp is in the future; check both clocks");
  const std::string expected = WebhookSignature(secret, headers.id, ts, body).substr(3);  // drop "v1,"
  // Several space-separated signatures may be present (key rotation); any v1 match suffices.
  std::string_view sigs = headers.signature;
  while (!sigs.empty()) {
    size_t sp = sigs.find(' ');
    std::string_view one = sigs.substr(0, sp);
    sigs = sp == std::string_view::npos ? std::string_view{} : sigs.substr(sp + 1);
    if (one.substr(0, 3) != "v1,") continue;
    one.remove_prefix(3);
    if (one.size() == expected.size() && CRYPTO_memcmp(one.data(), expected.data(), expected.size()) == 0)
      return Status::Ok();
  }
  return Status::InvalidInput("signature_mismatch", "no webhook-signature matches: the body was altered or the secret is wrong");
}

// ---- JWS ---------------------------------------------------------------------------------------

Result<DecodedJws> DecodeJws(std::string_view compact) {
  if (compact.size() > 1024 * 1024) return Status::InvalidInput("bad_jws", "JWS larger than 1 MiB");
  size_t d1 = compact.find('.');
  size_t d2 = d1 == std::string_view::npos ? d1 : compact.find('.', d1 + 1);
  if (d2 == std::string_view::npos || compact.find('.', d2 + 1) != std::string_view::npos)
    return Status::InvalidInput("bad_jws", "not a compact JWS (three base64url parts separated by dots)");
  auto h = Base64UrlDecode(compact.substr(0, d1));
  auto p = Base64UrlDecode(compact.substr(d1 + 1, d2 - d1 - 1));
  auto s = Base64UrlDecode(compact.substr(d2 + 1));
  if (!h.ok() || !p.ok() || !s.ok()) return Status::InvalidInput("bad_jws", "a JWS part is not base64url");
  DecodedJws out;
  out.header = nlohmann::json::parse(*h, nullptr, false);
  if (!out.header.is_object()) return Status::InvalidInput("bad_jws", "JWS header is not a JSON object");
  out.payload = std::move(*p);
  out.signing_input = std::string(compact.substr(0, d2));
  out.signature = std::move(*s);
  return out;
}

Result<DecodedJws> VerifyJwsWithX5c(std::string_view compact) {
  auto jws = DecodeJws(compact);
  if (!jws.ok()) return jws.status();
  const auto& h = jws->header;
  if (h.value("alg", "") != "ES256") return Status::InvalidInput("unsupported_alg", "JWS alg is not ES256");
  if (!h.contains("x5c") || !h["x5c"].is_array() || h["x5c"].empty() || !h["x5c"][0].is_string())
    return Status::InvalidInput("bad_x5c", "JWS header has no x5c certificate chain");
  auto der = Base64Decode(h["x5c"][0].get<std::string>());  // x5c is standard base64 (RFC 7515 §4.1.6)
  if (!der.ok()) return Status::InvalidInput("bad_x5c", "x5c[0] is not base64");
  const unsigned char* dp = reinterpret_cast<const unsigned char*>(der->data());
  std::unique_ptr<X509, X509Free> cert(d2i_X509(nullptr, &dp, static_cast<long>(der->size())));
  if (!cert) return Status::InvalidInput("bad_x5c", "x5c[0] is not a DER certificate");
  std::unique_ptr<EVP_PKEY, PkeyFree> key(X509_get_pubkey(cert.get()));
  if (!key || EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_EC || EVP_PKEY_get_bits(key.get()) != 256)
    return Status::InvalidInput("bad_x5c", "x5c[0] does not hold a P-256 key");
  if (jws->signature.size() != 64) return Status::InvalidInput("signature_mismatch", "ES256 signature is not 64 bytes (r||s)");
  std::unique_ptr<ECDSA_SIG, SigFree> sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(jws->signature.data()), 32, nullptr);
  BIGNUM* s = BN_bin2bn(reinterpret_cast<const unsigned char*>(jws->signature.data()) + 32, 32, nullptr);
  ECDSA_SIG_set0(sig.get(), r, s);
  unsigned char* dersig = nullptr;
  int dersig_len = i2d_ECDSA_SIG(sig.get(), &dersig);
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  int ok = dersig_len > 0 && EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()) == 1 &&
           EVP_DigestVerify(ctx.get(), dersig, static_cast<size_t>(dersig_len),
                            reinterpret_cast<const unsigned char*>(jws->signing_input.data()), jws->signing_input.size()) == 1;
  OPENSSL_free(dersig);
  if (!ok) return Status::InvalidInput("signature_mismatch", "JWS signature does not verify with the x5c[0] key");
  return jws;
}

Status VerifyX5cChain(const nlohmann::json& x5c, const std::string& trust_pem, std::int64_t at_unix) {
  if (!x5c.is_array() || x5c.empty() || x5c.size() > 10) return Status::InvalidInput("bad_x5c", "x5c must be an array of 1..10 certificates");
  std::vector<std::unique_ptr<X509, X509Free>> certs;
  for (const auto& e : x5c) {
    if (!e.is_string()) return Status::InvalidInput("bad_x5c", "x5c entry is not a string");
    auto der = Base64Decode(e.get<std::string>());
    if (!der.ok()) return Status::InvalidInput("bad_x5c", "x5c entry is not base64");
    const unsigned char* p = reinterpret_cast<const unsigned char*>(der->data());
    X509* c = d2i_X509(nullptr, &p, static_cast<long>(der->size()));
    if (!c) return Status::InvalidInput("bad_x5c", "x5c entry is not a DER certificate");
    certs.emplace_back(c);
  }
  std::unique_ptr<X509_STORE, decltype(&X509_STORE_free)> store(X509_STORE_new(), X509_STORE_free);
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(trust_pem.data(), static_cast<int>(trust_pem.size())), BIO_free);
  int anchors = 0;
  while (X509* c = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    anchors += X509_STORE_add_cert(store.get(), c) == 1;
    X509_free(c);
  }
  ERR_clear_error();
  if (anchors == 0) return Status::InvalidInput("bad_trust_anchors", "no PEM certificate in the trust-anchor file");
  std::unique_ptr<STACK_OF(X509), decltype(&sk_X509_free_fn)> untrusted(sk_X509_new_null(), sk_X509_free_fn);
  for (size_t i = 1; i < certs.size(); ++i) sk_X509_push(untrusted.get(), certs[i].get());
  std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)> ctx(X509_STORE_CTX_new(), X509_STORE_CTX_free);
  X509_STORE_CTX_init(ctx.get(), store.get(), certs[0].get(), untrusted.get());
  X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx.get()), static_cast<time_t>(at_unix));
  if (X509_verify_cert(ctx.get()) != 1) {
    int err = X509_STORE_CTX_get_error(ctx.get());
    ERR_clear_error();
    return Status::InvalidInput("chain_invalid", std::string("device certificate chain does not validate: ") + X509_verify_cert_error_string(err));
  }
  return Status::Ok();
}

Status VerifyX5cPinnedKey(const nlohmann::json& x5c, std::string_view pinned_pem) {
  if (!x5c.is_array() || x5c.empty() || !x5c[0].is_string()) return Status::InvalidInput("bad_x5c", "JWS header has no x5c certificate chain");
  auto der = Base64Decode(x5c[0].get<std::string>());
  if (!der.ok()) return Status::InvalidInput("bad_x5c", "x5c[0] is not base64");
  const unsigned char* dp = reinterpret_cast<const unsigned char*>(der->data());
  std::unique_ptr<X509, X509Free> cert(d2i_X509(nullptr, &dp, static_cast<long>(der->size())));
  if (!cert) return Status::InvalidInput("bad_x5c", "x5c[0] is not a DER certificate");
  if (pinned_pem.size() > 1024 * 1024) return Status::InvalidInput("bad_pinned_key", "the pinned device key file is larger than 1 MiB");
  // The pin is a PEM public key, or a PEM certificate whose key is pinned (what `keys init` writes).
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pinned_pem.data(), static_cast<int>(pinned_pem.size())), BIO_free);
  std::unique_ptr<EVP_PKEY, PkeyFree> pinned(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  if (!pinned) {
    ERR_clear_error();
    std::unique_ptr<BIO, decltype(&BIO_free)> bio2(BIO_new_mem_buf(pinned_pem.data(), static_cast<int>(pinned_pem.size())), BIO_free);
    std::unique_ptr<X509, X509Free> pinned_cert(PEM_read_bio_X509(bio2.get(), nullptr, nullptr, nullptr));
    if (pinned_cert) pinned.reset(X509_get_pubkey(pinned_cert.get()));
  }
  ERR_clear_error();
  if (!pinned)
    return Status::InvalidInput("bad_pinned_key", "the pinned device key file holds no PEM public key (BEGIN PUBLIC KEY) or certificate");
  if (EVP_PKEY_eq(X509_get0_pubkey(cert.get()), pinned.get()) != 1)
    return Status::InvalidInput("key_mismatch", "the attestation was signed by a key other than the pinned device key");
  return Status::Ok();
}

}  // namespace veridge::outbox
