// Path validation: OpenSSL's X509_verify_cert as the RFC 5280 engine, our path building and
// policy around it (see pki.h for the contract).
#include <arpa/inet.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <ctime>
#include <set>

#include "common/files.h"
#include "pki/ossl.h"
#include "pki/pki.h"
#include "pki/rules.h"

namespace veridge::pki {

using namespace ossl;

namespace {

struct Failure {
  std::string code;
  std::string reason;
  int depth = -1;
};

std::string DescribeAt(X509* cert, int depth) {
  std::string s = " (certificate at depth " + std::to_string(depth);
  if (cert) s += ", subject \"" + NameToString(X509_get_subject_name(cert)) + "\"";
  return s + ")";
}

// OpenSSL verification error -> our stable code.
std::string CodeFor(int err) {
  switch (err) {
    case X509_V_ERR_CERT_HAS_EXPIRED: return "expired";
    case X509_V_ERR_CERT_NOT_YET_VALID: return "not_yet_valid";
    case X509_V_ERR_CERT_REVOKED: return "revoked";
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_AKID_SKID_MISMATCH:
    case X509_V_ERR_AKID_ISSUER_SERIAL_MISMATCH:
    case X509_V_ERR_SUBJECT_ISSUER_MISMATCH:
    case X509_V_ERR_PATH_LOOP: return "path_not_found";
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_CERT_UNTRUSTED:
    case X509_V_ERR_CERT_REJECTED: return "untrusted_root";
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
    case X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE:
    case X509_V_ERR_UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY:
    case X509_V_ERR_NO_ISSUER_PUBLIC_KEY:
    case X509_V_ERR_UNSUPPORTED_SIGNATURE_ALGORITHM:
    case X509_V_ERR_SIGNATURE_ALGORITHM_MISMATCH: return "bad_signature";
    case X509_V_ERR_KEYUSAGE_NO_CERTSIGN:
    case X509_V_ERR_KEYUSAGE_NO_DIGITAL_SIGNATURE:
    case X509_V_ERR_KU_KEY_CERT_SIGN_INVALID_FOR_NON_CA:
    case X509_V_ERR_PATHLEN_WITHOUT_KU_KEY_CERT_SIGN: return "bad_key_usage";
    case X509_V_ERR_INVALID_PURPOSE: return "bad_eku";
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
    case X509_V_ERR_EMAIL_MISMATCH: return "name_mismatch";
    case X509_V_ERR_PATH_LENGTH_EXCEEDED: return "pathlen_exceeded";
    case X509_V_ERR_PERMITTED_VIOLATION:
    case X509_V_ERR_EXCLUDED_VIOLATION:
    case X509_V_ERR_SUBTREE_MINMAX:
    case X509_V_ERR_UNSUPPORTED_CONSTRAINT_TYPE:
    case X509_V_ERR_UNSUPPORTED_CONSTRAINT_SYNTAX:
    case X509_V_ERR_UNSUPPORTED_NAME_SYNTAX: return "name_constraints";
    case X509_V_ERR_NO_EXPLICIT_POLICY:
    case X509_V_ERR_INVALID_POLICY_EXTENSION: return "policy_mismatch";
    case X509_V_ERR_UNHANDLED_CRITICAL_EXTENSION:
    case X509_V_ERR_UNHANDLED_CRITICAL_CRL_EXTENSION: return "unknown_critical_extension";
    case X509_V_ERR_INVALID_CA:
    case X509_V_ERR_INVALID_NON_CA: return "invalid_ca";
    case X509_V_ERR_CERT_CHAIN_TOO_LONG: return "chain_too_long";
    case X509_V_ERR_UNABLE_TO_GET_CRL:
    case X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER: return "crl_missing";
    case X509_V_ERR_CRL_HAS_EXPIRED: return "crl_stale";
    case X509_V_ERR_CRL_NOT_YET_VALID: return "crl_not_yet_valid";
    case X509_V_ERR_CRL_SIGNATURE_FAILURE:
    case X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE:
    case X509_V_ERR_ERROR_IN_CRL_LAST_UPDATE_FIELD:
    case X509_V_ERR_ERROR_IN_CRL_NEXT_UPDATE_FIELD:
    case X509_V_ERR_DIFFERENT_CRL_SCOPE:
    case X509_V_ERR_CRL_PATH_VALIDATION_ERROR:
    case X509_V_ERR_KEYUSAGE_NO_CRL_SIGN: return "crl_invalid";
    case X509_V_ERR_EE_KEY_TOO_SMALL:
    case X509_V_ERR_CA_KEY_TOO_SMALL: return "weak_key";
    case X509_V_ERR_CA_MD_TOO_WEAK: return "weak_signature";
    case X509_V_ERR_MISSING_AUTHORITY_KEY_IDENTIFIER: return "missing_aki";
    case X509_V_ERR_MISSING_SUBJECT_KEY_IDENTIFIER: return "missing_ski";
    case X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD:
    case X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD:
    case X509_V_ERR_INVALID_EXTENSION:
    case X509_V_ERR_PATHLEN_INVALID_FOR_NON_CA:
    case X509_V_ERR_ISSUER_NAME_EMPTY:
    case X509_V_ERR_SUBJECT_NAME_EMPTY:
    case X509_V_ERR_EMPTY_SUBJECT_ALT_NAME:
    case X509_V_ERR_EMPTY_SUBJECT_SAN_NOT_CRITICAL:
    case X509_V_ERR_CA_BCONS_NOT_CRITICAL:
    case X509_V_ERR_AUTHORITY_KEY_IDENTIFIER_CRITICAL:
    case X509_V_ERR_SUBJECT_KEY_IDENTIFIER_CRITICAL:
    case X509_V_ERR_CA_CERT_MISSING_KEY_USAGE:
    case X509_V_ERR_EXTENSIONS_REQUIRE_VERSION_3:
    case X509_V_ERR_EC_KEY_EXPLICIT_PARAMS: return "malformed";
    default: return "invalid";
  }
}

// What the operator or holder can do about a failure (appended to the reason).
const char* HintFor(const std::string& code) {
  if (code == "expired") return "the holder needs a renewed certificate";
  if (code == "not_yet_valid") return "check the appliance clock, or wait until the certificate starts";
  if (code == "revoked") return "the issuer revoked this certificate; do not accept it";
  if (code == "path_not_found") return "supply the missing intermediate certificate(s) with --untrusted";
  if (code == "untrusted_root") return "the chain ends at a root that is not a configured trust anchor";
  if (code == "crl_missing") return "supply a current CRL (--crl) or OCSP response for every CA in the path";
  if (code == "crl_stale") return "fetch a fresh CRL from the issuer; the cached one is past its nextUpdate";
  if (code == "chain_too_long") return "the path is longer than the configured maximum depth";
  return "";
}

Failure FromOpenSsl(int err, int depth, X509* cert) {
  Failure f;
  f.code = CodeFor(err);
  f.depth = depth;
  f.reason = std::string(X509_verify_cert_error_string(err)) + DescribeAt(cert, depth);
  std::string hint = HintFor(f.code);
  if (!hint.empty()) f.reason += "; " + hint;
  return f;
}

bool SameCert(X509* a, X509* b) { return X509_cmp(a, b) == 0; }

// Per-call state the verify callback sees (X509_STORE_CTX app data).
struct CallbackState {
  std::int64_t at = 0;
  RevocationMode revocation = RevocationMode::kRequire;
  StaleCrlAction stale_action = StaleCrlAction::kReject;
  const std::vector<OcspBasicPtr>* ocsp = nullptr;
  bool stale = false;
  std::set<int> needs_ocsp;  // depths whose CRL was missing but an OCSP response may cover
  int err = X509_V_OK;
  int depth = -1;
  X509* cert = nullptr;
  const std::vector<std::pair<X509*, X509*>>* patched = nullptr;  // (copy with inherited DSA params, original)
  const std::vector<CrlPtr>* crls = nullptr;
};

// A CA that issues an indirect CRL covering its own certificate (PKITS 4.14.30): OpenSSL refuses
// the recursive CRL path validation this needs. The CRL is signed by the very key whose path is
// being validated, so its status is decided by that CRL: signature, time, scope (the
// certificate's distribution point names this cRLIssuer) and the revoked entries.
int SelfIssuedIndirectCrlStatus(const CallbackState& st, X509* cert) {
  if (!st.crls) return -1;
  auto* dps = static_cast<CRL_DIST_POINTS*>(X509_get_ext_d2i(cert, NID_crl_distribution_points, nullptr, nullptr));
  if (!dps) return -1;
  bool names_self = false;
  for (int i = 0; i < sk_DIST_POINT_num(dps) && !names_self; ++i) {
    DIST_POINT* dp = sk_DIST_POINT_value(dps, i);
    for (int j = 0; dp->CRLissuer && j < sk_GENERAL_NAME_num(dp->CRLissuer); ++j) {
      GENERAL_NAME* gn = sk_GENERAL_NAME_value(dp->CRLissuer, j);
      if (gn->type == GEN_DIRNAME && X509_NAME_cmp(gn->d.directoryName, X509_get_subject_name(cert)) == 0)
        names_self = true;
    }
  }
  sk_DIST_POINT_pop_free(dps, DIST_POINT_free);
  if (!names_self) return -1;
  for (const auto& crl : *st.crls) {
    X509_CRL* c = crl.get();
    if (X509_NAME_cmp(X509_CRL_get_issuer(c), X509_get_subject_name(cert)) != 0) continue;
    auto* idp = static_cast<ISSUING_DIST_POINT*>(
        X509_CRL_get_ext_d2i(c, NID_issuing_distribution_point, nullptr, nullptr));
    bool indirect = idp && idp->indirectCRL;
    ISSUING_DIST_POINT_free(idp);
    if (!indirect) continue;
    if (X509_CRL_verify(c, X509_get0_pubkey(cert)) != 1) continue;
    std::int64_t lu = 0, nu = 0;
    if (!TimeToUnix(X509_CRL_get0_lastUpdate(c), &lu) || lu > st.at) continue;
    if (X509_CRL_get0_nextUpdate(c) && (!TimeToUnix(X509_CRL_get0_nextUpdate(c), &nu) || nu < st.at)) continue;
    X509_REVOKED* rev = nullptr;
    return X509_CRL_get0_by_cert(c, &rev, cert) == 1 ? 0 : 1;
  }
  return -1;
}

int VerifyCallback(int ok, X509_STORE_CTX* ctx) {
  auto* st = static_cast<CallbackState*>(X509_STORE_CTX_get_app_data(ctx));
  if (ok) return ok;
  int err = X509_STORE_CTX_get_error(ctx);
  int depth = X509_STORE_CTX_get_error_depth(ctx);
  X509* cert = X509_STORE_CTX_get_current_cert(ctx);
  if (!st) {
    // OpenSSL's nested context validating a CRL issuer's path (check_crl_path): our state is on
    // the parent. Only the self-issued indirect CRL case is rescued there.
    X509_STORE_CTX* parent = X509_STORE_CTX_get0_parent_ctx(ctx);
    auto* pst = parent ? static_cast<CallbackState*>(X509_STORE_CTX_get_app_data(parent)) : nullptr;
    if (pst && (err == X509_V_ERR_UNABLE_TO_GET_CRL || err == X509_V_ERR_CRL_PATH_VALIDATION_ERROR) && depth == 0 && cert &&
        SelfIssuedIndirectCrlStatus(*pst, cert) == 1)
      return 1;
    return ok;
  }
  switch (err) {
    case X509_V_ERR_CERT_SIGNATURE_FAILURE: {
      // A copy we made with DSA parameters inherited from its issuer (RFC 5280 6.1.4 (f)) carries
      // the original signature: check that signature over the original encoding instead.
      STACK_OF(X509)* chain = X509_STORE_CTX_get0_chain(ctx);
      X509* issuer = chain && depth + 1 < sk_X509_num(chain) ? sk_X509_value(chain, depth + 1) : nullptr;
      if (st->patched && issuer)
        for (const auto& [copy, orig] : *st->patched)
          if (copy == cert && X509_verify(orig, X509_get0_pubkey(issuer)) == 1) return 1;
      break;
    }
    case X509_V_ERR_CERT_HAS_EXPIRED: {
      // RFC 5280 4.1.2.5: the validity period includes notAfter; OpenSSL treats t == notAfter as
      // expired. Accept exactly that second, nothing else.
      std::int64_t na = 0;
      if (cert && TimeToUnix(X509_get0_notAfter(cert), &na) && na == st->at) return 1;
      break;
    }
    case X509_V_ERR_PATHLEN_INVALID_FOR_NON_CA:
    case X509_V_ERR_PATHLEN_WITHOUT_KU_KEY_CERT_SIGN:
      // A pathLenConstraint in an end-entity certificate constrains nothing below it: RFC 5280
      // 6.1.4 (m) reads it only in CA certificates, so the leaf's is ignored, not fatal.
      if (depth == 0) return 1;
      break;
    case X509_V_ERR_CA_CERT_MISSING_KEY_USAGE: {
      // X509_V_FLAG_X509_STRICT wants keyUsage in every CA certificate, the trust anchor included;
      // the anchor is trusted by configuration, not by its extensions (RFC 5280 6.1.1 (d)), and
      // without keyUsage it may sign certificates and CRLs (4.2.1.3). Intermediates still need it.
      STACK_OF(X509)* chain = X509_STORE_CTX_get0_chain(ctx);
      if (chain && depth == sk_X509_num(chain) - 1) return 1;
      break;
    }
    case X509_V_ERR_CRL_HAS_EXPIRED:
      if (st->stale_action == StaleCrlAction::kReview) {
        st->stale = true;
        return 1;
      }
      break;
    case X509_V_ERR_UNABLE_TO_GET_CRL:
      if (st->revocation == RevocationMode::kIfAvailable) return 1;
      if (st->ocsp && !st->ocsp->empty()) {
        st->needs_ocsp.insert(depth);  // decided after the path is built (OCSP needs the issuer)
        return 1;
      }
      break;
    default: break;
  }
  if (st->err == X509_V_OK) {
    st->err = err;
    st->depth = depth;
    st->cert = cert;
  }
  return 0;
}

struct Attempt {
  bool ok = false;
  Failure failure;
  X509StackPtr chain;
  bool stale = false;
  std::set<int> needs_ocsp;
};

// Checks the same extension OID appearing twice (RFC 5280 4.2: MUST NOT); OpenSSL 3.0 accepts it.
std::optional<Failure> DuplicateExtension(X509* x, int depth) {
  int n = X509_get_ext_count(x);
  for (int i = 0; i < n; ++i) {
    const ASN1_OBJECT* a = X509_EXTENSION_get_object(X509_get_ext(x, i));
    for (int j = i + 1; j < n; ++j) {
      if (OBJ_cmp(a, X509_EXTENSION_get_object(X509_get_ext(x, j))) == 0) {
        char oid[80];
        OBJ_obj2txt(oid, sizeof oid, a, 0);
        return Failure{"malformed", std::string("the extension ") + oid + " appears twice" + DescribeAt(x, depth) +
                                        "; RFC 5280 forbids duplicate extensions",
                       depth};
      }
    }
  }
  return std::nullopt;
}

// A certificate above depth in the chain carries name constraints.
bool NameConstraintsAbove(STACK_OF(X509) * chain, int depth) {
  for (int i = depth + 1; chain && i < sk_X509_num(chain); ++i)
    if (X509_get_ext_by_NID(sk_X509_value(chain, i), NID_name_constraints, -1) >= 0) return true;
  return false;
}

// At most this many self-issued intermediates beyond max_depth: key rollovers are one or two per
// CA, and a pool of same-named certificates must not widen the search much.
constexpr int kSelfIssuedRoom = 4;

bool IsSelfIssued(X509* x) { return X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x)) == 0; }

int SelfIssuedCount(STACK_OF(X509) * certs) {
  int k = 0;
  for (int i = 0; certs && i < sk_X509_num(certs); ++i) k += IsSelfIssued(sk_X509_value(certs, i)) ? 1 : 0;
  return k;
}

bool IsSelfSigned(X509* x) { return (X509_get_extension_flags(x) & EXFLAG_SS) != 0; }

std::optional<Failure> StrictChecks(STACK_OF(X509) * chain, Purpose purpose) {
  int n = sk_X509_num(chain);
  for (int d = 0; d < n; ++d) {
    X509* x = sk_X509_value(chain, d);
    bool anchor = (d == n - 1);
    EVP_PKEY* pk = X509_get0_pubkey(x);
    if (!pk) return Failure{"malformed", "the public key cannot be decoded" + DescribeAt(x, d), d};
    int bits = EVP_PKEY_get_bits(pk);
    int id = EVP_PKEY_get_base_id(pk);
    if (id == EVP_PKEY_DSA)  // whatever its size: the web PKI and the card profiles use RSA, ECDSA, EdDSA
      return Failure{"unsupported_key", "DSA key" + DescribeAt(x, d) +
                                            "; the strict profile accepts RSA, ECDSA and Ed25519 keys only",
                     d};
    bool weak = false;
    if (id == EVP_PKEY_RSA || id == EVP_PKEY_RSA_PSS || id == EVP_PKEY_DSA || id == EVP_PKEY_DH) weak = bits < 2048;
    else if (id == EVP_PKEY_EC) weak = bits < 256;
    else if (id == EVP_PKEY_ED25519 || id == EVP_PKEY_ED448) weak = false;
    else weak = true;  // an algorithm we do not assess is not accepted
    if (weak)
      return Failure{"weak_key", std::string(OBJ_nid2sn(id)) + " key of " + std::to_string(bits) + " bits" +
                                     DescribeAt(x, d) + "; Veridge requires RSA >= 2048 bits or EC >= P-256",
                     d};
    if (!anchor) {
      // The anchor's own signature is not relied on (it is trusted by configuration).
      int mdnid = NID_undef, pknid = NID_undef, secbits = 0;
      uint32_t flags = 0;
      if (X509_get_signature_info(x, &mdnid, &pknid, &secbits, &flags) != 1)
        return Failure{"bad_signature", "unknown signature algorithm" + DescribeAt(x, d), d};
      if (mdnid == NID_md5 || mdnid == NID_sha1 || mdnid == NID_md4 || mdnid == NID_md2 || mdnid == NID_mdc2 ||
          (secbits > 0 && secbits < 112))
        return Failure{"weak_signature", std::string("signed with ") + OBJ_nid2sn(mdnid) + DescribeAt(x, d) +
                                             "; MD5/SHA-1 signatures are not accepted below the trust anchor",
                       d};
      if (!IsSelfSigned(x) && !X509_get0_authority_key_id(x))
        return Failure{"missing_aki", "no authority key identifier" + DescribeAt(x, d) + " (RFC 5280 4.2.1.1)", d};
    }
    if (d > 0 && !anchor && !X509_get0_subject_key_id(x))
      return Failure{"missing_ski", "CA certificate without subject key identifier" + DescribeAt(x, d) +
                                        " (RFC 5280 4.2.1.2)",
                     d};
  }
  // Whatever the purpose, an end-entity check must not pass for a CA: a CA's key signs certificates,
  // it does not prove a person or a server. X509_check_ca also counts v1 self-signed roots and
  // keyCertSign without basicConstraints; a one-element chain is the trust anchor itself.
  X509* leaf = sk_X509_value(chain, 0);
  if (n == 1)
    return Failure{"ca_leaf", "the certificate given as LEAF is the trust anchor itself" + DescribeAt(leaf, 0) +
                                  "; give the end-entity certificate it issued",
                   0};
  // basicConstraints cA=TRUE makes it a CA even when its keyUsage lacks keyCertSign (which
  // X509_check_ca would not count).
  if (X509_check_ca(leaf) != 0 || (X509_get_extension_flags(leaf) & EXFLAG_CA) != 0)
    return Failure{"ca_leaf", std::string("the certificate given as LEAF is a CA certificate") +
                                  (purpose == Purpose::kClient ? " (the applicant's certificate must be an end-entity one)" : "") +
                                  DescribeAt(leaf, 0) + "; give the end-entity certificate, not its issuer",
                   0};
  return std::nullopt;
}

struct KuName {
  const char* name;
  uint32_t bit;
};
constexpr KuName kKeyUsages[] = {
    {"digitalSignature", KU_DIGITAL_SIGNATURE}, {"nonRepudiation", KU_NON_REPUDIATION},
    {"contentCommitment", KU_NON_REPUDIATION},  {"keyEncipherment", KU_KEY_ENCIPHERMENT},
    {"dataEncipherment", KU_DATA_ENCIPHERMENT}, {"keyAgreement", KU_KEY_AGREEMENT},
    {"keyCertSign", KU_KEY_CERT_SIGN},          {"cRLSign", KU_CRL_SIGN},
    {"encipherOnly", KU_ENCIPHER_ONLY},         {"decipherOnly", KU_DECIPHER_ONLY},
};

struct EkuName {
  const char* name;
  int nid;
};
constexpr EkuName kEkus[] = {
    {"serverAuth", NID_server_auth},       {"clientAuth", NID_client_auth},
    {"emailProtection", NID_email_protect}, {"codeSigning", NID_code_sign},
    {"timeStamping", NID_time_stamp},       {"OCSPSigning", NID_OCSP_sign},
    {"anyExtendedKeyUsage", NID_anyExtendedKeyUsage},
};

// RFC 5280 6.1.4 (f) / PKITS 4.1.5: a DSA key without domain parameters inherits them from the
// issuer's key. OpenSSL cannot decode such a key, so the path cannot even be built. For each
// parameterless DSA certificate in the pool whose issuer (by name) has a DSA key with parameters,
// make a copy whose key carries those parameters; the copy's own signature is then checked over
// the original encoding by the verify callback.
ossl::PkeyPtr DsaWithParams(X509* x, EVP_PKEY* params_from) {
  X509_PUBKEY* spki = X509_get_X509_PUBKEY(x);
  ASN1_OBJECT* alg = nullptr;
  const unsigned char* pk = nullptr;
  int pklen = 0;
  X509_ALGOR* algor = nullptr;
  if (!spki || X509_PUBKEY_get0_param(&alg, &pk, &pklen, &algor, spki) != 1 || OBJ_obj2nid(alg) != NID_dsa) return {};
  const unsigned char* p = pk;
  ASN1_INTEGER* yi = d2i_ASN1_INTEGER(nullptr, &p, pklen);
  if (!yi) return {};
  BIGNUM* y = ASN1_INTEGER_to_BN(yi, nullptr);
  ASN1_INTEGER_free(yi);
  BIGNUM *bp = nullptr, *bq = nullptr, *bg = nullptr;
  ossl::PkeyPtr out;
  if (y && EVP_PKEY_get_bn_param(params_from, "p", &bp) && EVP_PKEY_get_bn_param(params_from, "q", &bq) &&
      EVP_PKEY_get_bn_param(params_from, "g", &bg)) {
    OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM_BLD_push_BN(bld, "p", bp);
    OSSL_PARAM_BLD_push_BN(bld, "q", bq);
    OSSL_PARAM_BLD_push_BN(bld, "g", bg);
    OSSL_PARAM_BLD_push_BN(bld, "pub", y);
    OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
    ossl::PkeyCtxPtr kctx(EVP_PKEY_CTX_new_from_name(nullptr, "DSA", nullptr));
    EVP_PKEY* key = nullptr;
    if (params && kctx && EVP_PKEY_fromdata_init(kctx.get()) == 1 &&
        EVP_PKEY_fromdata(kctx.get(), &key, EVP_PKEY_PUBLIC_KEY, params) == 1)
      out.reset(key);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
  }
  BN_free(bp);
  BN_free(bq);
  BN_free(bg);
  BN_free(y);
  return out;
}

void InheritDsaParameters(std::vector<X509*>* pool, const std::vector<X509Ptr>& anchors, std::vector<X509Ptr>* copies,
                          std::vector<std::pair<X509*, X509*>>* patched) {
  for (int round = 0; round < 4; ++round) {  // a parameterless CA under a parameterless CA: a few rounds
    bool changed = false;
    for (X509*& x : *pool) {
      if (X509_get0_pubkey(x)) continue;  // decodable: nothing to inherit
      auto try_issuer = [&](X509* issuer) {
        EVP_PKEY* ik = X509_get0_pubkey(issuer);
        if (!ik || EVP_PKEY_get_base_id(ik) != EVP_PKEY_DSA ||
            X509_NAME_cmp(X509_get_subject_name(issuer), X509_get_issuer_name(x)) != 0)
          return false;
        auto key = DsaWithParams(x, ik);
        if (!key) return false;
        ossl::X509Ptr copy(X509_dup(x));
        if (!copy || X509_set_pubkey(copy.get(), key.get()) != 1) return false;
        patched->emplace_back(copy.get(), x);
        x = copy.get();
        copies->push_back(std::move(copy));
        return true;
      };
      bool done = false;
      for (const auto& a : anchors) done = done || try_issuer(a.get());
      for (X509* c : *pool) done = done || (c != x && try_issuer(c));
      changed |= done;
    }
    if (!changed) break;
  }
  ERR_clear_error();
}

// A leaf that is a well-formed certificate but over kMaxObjectBytes (a pathological one: thousands
// of names for a name-constraints blow-up) is a negative verdict, not an input error: the bound
// holds, the certificate is simply not accepted. Anything that does not decode stays an error.
std::optional<ValidationResult> OversizedLeaf(std::string_view bytes) {
  auto objs = SplitObjects(bytes, {"CERTIFICATE", "X509 CERTIFICATE"}, kMaxBundleBytes);
  if (!objs.ok() || objs->size() != 1) return std::nullopt;
  const auto* p = reinterpret_cast<const unsigned char*>((*objs)[0].data());
  X509Ptr x(d2i_X509(nullptr, &p, static_cast<long>((*objs)[0].size())));
  ERR_clear_error();
  if (!x) return std::nullopt;
  ValidationResult r;
  r.code = "too_large";
  r.failed_depth = 0;
  r.reason = "the leaf certificate is " + std::to_string((*objs)[0].size()) + " bytes, over the " +
             std::to_string(kMaxObjectBytes) + "-byte bound" + DescribeAt(x.get(), 0) +
             "; Veridge does not validate such certificates";
  return r;
}

}  // namespace

ChainEntry Describe(X509* x);

struct Validator::Impl {
  ValidationOptions opts;  // names, purpose, profile (certificate bytes are cleared after parsing)
  std::vector<X509Ptr> anchors;
  std::vector<X509Ptr> untrusted;
  std::vector<CrlPtr> crls;
  std::vector<OcspBasicPtr> ocsp;
  std::vector<std::string> ocsp_names;  // not used for lookup; kept for messages
  StorePtr store;                       // anchors + CRLs, shared by every call (read-only)
  struct CrlStackFree {
    void operator()(STACK_OF(X509_CRL) * s) const { sk_X509_CRL_pop_free(s, X509_CRL_free); }
  };
  std::unique_ptr<STACK_OF(X509_CRL), CrlStackFree> crl_stack{sk_X509_CRL_new_null()};
  std::vector<Asn1ObjPtr> policies;
  std::vector<Asn1ObjPtr> ekus;
  uint32_t ku_bits = 0;
  unsigned long flags = 0;

  std::int64_t Now() const { return opts.at_unix ? *opts.at_unix : static_cast<std::int64_t>(std::time(nullptr)); }

  Attempt Run(X509_STORE* st, X509* leaf, STACK_OF(X509) * untrusted_stack, std::int64_t at,
              const std::vector<std::pair<X509*, X509*>>* patched) const;
  std::optional<Failure> PostChecks(STACK_OF(X509) * chain, const Attempt& a, std::int64_t at) const;
  std::optional<Failure> NameChecks(X509* leaf) const;
  std::optional<Failure> UsageChecks(X509* leaf) const;
  std::optional<Failure> OcspChecks(STACK_OF(X509) * chain, const std::set<int>& needs, std::int64_t at,
                                    bool* stale) const;
  std::vector<std::vector<X509*>> AlternativePaths(X509* leaf, const std::vector<X509*>& pool) const;
};

Attempt Validator::Impl::Run(X509_STORE* st, X509* leaf, STACK_OF(X509) * untrusted_stack, std::int64_t at,
                             const std::vector<std::pair<X509*, X509*>>* patched) const {
  Attempt a;
  StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (!ctx || X509_STORE_CTX_init(ctx.get(), st, leaf, untrusted_stack) != 1) {
    a.failure = {"invalid", "cannot set up verification: " + DrainErrors(), -1};
    return a;
  }
  X509_VERIFY_PARAM* p = X509_STORE_CTX_get0_param(ctx.get());
  X509_VERIFY_PARAM_set_flags(p, flags);
  X509_VERIFY_PARAM_set_time(p, static_cast<time_t>(at));
  // Self-issued intermediates (a CA's key rollover: subject == issuer) are not logical
  // intermediates (RFC 5280 6.1.4 (l) does not count them either): OpenSSL counts every certificate,
  // so it gets room for them and PostChecks counts the logical ones against max_depth.
  X509_VERIFY_PARAM_set_depth(p, opts.max_depth + std::min(SelfIssuedCount(untrusted_stack), kSelfIssuedRoom));
  X509_VERIFY_PARAM_set_auth_level(p, 0);  // key/digest strength is our policy (named codes), not OpenSSL's
  // RFC 5280 4.2.1.10 applies name constraints to the SAN and to the subject DN's own name forms
  // (directoryName, emailAddress). OpenSSL 3.0 also checks every DNS-looking subject CN against
  // the DNS constraints whenever the leaf has no DNS SAN, so a leaf whose SAN is only an IP
  // address (with that address written as the CN) fails a DNS constraint it never claimed. The CN
  // is a legacy host name only when there is no SAN at all; then OpenSSL's check stays on. These
  // host flags only steer that constraint check: host names are matched in NameChecks.
  if (X509_get_ext_by_NID(leaf, NID_subject_alt_name, -1) >= 0)
    X509_VERIFY_PARAM_set_hostflags(p, X509_CHECK_FLAG_NEVER_CHECK_SUBJECT);
  if (opts.purpose == Purpose::kClient) X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_SSL_CLIENT);
  if (opts.purpose == Purpose::kServer) X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_SSL_SERVER);
  if (!policies.empty()) {
    STACK_OF(ASN1_OBJECT)* pol = sk_ASN1_OBJECT_new_null();
    for (const auto& o : policies) sk_ASN1_OBJECT_push(pol, OBJ_dup(o.get()));
    X509_VERIFY_PARAM_set1_policies(p, pol);  // copies
    sk_ASN1_OBJECT_pop_free(pol, ASN1_OBJECT_free);
  }
  // CRLs go to the context, not only the store: the store looks CRLs up by the certificate's
  // issuer name, which misses indirect CRLs (issued by another CA, RFC 5280 5.2.5).
  X509_STORE_CTX_set0_crls(ctx.get(), crl_stack.get());
  CallbackState cs;
  cs.at = at;
  cs.revocation = opts.revocation;
  cs.stale_action = opts.stale_crl;
  cs.ocsp = &ocsp;
  cs.crls = &crls;
  cs.patched = patched;
  X509_STORE_CTX_set_app_data(ctx.get(), &cs);
  X509_STORE_CTX_set_verify_cb(ctx.get(), VerifyCallback);
  ERR_clear_error();
  int rc = X509_verify_cert(ctx.get());
  a.chain.reset(X509_STORE_CTX_get1_chain(ctx.get()));
  a.stale = cs.stale;
  a.needs_ocsp = cs.needs_ocsp;
  if (rc == 1) {
    a.ok = true;
  } else {
    int err = cs.err != X509_V_OK ? cs.err : X509_STORE_CTX_get_error(ctx.get());
    int depth = cs.err != X509_V_OK ? cs.depth : X509_STORE_CTX_get_error_depth(ctx.get());
    X509* cert = cs.err != X509_V_OK ? cs.cert : X509_STORE_CTX_get_current_cert(ctx.get());
    if (err == X509_V_OK) err = X509_V_ERR_UNSPECIFIED;
    a.failure = FromOpenSsl(err, depth, cert);
    if (err == X509_V_ERR_UNSPECIFIED && NameConstraintsAbove(a.chain.get(), depth)) {
      // OpenSSL refuses a names x constraints product over 2^20 (quadratic blow-up) this way.
      a.failure.code = "name_constraints";
      a.failure.reason = "too many names against too many name constraints to check" + DescribeAt(cert, depth) +
                         "; refused (OpenSSL bounds the check at 2^20 comparisons)";
    }
  }
  ERR_clear_error();
  return a;
}

std::optional<Failure> Validator::Impl::NameChecks(X509* leaf) const {
  for (const auto& dns : opts.dns_names) {
    // An IP literal given as the host name is an address reference identifier: it matches an
    // iPAddress SAN, never a dNSName or the CN (RFC 6125 / RFC 9525).
    in_addr a4;
    in6_addr a6;
    if (inet_pton(AF_INET, dns.c_str(), &a4) == 1 || inet_pton(AF_INET6, dns.c_str(), &a6) == 1) {
      if (X509_check_ip_asc(leaf, dns.c_str(), 0) == 1) continue;
      return Failure{"name_mismatch", "the certificate is not valid for the address " + dns + DescribeAt(leaf, 0), 0};
    }
    unsigned flags = X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS;
    if (X509_check_host(leaf, dns.c_str(), dns.size(), flags | X509_CHECK_FLAG_NEVER_CHECK_SUBJECT, nullptr) == 1)
      continue;
    if (X509_check_host(leaf, dns.c_str(), dns.size(), flags, nullptr) == 1) {
      if (opts.profile == Profile::kRfc5280) continue;
      return Failure{"cn_only_name", "the name \"" + dns + "\" is only in the subject CN, not in subjectAltName" +
                                         DescribeAt(leaf, 0) + "; the server needs a certificate with a DNS SAN",
                     0};
    }
    return Failure{"name_mismatch", "the certificate is not valid for the name \"" + dns + "\"" + DescribeAt(leaf, 0), 0};
  }
  for (const auto& ip : opts.ip_addresses) {
    if (X509_check_ip_asc(leaf, ip.c_str(), 0) != 1)
      return Failure{"name_mismatch", "the certificate is not valid for the address " + ip + DescribeAt(leaf, 0), 0};
  }
  for (const auto& em : opts.emails) {
    if (X509_check_email(leaf, em.c_str(), em.size(), 0) != 1)
      return Failure{"name_mismatch", "the certificate is not valid for the e-mail address " + em + DescribeAt(leaf, 0),
                     0};
  }
  return std::nullopt;
}

std::optional<Failure> Validator::Impl::UsageChecks(X509* leaf) const {
  if (ku_bits != 0) {
    uint32_t ku = X509_get_key_usage(leaf);
    bool absent = (ku == UINT32_MAX);
    if (absent && opts.profile == Profile::kStrict)
      return Failure{"bad_key_usage", "the certificate has no keyUsage extension but key usage is required" +
                                          DescribeAt(leaf, 0),
                     0};
    if (!absent && (ku & ku_bits) != ku_bits)
      return Failure{"bad_key_usage", "the certificate's keyUsage lacks a required bit" + DescribeAt(leaf, 0), 0};
  }
  if (!ekus.empty()) {
    auto* eku = static_cast<EXTENDED_KEY_USAGE*>(X509_get_ext_d2i(leaf, NID_ext_key_usage, nullptr, nullptr));
    if (!eku) {
      if (opts.profile == Profile::kStrict)
        return Failure{"bad_eku", "the certificate has no extendedKeyUsage extension but one is required" +
                                      DescribeAt(leaf, 0),
                       0};
      return std::nullopt;
    }
    std::optional<Failure> out;
    for (const auto& want : ekus) {
      bool found = false;
      for (int i = 0; i < sk_ASN1_OBJECT_num(eku); ++i) {
        const ASN1_OBJECT* have = sk_ASN1_OBJECT_value(eku, i);
        if (OBJ_cmp(have, want.get()) == 0 || OBJ_obj2nid(have) == NID_anyExtendedKeyUsage) found = true;
      }
      if (!found) {
        char oid[80];
        OBJ_obj2txt(oid, sizeof oid, want.get(), 0);
        out = Failure{"bad_eku", std::string("the certificate's extendedKeyUsage lacks ") + oid + DescribeAt(leaf, 0), 0};
        break;
      }
    }
    sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
    return out;
  }
  return std::nullopt;
}

std::optional<Failure> Validator::Impl::OcspChecks(STACK_OF(X509) * chain, const std::set<int>& needs,
                                                   std::int64_t at, bool* stale) const {
  int n = sk_X509_num(chain);
  for (int d = 0; d + 1 < n; ++d) {
    X509* cert = sk_X509_value(chain, d);
    X509* issuer = sk_X509_value(chain, d + 1);
    bool covered = false;
    for (const auto& bs : ocsp) {
      OcspCertIdPtr id(OCSP_cert_to_id(EVP_sha1(), cert, issuer));
      if (!id) continue;
      int idx = OCSP_resp_find(bs.get(), id.get(), -1);
      if (idx < 0) continue;
      // Signature and signer authorisation (the issuing CA itself, or a delegate it certified
      // with id-kp-OCSPSigning), with the path's certificates as candidates for the signer.
      if (OCSP_basic_verify(bs.get(), chain, store.get(), OCSP_TRUSTOTHER) <= 0) {
        std::string detail = DrainErrors();
        return Failure{"ocsp_invalid", "an OCSP response for the certificate does not verify (" + detail + ")" +
                                           DescribeAt(cert, d),
                       d};
      }
      OCSP_SINGLERESP* single = OCSP_resp_get0(bs.get(), idx);
      int reason = 0;
      ASN1_GENERALIZEDTIME *rev = nullptr, *thisupd = nullptr, *nextupd = nullptr;
      int status = OCSP_single_get0_status(single, &reason, &rev, &thisupd, &nextupd);
      std::int64_t tu = 0, nu = 0;
      constexpr std::int64_t kSkew = 300;
      if (!TimeToUnix(thisupd, &tu) || tu > at + kSkew)
        return Failure{"ocsp_invalid", "the OCSP response's thisUpdate is in the future" + DescribeAt(cert, d), d};
      // No nextUpdate: the responder promises nothing, accept it for one day after thisUpdate.
      if (nextupd ? (!TimeToUnix(nextupd, &nu) || at > nu + kSkew) : (at > tu + 86400)) {
        if (opts.stale_crl == StaleCrlAction::kReview) {
          *stale = true;
        } else {
          return Failure{"ocsp_stale", "the OCSP response is past its nextUpdate" + DescribeAt(cert, d) +
                                           "; fetch a fresh response",
                         d};
        }
      }
      if (status == V_OCSP_CERTSTATUS_REVOKED)
        return Failure{"revoked", "the OCSP responder says the certificate is revoked" + DescribeAt(cert, d), d};
      if (status != V_OCSP_CERTSTATUS_GOOD)
        return Failure{"revocation_unknown", "the OCSP responder does not know the certificate" + DescribeAt(cert, d),
                       d};
      covered = true;
      break;
    }
    if (needs.count(d) && !covered) {
      return FromOpenSsl(X509_V_ERR_UNABLE_TO_GET_CRL, d, cert);
    }
  }
  ERR_clear_error();
  return std::nullopt;
}

std::optional<Failure> Validator::Impl::PostChecks(STACK_OF(X509) * chain, const Attempt& a, std::int64_t at) const {
  int n = sk_X509_num(chain);
  int logical = 0;  // intermediates that are not self-issued
  for (int d = 1; d + 1 < n; ++d) logical += IsSelfIssued(sk_X509_value(chain, d)) ? 0 : 1;
  if (logical > opts.max_depth)
    return Failure{"chain_too_long", "the path has " + std::to_string(logical) + " intermediates (self-issued ones not "
                   "counted), more than the maximum depth of " + std::to_string(opts.max_depth) + "; " +
                   HintFor("chain_too_long"), -1};
  for (int d = 0; d < n; ++d)
    if (auto f = DuplicateExtension(sk_X509_value(chain, d), d)) return f;
  if (opts.profile == Profile::kStrict)
    if (auto f = StrictChecks(chain, opts.purpose)) return f;
  if (auto v = rules::CheckChain(chain, opts.profile, opts.purpose)) return Failure{v->code, v->reason, v->depth};
  if (opts.revocation != RevocationMode::kNone) {
    std::vector<X509_CRL*> supplied;
    for (const auto& c : crls) supplied.push_back(c.get());
    if (auto v = rules::CheckCrls(chain, supplied)) return Failure{v->code, v->reason, v->depth};
  }
  X509* leaf = sk_X509_value(chain, 0);
  if (auto f = NameChecks(leaf)) return f;
  if (auto f = UsageChecks(leaf)) return f;
  bool stale = false;
  if (opts.revocation != RevocationMode::kNone && !ocsp.empty())
    if (auto f = OcspChecks(chain, a.needs_ocsp, at, &stale)) return f;
  return std::nullopt;
}

std::vector<std::vector<X509*>> Validator::Impl::AlternativePaths(X509* leaf, const std::vector<X509*>& pool) const {
  // Depth-first search from the leaf towards any trust anchor, over issuer candidates that
  // X509_check_issued accepts (name chaining, AKI/SKI, keyCertSign). Bounded: paths, expansions,
  // wall time — so a pathological pool (many same-named CAs) stops within the budget.
  std::vector<std::vector<X509*>> paths;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kPathBuildingBudgetMs);
  int expansions = 0;
  constexpr int kMaxExpansions = 20000;
  std::vector<X509*> path{leaf};
  int self_issued = 0;  // room for self-issued intermediates, as in Run(); PostChecks counts exactly
  for (X509* c : pool) self_issued += IsSelfIssued(c) ? 1 : 0;
  self_issued = std::min(self_issued, kSelfIssuedRoom);
  auto is_anchor = [&](X509* c) {
    for (const auto& a : anchors)
      if (SameCert(a.get(), c)) return true;
    return false;
  };
  auto in_path = [&](X509* c) {
    for (X509* p : path) {
      if (SameCert(p, c)) return true;
      // Same subject and key = the same CA (cross-certificate): do not loop through it.
      if (X509_NAME_cmp(X509_get_subject_name(p), X509_get_subject_name(c)) == 0 &&
          EVP_PKEY_eq(X509_get0_pubkey(p), X509_get0_pubkey(c)) == 1)
        return true;
    }
    return false;
  };
  auto dfs = [&](auto&& self, X509* cur) -> void {
    if (static_cast<int>(paths.size()) >= kMaxAlternativePaths || ++expansions > kMaxExpansions ||
        std::chrono::steady_clock::now() > deadline)
      return;
    for (X509* c : pool) {
      if (in_path(c) || X509_check_issued(c, cur) != X509_V_OK) continue;
      path.push_back(c);
      if (is_anchor(c)) {
        paths.push_back(path);
      } else if (static_cast<int>(path.size()) <= opts.max_depth + 1 + self_issued) {
        self(self, c);
      }
      path.pop_back();
      if (static_cast<int>(paths.size()) >= kMaxAlternativePaths) return;
    }
  };
  dfs(dfs, leaf);
  ERR_clear_error();
  std::stable_sort(paths.begin(), paths.end(), [](const auto& a, const auto& b) { return a.size() < b.size(); });
  return paths;
}

Validator::Validator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Validator::Validator(Validator&&) noexcept = default;
Validator& Validator::operator=(Validator&&) noexcept = default;
Validator::~Validator() = default;

Result<Validator> Validator::Create(const ValidationOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->opts = options;
  impl->opts.trust_anchors.clear();
  impl->opts.untrusted.clear();
  impl->opts.crls.clear();
  impl->opts.ocsp_responses.clear();
  if (options.max_depth < 0)
    return Status::InvalidInput("bad_option", "max depth must be 0 or more (intermediates between leaf and anchor)");
  // A caller may ask for a looser limit than ours (a conformance suite asks for 255); the hard
  // ceiling still bounds path building, so a cycle of CAs ends in a verdict, not an error.
  impl->opts.max_depth = std::min(options.max_depth, kMaxDepthCeiling);
  for (const auto& b : options.trust_anchors) {
    auto certs = ParseCertificates(b);
    if (!certs.ok()) return certs.status().WithContext("trust anchors");
    for (auto& c : *certs) impl->anchors.push_back(std::move(c));
  }
  if (impl->anchors.empty())
    return Status::InvalidInput("no_trust_anchor", "no trust anchor configured; give --trust with the CA bundle");
  for (const auto& b : options.untrusted) {
    auto certs = ParseCertificates(b);
    if (!certs.ok()) return certs.status().WithContext("untrusted intermediates");
    for (auto& c : *certs) impl->untrusted.push_back(std::move(c));
  }
  if (impl->untrusted.size() > kMaxObjects)
    return Status::InvalidInput("too_many", "more than " + std::to_string(kMaxObjects) + " intermediates");
  for (const auto& b : options.crls) {
    auto crls = ParseCrls(b);
    if (!crls.ok()) return crls.status().WithContext("CRLs");
    for (auto& c : *crls) impl->crls.push_back(std::move(c));
  }
  for (const auto& b : options.ocsp_responses) {
    if (b.size() > kMaxObjectBytes) return Status::InvalidInput("too_large", "OCSP response over the size limit");
    const auto* p = reinterpret_cast<const unsigned char*>(b.data());
    OcspRespPtr resp(d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(b.size())));
    if (!resp) return Status::InvalidInput("malformed", "an OCSP response cannot be decoded (" + DrainErrors() + ")");
    if (OCSP_response_status(resp.get()) != OCSP_RESPONSE_STATUS_SUCCESSFUL)
      return Status::InvalidInput("ocsp_invalid", "an OCSP response is not a successful response");
    OcspBasicPtr bs(OCSP_response_get1_basic(resp.get()));
    if (!bs) return Status::InvalidInput("malformed", "an OCSP response has no basic response");
    impl->ocsp.push_back(std::move(bs));
  }
  for (const auto& pol : options.initial_policy_set) {
    Asn1ObjPtr o(OBJ_txt2obj(pol.c_str(), 1));
    if (!o) return Status::InvalidInput("bad_option", "\"" + pol + "\" is not a policy OID");
    impl->policies.push_back(std::move(o));
  }
  for (const auto& e : options.required_ekus) {
    Asn1ObjPtr o;
    for (const auto& k : kEkus)
      if (e == k.name) o.reset(OBJ_nid2obj(k.nid) ? OBJ_dup(OBJ_nid2obj(k.nid)) : nullptr);
    if (!o) o.reset(OBJ_txt2obj(e.c_str(), 1));
    if (!o) return Status::InvalidInput("bad_option", "\"" + e + "\" is not a known EKU name or OID");
    impl->ekus.push_back(std::move(o));
  }
  for (const auto& k : options.required_key_usage) {
    bool found = false;
    for (const auto& ku : kKeyUsages)
      if (k == ku.name) {
        impl->ku_bits |= ku.bit;
        found = true;
      }
    if (!found) return Status::InvalidInput("bad_option", "\"" + k + "\" is not a key usage name");
  }
  // PARTIAL_CHAIN: a configured issuing CA is a trust anchor in its own right (certs/README.md), the
  // path ends there even when its root is supplied too; OpenSSL otherwise insists on a self-signed end.
  unsigned long f = X509_V_FLAG_EXTENDED_CRL_SUPPORT | X509_V_FLAG_USE_DELTAS | X509_V_FLAG_POLICY_CHECK |
                    X509_V_FLAG_PARTIAL_CHAIN;
  if (options.revocation != RevocationMode::kNone) f |= X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL;
  if (options.explicit_policy) f |= X509_V_FLAG_EXPLICIT_POLICY;
  if (options.inhibit_policy_mapping) f |= X509_V_FLAG_INHIBIT_MAP;
  if (options.inhibit_any_policy) f |= X509_V_FLAG_INHIBIT_ANY;
  if (options.profile == Profile::kStrict) f |= X509_V_FLAG_X509_STRICT;
  impl->flags = f;
  impl->store.reset(X509_STORE_new());
  if (!impl->store) return Status::Internal("out_of_memory", "X509_STORE_new failed");
  for (const auto& a : impl->anchors) X509_STORE_add_cert(impl->store.get(), a.get());
  for (const auto& c : impl->crls) {
    X509_STORE_add_crl(impl->store.get(), c.get());
    X509_CRL_up_ref(c.get());
    sk_X509_CRL_push(impl->crl_stack.get(), c.get());
  }
  ERR_clear_error();  // duplicate anchors are reported as errors by add_cert; harmless
  return Validator(std::move(impl));
}

Result<ValidationResult> Validator::Validate(std::string_view leaf_bytes,
                                             const std::vector<std::string>& extra_untrusted) const {
  const Impl& im = *impl_;
  auto leafs = ParseCertificates(leaf_bytes);
  if (!leafs.ok()) {
    if (leafs.status().code() == "too_large")
      if (auto v = OversizedLeaf(leaf_bytes)) return *v;
    return leafs.status().WithContext("leaf certificate");
  }
  if (leafs->size() != 1)
    return Status::InvalidInput("malformed", "the leaf input holds " + std::to_string(leafs->size()) +
                                                 " certificates; give only the end-entity certificate");
  X509* leaf = (*leafs)[0].get();
  ValidationResult out;
  // OpenSSL marks a certificate with duplicate extensions invalid and then cannot find its issuer;
  // say what is actually wrong.
  if (auto dup = DuplicateExtension(leaf, 0)) {
    out.code = dup->code;
    out.reason = dup->reason;
    out.failed_depth = 0;
    return out;
  }
  std::vector<X509Ptr> extra;
  for (const auto& b : extra_untrusted) {
    auto certs = ParseCertificates(b);
    if (!certs.ok()) return certs.status().WithContext("untrusted intermediates");
    for (auto& c : *certs) extra.push_back(std::move(c));
  }
  if (im.untrusted.size() + extra.size() > kMaxObjects)
    return Status::InvalidInput("too_many", "more than " + std::to_string(kMaxObjects) + " intermediates");

  std::vector<X509*> pool;
  for (const auto& c : im.untrusted) pool.push_back(c.get());
  for (const auto& c : extra) pool.push_back(c.get());
  std::vector<X509Ptr> copies;
  std::vector<std::pair<X509*, X509*>> patched;
  // The leaf goes through the same inheritance (its key may lack parameters too), then back out.
  pool.push_back(leaf);
  InheritDsaParameters(&pool, im.anchors, &copies, &patched);
  leaf = pool.back();
  pool.pop_back();
  auto original = [&](X509* x) {
    for (const auto& [copy, orig] : patched)
      if (copy == x) return orig;
    return x;
  };
  X509StackPtr pool_stack(sk_X509_new_null());
  for (X509* c : pool) sk_X509_push(pool_stack.get(), Ref(c).release());

  const std::int64_t at = im.Now();
  auto finish_ok = [&](STACK_OF(X509) * chain, bool stale) {
    for (int i = 0; i < sk_X509_num(chain); ++i) out.chain.push_back(Describe(original(sk_X509_value(chain, i))));
    if (stale) {
      out.valid = false;
      out.review = true;
      out.code = "crl_stale";
      out.reason = "the path is valid, but revocation data is past its nextUpdate; routed to review (fetch a fresh "
                   "CRL/OCSP response)";
    } else {
      out.valid = true;
      out.code = "ok";
      out.reason = "valid path to a trust anchor";
    }
  };

  Attempt first = im.Run(im.store.get(), leaf, pool_stack.get(), at, &patched);
  std::optional<Failure> failure;
  if (first.ok) {
    failure = im.PostChecks(first.chain.get(), first, at);
    if (!failure) {
      finish_ok(first.chain.get(), first.stale);
      return out;
    }
  } else {
    failure = first.failure;
    // OpenSSL's purpose check refuses a CA as a client or server leaf before our strict checks
    // run; name the actual problem (a CA given as LEAF), as the any-purpose path does.
    if (im.opts.profile == Profile::kStrict && failure->depth == 0 && failure->code == "bad_eku" && X509_check_ca(leaf) != 0)
      failure = Failure{"ca_leaf", "the certificate given as LEAF is a CA certificate" + DescribeAt(leaf, 0) +
                                       "; give the end-entity certificate, not its issuer",
                        0};
  }

  // Alternative paths: only worth it when the failure can depend on the path chosen.
  static const std::set<std::string> kLeafOnly = {"name_mismatch",  "cn_only_name",  "bad_eku",
                                                  "bad_key_usage",  "ca_leaf",       "cn_not_in_san",
                                                  "bad_dns_name",   "bad_email_name",
                                                  "bad_ip_address", "critical_san_with_subject",
                                                  "wildcard_public_suffix"};
  bool try_alternatives = !(failure->depth == 0 && kLeafOnly.count(failure->code)) &&
                          !(failure->depth == 0 && (failure->code == "expired" || failure->code == "not_yet_valid"));
  if (try_alternatives) {
    std::vector<X509*> candidates = pool;
    for (const auto& a : im.anchors) candidates.push_back(a.get());
    auto paths = im.AlternativePaths(leaf, candidates);
    for (const auto& path : paths) {
      // Skip the path OpenSSL already tried.
      if (first.chain && sk_X509_num(first.chain.get()) == static_cast<int>(path.size())) {
        bool same = true;
        for (std::size_t i = 0; i < path.size(); ++i) same &= SameCert(sk_X509_value(first.chain.get(), i), path[i]);
        if (same) continue;
      }
      StorePtr st(X509_STORE_new());
      X509_STORE_add_cert(st.get(), path.back());
      for (const auto& c : im.crls) X509_STORE_add_crl(st.get(), c.get());
      X509StackPtr inter(sk_X509_new_null());
      for (std::size_t i = 1; i + 1 < path.size(); ++i) sk_X509_push(inter.get(), Ref(path[i]).release());
      Attempt alt = im.Run(st.get(), leaf, inter.get(), at, &patched);
      if (!alt.ok) continue;
      if (im.PostChecks(alt.chain.get(), alt, at)) continue;
      finish_ok(alt.chain.get(), alt.stale);
      return out;
    }
  }
  out.valid = false;
  out.code = failure->code;
  out.reason = failure->reason;
  out.failed_depth = failure->depth;
  if (first.chain) {
    for (int i = 0; i < sk_X509_num(first.chain.get()); ++i)
      out.chain.push_back(Describe(original(sk_X509_value(first.chain.get(), i))));
  }
  return out;
}

Result<ValidationResult> ValidateCertificate(std::string_view leaf, const ValidationOptions& options) {
  auto v = Validator::Create(options);
  if (!v.ok()) return v.status();
  return v->Validate(leaf);
}

Result<ChainEntry> DescribeCertificate(std::string_view cert) {
  auto certs = ParseCertificates(cert);
  if (!certs.ok()) return certs.status();
  return Describe((*certs)[0].get());
}

ChainEntry Describe(X509* x) {
  ChainEntry e;
  e.subject = NameToString(X509_get_subject_name(x));
  e.issuer = NameToString(X509_get_issuer_name(x));
  if (BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), nullptr)) {
    if (char* hex = BN_bn2hex(bn)) {
      e.serial = hex;
      OPENSSL_free(hex);
    }
    BN_free(bn);
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  if (X509_digest(x, EVP_sha256(), md, &mdlen) == 1) e.sha256_fingerprint = ToHex(md, mdlen);
  e.not_before = TimeToRfc3339(X509_get0_notBefore(x));
  e.not_after = TimeToRfc3339(X509_get0_notAfter(x));
  return e;
}

Result<std::string> ReadBundleFile(const std::filesystem::path& path) { return ReadFileBounded(path, kMaxBundleBytes); }

Result<std::vector<std::string>> ReadBundleDirectory(const std::filesystem::path& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec))
    return Status::NotFound("file_not_found", dir.string() + " is not a directory");
  std::vector<std::filesystem::path> files;
  for (const auto& ent : std::filesystem::directory_iterator(dir, ec)) {
    auto ext = ent.path().extension().string();
    if (ent.is_regular_file() && (ext == ".pem" || ext == ".crt" || ext == ".cer" || ext == ".der" || ext == ".crl"))
      files.push_back(ent.path());
    if (files.size() > kMaxObjects)
      return Status::InvalidInput("too_many", dir.string() + " holds more than " + std::to_string(kMaxObjects) +
                                                  " certificate/CRL files");
  }
  if (ec) return Status::Io("read_failed", "cannot list " + dir.string() + ": " + ec.message());
  std::sort(files.begin(), files.end());
  std::vector<std::string> out;
  for (const auto& f : files) {
    auto b = ReadBundleFile(f);
    if (!b.ok()) return b.status();
    out.push_back(std::move(*b));
  }
  return out;
}

namespace {

// Exactly n ASCII digits at s[pos..]: sscanf's %d would also take " 6", "+6" or "-6".
bool Digits(std::string_view s, std::size_t pos, std::size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

int DaysInMonth(int year, int month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : kDays[month - 1];
}

}  // namespace

Result<std::int64_t> ParseRfc3339(std::string_view text) {
  // RFC 3339 5.6 date-time, strictly: YYYY-MM-DDTHH:MM:SS[.digits](Z|+HH:MM|-HH:MM). Each field is
  // exactly its digits and within its range (no 31 February rolled over into March by timegm).
  const std::string s(text.substr(0, std::min<std::size_t>(text.size(), 64)));
  auto bad = [&s](const std::string& why) {
    return Status::InvalidInput("bad_time", "\"" + s + "\" is not an RFC 3339 time (" + why +
                                                "); write e.g. 2026-01-31T12:00:00Z or 2026-01-31T13:00:00+01:00");
  };
  if (text.size() > 40) return bad("too long");
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!Digits(text, 0, 4, &year) || text.size() < 19 || text[4] != '-' || !Digits(text, 5, 2, &month) ||
      text[7] != '-' || !Digits(text, 8, 2, &day) || (text[10] != 'T' && text[10] != 't') ||
      !Digits(text, 11, 2, &hour) || text[13] != ':' || !Digits(text, 14, 2, &minute) || text[16] != ':' ||
      !Digits(text, 17, 2, &second))
    return bad("expected YYYY-MM-DDTHH:MM:SS with two-digit fields");
  if (month < 1 || month > 12) return bad("month out of range");
  if (day < 1 || day > DaysInMonth(year, month)) return bad("no such day in that month");
  if (hour > 23 || minute > 59 || second > 60) return bad("time of day out of range");
  std::size_t pos = 19;
  if (pos < text.size() && text[pos] == '.') {
    const std::size_t first = ++pos;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') ++pos;
    if (pos == first) return bad("a decimal point needs at least one digit after it");
  }
  std::int64_t offset = 0;
  const std::string_view zone = text.substr(pos);
  if (zone == "Z" || zone == "z") {
  } else if (zone.size() == 6 && (zone[0] == '+' || zone[0] == '-') && zone[3] == ':') {
    int hh = 0, mm = 0;
    if (!Digits(zone, 1, 2, &hh) || !Digits(zone, 4, 2, &mm)) return bad("the offset must be +hh:mm or -hh:mm");
    if (hh > 23 || mm > 59) return bad("offset out of range");
    offset = (hh * 3600 + mm * 60) * (zone[0] == '+' ? 1 : -1);
  } else {
    return bad(zone.empty() ? "no time zone: end it with Z or +hh:mm" : "the time zone must be Z, +hh:mm or -hh:mm");
  }
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  return static_cast<std::int64_t>(timegm(&tm)) - offset;
}

const char* PurposeName(Purpose p) {
  switch (p) {
    case Purpose::kClient: return "client";
    case Purpose::kServer: return "server";
    default: return "any";
  }
}
const char* ProfileName(Profile p) { return p == Profile::kStrict ? "strict" : "rfc5280"; }

}  // namespace veridge::pki
