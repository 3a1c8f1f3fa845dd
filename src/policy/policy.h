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
//      5. a fraud check (duplicate_identity, identity_history_mismatch, watchlist_hit: the 1:N
//         checks, each a factor of its own, never in `require`) with a HIT (outcome failed, or
//         review) → its code ("duplicate_identity") in reasons, and rejected | review | nothing
//         as options.checks maps it (default review)
//      6. a fraud check in ERROR (it could not run: a damaged stored template, a store error)
//                                                          → "<check>_error", and rejected | review
//         | nothing as mapped: fails closed like a hit. A check that did not run for a reason
//         that is no doubt (no applicant_ref, no watchlist) is MISSING and changes nothing.
//      7. otherwise                                        → approved
//    Each factor's own reason codes are carried into the decision's reasons, prefixed by the factor.
//  * Thread-safe: pure functions over values.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
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

// What a fraud check's hit (or error) does to the decision: [policy].<check> = "reject" | "review" | "ignore".
enum class CheckAction { kReject, kReview, kIgnore };
const char* CheckActionName(CheckAction a);                    // "reject", "review", "ignore"
std::optional<CheckAction> ParseCheckAction(std::string_view s);  // nullopt for anything else

// The fraud checks' factor names (the 1:N checks of issue 15), in result order.
inline constexpr const char* kFraudChecks[] = {"duplicate_identity", "identity_history_mismatch", "watchlist_hit"};
bool IsFraudCheck(const std::string& name);

struct PolicyOptions {
  // Factors that must pass; a missing one fails closed. Default: all three (ARCHITECTURE.md).
  std::vector<std::string> require = {"face", "liveness", "certificate"};
  // A present optional factor that fails sends the session to staff review instead of approving.
  bool review_on_optional_failure = true;
  // Each fraud check's action ([policy].duplicate_identity, ...); a check not listed is review.
  std::map<std::string, CheckAction> checks = {{"duplicate_identity", CheckAction::kReview},
                                               {"identity_history_mismatch", CheckAction::kReview},
                                               {"watchlist_hit", CheckAction::kReview}};
  CheckAction ActionFor(const std::string& check) const;
};

struct DecisionResult {
  Decision decision = Decision::kRejected;
  std::vector<std::string> reasons;  // e.g. "face:no_match", "liveness_missing"
};

DecisionResult Decide(const std::vector<FactorResult>& factors, const PolicyOptions& options);

// Known factor names; config validation rejects others in [policy].require.
bool IsKnownFactor(const std::string& name);

}  // namespace veridge::policy
