// verify/certificate_factor.h — the certificate factor of a session: the applicant's smart card
// (PKCS#11) signs a fresh challenge bound to the session id, and the certificate it holds is
// validated to the configured trust anchors (path, revocation, key usage, strict profile).
//
// Outcomes: passed (possession proven AND the certificate valid), review (valid except for a
// condition the policy sends to staff, e.g. a stale CRL with stale_crl = review), failed (wrong
// PIN, locked card, key not on the card, invalid certificate: the pki code is the reason), error
// (the PKCS#11 module or the PIN file cannot be used: fail closed).
// The PIN is read from a 0600 file for each session and never logged or kept.
#pragma once

#include <filesystem>
#include <string>

#include "pki/pki.h"
#include "pki/possession.h"
#include "verify/verify.h"

namespace veridge::verify {

struct CertificateFactorOptions {
  std::filesystem::path module_path;  // [certificate].pkcs11_module
  std::string token_label;            // [certificate].token_label ("" = the one token present)
  std::filesystem::path pin_file;     // [certificate].pin_file (the kiosk writes it; mode 0600)
  bool allow_pkcs1v15 = false;        // [certificate].allow_pkcs1v15
  pki::ValidationOptions validation;  // trust anchors, CRLs, purpose client, strict profile
};

class CertificateFactor final : public FactorProvider {
 public:
  explicit CertificateFactor(CertificateFactorOptions options) : options_(std::move(options)) {}
  std::string name() const override { return "certificate"; }
  FactorReport Evaluate(const SessionContext& ctx) override;

 private:
  CertificateFactorOptions options_;
};

}  // namespace veridge::verify
