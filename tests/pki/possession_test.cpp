// Proof of possession against a real SoftHSM2 token (created per test in a temp dir through
// SOFTHSM2_CONF); faults the token cannot produce on demand (locked PIN, removal mid-way) are
// injected through ProveOptions::fault, the PKCS#11 seam.
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "pki/pki.h"
#include "pki/possession.h"
#include "support/softhsm_token.h"
#include "support/test_support.h"

namespace fs = std::filesystem;
using veridge::testing::TempDir;
using veridge::testing::HaveSoftHsm;
using veridge::testing::kPin;
using veridge::testing::kSoftHsm;
using veridge::testing::Run;
using veridge::testing::Token;

namespace {

const fs::path kPki = VERIDGE_TEST_PKI_DIR;
// PKCS#11 return values used by the fault seam (pkcs11.h).
constexpr unsigned long kCkrPinLocked = 0xA4;
constexpr unsigned long kCkrDeviceRemoved = 0x32;

veridge::pki::ProveOptions Options(const std::string& pin = kPin) {
  veridge::pki::ProveOptions o;
  o.module_path = kSoftHsm;
  o.pin = pin;
  o.session_id = "session-42";
  return o;
}

}  // namespace

#define REQUIRE_SOFTHSM() \
  if (!HaveSoftHsm()) VERIDGE_SKIP("SoftHSM2 and opensc (pkcs11-tool) are needed: tools/setup-debian.sh")

TEST_CASE("PKCS#11 ECDSA P-256: the token proves possession of the applicant certificate's key") {
  REQUIRE_SOFTHSM();
  Token t;
  t.ImportKey(kPki / "leaf-valid.key", "01");
  t.ImportCert(kPki / "leaf-valid.pem", "01");
  auto r = veridge::pki::ProvePossession(Options());
  INFO(r.status().ToString());
  REQUIRE(r.ok());
  CHECK(r->proven);
  CHECK(r->code == "ok");
  CHECK(r->mechanism == "ECDSA-SHA256");
  CHECK(r->token_label == "card1");
  CHECK(r->challenge_hex.size() == 64);
  // The certificate read from the token validates to the test root.
  veridge::pki::ValidationOptions vo;
  std::ifstream root(kPki / "root.pem"), inter(kPki / "int.pem"), crls(kPki / "crls.pem");
  vo.trust_anchors.emplace_back(std::istreambuf_iterator<char>(root), std::istreambuf_iterator<char>());
  vo.untrusted.emplace_back(std::istreambuf_iterator<char>(inter), std::istreambuf_iterator<char>());
  vo.crls.emplace_back(std::istreambuf_iterator<char>(crls), std::istreambuf_iterator<char>());
  vo.at_unix = *veridge::pki::ParseRfc3339("2026-06-01T00:00:00Z");
  vo.purpose = veridge::pki::Purpose::kClient;
  auto v = veridge::pki::ValidateCertificate(r->certificate_der, vo);
  REQUIRE(v.ok());
  CHECK(v->valid);
  // Every call signs a fresh challenge.
  auto r2 = veridge::pki::ProvePossession(Options());
  REQUIRE(r2.ok());
  CHECK(r2->proven);
  CHECK(r2->challenge_hex != r->challenge_hex);
}

TEST_CASE("PKCS#11 ECDSA P-384 and RSA-2048 (PSS, and PKCS#1 v1.5 only when allowed)") {
  REQUIRE_SOFTHSM();
  {
    Token t;
    auto [key, cert] = t.MakeKeyCert("p384", "EC:P-384");
    t.ImportKey(key, "02");
    t.ImportCert(cert, "02");
    auto r = veridge::pki::ProvePossession(Options());
    REQUIRE(r.ok());
    CHECK(r->proven);
    CHECK(r->mechanism == "ECDSA-SHA384");
  }
  Token t;
  auto [key, cert] = t.MakeKeyCert("rsa", "RSA:2048");
  t.ImportKey(key, "03");
  t.ImportCert(cert, "03");
  auto r = veridge::pki::ProvePossession(Options());
  INFO(r.status().ToString());
  REQUIRE(r.ok());
  CHECK(r->proven);
  CHECK(r->mechanism == "RSA-PSS-SHA256");
  auto o = Options();
  o.allow_pkcs1v15 = true;
  auto r2 = veridge::pki::ProvePossession(o);
  REQUIRE(r2.ok());
  CHECK(r2->proven);
  CHECK(r2->mechanism == "RSA-PKCS1-SHA256");
}

TEST_CASE("PKCS#11 wrong PIN: pin_incorrect, tried once, the PIN never in the message") {
  REQUIRE_SOFTHSM();
  Token t;
  t.ImportKey(kPki / "leaf-valid.key", "01");
  t.ImportCert(kPki / "leaf-valid.pem", "01");
  auto o = Options("999111");
  int logins = 0;
  o.fault = [&](const char* call) -> unsigned long {
    if (std::string(call) == "C_Login") ++logins;
    return 0;
  };
  auto r = veridge::pki::ProvePossession(o);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == "pin_incorrect");
  CHECK(r.status().kind() == veridge::Status::Kind::kPermission);
  CHECK(r.status().message().find("999111") == std::string::npos);
  CHECK(logins == 1);
}

TEST_CASE("PKCS#11 locked token is a named failure, not retried") {
  REQUIRE_SOFTHSM();
  Token t;
  t.ImportKey(kPki / "leaf-valid.key", "01");
  t.ImportCert(kPki / "leaf-valid.pem", "01");
  auto o = Options();
  int logins = 0;
  // SoftHSM2 never locks its PIN, so the card's answer is injected at C_Login.
  o.fault = [&](const char* call) -> unsigned long {
    if (std::string(call) != "C_Login") return 0;
    ++logins;
    return kCkrPinLocked;
  };
  auto r = veridge::pki::ProvePossession(o);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == "pin_locked");
  CHECK(logins == 1);
}

TEST_CASE("PKCS#11 certificate without a matching key, and a key of another certificate") {
  REQUIRE_SOFTHSM();
  {
    Token t;
    t.ImportCert(kPki / "leaf-valid.pem", "01");  // no private key at all
    auto r = veridge::pki::ProvePossession(Options());
    REQUIRE(r.ok());
    CHECK_FALSE(r->proven);
    CHECK(r->code == "no_matching_key");
  }
  Token t;
  t.ImportKey(kPki / "leaf-revoked.key", "01");  // same CKA_ID, but another certificate's key
  t.ImportCert(kPki / "leaf-valid.pem", "01");
  auto r = veridge::pki::ProvePossession(Options());
  REQUIRE(r.ok());
  CHECK_FALSE(r->proven);
  CHECK(r->code == "signature_mismatch");
}

TEST_CASE("PKCS#11 token removed between steps") {
  REQUIRE_SOFTHSM();
  Token t;
  t.ImportKey(kPki / "leaf-valid.key", "01");
  t.ImportCert(kPki / "leaf-valid.pem", "01");
  for (const char* step : {"C_FindObjectsInit", "C_SignInit", "C_Sign"}) {
    auto o = Options();
    std::string s = step;
    o.fault = [s](const char* call) -> unsigned long { return s == call ? kCkrDeviceRemoved : 0; };
    auto r = veridge::pki::ProvePossession(o);
    INFO(step);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == "token_removed");
    CHECK(r.status().message().find(step) != std::string::npos);
  }
}

TEST_CASE("PKCS#11 bad setup: missing module, unknown token label, empty PIN") {
  REQUIRE_SOFTHSM();
  Token t;
  auto o = Options();
  o.module_path = "/nonexistent/pkcs11.so";
  CHECK(veridge::pki::ProvePossession(o).status().code() == "module_not_found");
  o = Options();
  o.token_label = "no-such-card";
  CHECK(veridge::pki::ProvePossession(o).status().code() == "no_token");
  CHECK(veridge::pki::ProvePossession(Options("")).status().code() == "pin_empty");
  // A token with no certificate at all.
  CHECK(veridge::pki::ProvePossession(Options()).status().code() == "no_certificate");
}

TEST_CASE("veridge cert prove: JSON result, PIN from a 0600 file only") {
  REQUIRE_SOFTHSM();
  if (!fs::exists(veridge::testing::VeridgeBinary())) VERIDGE_SKIP("veridge binary not built");
  Token t;
  t.ImportKey(kPki / "leaf-valid.key", "01");
  t.ImportCert(kPki / "leaf-valid.pem", "01");
  auto pin = t.dir() / "pin";
  std::ofstream(pin) << kPin << "\n";
  fs::permissions(pin, fs::perms::owner_read | fs::perms::owner_write);
  auto run = [&](const std::string& extra) {
    std::string cmd = veridge::testing::VeridgeBinary().string() + " cert prove --json --module " + kSoftHsm.string() +
                      " --pin-file " + pin.string() + " " + extra + " 2>/dev/null";
    FILE* p = popen(cmd.c_str(), "r");
    std::string out;
    char buf[4096];
    while (std::size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
    int st = pclose(p);
    return std::make_pair(WEXITSTATUS(st), nlohmann::json::parse(out));
  };
  auto [code, j] = run("--session-id s-1 --at 2026-06-01T00:00:00Z --trust " + (kPki / "root.pem").string() +
                       " --untrusted " + (kPki / "int.pem").string() + " --crl " + (kPki / "crls.pem").string());
  CHECK(code == 0);
  CHECK(j["proven"] == true);
  CHECK(j["session_id"] == "s-1");
  CHECK(j["validation"]["valid"] == true);
  fs::permissions(pin, fs::perms::group_read, fs::perm_options::add);
  auto [code2, j2] = run("");
  CHECK(code2 == 2);
  CHECK(j2["error"]["code"] == "insecure_permissions");
}
