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

// ---- the fraud checks (issue 15): each a factor of its own, mapped to reject | review | ignore ----

TEST_CASE("A fraud check's hit is reviewed by default and its code is in the reasons") {
  PolicyOptions o;
  o.require = {"face"};
  for (const char* check : kFraudChecks) {
    auto r = Decide({{"face", Outcome::kPassed, {}}, {check, Outcome::kFailed, {}}}, o);
    INFO(check);
    CHECK(r.decision == Decision::kReview);
    CHECK(Has(r, check));
  }
}

TEST_CASE("[policy] maps each fraud check's hit to reject, review or ignore") {
  PolicyOptions o;
  o.require = {"face"};
  const std::vector<FactorResult> hit = {{"face", Outcome::kPassed, {}},
                                         {"duplicate_identity", Outcome::kFailed, {}},
                                         {"identity_history_mismatch", Outcome::kPassed, {}},
                                         {"watchlist_hit", Outcome::kMissing, {}}};
  o.checks["duplicate_identity"] = CheckAction::kReject;
  auto rejected = Decide(hit, o);
  CHECK(rejected.decision == Decision::kRejected);
  CHECK(Has(rejected, "duplicate_identity"));
  o.checks["duplicate_identity"] = CheckAction::kReview;
  CHECK(Decide(hit, o).decision == Decision::kReview);
  o.checks["duplicate_identity"] = CheckAction::kIgnore;
  auto ignored = Decide(hit, o);
  CHECK(ignored.decision == Decision::kApproved);
  CHECK(Has(ignored, "duplicate_identity"));  // still reported: ignoring is the policy's choice, not a cover-up
  // A hit never lifts a rejection the other factors made.
  auto both = Decide({{"face", Outcome::kFailed, {"no_match"}}, {"duplicate_identity", Outcome::kFailed, {}}}, o);
  CHECK(both.decision == Decision::kRejected);
}

TEST_CASE("A fraud check that could not run fails closed as mapped; one not run (missing) changes nothing") {
  PolicyOptions o;
  o.require = {"face"};
  const std::vector<FactorResult> error = {{"face", Outcome::kPassed, {}}, {"identity_history_mismatch", Outcome::kError, {"template_damaged"}}};
  auto r = Decide(error, o);
  CHECK(r.decision == Decision::kReview);
  CHECK(Has(r, "identity_history_mismatch_error"));
  CHECK(Has(r, "identity_history_mismatch:template_damaged"));
  CHECK_FALSE(Has(r, "identity_history_mismatch"));  // no hit is invented
  o.checks["identity_history_mismatch"] = CheckAction::kReject;
  CHECK(Decide(error, o).decision == Decision::kRejected);
  auto missing = Decide({{"face", Outcome::kPassed, {}}, {"watchlist_hit", Outcome::kMissing, {}}}, o);
  CHECK(missing.decision == Decision::kApproved);
  CHECK(missing.reasons.empty());
  // A passed check is not an optional factor failure either.
  CHECK(Decide({{"face", Outcome::kPassed, {}}, {"duplicate_identity", Outcome::kPassed, {}}}, o).decision == Decision::kApproved);
}

TEST_CASE("Check actions parse only reject, review, ignore") {
  CHECK(ParseCheckAction("reject") == CheckAction::kReject);
  CHECK(ParseCheckAction("review") == CheckAction::kReview);
  CHECK(ParseCheckAction("ignore") == CheckAction::kIgnore);
  CHECK_FALSE(ParseCheckAction("Reject"));
  CHECK_FALSE(ParseCheckAction("approve"));
  CHECK_FALSE(ParseCheckAction(""));
  CHECK(IsFraudCheck("watchlist_hit"));
  CHECK_FALSE(IsFraudCheck("face"));
  CHECK_FALSE(IsKnownFactor("duplicate_identity"));  // never in [policy].require
}
