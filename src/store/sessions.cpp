// store/sessions.cpp — the sessions repository: decisions, factor results, evidence and
// descriptors. CommitDecision also appends the session's audit events and queues its outbox row,
// through the audit_rows and outbox repositories, in its one transaction.
#include <mutex>

#include "common/sha256.h"
#include "store/store_impl.h"

namespace veridge::store {

using detail::CheckLen;
using detail::Stmt;
using detail::Translate;

namespace {

constexpr const char* kSessionColumns =
    "session_id, applicant_ref, created_at, decision, reasons_json, factors_json, result_json, biometrics_purged_at";

SessionRecord ReadSession(const Stmt& s) {
  SessionRecord r;
  r.session_id = s.Text(0);
  r.applicant_ref = s.Text(1);
  r.created_at = s.Int(2);
  r.decision = s.Text(3);
  r.reasons_json = s.Text(4);
  r.factors_json = s.Text(5);
  r.result_json = s.Text(6);
  if (!s.IsNull(7)) r.biometrics_purged_at = s.Int(7);
  return r;
}

}  // namespace

Status Store::CommitDecision(const DecisionRecord& r, std::vector<std::int64_t>* descriptor_ids) {
  if (r.session_id.empty()) return Status::InvalidInput("missing_field", "a decision needs a session_id");
  VERIDGE_RETURN_IF_ERROR(CheckLen(r.session_id, kMaxTextBytes, "session_id"));
  VERIDGE_RETURN_IF_ERROR(CheckLen(r.applicant_ref, kMaxTextBytes, "applicant_ref"));
  VERIDGE_RETURN_IF_ERROR(CheckLen(r.decision, kMaxTextBytes, "decision"));
  VERIDGE_RETURN_IF_ERROR(CheckLen(r.reasons_json, kMaxJsonBytes, "reasons_json"));
  VERIDGE_RETURN_IF_ERROR(CheckLen(r.factors_json, kMaxJsonBytes, "factors_json"));
  VERIDGE_RETURN_IF_ERROR(CheckLen(r.result_json, kMaxJsonBytes, "result_json"));
  if (r.evidence.size() > kMaxEvidenceItems || r.descriptors.size() > kMaxEvidenceItems || r.factors.size() > kMaxEvidenceItems)
    return Status::InvalidInput("too_large", "a decision may carry at most " + std::to_string(kMaxEvidenceItems) +
                                                 " evidence items, descriptors and factors each");
  std::vector<std::string> hashes;
  for (const auto& e : r.evidence) {
    VERIDGE_RETURN_IF_ERROR(CheckLen(e.data, kMaxEvidenceBytes, "an evidence item"));
    VERIDGE_RETURN_IF_ERROR(CheckLen(e.kind, kMaxTextBytes, "evidence kind"));
    VERIDGE_RETURN_IF_ERROR(CheckLen(e.media_type, kMaxTextBytes, "evidence media type"));
    std::string h = Sha256Hex(e.data);
    if (!e.sha256.empty() && e.sha256 != h)
      return Status::InvalidInput("evidence_hash_mismatch", "evidence item '" + e.kind + "' does not match the SHA-256 given for it");
    hashes.push_back(std::move(h));
  }
  for (const auto& d : r.descriptors) VERIDGE_RETURN_IF_ERROR(CheckLen(d.data, kMaxDescriptorBytes, "a descriptor"));
  for (const auto& f : r.factors) VERIDGE_RETURN_IF_ERROR(CheckLen(f.detail_json, kMaxJsonBytes, "factor detail"));
  if (r.outbox) {
    if (r.outbox->webhook_id.empty()) return Status::InvalidInput("missing_field", "an outbox message needs a webhook_id");
    VERIDGE_RETURN_IF_ERROR(CheckLen(r.outbox->webhook_id, kMaxTextBytes, "webhook_id"));
    VERIDGE_RETURN_IF_ERROR(CheckLen(r.outbox->endpoint, kMaxTextBytes, "endpoint"));
    VERIDGE_RETURN_IF_ERROR(CheckLen(r.outbox->payload, kMaxJsonBytes, "outbox payload"));
  }

  std::lock_guard lock(impl_->mu);
  auto& I = *impl_;
  const std::string what = "committing session " + r.session_id;
  std::vector<std::int64_t> ids;
  Status committed = I.InTransaction(what, [&]() -> Status {
    if (r.expect_audit_head) {
      auto head = I.ReadHead();
      if (!head.ok()) return head.status();
      if (head->seq != r.expect_audit_head->seq || head->hash != r.expect_audit_head->hash)
        return Status::Unavailable("audit_head_moved", "the audit chain moved on (to event " + std::to_string(head->seq) +
                                                           ") after the result was signed at event " +
                                                           std::to_string(r.expect_audit_head->seq) + ": sign it again");
    }
    {
      auto st = I.Prepare(
          "INSERT INTO sessions(session_id, applicant_ref, created_at, decision, reasons_json, factors_json, result_json) "
          "VALUES(?,?,?,?,?,?,?)");
      if (!st.ok()) return st.status();
      st->Bind(1, r.session_id);
      st->Bind(2, r.applicant_ref);
      st->Bind(3, r.created_at);
      st->Bind(4, r.decision);
      st->Bind(5, r.reasons_json.empty() ? std::string("[]") : r.reasons_json);
      st->Bind(6, r.factors_json.empty() ? std::string("{}") : r.factors_json);
      st->Bind(7, r.result_json);
      VERIDGE_RETURN_IF_ERROR(I.StepDone(*st, what));
    }
    if (!r.factors.empty()) {
      auto st = I.Prepare("INSERT INTO factor_results(session_id, factor, passed, score, detail_json) VALUES(?,?,?,?,?)");
      if (!st.ok()) return st.status();
      for (const auto& f : r.factors) {
        st->Reset();
        st->Bind(1, r.session_id);
        st->Bind(2, f.factor);
        st->Bind(3, f.passed ? 1 : 0);
        st->Bind(4, f.score);
        st->Bind(5, f.detail_json.empty() ? std::string("{}") : f.detail_json);
        VERIDGE_RETURN_IF_ERROR(I.StepDone(*st, what + " (factor " + f.factor + ")"));
      }
    }
    if (!r.evidence.empty()) {
      auto st = I.Prepare("INSERT INTO evidence(session_id, kind, media_type, sha256, data) VALUES(?,?,?,?,?)");
      if (!st.ok()) return st.status();
      for (size_t i = 0; i < r.evidence.size(); ++i) {
        st->Reset();
        st->Bind(1, r.session_id);
        st->Bind(2, r.evidence[i].kind);
        st->Bind(3, r.evidence[i].media_type);
        st->Bind(4, hashes[i]);
        st->BindBlob(5, r.evidence[i].data);
        VERIDGE_RETURN_IF_ERROR(I.StepDone(*st, what + " (evidence)"));
      }
    }
    if (!r.descriptors.empty()) {
      auto st = I.Prepare("INSERT INTO descriptors(session_id, kind, data) VALUES(?,?,?)");
      if (!st.ok()) return st.status();
      for (const auto& d : r.descriptors) {
        st->Reset();
        st->Bind(1, r.session_id);
        st->Bind(2, d.kind);
        st->BindBlob(3, d.data);
        VERIDGE_RETURN_IF_ERROR(I.StepDone(*st, what + " (descriptor)"));
        ids.push_back(sqlite3_last_insert_rowid(I.db));
      }
    }
    auto audited = I.AppendAuditLocked(r.audit);
    if (!audited.ok()) return audited.status();
    if (r.outbox) VERIDGE_RETURN_IF_ERROR(I.InsertOutboxLocked(r.session_id, r.created_at, *r.outbox, what));
    return Status::Ok();
  });
  if (committed.ok() && descriptor_ids) *descriptor_ids = std::move(ids);
  return committed;
}

Result<SessionRecord> Store::GetSession(const std::string& session_id) {
  std::lock_guard lock(impl_->mu);
  auto& I = *impl_;
  auto st = I.Prepare((std::string("SELECT ") + kSessionColumns + " FROM sessions WHERE session_id = ?").c_str());
  if (!st.ok()) return st.status();
  st->Bind(1, session_id);
  int rc = st->Step();
  if (rc == SQLITE_DONE) return Status::NotFound("not_found", "no session '" + session_id + "' in the store");
  if (rc != SQLITE_ROW) return Translate(rc, I.db, "reading session " + session_id);
  SessionRecord rec = ReadSession(*st);
  auto fs = I.Prepare("SELECT factor, passed, score, detail_json FROM factor_results WHERE session_id = ? ORDER BY factor");
  if (!fs.ok()) return fs.status();
  fs->Bind(1, session_id);
  while ((rc = fs->Step()) == SQLITE_ROW)
    rec.factors.push_back({fs->Text(0), fs->Int(1) != 0, fs->Double(2), fs->Text(3)});
  if (rc != SQLITE_DONE) return Translate(rc, I.db, "reading factors of " + session_id);
  return rec;
}

Result<std::vector<SessionRecord>> Store::ListSessions(int limit, int offset) {
  if (limit < 0 || limit > 1000 || offset < 0) return Status::InvalidInput("bad_limit", "limit must be 0..1000 and offset >= 0");
  std::lock_guard lock(impl_->mu);
  auto& I = *impl_;
  auto st = I.Prepare((std::string("SELECT ") + kSessionColumns + " FROM sessions ORDER BY created_at DESC, session_id LIMIT ? OFFSET ?").c_str());
  if (!st.ok()) return st.status();
  st->Bind(1, limit);
  st->Bind(2, offset);
  std::vector<SessionRecord> out;
  int rc;
  while ((rc = st->Step()) == SQLITE_ROW) out.push_back(ReadSession(*st));
  if (rc != SQLITE_DONE) return Translate(rc, I.db, "listing sessions");
  return out;
}

Result<std::vector<StoredEvidence>> Store::GetEvidence(const std::string& session_id) {
  std::lock_guard lock(impl_->mu);
  auto& I = *impl_;
  auto st = I.Prepare("SELECT id, session_id, kind, media_type, sha256, data FROM evidence WHERE session_id = ? ORDER BY id");
  if (!st.ok()) return st.status();
  st->Bind(1, session_id);
  std::vector<StoredEvidence> out;
  int rc;
  while ((rc = st->Step()) == SQLITE_ROW) out.push_back({st->Int(0), st->Text(1), st->Text(2), st->Text(3), st->Text(4), st->Text(5)});
  if (rc != SQLITE_DONE) return Translate(rc, I.db, "reading evidence of " + session_id);
  return out;
}

Result<std::vector<DescriptorItem>> Store::GetDescriptors(const std::string& session_id) {
  std::lock_guard lock(impl_->mu);
  auto& I = *impl_;
  auto st = I.Prepare("SELECT kind, data FROM descriptors WHERE session_id = ? ORDER BY id");
  if (!st.ok()) return st.status();
  st->Bind(1, session_id);
  std::vector<DescriptorItem> out;
  int rc;
  while ((rc = st->Step()) == SQLITE_ROW) out.push_back({st->Text(0), st->Text(1)});
  if (rc != SQLITE_DONE) return Translate(rc, I.db, "reading descriptors of " + session_id);
  return out;
}

Result<std::vector<StoredDescriptor>> Store::ListDescriptors(const std::string& kind, std::int64_t after_id, int limit) {
  if (limit < 1 || limit > 10000) return Status::InvalidInput("bad_limit", "limit must be 1..10000");
  std::lock_guard lock(impl_->mu);
  auto& I = *impl_;
  auto st = I.Prepare(
      "SELECT d.id, d.session_id, d.kind, d.data, s.applicant_ref, s.created_at FROM descriptors d "
      "JOIN sessions s ON s.session_id = d.session_id WHERE d.kind = ? AND d.id > ? ORDER BY d.id LIMIT ?");
  if (!st.ok()) return st.status();
  st->Bind(1, kind);
  st->Bind(2, after_id);
  st->Bind(3, limit);
  std::vector<StoredDescriptor> out;
  int rc;
  while ((rc = st->Step()) == SQLITE_ROW) out.push_back({st->Int(0), st->Text(1), st->Text(2), st->Text(3), st->Text(4), st->Int(5)});
  if (rc != SQLITE_DONE) return Translate(rc, I.db, "listing descriptors");
  return out;
}

}  // namespace veridge::store
