// The certificate factor through a real SoftHSM2 token and the generated test PKI.
#include "verify/certificate_factor.h"

#include <sys/stat.h>

#include "common/files.h"
#include "support/softhsm_token.h"

using namespace veridge;
using veridge::testing::Token;

namespace {

const std::filesystem::path kPki = VERIDGE_TEST_PKI_DIR;

verify::CertificateFactorOptions Options(const Token& t, const std::string& pin) {
  verify::CertificateFactorOptions o;
  o.module_path = testing::kSoftHsm;
  o.pin_file = t.dir() / "pin";
  REQUIRE(WriteFileAtomic(o.pin_file, pin + "\n", 0600).ok());
  o.validation.trust_anchors.push_back(*pki::ReadBundleFile(kPki / "root.pem"));
  o.validation.untrusted.push_back(*pki::ReadBundleFile(kPki / "int.pem"));
  o.validation.crls.push_back(*pki::ReadBundleFile(kPki / "crls.pem"));
  o.validation.at_unix = *pki::ParseRfc3339("2026-06-01T00:00:00Z");  // inside the test PKI's validity
  return o;
}

verify::FactorReport Evaluate(verify::CertificateFactorOptions o) {
  verify::SessionRequest req;
  std::string sid = verify::NewSessionId();
  verify::CertificateFactor factor(std::move(o));
  return factor.Evaluate({req, sid});
}

}  // namespace

#define REQUIRE_CARD_SETUP()                                                                      \
  if (!testing::HaveSoftHsm()) VERIDGE_SKIP("SoftHSM2 and opensc are needed: tools/setup-debian.sh"); \
  VERIDGE_REQUIRE_PATH(kPki / "leaf-valid.pem", "generated test PKI (build target veridge_test_pki_data)")

TEST_CASE("Certificate factor: the card proves possession and its certificate validates") {
  REQUIRE_CARD_SETUP();
  Token t;
  t.ImportKey(kPki / "leaf-valid.key", "01");
  t.ImportCert(kPki / "leaf-valid.pem", "01");
  auto rep = Evaluate(Options(t, testing::kPin));
  INFO(rep.detail.dump());
  CHECK(rep.result.outcome == policy::Outcome::kPassed);
  CHECK(rep.detail["possession"]["proven"] == true);
  CHECK(rep.detail["validation"]["valid"] == true);
  CHECK(rep.detail["validation"]["chain"].size() == 3);
  CHECK(rep.detail.dump().find(testing::kPin) == std::string::npos);
}

TEST_CASE("Certificate factor: a wrong PIN fails the factor, it is not retried") {
  REQUIRE_CARD_SETUP();
  Token t;
  t.ImportKey(kPki / "leaf-valid.key", "01");
  t.ImportCert(kPki / "leaf-valid.pem", "01");
  auto rep = Evaluate(Options(t, "000000"));
  CHECK(rep.result.outcome == policy::Outcome::kFailed);
  REQUIRE_FALSE(rep.result.reasons.empty());
  CHECK(rep.detail.dump().find("000000") == std::string::npos);
}

TEST_CASE("Certificate factor: a revoked certificate on a genuine card fails with revoked") {
  REQUIRE_CARD_SETUP();
  VERIDGE_REQUIRE_PATH(kPki / "leaf-revoked.pem", "generated test PKI");
  Token t;
  t.ImportKey(kPki / "leaf-revoked.key", "01");
  t.ImportCert(kPki / "leaf-revoked.pem", "01");
  auto rep = Evaluate(Options(t, testing::kPin));
  INFO(rep.detail.dump());
  CHECK(rep.result.outcome == policy::Outcome::kFailed);
  CHECK(rep.detail["possession"]["proven"] == true);
  CHECK(rep.result.reasons == std::vector<std::string>{"revoked"});
}

TEST_CASE("Certificate factor: a group-readable PIN file is an error, fail closed") {
  REQUIRE_CARD_SETUP();
  Token t;
  auto o = Options(t, testing::kPin);
  ::chmod(o.pin_file.c_str(), 0644);
  auto rep = Evaluate(o);
  CHECK(rep.result.outcome == policy::Outcome::kError);
  CHECK(rep.result.reasons == std::vector<std::string>{"insecure_permissions"});
}
