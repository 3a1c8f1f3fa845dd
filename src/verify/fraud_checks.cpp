#include "verify/fraud_checks.h"

namespace veridge::verify {

namespace {

nlohmann::json SessionHits(const std::vector<fraud::SessionHit>& hits) {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& h : hits) a.push_back({{"session_id", h.session_id}, {"distance", h.distance}});
  return a;
}

FactorReport Report(const char* name, const policy::PolicyOptions& policy) {
  FactorReport r;
  r.result.name = name;
  r.detail = {{"action", policy::CheckActionName(policy.ActionFor(name))}};
  return r;
}

// The fields of a 1:N search (duplicate_identity, watchlist_hit): its threshold and why.
void Searched(FactorReport& r, const fraud::ScreenResult& s) {
  r.detail["checked"] = true;
  r.detail["threshold"] = s.threshold;
  r.detail["threshold_basis"] = "FPIR <= 1e-3 at list_size (docs/fraud.md)";
  r.detail["list_size"] = s.list_size;
}

void NotRun(FactorReport& r, const std::string& why) {
  r.result.outcome = policy::Outcome::kMissing;
  r.detail["checked"] = false;
  r.detail["why"] = why;
}

}  // namespace

std::vector<FactorReport> FraudFactors(const std::optional<Result<fraud::ScreenResult>>& screened,
                                       const policy::PolicyOptions& policy) {
  std::vector<FactorReport> out;
  for (const char* name : policy::kFraudChecks) out.push_back(Report(name, policy));
  FactorReport &dup = out[0], &history = out[1], &watch = out[2];
  if (!screened) {
    for (auto& r : out) NotRun(r, "no live face template: no face was described in the capture");
    return out;
  }
  if (!screened->ok()) {
    const Status& st = screened->status();
    for (auto& r : out) {
      r.result.outcome = policy::Outcome::kError;
      r.result.reasons.push_back(st.code());
      r.detail["checked"] = false;
      r.detail["message"] = st.message();
    }
    return out;
  }
  const fraud::ScreenResult& s = **screened;

  if (!s.identity_checks) {
    NotRun(dup, "no applicant_ref: the session claims no identity to compare");
    NotRun(history, "no applicant_ref: the session claims no identity to compare");
  } else {
    Searched(dup, s);
    dup.detail["searched"] = s.gallery;
    dup.detail["hits"] = SessionHits(s.duplicates);
    dup.result.outcome = s.duplicates.empty() ? policy::Outcome::kPassed : policy::Outcome::kFailed;
    if (s.gallery > s.list_size) dup.result.reasons.push_back("gallery_over_list_size");

    history.detail["checked"] = true;
    history.detail["threshold"] = s.mismatch_threshold;
    history.detail["threshold_basis"] = "1:1 face threshold: farther is another face";
    history.detail["earlier_sessions"] = s.history;
    history.detail["hits"] = SessionHits(s.history_mismatches);
    history.result.outcome = s.history_mismatches.empty() ? policy::Outcome::kPassed : policy::Outcome::kFailed;
  }

  if (!s.watchlist_checked) {
    NotRun(watch, "no watchlist on this appliance: watchlist import (issue 15, part 3) is not built yet");
  } else {
    Searched(watch, s);
    watch.detail["entries"] = s.watchlist_size;
    nlohmann::json a = nlohmann::json::array();
    for (const auto& h : s.watchlist) a.push_back({{"entry_id", h.entry_id}, {"distance", h.distance}});
    watch.detail["hits"] = a;
    watch.result.outcome = s.watchlist.empty() ? policy::Outcome::kPassed : policy::Outcome::kFailed;
    if (s.watchlist_size > s.list_size) watch.result.reasons.push_back("list_over_list_size");
  }
  return out;
}

}  // namespace veridge::verify
