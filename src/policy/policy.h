// policy/policy.h — pure decision logic over factor results. No I/O, no clock, no vendors.
//
// Contract
//  * Decide(factors, options) combines factor outcomes into approved | rejected | review with
//    machine-readable reasons. It fails closed: a required factor that is missing, errored or of
//    unknown outcome never approves.
//  * Rules, in order:
//      1. a required factor that FAILED                    → rejected  (reason "<factor>_failed")
//      2. a required factor that is MISSING or in ERROR    → rejected  ("<factor>_missing" / "<factor>_error")
//      3. a required factor asking for REVIEW              → review    ("<factor>_review")
//      4. an optional factor that failed or errored        → review when options.review_on_optional_failure
//      5. otherwise                                        → approved
//    Each factor's own reason codes are carried into the decision's reasons, prefixed by the factor.
//  * Thread-safe: pure functions over values.
#pragma once

#include <string>
#include <vector>

namespace veridge::policy {

enum class Outcome { kPassed, kFailed, kReview, kMissing, kError };
const char* OutcomeName(Outcome o);  // "passed", "failed", "review", "missing", "error"

struct FactorResult {
  std::string name;                  // "face", "liveness", "certificate"
  Outcome outcome = Outcome::kMissing;
  std::vector<std::string> reasons;  // the factor's own codes, e.g. "no_match", "expired"
};

enum class Decision { kApproved, kRejected, kReview };
const char* DecisionName(Decision d);  // "approved", "rejected", "review"

struct PolicyOptions {
  // Factors that must pass; a missing one fails closed. Default: all three (ARCHITECTURE.md).
  std::vector<std::string> require = {"face", "liveness", "certificate"};
  // A present optional factor that fails sends the session to staff review instead of approving.
  bool review_on_optional_failure = true;
};

struct DecisionResult {
  Decision decision = Decision::kRejected;
  std::vector<std::string> reasons;  // e.g. "face:no_match", "liveness_missing"
};

DecisionResult Decide(const std::vector<FactorResult>& factors, const PolicyOptions& options);

// Known factor names; config validation rejects others in [policy].require.
bool IsKnownFactor(const std::string& name);

}  // namespace veridge::policy
