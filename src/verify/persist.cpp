#include "verify/persist.h"

#include <cstring>

#include "common/crash_point.h"
#include "outbox/worker.h"

namespace veridge::verify {

StoreSink::StoreSink(store::Store& store, const pki::DeviceSigner& signer, std::string endpoint,
                     std::string store_path, std::chrono::milliseconds first_attempt_delay, const Clock& clock)
    : store_(store),
      signer_(signer),
      endpoint_(std::move(endpoint)),
      store_path_(std::move(store_path)),
      first_delay_(first_attempt_delay),
      clock_(clock) {}

void StoreSink::SetScreener(fraud::Screener* screener) { screener_ = screener; }

Result<nlohmann::json> StoreSink::Commit(const SessionResult& result) {
  // The result carries the audit head it was signed at; the store refuses the commit if the chain
  // moved on meanwhile (another process appended), and then the result is signed again onto the
  // new head. A handful of tries covers any realistic contention (each one is milliseconds).
  constexpr int kTries = 8;
  Status last = Status::Ok();
  for (int attempt = 0; attempt < kTries; ++attempt) {
    auto head = store_.AuditHead();
    if (!head.ok()) return head.status().WithContext("reading the audit head for the signed result");
    auto committed = CommitAt(result, store::AuditHeadPoint{head->seq, head->hash});
    if (committed.ok() || committed.status().code() != "audit_head_moved") return committed;
    last = committed.status();
  }
  return last.WithContext("the audit log kept moving while this session was committed");
}

Result<nlohmann::json> StoreSink::CommitAt(const SessionResult& result, const store::AuditHeadPoint& head) {
  const std::int64_t now = clock_.NowUnixSeconds();
  nlohmann::json doc = result.ToJson();
  doc.erase("delivery");
  doc["audit_head"] = {{"seq", head.seq}, {"hash", head.hash}};
  auto signed_result = outbox::SignResult(doc, signer_, now);
  if (!signed_result.ok()) return signed_result.status().WithContext("signing the result");

  store::DecisionRecord rec;
  rec.expect_audit_head = head;
  rec.session_id = result.session_id;
  rec.applicant_ref = result.applicant_ref;
  rec.created_at = now;
  rec.decision = doc["decision"].get<std::string>();
  rec.reasons_json = doc["reasons"].dump();
  rec.factors_json = doc["factors"].dump();
  rec.result_json = signed_result->result_json;
  for (const auto& f : result.factors) {
    double score = 0;
    if (f.detail.contains("similarity")) score = f.detail["similarity"].get<double>();
    else if (f.detail.contains("score") && f.detail["score"].is_number()) score = f.detail["score"].get<double>();
    rec.factors.push_back({f.result.name, f.result.outcome == policy::Outcome::kPassed, score, f.detail.dump()});
  }
  for (const auto& e : result.evidence) rec.evidence.push_back({e.kind, e.mime, e.bytes, e.sha256});
  for (const auto& t : result.templates) rec.descriptors.push_back({t.kind, t.data});
  store::AuditEvent ev;
  ev.at = now;
  ev.actor = "kiosk";
  ev.action = "session.decided";
  ev.subject = result.session_id;
  ev.detail_json = nlohmann::json({{"decision", rec.decision}, {"webhook_id", signed_result->webhook_id}}).dump();
  rec.audit.push_back(ev);
  const std::int64_t first_at = now + std::chrono::duration_cast<std::chrono::seconds>(first_delay_).count();
  rec.outbox = store::OutboxMessageInput{signed_result->webhook_id, endpoint_, signed_result->body, first_at};

  CrashPoint(crash_points::kVerifyBeforeCommit);
  std::vector<std::int64_t> descriptor_ids;
  VERIDGE_RETURN_IF_ERROR(store_.CommitDecision(rec, &descriptor_ids));
  if (screener_) {
    for (std::size_t i = 0; i < result.templates.size() && i < descriptor_ids.size(); ++i) {
      const auto& t = result.templates[i];
      if (t.kind != fraud::kLiveTemplateKind || t.data.size() != sizeof(float) * fraud::kTemplateDims) continue;
      float live[fraud::kTemplateDims];
      std::memcpy(live, t.data.data(), sizeof live);
      // Cannot fail for a template the screen accepted; if it did, the screener's next read of
      // the store picks the row up (it reads every row past the last one it read).
      (void)screener_->Committed(descriptor_ids[i], result.session_id, result.applicant_ref, now, live);
      std::fill(std::begin(live), std::end(live), 0.0f);
    }
  }
  return nlohmann::json{{"stored", store_path_},
                        {"webhook_id", signed_result->webhook_id},
                        {"endpoint", endpoint_},
                        {"state", "queued"},
                        {"first_attempt_at", first_at}};
}

}  // namespace veridge::verify
