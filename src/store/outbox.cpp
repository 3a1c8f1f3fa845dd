// store/outbox.cpp — the outbox repository: one row per result to deliver, its delivery attempts,
// and the endpoints a 410 disabled. Dead letters, replays and endpoint changes append their audit
// event in the same transaction as the change (store/store.h, "Audit of delivery").
#include <mutex>

#include "store/store_impl.h"

namespace veridge::store {

using detail::CheckLen;
using detail::Stmt;
using detail::Translate;

namespace {

// The actor of the audit events the delivery worker's outcomes cause (dead letter, 410).
constexpr const char* kDeliveryActor = "system:outbox";

OutboxState StateFromText(const std::string& s) {
  if (s == "delivered") return OutboxState::kDelivered;
  if (s == "dead") return OutboxState::kDead;
  return OutboxState::kPending;
}

constexpr const char* kOutboxColumns =
    "id, webhook_id, coalesce(session_id, ''), endpoint, payload, state, attempts, created_at, next_attempt_at, delivered_at, "
    "last_http_status, last_error, dead_reason, dead_at";

// Reads a row selected with kOutboxColumns, in that column order.
OutboxMessage ReadOutboxRow(const Stmt& s) {
  OutboxMessage m;
  m.id = s.Int(0);
  m.webhook_id = s.Text(1);
  m.session_id = s.Text(2);
  m.endpoint = s.Text(3);
  m.payload = s.Text(4);
  m.state = StateFromText(s.Text(5));
  m.attempts = static_cast<int>(s.Int(6));
  m.created_at = s.Int(7);
  m.next_attempt_at = s.Int(8);
  if (!s.IsNull(9)) m.delivered_at = s.Int(9);
  if (!s.IsNull(10)) m.last_http_status = static_cast<int>(s.Int(10));
  m.last_error = s.Text(11);
  m.dead_reason = s.Text(12);
  if (!s.IsNull(13)) m.dead_at = s.Int(13);
  return m;
}

}  // namespace

const char* ToString(OutboxState s) {
  switch (s) {
    case OutboxState::kPending: return "pending";
    case OutboxState::kDelivered: return "delivered";
    case OutboxState::kDead: return "dead";
  }
  return "pending";
}

Status Store::Impl::InsertOutboxLocked(const std::string& session_id, std::int64_t created_at, const OutboxMessageInput& message,
                                       const std::string& what) {
  auto st = Prepare(
      "INSERT INTO outbox(webhook_id, session_id, endpoint, payload, state, created_at, next_attempt_at) "
      "VALUES(?,?,?,?,'pending',?,?)");
  if (!st.ok()) return st.status();
  st->Bind(1, message.webhook_id);
  st->Bind(2, session_id);
  st->Bind(3, message.endpoint);
  st->Bind(4, message.payload);
  st->Bind(5, created_at);
  st->Bind(6, message.next_attempt_at);
  return StepDone(*st, what + " (outbox)");
}

Status Store::Impl::AuditOutboxChangeLocked(std::int64_t id, std::int64_t at, const std::string& actor,
                                            const std::string& action, nlohmann::json detail) {
  auto row = Prepare("SELECT session_id, webhook_id, endpoint FROM outbox WHERE id = ?");
  if (!row.ok()) return row.status();
  row->Bind(1, id);
  const int rc = row->Step();
  if (rc != SQLITE_ROW) return Translate(rc, db, "reading outbox row " + std::to_string(id) + " for its audit event");
  detail["outbox_id"] = id;
  detail["webhook_id"] = row->Text(1);
  detail["endpoint"] = row->Text(2);
  return AppendAuditLocked({AuditEvent{0, at, actor, action, row->Text(0), detail.dump(), "", ""}}).status();
}

Result<std::vector<OutboxMessage>> Store::Impl::CollectOutbox(Stmt& st, const std::string& what) {
  std::vector<OutboxMessage> out;
  int rc;
  while ((rc = st.Step()) == SQLITE_ROW) out.push_back(ReadOutboxRow(st));
  if (rc != SQLITE_DONE) return Translate(rc, db, what);
  return out;
}

Result<std::vector<OutboxMessage>> Store::ClaimDue(std::int64_t now, int limit, std::int64_t lease_seconds) {
  if (limit <= 0 || limit > 1000) return Status::InvalidInput("bad_limit", "limit must be 1..1000");
  std::lock_guard lock(impl_->mu);
  auto& I = *impl_;
  std::vector<OutboxMessage> out;
  Status st = I.InTransaction("claiming due outbox rows", [&]() -> Status {
    auto sel = I.Prepare((std::string("SELECT ") + kOutboxColumns +
                          " FROM outbox WHERE state = 'pending' AND next_attempt_at <= ?1 AND lease_until <= ?1"
                          " AND endpoint NOT IN (SELECT endpoint FROM disabled_endpoints)"
                          " ORDER BY next_attempt_at, id LIMIT ?2")
                             .c_str());
    if (!sel.ok()) return sel.status();
    sel->Bind(1, now);
    sel->Bind(2, limit);
    auto rows = I.CollectOutbox(*sel, "claiming due outbox rows");
    if (!rows.ok()) return rows.status();
    out = std::move(rows.value());
    auto upd = I.Prepare("UPDATE outbox SET lease_until = ? WHERE id = ?");
    if (!upd.ok()) return upd.status();
    for (const auto& m : out) {
      upd->Reset();
      upd->Bind(1, now + lease_seconds);
      upd->Bind(2, m.id);
      VERIDGE_RETURN_IF_ERROR(I.StepDone(*upd, "leasing an outbox row"));
    }
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return out;
}

Status Store::RecordAttempt(std::int64_t id, const Attempt& a, AttemptOutcome outcome, std::int64_t next_attempt_at,
                            const std::string& dead_reason) {
  VERIDGE_RETURN_IF_ERROR(CheckLen(a.error, kMaxTextBytes * 4, "attempt error"));
  VERIDGE_RETURN_IF_ERROR(CheckLen(dead_reason, kMaxTextBytes * 4, "dead-letter reason"));
  std::lock_guard lock(impl_->mu);
  auto& I = *impl_;
  const std::string what = "recording delivery attempt of outbox row " + std::to_string(id);
  return I.InTransaction(what, [&]() -> Status {
    auto cur = I.Prepare("SELECT state FROM outbox WHERE id = ?");
    if (!cur.ok()) return cur.status();
    cur->Bind(1, id);
    int rc = cur->Step();
    if (rc == SQLITE_DONE) return Status::NotFound("not_found", "no outbox row " + std::to_string(id));
    if (rc != SQLITE_ROW) return Translate(rc, I.db, what);
    if (cur->Text(0) != "pending")
      return Status::InvalidInput("not_pending", "outbox row " + std::to_string(id) + " is " + cur->Text(0) +
                                                     ", not pending; replay it first if it must be sent again");
    auto ins = I.Prepare("INSERT INTO outbox_attempts(outbox_id, attempt_no, at, http_status, error, duration_ms) VALUES(?,?,?,?,?,?)");
    if (!ins.ok()) return ins.status();
    ins->Bind(1, id);
    ins->Bind(2, a.attempt_no);
    ins->Bind(3, a.at);
    ins->Bind(4, a.http_status);
    ins->Bind(5, a.error);
    ins->Bind(6, a.duration_ms);
    VERIDGE_RETURN_IF_ERROR(I.StepDone(*ins, what));
    const char* sql = nullptr;
    switch (outcome) {
      case AttemptOutcome::kRetry:
        sql = "UPDATE outbox SET attempts = attempts + 1, last_http_status = ?2, last_error = ?3, lease_until = 0, next_attempt_at = ?4 WHERE id = ?1";
        break;
      case AttemptOutcome::kDelivered:
        sql = "UPDATE outbox SET attempts = attempts + 1, last_http_status = ?2, last_error = ?3, lease_until = 0, state = 'delivered', delivered_at = ?5 WHERE id = ?1";
        break;
      case AttemptOutcome::kDead:
        sql = "UPDATE outbox SET attempts = attempts + 1, last_http_status = ?2, last_error = ?3, lease_until = 0, state = 'dead', dead_reason = ?6, dead_at = ?5 WHERE id = ?1";
        break;
    }
    auto upd = I.Prepare(sql);
    if (!upd.ok()) return upd.status();
    upd->Bind(1, id);
    if (a.http_status > 0) upd->Bind(2, a.http_status);
    else upd->BindNull(2);
    upd->Bind(3, a.error);
    if (outcome == AttemptOutcome::kRetry) upd->Bind(4, next_attempt_at);
    if (outcome != AttemptOutcome::kRetry) upd->Bind(5, a.at);
    const std::string reason = dead_reason.empty() ? std::string("retries exhausted") : dead_reason;
    if (outcome == AttemptOutcome::kDead) upd->Bind(6, reason);
    VERIDGE_RETURN_IF_ERROR(I.StepDone(*upd, what));
    if (outcome != AttemptOutcome::kDead) return Status::Ok();
    return I.AuditOutboxChangeLocked(id, a.at, kDeliveryActor, "outbox.dead_lettered",
                                     {{"reason", reason}, {"attempts", a.attempt_no}, {"last_http_status", a.http_status}});
  });
}

Status Store::MarkDelivered(std::int64_t id, const Attempt& attempt) {
  return RecordAttempt(id, attempt, AttemptOutcome::kDelivered);
}

Status Store::DeadLetter(std::int64_t id, const std::string& reason, std::int64_t at) {
  VERIDGE_RETURN_IF_ERROR(CheckLen(reason, kMaxTextBytes * 4, "dead-letter reason"));
  std::lock_guard lock(impl_->mu);
  auto& I = *impl_;
  return I.InTransaction("dead-lettering outbox row " + std::to_string(id), [&]() -> Status {
    auto upd = I.Prepare("UPDATE outbox SET state = 'dead', dead_reason = ?, dead_at = ?, lease_until = 0 WHERE id = ? AND state = 'pending'");
    if (!upd.ok()) return upd.status();
    upd->Bind(1, reason);
    upd->Bind(2, at);
    upd->Bind(3, id);
    VERIDGE_RETURN_IF_ERROR(I.StepDone(*upd, "dead-lettering"));
    if (sqlite3_changes(I.db) == 0) return Status::NotFound("not_found", "no pending outbox row " + std::to_string(id));
    return I.AuditOutboxChangeLocked(id, at, kDeliveryActor, "outbox.dead_lettered", {{"reason", reason}});
  });
}

Status Store::Replay(std::int64_t id, std::int64_t now, const std::string& actor) {
  std::lock_guard lock(impl_->mu);
  auto& I = *impl_;
  return I.InTransaction("replaying outbox row " + std::to_string(id), [&]() -> Status {
    auto prior = I.Prepare("SELECT state, attempts FROM outbox WHERE id = ?");
    if (!prior.ok()) return prior.status();
    prior->Bind(1, id);
    const int rc = prior->Step();
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return Translate(rc, I.db, "reading outbox row " + std::to_string(id));
    const std::string previous_state = rc == SQLITE_ROW ? prior->Text(0) : "";
    const std::int64_t previous_attempts = rc == SQLITE_ROW ? prior->Int(1) : 0;
    auto upd = I.Prepare(
        "UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at = ?, lease_until = 0, dead_reason = '', dead_at = NULL, delivered_at = NULL "
        "WHERE id = ? AND state IN ('dead', 'delivered')");
    if (!upd.ok()) return upd.status();
    upd->Bind(1, now);
    upd->Bind(2, id);
    VERIDGE_RETURN_IF_ERROR(I.StepDone(*upd, "replaying"));
    if (sqlite3_changes(I.db) == 0)
      return Status::NotFound("not_found", "no dead or delivered outbox row " + std::to_string(id) + " (a pending row is already queued)");
    return I.AuditOutboxChangeLocked(id, now, actor, "outbox.replayed",
                                     {{"previous_state", previous_state}, {"previous_attempts", previous_attempts}});
  });
}

Result<OutboxMessage> Store::GetOutbox(std::int64_t id) {
  std::lock_guard lock(impl_->mu);
  auto& I = *impl_;
  auto st = I.Prepare((std::string("SELECT ") + kOutboxColumns + " FROM outbox WHERE id = ?").c_str());
  if (!st.ok()) return st.status();
  st->Bind(1, id);
  auto rows = I.CollectOutbox(*st, "reading outbox row");
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return Status::NotFound("not_found", "no outbox row " + std::to_string(id));
  return rows->front();
}

Result<std::vector<OutboxMessage>> Store::ListOutbox(std::optional<OutboxState> state, int limit, int offset) {
  if (limit < 0 || limit > 1000 || offset < 0) return Status::InvalidInput("bad_limit", "limit must be 0..1000 and offset >= 0");
  std::lock_guard lock(impl_->mu);
  auto& I = *impl_;
  auto st = I.Prepare((std::string("SELECT ") + kOutboxColumns + " FROM outbox WHERE (?1 IS NULL OR state = ?1) ORDER BY id DESC LIMIT ?2 OFFSET ?3").c_str());
  if (!st.ok()) return st.status();
  if (state) st->Bind(1, std::string(ToString(*state)));
  else st->BindNull(1);
  st->Bind(2, limit);
  st->Bind(3, offset);
  return I.CollectOutbox(*st, "listing the outbox");
}

Result<std::vector<AttemptRow>> Store::ListAttempts(std::int64_t id) {
  std::lock_guard lock(impl_->mu);
  auto& I = *impl_;
  auto st = I.Prepare("SELECT attempt_no, at, http_status, error, duration_ms FROM outbox_attempts WHERE outbox_id = ? ORDER BY id");
  if (!st.ok()) return st.status();
  st->Bind(1, id);
  std::vector<AttemptRow> out;
  int rc;
  while ((rc = st->Step()) == SQLITE_ROW)
    out.push_back({id, Attempt{static_cast<int>(st->Int(0)), st->Int(1), static_cast<int>(st->Int(2)), st->Text(3), st->Int(4)}});
  if (rc != SQLITE_DONE) return Translate(rc, I.db, "listing attempts");
  return out;
}

Result<OutboxCounts> Store::CountOutbox(std::int64_t now) {
  std::lock_guard lock(impl_->mu);
  auto& I = *impl_;
  OutboxCounts c;
  auto st = I.Prepare("SELECT state, count(*) FROM outbox GROUP BY state");
  if (!st.ok()) return st.status();
  int rc;
  while ((rc = st->Step()) == SQLITE_ROW) {
    auto s = StateFromText(st->Text(0));
    (s == OutboxState::kPending ? c.pending : s == OutboxState::kDelivered ? c.delivered : c.dead) = st->Int(1);
  }
  if (rc != SQLITE_DONE) return Translate(rc, I.db, "counting the outbox");
  auto due = I.Count(
      "SELECT count(*) FROM outbox WHERE state = 'pending' AND next_attempt_at <= ? AND endpoint NOT IN (SELECT endpoint FROM disabled_endpoints)",
      now, true);
  if (!due.ok()) return due.status();
  c.due = due.value();
  return c;
}

Result<std::optional<std::int64_t>> Store::NextClaimableAt() {
  std::lock_guard lock(impl_->mu);
  auto& I = *impl_;
  auto st = I.Prepare(
      "SELECT min(max(next_attempt_at, lease_until)) FROM outbox WHERE state = 'pending' "
      "AND endpoint NOT IN (SELECT endpoint FROM disabled_endpoints)");
  if (!st.ok()) return st.status();
  int rc = st->Step();
  if (rc != SQLITE_ROW) return Translate(rc, I.db, "finding the next due outbox row");
  if (st->IsNull(0)) return std::optional<std::int64_t>();
  return std::optional<std::int64_t>(st->Int(0));
}

Status Store::DisableEndpoint(const std::string& endpoint, const std::string& reason, std::int64_t at) {
  VERIDGE_RETURN_IF_ERROR(CheckLen(endpoint, kMaxTextBytes, "endpoint"));
  VERIDGE_RETURN_IF_ERROR(CheckLen(reason, kMaxTextBytes * 4, "reason"));
  std::lock_guard lock(impl_->mu);
  auto& I = *impl_;
  return I.InTransaction("disabling endpoint", [&]() -> Status {
    auto st = I.Prepare("INSERT OR REPLACE INTO disabled_endpoints(endpoint, disabled_at, reason) VALUES(?,?,?)");
    if (!st.ok()) return st.status();
    st->Bind(1, endpoint);
    st->Bind(2, at);
    st->Bind(3, reason);
    VERIDGE_RETURN_IF_ERROR(I.StepDone(*st, "disabling endpoint"));
    return I.AppendAuditLocked({AuditEvent{0, at, kDeliveryActor, "endpoint.disabled", endpoint,
                                           nlohmann::json{{"reason", reason}}.dump(), "", ""}})
        .status();
  });
}

Status Store::EnableEndpoint(const std::string& endpoint, std::int64_t at, const std::string& actor) {
  std::lock_guard lock(impl_->mu);
  auto& I = *impl_;
  return I.InTransaction("enabling endpoint", [&]() -> Status {
    auto st = I.Prepare("DELETE FROM disabled_endpoints WHERE endpoint = ?");
    if (!st.ok()) return st.status();
    st->Bind(1, endpoint);
    VERIDGE_RETURN_IF_ERROR(I.StepDone(*st, "enabling endpoint"));
    if (sqlite3_changes(I.db) == 0) return Status::Ok();  // was not disabled: nothing changed, nothing to audit
    return I.AppendAuditLocked({AuditEvent{0, at, actor, "endpoint.enabled", endpoint, "{}", "", ""}}).status();
  });
}

Result<std::vector<EndpointState>> Store::DisabledEndpoints() {
  std::lock_guard lock(impl_->mu);
  auto& I = *impl_;
  auto st = I.Prepare("SELECT endpoint, disabled_at, reason FROM disabled_endpoints ORDER BY endpoint");
  if (!st.ok()) return st.status();
  std::vector<EndpointState> out;
  int rc;
  while ((rc = st->Step()) == SQLITE_ROW) out.push_back({st->Text(0), st->Int(1), st->Text(2)});
  if (rc != SQLITE_DONE) return Translate(rc, I.db, "listing disabled endpoints");
  return out;
}

}  // namespace veridge::store
