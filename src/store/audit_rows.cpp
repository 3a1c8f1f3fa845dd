// store/audit_rows.cpp — the audit chain's rows: append (seq, prev_hash and hash assigned inside
// the caller's transaction), list and head. The chain logic (what is hashed, verification) lives in
// audit/; the triggers that make audit_events append-only are in schema.cpp.
#include <mutex>

#include "store/store_impl.h"

namespace veridge::store {

using detail::CheckLen;
using detail::Translate;

using detail::kZeroHash;

Result<std::vector<AuditEvent>> Store::Impl::AppendAuditLocked(const std::vector<AuditEvent>& events) {
  std::vector<AuditEvent> out;
  if (events.empty()) return out;
  if (!options.audit_hasher)
    return Status::Internal("audit_hasher_missing", "the store was opened without an audit hasher; open it with audit::ChainHasher()");
  auto head = Prepare("SELECT seq, hash FROM audit_head WHERE id = 1");
  if (!head.ok()) return head.status();
  std::int64_t seq = 0;
  std::string prev = kZeroHash;
  int rc = head->Step();
  if (rc == SQLITE_ROW) {
    seq = head->Int(0);
    prev = head->Text(1);
  } else if (rc != SQLITE_DONE) {
    return Translate(rc, db, "reading the audit head");
  }
  auto ins = Prepare("INSERT INTO audit_events(seq, at, actor, action, subject, detail_json, prev_hash, hash) VALUES(?,?,?,?,?,?,?,?)");
  if (!ins.ok()) return ins.status();
  for (const auto& in : events) {
    VERIDGE_RETURN_IF_ERROR(CheckLen(in.actor, kMaxTextBytes, "audit actor"));
    VERIDGE_RETURN_IF_ERROR(CheckLen(in.action, kMaxTextBytes, "audit action"));
    VERIDGE_RETURN_IF_ERROR(CheckLen(in.subject, kMaxTextBytes, "audit subject"));
    VERIDGE_RETURN_IF_ERROR(CheckLen(in.detail_json, kMaxJsonBytes, "audit detail"));
    AuditEvent ev = in;
    ev.seq = ++seq;
    ev.prev_hash = prev;
    if (ev.detail_json.empty()) ev.detail_json = "{}";
    ev.hash = options.audit_hasher(ev);
    if (ev.hash.empty()) return Status::Internal("audit_hash_failed", "the audit hasher returned no hash");
    ins->Reset();
    ins->Bind(1, ev.seq);
    ins->Bind(2, ev.at);
    ins->Bind(3, ev.actor);
    ins->Bind(4, ev.action);
    ins->Bind(5, ev.subject);
    ins->Bind(6, ev.detail_json);
    ins->Bind(7, ev.prev_hash);
    ins->Bind(8, ev.hash);
    VERIDGE_RETURN_IF_ERROR(StepDone(*ins, "appending an audit event"));
    prev = ev.hash;
    out.push_back(std::move(ev));
  }
  // SQLite 3.15 has no UPSERT; REPLACE has the same effect on this one-row table.
  auto upd = Prepare("INSERT OR REPLACE INTO audit_head(id, seq, hash) VALUES(1, ?, ?)");
  if (!upd.ok()) return upd.status();
  upd->Bind(1, seq);
  upd->Bind(2, prev);
  VERIDGE_RETURN_IF_ERROR(StepDone(*upd, "updating the audit head"));
  appended = Head{seq, prev};  // the anchor moves here once the transaction commits
  return out;
}

Result<AuditEvent> Store::AppendAudit(const AuditEvent& event) {
  std::lock_guard lock(impl_->mu);
  auto& I = *impl_;
  AuditEvent stored;
  Status st = I.InTransaction("appending an audit event", [&]() -> Status {
    auto r = I.AppendAuditLocked({event});
    if (!r.ok()) return r.status();
    stored = r.value().front();
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return stored;
}

Result<std::vector<AuditEvent>> Store::ListAudit(std::int64_t after_seq, int limit) {
  if (limit < 0 || limit > 10000) return Status::InvalidInput("bad_limit", "limit must be 0..10000");
  std::lock_guard lock(impl_->mu);
  auto& I = *impl_;
  auto st = I.Prepare("SELECT seq, at, actor, action, subject, detail_json, prev_hash, hash FROM audit_events WHERE seq > ? ORDER BY seq LIMIT ?");
  if (!st.ok()) return st.status();
  st->Bind(1, after_seq);
  st->Bind(2, limit);
  std::vector<AuditEvent> out;
  int rc;
  while ((rc = st->Step()) == SQLITE_ROW)
    out.push_back({st->Int(0), st->Int(1), st->Text(2), st->Text(3), st->Text(4), st->Text(5), st->Text(6), st->Text(7)});
  if (rc != SQLITE_DONE) return Translate(rc, I.db, "reading audit events");
  return out;
}

Result<AuditEvent> Store::AuditHead() {
  std::lock_guard lock(impl_->mu);
  auto& I = *impl_;
  auto st = I.Prepare("SELECT seq, hash FROM audit_head WHERE id = 1");
  if (!st.ok()) return st.status();
  AuditEvent head;
  head.hash = kZeroHash;
  int rc = st->Step();
  if (rc == SQLITE_ROW) {
    head.seq = st->Int(0);
    head.hash = st->Text(1);
  } else if (rc != SQLITE_DONE) {
    return Translate(rc, I.db, "reading the audit head");
  }
  return head;
}

}  // namespace veridge::store
