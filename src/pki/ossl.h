// pki/ossl.h — internal to pki/: RAII owners for OpenSSL handles and error-queue translation.
// Not part of the public API (other modules never include OpenSSL through pki/).
#pragma once

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/hex.h"
#include "common/status.h"

namespace veridge::pki::ossl {

template <auto Fn>
struct Deleter {
  template <typename T>
  void operator()(T* p) const { Fn(p); }
};

using X509Ptr = std::unique_ptr<X509, Deleter<X509_free>>;
using CrlPtr = std::unique_ptr<X509_CRL, Deleter<X509_CRL_free>>;
using StorePtr = std::unique_ptr<X509_STORE, Deleter<X509_STORE_free>>;
using StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, Deleter<X509_STORE_CTX_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO_free_all>>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX_free>>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, Deleter<EVP_MD_CTX_free>>;
using OcspRespPtr = std::unique_ptr<OCSP_RESPONSE, Deleter<OCSP_RESPONSE_free>>;
using OcspBasicPtr = std::unique_ptr<OCSP_BASICRESP, Deleter<OCSP_BASICRESP_free>>;
using OcspCertIdPtr = std::unique_ptr<OCSP_CERTID, Deleter<OCSP_CERTID_free>>;
using Asn1ObjPtr = std::unique_ptr<ASN1_OBJECT, Deleter<ASN1_OBJECT_free>>;
using Asn1TimePtr = std::unique_ptr<ASN1_TIME, Deleter<ASN1_TIME_free>>;

struct X509StackFree {
  void operator()(STACK_OF(X509) * s) const { sk_X509_pop_free(s, X509_free); }
};
using X509StackPtr = std::unique_ptr<STACK_OF(X509), X509StackFree>;

// Drains the thread's OpenSSL error queue into one line (for messages; never contains secrets).
std::string DrainErrors();

// Copies a shared X509 reference (up-ref).
inline X509Ptr Ref(X509* x) {
  X509_up_ref(x);
  return X509Ptr(x);
}

// Splits bytes into DER objects: PEM blocks whose label is in `labels`, or the whole input as one
// DER object when it holds no PEM block. Each object is bounded by max_object; the count by
// kMaxObjects. Codes: malformed (bad base64/PEM), too_large, too_many, empty_input.
Result<std::vector<std::string>> SplitObjects(std::string_view bytes, const std::vector<std::string>& labels,
                                              std::size_t max_object);

Result<std::vector<X509Ptr>> ParseCertificates(std::string_view bytes);
Result<std::vector<CrlPtr>> ParseCrls(std::string_view bytes);

std::string NameToString(const X509_NAME* name);
std::string TimeToRfc3339(const ASN1_TIME* t);
// Unix seconds of an ASN1_TIME; false when it cannot be decoded.
bool TimeToUnix(const ASN1_TIME* t, std::int64_t* out);

}  // namespace veridge::pki::ossl
