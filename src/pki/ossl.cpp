#include "pki/ossl.h"

#include <openssl/pem.h>

#include <cstring>
#include <ctime>

#include "pki/pki.h"

namespace veridge::pki {
std::string OpenSslErrors() { return ossl::DrainErrors(); }
}  // namespace veridge::pki

namespace veridge::pki::ossl {

std::string DrainErrors() {
  std::string out;
  unsigned long e;
  while ((e = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "no detail from OpenSSL" : out;
}

Result<std::vector<std::string>> SplitObjects(std::string_view bytes, const std::vector<std::string>& labels,
                                              std::size_t max_object) {
  if (bytes.size() > kMaxBundleBytes)
    return Status::InvalidInput("too_large", "input of " + std::to_string(bytes.size()) + " bytes is over the " +
                                                 std::to_string(kMaxBundleBytes) + "-byte limit");
  if (bytes.empty()) return Status::InvalidInput("empty_input", "the certificate/CRL input is empty");
  std::vector<std::string> out;
  if (bytes.find("-----BEGIN ") == std::string_view::npos) {
    // No PEM armour: treat the input as one DER object (the caller decides whether DER is welcome).
    if (bytes.size() > max_object)
      return Status::InvalidInput("too_large", "object of " + std::to_string(bytes.size()) + " bytes is over the " +
                                                   std::to_string(max_object) + "-byte limit");
    out.emplace_back(bytes);
    return out;
  }
  BioPtr bio(BIO_new_mem_buf(bytes.data(), static_cast<int>(bytes.size())));
  if (!bio) return Status::Internal("out_of_memory", "BIO_new_mem_buf failed");
  ERR_clear_error();
  for (;;) {
    char* name = nullptr;
    char* header = nullptr;
    unsigned char* data = nullptr;
    long len = 0;
    if (PEM_read_bio(bio.get(), &name, &header, &data, &len) != 1) {
      unsigned long e = ERR_peek_last_error();
      if (ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE) {
        ERR_clear_error();
        break;  // no more blocks
      }
      return Status::InvalidInput("malformed", "a PEM block could not be decoded (" + DrainErrors() +
                                                   "); check the file is an intact PEM certificate/CRL");
    }
    std::string label = name;
    std::string der(reinterpret_cast<const char*>(data), static_cast<std::size_t>(len));
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(data);
    bool wanted = false;
    for (const auto& l : labels) wanted |= (l == label);
    if (!wanted) continue;  // other blocks (a key, parameters) are not ours to read
    if (der.size() > max_object)
      return Status::InvalidInput("too_large", "a PEM \"" + label + "\" block of " + std::to_string(der.size()) +
                                                   " bytes is over the " + std::to_string(max_object) + "-byte limit");
    if (out.size() >= kMaxObjects)
      return Status::InvalidInput("too_many", "more than " + std::to_string(kMaxObjects) + " objects in one input");
    out.push_back(std::move(der));
  }
  return out;
}

Result<std::vector<X509Ptr>> ParseCertificates(std::string_view bytes) {
  auto objs = SplitObjects(bytes, {"CERTIFICATE", "X509 CERTIFICATE"}, kMaxObjectBytes);
  if (!objs.ok()) return objs.status();
  std::vector<X509Ptr> out;
  for (const auto& der : *objs) {
    const auto* p = reinterpret_cast<const unsigned char*>(der.data());
    const auto* end = p + der.size();
    X509Ptr x(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
    if (!x) return Status::InvalidInput("malformed", "not a decodable X.509 certificate (" + DrainErrors() + ")");
    if (p != end) return Status::InvalidInput("malformed", "trailing bytes after an X.509 certificate");
    out.push_back(std::move(x));
  }
  if (out.empty()) return Status::InvalidInput("no_certificate", "no CERTIFICATE block found in the input");
  return out;
}

Result<std::vector<CrlPtr>> ParseCrls(std::string_view bytes) {
  auto objs = SplitObjects(bytes, {"X509 CRL"}, kMaxCrlBytes);
  if (!objs.ok()) return objs.status();
  std::vector<CrlPtr> out;
  for (const auto& der : *objs) {
    const auto* p = reinterpret_cast<const unsigned char*>(der.data());
    const auto* end = p + der.size();
    CrlPtr c(d2i_X509_CRL(nullptr, &p, static_cast<long>(der.size())));
    if (!c) return Status::InvalidInput("malformed", "not a decodable X.509 CRL (" + DrainErrors() + ")");
    if (p != end) return Status::InvalidInput("malformed", "trailing bytes after an X.509 CRL");
    out.push_back(std::move(c));
  }
  if (out.empty()) return Status::InvalidInput("no_crl", "no X509 CRL block found in the input");
  return out;
}

std::string NameToString(const X509_NAME* name) {
  if (!name) return "";
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio) return "";
  X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

bool TimeToUnix(const ASN1_TIME* t, std::int64_t* out) {
  std::tm tm{};
  if (!t || ASN1_TIME_to_tm(t, &tm) != 1) return false;
  *out = static_cast<std::int64_t>(timegm(&tm));
  return true;
}

std::string TimeToRfc3339(const ASN1_TIME* t) {
  std::tm tm{};
  if (!t || ASN1_TIME_to_tm(t, &tm) != 1) return "";
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace veridge::pki::ossl
