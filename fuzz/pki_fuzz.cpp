// fuzz/pki_fuzz.cpp — libFuzzer target: X.509 certificate, CRL and OCSP parsing and the validator's
// inputs (pki::Validator::Create / Validate, DescribeCertificate, ParseRfc3339).
//
// Input: the first byte picks what the rest is (tools/fuzz.sh prefixes each seed accordingly):
//   0  a leaf certificate (PEM or DER), validated under the fixed PKITS root + GoodCA + their CRLs
//   1  a CRL, given to Validator::Create beside the fixed root (then the fixed leaf is validated)
//   2  an intermediate, given as extra untrusted to the fixed validator with the fixed leaf
//   3  an OCSP response, given to Validator::Create beside the fixed root
//   4  a trust-anchor bundle for Validator::Create
//   else: DescribeCertificate and ParseRfc3339 on the rest
// The fixed certificates come from NIST PKITS in ../shared/data/pki (VERIDGE_FUZZ_PKITS overrides);
// without them only the parse-only modes run (the target says so once, at start).
//
// What must hold: no crash or sanitizer report; a verdict "valid" never carries a code other than
// "ok" and always carries a chain ending at an anchor.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>

#include "pki/pki.h"

namespace {

using namespace veridge::pki;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

struct Fixed {
  std::string root, ca, leaf, root_crl, ca_crl;
  std::optional<Validator> validator;
};

ValidationOptions Base(const Fixed& x) {
  ValidationOptions o;
  o.trust_anchors = {x.root};
  o.profile = Profile::kRfc5280;  // PKITS: 1024-bit RSA, SHA-1
  o.revocation = RevocationMode::kIfAvailable;
  o.at_unix = 1300000000;  // 2011: inside the PKITS validity
  return o;
}

ValidationOptions Options(const Fixed& x) {
  ValidationOptions o = Base(x);
  o.untrusted = {x.ca};
  o.crls = {x.root_crl, x.ca_crl};
  return o;
}

Fixed& Fixture() {
  static Fixed f = [] {
    Fixed x;
    const char* env = std::getenv("VERIDGE_FUZZ_PKITS");
    const std::string dir = env ? env : VERIDGE_SHARED_DIR "/data/pki/pkits/data";
    x.root = ReadAll(dir + "/certs/TrustAnchorRootCertificate.crt");
    x.ca = ReadAll(dir + "/certs/GoodCACert.crt");
    x.leaf = ReadAll(dir + "/certs/ValidCertificatePathTest1EE.crt");
    x.root_crl = ReadAll(dir + "/crls/TrustAnchorRootCRL.crl");
    x.ca_crl = ReadAll(dir + "/crls/GoodCACRL.crl");
    if (x.root.empty() || x.ca.empty() || x.leaf.empty()) {
      std::fprintf(stderr, "pki_fuzz: PKITS not found under %s: only the parse-only modes run\n", dir.c_str());
      return x;
    }
    auto v = Validator::Create(Options(x));
    if (v.ok()) {
      x.validator.emplace(std::move(*v));
      auto r = x.validator->Validate(x.leaf);  // the fixed path is valid: says the target reaches validation
      std::fprintf(stderr, "pki_fuzz: fixed PKITS leaf: %s\n", r.ok() ? r->code.c_str() : r.status().ToString().c_str());
    }
    else std::fprintf(stderr, "pki_fuzz: the fixed validator failed (%s): only the parse-only modes run\n", v.status().ToString().c_str());
    return x;
  }();
  return f;
}

}  // namespace

namespace {
void Check(const veridge::Result<ValidationResult>& r) {
  if (!r.ok()) return;
  if (r->valid && (r->code != "ok" || r->chain.empty())) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  Fixed& x = Fixture();
  const std::string rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  const bool have = x.validator.has_value();
  switch (data[0]) {
    case 0:
      if (have) Check(x.validator->Validate(rest));
      return 0;
    case 1:
      if (have) {
        ValidationOptions o = Options(x);
        o.crls.push_back(rest);
        o.revocation = RevocationMode::kRequire;
        auto v = Validator::Create(o);
        if (v.ok()) Check(v->Validate(x.leaf));
      }
      return 0;
    case 2:
      if (have) Check(x.validator->Validate(x.leaf, {rest}));
      return 0;
    case 3:
      if (have) {
        ValidationOptions o = Options(x);
        o.ocsp_responses = {rest};
        auto v = Validator::Create(o);
        if (v.ok()) Check(v->Validate(x.leaf));
      }
      return 0;
    case 4: {
      ValidationOptions o = have ? Options(x) : ValidationOptions{};
      o.trust_anchors = {rest};
      auto v = Validator::Create(o);
      if (v.ok() && have) Check(v->Validate(x.leaf));
      return 0;
    }
    default:
      (void)DescribeCertificate(rest);
      (void)ParseRfc3339(rest);
      return 0;
  }
}
