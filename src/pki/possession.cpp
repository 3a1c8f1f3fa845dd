// Proof of possession through PKCS#11 (p11-kit loads the module). See possession.h.
#include "pki/possession.h"

#include <openssl/ec.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <p11-kit/p11-kit.h>
#include <p11-kit/pkcs11.h>

#include <cstdio>
#include <vector>

#include "common/files.h"
#include "pki/ossl.h"
#include "pki/pki.h"

namespace veridge::pki {

namespace {

using Bytes = std::vector<unsigned char>;

std::string RvName(CK_RV rv) {
  switch (rv) {
    case CKR_PIN_INCORRECT: return "CKR_PIN_INCORRECT";
    case CKR_PIN_LOCKED: return "CKR_PIN_LOCKED";
    case CKR_DEVICE_REMOVED: return "CKR_DEVICE_REMOVED";
    case CKR_TOKEN_NOT_PRESENT: return "CKR_TOKEN_NOT_PRESENT";
    case CKR_SESSION_HANDLE_INVALID: return "CKR_SESSION_HANDLE_INVALID";
    case CKR_MECHANISM_INVALID: return "CKR_MECHANISM_INVALID";
    case CKR_KEY_TYPE_INCONSISTENT: return "CKR_KEY_TYPE_INCONSISTENT";
    case CKR_USER_PIN_NOT_INITIALIZED: return "CKR_USER_PIN_NOT_INITIALIZED";
    default: {
      char buf[32];
      std::snprintf(buf, sizeof buf, "CKR 0x%lx", static_cast<unsigned long>(rv));
      return buf;
    }
  }
}

bool IsRemoval(CK_RV rv) {
  return rv == CKR_DEVICE_REMOVED || rv == CKR_TOKEN_NOT_PRESENT || rv == CKR_SESSION_HANDLE_INVALID ||
         rv == CKR_SESSION_CLOSED || rv == CKR_DEVICE_ERROR || rv == CKR_SLOT_ID_INVALID;
}

Status FromRv(CK_RV rv, const char* call) {
  if (IsRemoval(rv))
    return Status::Unavailable("token_removed", std::string("the token was removed or stopped answering (") + call +
                                                    ": " + RvName(rv) + "); insert the card again and restart");
  return Status::Unavailable("pkcs11_error", std::string(call) + " failed: " + RvName(rv));
}

std::string Trim(const unsigned char* p, std::size_t n) {
  std::string s(reinterpret_cast<const char*>(p), n);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\0')) s.pop_back();
  return s;
}

// Owns the loaded module: finalised and released on every path.
class Module {
 public:
  Module(CK_FUNCTION_LIST* fl) : fl_(fl) {}
  ~Module() {
    if (initialized_) p11_kit_module_finalize(fl_);
    if (fl_) p11_kit_module_release(fl_);
  }
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;
  CK_FUNCTION_LIST* fl() const { return fl_; }
  void set_initialized() { initialized_ = true; }

 private:
  CK_FUNCTION_LIST* fl_;
  bool initialized_ = false;
};

class Session {
 public:
  explicit Session(CK_FUNCTION_LIST* fl) : fl_(fl) {}
  ~Session() {
    if (logged_in_) fl_->C_Logout(h_);
    if (open_) fl_->C_CloseSession(h_);
  }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  CK_SESSION_HANDLE h_ = 0;
  bool open_ = false;
  bool logged_in_ = false;

 private:
  CK_FUNCTION_LIST* fl_;
};

struct Ctx {
  CK_FUNCTION_LIST* fl;
  const std::function<unsigned long(const char*)>* fault;
  template <typename F>
  CK_RV Call(const char* name, F&& f) const {
    if (fault && *fault) {
      if (unsigned long rv = (*fault)(name); rv != 0) return rv;
    }
    return f();
  }
};

Result<Bytes> GetAttr(const Ctx& c, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type,
                      std::size_t max) {
  CK_ATTRIBUTE a{type, nullptr, 0};
  CK_RV rv = c.Call("C_GetAttributeValue", [&] { return c.fl->C_GetAttributeValue(s, o, &a, 1); });
  if (rv != CKR_OK) return FromRv(rv, "C_GetAttributeValue");
  if (a.ulValueLen == CK_UNAVAILABLE_INFORMATION || a.ulValueLen > max)
    return Status::InvalidInput("too_large", "a token object attribute is missing or over the size limit");
  Bytes v(a.ulValueLen);
  a.pValue = v.data();
  rv = c.Call("C_GetAttributeValue", [&] { return c.fl->C_GetAttributeValue(s, o, &a, 1); });
  if (rv != CKR_OK) return FromRv(rv, "C_GetAttributeValue");
  v.resize(a.ulValueLen);
  return v;
}

Result<std::vector<CK_OBJECT_HANDLE>> Find(const Ctx& c, CK_SESSION_HANDLE s, CK_ATTRIBUTE* tmpl, CK_ULONG n) {
  CK_RV rv = c.Call("C_FindObjectsInit", [&] { return c.fl->C_FindObjectsInit(s, tmpl, n); });
  if (rv != CKR_OK) return FromRv(rv, "C_FindObjectsInit");
  std::vector<CK_OBJECT_HANDLE> out(64);
  CK_ULONG got = 0;
  rv = c.Call("C_FindObjects", [&] { return c.fl->C_FindObjects(s, out.data(), out.size(), &got); });
  c.fl->C_FindObjectsFinal(s);
  if (rv != CKR_OK) return FromRv(rv, "C_FindObjects");
  out.resize(got);
  return out;
}

}  // namespace

Result<PossessionResult> ProvePossession(ProveOptions options) {
  // Our copy of the PIN is wiped however we leave.
  struct Wipe {
    std::string* s;
    ~Wipe() { OPENSSL_cleanse(s->data(), s->size()); }
  } wipe{&options.pin};

  if (options.pin.empty()) return Status::InvalidInput("pin_empty", "no PIN given; the PIN file is empty");
  if (options.pin.size() > 256) return Status::InvalidInput("pin_too_long", "the PIN is longer than 256 bytes");
  if (options.session_id.empty() || options.session_id.size() > 256)
    return Status::InvalidInput("bad_session_id", "a session id of 1..256 bytes is required");
  // stat, not exists(): a FIFO named as the module would block dlopen() forever, and ELOOP is not
  // "not found".
  auto regular = options.module_path.is_absolute() ? RegularFileOrAbsent(options.module_path) : Result<bool>(false);
  if (!regular.ok()) return regular.status().WithContext("PKCS#11 module");
  if (!*regular)
    return Status::NotFound("module_not_found", "PKCS#11 module " + options.module_path.string() +
                                                    " not found (give an absolute path, e.g. "
                                                    "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so)");

  Module module(p11_kit_module_load(options.module_path.c_str(), 0));
  if (!module.fl()) {
    const char* msg = p11_kit_message();
    return Status::Unavailable("module_load_failed", "cannot load PKCS#11 module " + options.module_path.string() +
                                                         (msg ? std::string(": ") + msg : std::string()));
  }
  Ctx c{module.fl(), &options.fault};
  CK_RV rv = c.Call("C_Initialize", [&] { return p11_kit_module_initialize(module.fl()); });
  if (rv != CKR_OK) return FromRv(rv, "C_Initialize");
  module.set_initialized();

  // Token.
  CK_ULONG nslots = 0;
  rv = c.Call("C_GetSlotList", [&] { return c.fl->C_GetSlotList(CK_TRUE, nullptr, &nslots); });
  if (rv != CKR_OK) return FromRv(rv, "C_GetSlotList");
  if (nslots > 64) nslots = 64;
  std::vector<CK_SLOT_ID> slots(nslots);
  if (nslots > 0) {
    rv = c.Call("C_GetSlotList", [&] { return c.fl->C_GetSlotList(CK_TRUE, slots.data(), &nslots); });
    if (rv != CKR_OK && rv != CKR_BUFFER_TOO_SMALL) return FromRv(rv, "C_GetSlotList");
    slots.resize(std::min<CK_ULONG>(nslots, 64));
  }
  std::vector<std::pair<CK_SLOT_ID, CK_TOKEN_INFO>> tokens;
  for (CK_SLOT_ID s : slots) {
    CK_TOKEN_INFO ti{};
    if (c.Call("C_GetTokenInfo", [&] { return c.fl->C_GetTokenInfo(s, &ti); }) != CKR_OK) continue;
    if (!(ti.flags & CKF_TOKEN_INITIALIZED)) continue;
    std::string label = Trim(ti.label, sizeof ti.label);
    if (options.token_label.empty() || label == options.token_label) tokens.emplace_back(s, ti);
  }
  if (tokens.empty())
    return Status::NotFound("no_token", options.token_label.empty()
                                            ? "no token present; insert the card"
                                            : "no token labelled \"" + options.token_label + "\" present");
  if (tokens.size() > 1)
    return Status::InvalidInput("ambiguous_token", "several tokens present; choose one with --token LABEL");
  const CK_SLOT_ID slot = tokens[0].first;
  CK_TOKEN_INFO ti = tokens[0].second;
  PossessionResult out;
  out.token_label = Trim(ti.label, sizeof ti.label);
  out.token_serial = Trim(ti.serialNumber, sizeof ti.serialNumber);
  if (ti.flags & CKF_USER_PIN_LOCKED)
    return Status::Permission("pin_locked", "the card's PIN is locked; it must be unblocked by its issuer");

  Session session(c.fl);
  rv = c.Call("C_OpenSession",
              [&] { return c.fl->C_OpenSession(slot, CKF_SERIAL_SESSION, nullptr, nullptr, &session.h_); });
  if (rv != CKR_OK) return FromRv(rv, "C_OpenSession");
  session.open_ = true;

  // Log in once. A refused PIN is reported, never retried.
  rv = c.Call("C_Login", [&] {
    return c.fl->C_Login(session.h_, CKU_USER, reinterpret_cast<CK_UTF8CHAR_PTR>(options.pin.data()),
                         options.pin.size());
  });
  OPENSSL_cleanse(options.pin.data(), options.pin.size());
  if (rv == CKR_PIN_INCORRECT || rv == CKR_PIN_INVALID || rv == CKR_PIN_LEN_RANGE) {
    CK_TOKEN_INFO after{};
    std::string tries;
    if (c.fl->C_GetTokenInfo(slot, &after) == CKR_OK) {
      if (after.flags & CKF_USER_PIN_LOCKED) return Status::Permission("pin_locked", "wrong PIN: the card is now locked");
      if (after.flags & CKF_USER_PIN_FINAL_TRY) tries = "; one try is left before the card locks";
      else if (after.flags & CKF_USER_PIN_COUNT_LOW) tries = "; few tries are left before the card locks";
    }
    return Status::Permission("pin_incorrect", "the card refused the PIN" + tries);
  }
  if (rv == CKR_PIN_LOCKED) return Status::Permission("pin_locked", "the card's PIN is locked; it must be unblocked by its issuer");
  if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) return FromRv(rv, "C_Login");
  session.logged_in_ = true;

  // Certificate and the private key with the same CKA_ID.
  CK_OBJECT_CLASS cert_class = CKO_CERTIFICATE;
  CK_CERTIFICATE_TYPE cert_type = CKC_X_509;
  CK_ATTRIBUTE ct[] = {{CKA_CLASS, &cert_class, sizeof cert_class}, {CKA_CERTIFICATE_TYPE, &cert_type, sizeof cert_type}};
  auto certs = Find(c, session.h_, ct, 2);
  if (!certs.ok()) return certs.status();
  if (certs->empty()) return Status::NotFound("no_certificate", "the token holds no X.509 certificate");
  CK_OBJECT_HANDLE key = CK_INVALID_HANDLE;
  Bytes cert_der;
  for (CK_OBJECT_HANDLE h : *certs) {
    auto id = GetAttr(c, session.h_, h, CKA_ID, 256);
    if (!id.ok()) return id.status();
    CK_OBJECT_CLASS key_class = CKO_PRIVATE_KEY;
    CK_ATTRIBUTE kt[] = {{CKA_CLASS, &key_class, sizeof key_class}, {CKA_ID, id->data(), id->size()}};
    auto keys = Find(c, session.h_, kt, 2);
    if (!keys.ok()) return keys.status();
    if (keys->empty()) continue;
    auto der = GetAttr(c, session.h_, h, CKA_VALUE, kMaxObjectBytes);
    if (!der.ok()) return der.status();
    cert_der = std::move(*der);
    key = (*keys)[0];
    break;
  }
  if (key == CK_INVALID_HANDLE) {
    out.code = "no_matching_key";
    out.reason = "the token holds a certificate but no private key with the same CKA_ID";
    return out;
  }
  out.certificate_der.assign(cert_der.begin(), cert_der.end());
  const unsigned char* p = cert_der.data();
  ossl::X509Ptr x(d2i_X509(nullptr, &p, static_cast<long>(cert_der.size())));
  EVP_PKEY* pub = x ? X509_get0_pubkey(x.get()) : nullptr;
  if (!pub) return Status::InvalidInput("malformed", "the token's certificate cannot be decoded");

  // Challenge bound to the session.
  unsigned char challenge[32];
  if (RAND_bytes(challenge, sizeof challenge) != 1) return Status::Internal("rng_failed", "RAND_bytes failed");
  out.challenge_hex = ToHex(challenge, sizeof challenge);
  std::string msg = "veridge-pop-v1";
  msg.push_back('\0');
  msg += options.session_id;
  msg.push_back('\0');
  msg.append(reinterpret_cast<const char*>(challenge), sizeof challenge);

  int type = EVP_PKEY_get_base_id(pub);
  int bits = EVP_PKEY_get_bits(pub);
  const EVP_MD* md = (type == EVP_PKEY_EC && bits > 256) ? EVP_sha384() : EVP_sha256();
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int dlen = 0;
  EVP_Digest(msg.data(), msg.size(), digest, &dlen, md, nullptr);

  CK_RSA_PKCS_PSS_PARAMS pss{CKM_SHA256, CKG_MGF1_SHA256, 32};
  CK_MECHANISM mech{};
  const unsigned char* to_sign = digest;
  CK_ULONG to_sign_len = dlen;
  if (type == EVP_PKEY_EC) {
    mech = {CKM_ECDSA, nullptr, 0};
    out.mechanism = (md == EVP_sha384()) ? "ECDSA-SHA384" : "ECDSA-SHA256";
  } else if (type == EVP_PKEY_RSA && !options.allow_pkcs1v15) {
    mech = {CKM_RSA_PKCS_PSS, &pss, sizeof pss};
    out.mechanism = "RSA-PSS-SHA256";
  } else if (type == EVP_PKEY_RSA) {
    mech = {CKM_SHA256_RSA_PKCS, nullptr, 0};
    to_sign = reinterpret_cast<const unsigned char*>(msg.data());
    to_sign_len = msg.size();
    out.mechanism = "RSA-PKCS1-SHA256";
  } else {
    out.code = "unsupported_key";
    out.reason = std::string("the token's key type ") + OBJ_nid2sn(type) + " is not supported (ECDSA or RSA)";
    return out;
  }
  rv = c.Call("C_SignInit", [&] { return c.fl->C_SignInit(session.h_, &mech, key); });
  if (rv != CKR_OK) return FromRv(rv, "C_SignInit");
  Bytes sig(1024);
  CK_ULONG siglen = sig.size();
  rv = c.Call("C_Sign", [&] {
    return c.fl->C_Sign(session.h_, const_cast<unsigned char*>(to_sign), to_sign_len, sig.data(), &siglen);
  });
  if (rv != CKR_OK) return FromRv(rv, "C_Sign");
  sig.resize(siglen);
  out.signature_hex = ToHex(sig.data(), sig.size());

  // Verify with the certificate's key (OpenSSL, not the token).
  Bytes der_sig = sig;
  if (type == EVP_PKEY_EC) {
    // PKCS#11 returns r || s; OpenSSL verifies DER ECDSA-Sig-Value.
    if (sig.size() % 2 != 0 || sig.empty()) {
      out.code = "signature_mismatch";
      out.reason = "the token returned a malformed ECDSA signature";
      return out;
    }
    ECDSA_SIG* es = ECDSA_SIG_new();
    std::size_t half = sig.size() / 2;
    ECDSA_SIG_set0(es, BN_bin2bn(sig.data(), static_cast<int>(half), nullptr),
                   BN_bin2bn(sig.data() + half, static_cast<int>(half), nullptr));
    unsigned char* d = nullptr;
    int len = i2d_ECDSA_SIG(es, &d);
    ECDSA_SIG_free(es);
    der_sig.assign(d, d + std::max(len, 0));
    OPENSSL_free(d);
  }
  ossl::PkeyCtxPtr vctx(EVP_PKEY_CTX_new(pub, nullptr));
  bool ok = false;
  if (vctx && EVP_PKEY_verify_init(vctx.get()) == 1) {
    if (mech.mechanism == CKM_SHA256_RSA_PKCS) {
      ossl::MdCtxPtr mctx(EVP_MD_CTX_new());
      ok = EVP_DigestVerifyInit(mctx.get(), nullptr, EVP_sha256(), nullptr, pub) == 1 &&
           EVP_DigestVerify(mctx.get(), der_sig.data(), der_sig.size(),
                            reinterpret_cast<const unsigned char*>(msg.data()), msg.size()) == 1;
    } else {
      EVP_PKEY_CTX_set_signature_md(vctx.get(), md);
      if (type == EVP_PKEY_RSA) {
        EVP_PKEY_CTX_set_rsa_padding(vctx.get(), RSA_PKCS1_PSS_PADDING);
        EVP_PKEY_CTX_set_rsa_mgf1_md(vctx.get(), EVP_sha256());
        EVP_PKEY_CTX_set_rsa_pss_saltlen(vctx.get(), 32);
      }
      ok = EVP_PKEY_verify(vctx.get(), der_sig.data(), der_sig.size(), digest, dlen) == 1;
    }
  }
  ERR_clear_error();
  if (!ok) {
    out.code = "signature_mismatch";
    out.reason = "the token's signature does not verify with its certificate's public key: the key on the card "
                 "does not belong to the certificate";
    return out;
  }
  out.proven = true;
  out.code = "ok";
  out.reason = "the token signed a fresh challenge with the certificate's key";
  return out;
}

}  // namespace veridge::pki
