#include "policy/policy.h"

#include <algorithm>

namespace veridge::policy {

const char* OutcomeName(Outcome o) {
  switch (o) {
    case Outcome::kPassed: return "passed";
    case Outcome::kFailed: return "failed";
    case Outcome::kReview: return "review";
    case Outcome::kMissing: return "missing";
    case Outcome::kError: return "error";
  }
  return "error";
}

const char* DecisionName(Decision d) {
  switch (d) {
    case Decision::kApproved: return "approved";
    case Decision::kRejected: return "rejected";
    case Decision::kReview: return "review";
  }
  return "rejected";
}

const char* CheckActionName(CheckAction a) {
  switch (a) {
    case CheckAction::kReject: return "reject";
    case CheckAction::kReview: return "review";
    case CheckAction::kIgnore: return "ignore";
  }
  return "review";
}

std::optional<CheckAction> ParseCheckAction(std::string_view s) {
  if (s == "reject") return CheckAction::kReject;
  if (s == "review") return CheckAction::kReview;
  if (s == "ignore") return CheckAction::kIgnore;
  return std::nullopt;
}

bool IsFraudCheck(const std::string& name) {
  return std::find(std::begin(kFraudChecks), std::end(kFraudChecks), name) != std::end(kFraudChecks);
}

CheckAction PolicyOptions::ActionFor(const std::string& check) const {
  auto it = checks.find(check);
  return it == checks.end() ? CheckAction::kReview : it->second;
}

bool IsKnownFactor(const std::string& name) {
  return name == "face" || name == "liveness" || name == "certificate";
}

DecisionResult Decide(const std::vector<FactorResult>& factors, const PolicyOptions& options) {
  DecisionResult out;
  bool rejected = false, review = false;
  auto find = [&](const std::string& name) -> const FactorResult* {
    for (const auto& f : factors)
      if (f.name == name) return &f;
    return nullptr;
  };
  auto required = [&](const std::string& name) {
    return std::find(options.require.begin(), options.require.end(), name) != options.require.end();
  };
  for (const auto& name : options.require) {
    const FactorResult* f = find(name);
    Outcome o = f ? f->outcome : Outcome::kMissing;
    switch (o) {
      case Outcome::kPassed: break;
      case Outcome::kFailed: rejected = true; out.reasons.push_back(name + "_failed"); break;
      case Outcome::kMissing: rejected = true; out.reasons.push_back(name + "_missing"); break;
      case Outcome::kError: rejected = true; out.reasons.push_back(name + "_error"); break;
      case Outcome::kReview: review = true; out.reasons.push_back(name + "_review"); break;
    }
  }
  for (const auto& f : factors) {
    if (!IsFraudCheck(f.name)) continue;
    const bool hit = f.outcome == Outcome::kFailed || f.outcome == Outcome::kReview;
    if (!hit && f.outcome != Outcome::kError) continue;  // passed, or not run (missing)
    out.reasons.push_back(hit ? f.name : f.name + "_error");
    switch (options.ActionFor(f.name)) {
      case CheckAction::kReject: rejected = true; break;
      case CheckAction::kReview: review = true; break;
      case CheckAction::kIgnore: break;
    }
  }
  for (const auto& f : factors) {
    if (required(f.name) || IsFraudCheck(f.name)) continue;
    if (f.outcome == Outcome::kFailed || f.outcome == Outcome::kError || f.outcome == Outcome::kReview) {
      out.reasons.push_back(f.name + "_" + OutcomeName(f.outcome) + "_optional");
      if (options.review_on_optional_failure) review = true;
    }
  }
  for (const auto& f : factors)
    for (const auto& r : f.reasons) out.reasons.push_back(f.name + ":" + r);
  out.decision = rejected ? Decision::kRejected : review ? Decision::kReview : Decision::kApproved;
  return out;
}

}  // namespace veridge::policy
