// NIST PKITS (249 cases, x509-limbo format) through the pki API with the rfc5280 profile: every
// case must give its expected result. Skips when ../shared/data is absent.
#include <nlohmann/json.hpp>

#include <fstream>

#include "pki/pki.h"
#include "support/test_support.h"

using veridge::testing::SharedData;

TEST_CASE("NIST PKITS: all 249 cases give the expected result") {
  auto path = SharedData("pki/pkits/pkits.limbo.json");
  VERIDGE_REQUIRE_PATH(path, "PKITS suite (../shared/data/pki/pkits)");
  std::ifstream in(path);
  auto suite = nlohmann::json::parse(in);
  int passed = 0, total = 0;
  for (const auto& tc : suite["testcases"]) {
    ++total;
    veridge::pki::ValidationOptions o;
    o.profile = veridge::pki::Profile::kRfc5280;
    for (const auto& c : tc["trusted_certs"]) o.trust_anchors.push_back(c.get<std::string>());
    for (const auto& c : tc["untrusted_intermediates"]) o.untrusted.push_back(c.get<std::string>());
    for (const auto& c : tc["crls"]) o.crls.push_back(c.get<std::string>());
    auto at = veridge::pki::ParseRfc3339(tc["validation_time"].get<std::string>());
    REQUIRE(at.ok());
    o.at_unix = *at;
    const auto& px = tc["x-pkits"];
    for (const auto& p : px["initial_policy_set"]) o.initial_policy_set.push_back(p.get<std::string>());
    o.explicit_policy = px["initial_explicit_policy"].get<bool>();
    o.inhibit_policy_mapping = px["initial_policy_mapping_inhibit"].get<bool>();
    o.inhibit_any_policy = px["initial_inhibit_any_policy"].get<bool>();
    auto r = veridge::pki::ValidateCertificate(tc["peer_certificate"].get<std::string>(), o);
    bool expect_ok = tc["expected_result"] == "SUCCESS";
    INFO(tc["id"].get<std::string>() << ": " << (r.ok() ? r->code + " " + r->reason : r.status().ToString()));
    REQUIRE(r.ok());
    CHECK(r->valid == expect_ok);
    if (r->valid) {
      CHECK(r->code == "ok");
      CHECK(r->chain.size() >= 2);
    } else {
      CHECK(r->code != "ok");
      CHECK(!r->reason.empty());
    }
    if (r->valid == expect_ok) ++passed;
  }
  CHECK(total == 249);
  CHECK(passed == total);
}
