#include "policy/policy.h"

#include <catch2/catch.hpp>

using namespace veridge::policy;

static bool Has(const DecisionResult& r, const std::string& reason) {
  return std::find(r.reasons.begin(), r.reasons.end(), reason) != r.reasons.end();
}

TEST_CASE("All required factors passed approves") {
  PolicyOptions o;
  auto r = Decide({{"face", Outcome::kPassed, {}}, {"liveness", Outcome::kPassed, {}}, {"certificate", Outcome::kPassed, {}}}, o);
  CHECK(r.decision == Decision::kApproved);
  CHECK(r.reasons.empty());
}

TEST_CASE("A missing required factor fails closed") {
  PolicyOptions o;
  auto r = Decide({{"face", Outcome::kPassed, {}}, {"liveness", Outcome::kPassed, {}}}, o);
  CHECK(r.decision == Decision::kRejected);
  CHECK(Has(r, "certificate_missing"));
}

TEST_CASE("A failed required factor rejects and carries the factor's reasons") {
  PolicyOptions o;
  o.require = {"face"};
  auto r = Decide({{"face", Outcome::kFailed, {"no_match"}}}, o);
  CHECK(r.decision == Decision::kRejected);
  CHECK(Has(r, "face_failed"));
  CHECK(Has(r, "face:no_match"));
}

TEST_CASE("An errored required factor rejects, never approves") {
  PolicyOptions o;
  o.require = {"face", "liveness"};
  auto r = Decide({{"face", Outcome::kPassed, {}}, {"liveness", Outcome::kError, {"model_missing"}}}, o);
  CHECK(r.decision == Decision::kRejected);
  CHECK(Has(r, "liveness_error"));
}

TEST_CASE("Review on a required factor goes to review unless something failed") {
  PolicyOptions o;
  o.require = {"face", "certificate"};
  auto r = Decide({{"face", Outcome::kPassed, {}}, {"certificate", Outcome::kReview, {"crl_stale"}}}, o);
  CHECK(r.decision == Decision::kReview);
  auto r2 = Decide({{"face", Outcome::kFailed, {}}, {"certificate", Outcome::kReview, {}}}, o);
  CHECK(r2.decision == Decision::kRejected);
}

TEST_CASE("An optional factor that fails sends the session to review when configured") {
  PolicyOptions o;
  o.require = {"face"};
  std::vector<FactorResult> f = {{"face", Outcome::kPassed, {}}, {"liveness", Outcome::kFailed, {"replay"}}};
  CHECK(Decide(f, o).decision == Decision::kReview);
  o.review_on_optional_failure = false;
  CHECK(Decide(f, o).decision == Decision::kApproved);
}
