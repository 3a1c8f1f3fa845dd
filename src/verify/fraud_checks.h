// verify/fraud_checks.h — the 1:N fraud checks of a session as policy factors (issue 15, part 1).
//
// Contract
//  * FraudFactors() turns one fraud::Screener::Screen() outcome into the three factors
//    duplicate_identity, identity_history_mismatch and watchlist_hit (policy::kFraudChecks), in
//    that order. Each factor's detail is what the signed result carries under factors.<check>:
//    the threshold and how it was chosen, the gallery searched, the action [policy] maps it to,
//    and the hits — session ids (or watchlist entry ids) and L2 distances. Never a template.
//      hit(s)       → outcome failed (the policy puts the check's code in reasons and acts)
//      none         → passed
//      not run      → missing, with detail.checked = false and why (no applicant_ref; no
//                     watchlist on this appliance; no live face template)
//      could not run→ error, with the Status code as reason and its message (fail closed)
//  * A gallery larger than the configured list size still gets searched, but the FPIR bound of
//    the threshold no longer holds: the duplicate_identity factor then carries the reason
//    gallery_over_list_size (shown in the decision's reasons as duplicate_identity:...).
//  * Pure: no I/O.
#pragma once

#include <optional>
#include <vector>

#include "fraud/fraud.h"
#include "policy/policy.h"
#include "verify/verify.h"

namespace veridge::verify {

// `screened` is nullopt when the session has no live face template (the checks cannot run).
std::vector<FactorReport> FraudFactors(const std::optional<Result<fraud::ScreenResult>>& screened,
                                       const policy::PolicyOptions& policy);

}  // namespace veridge::verify
