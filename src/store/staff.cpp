// store/staff.cpp — the staff repository: console accounts (argon2id hashes only), their login
// sessions (SHA-256 of the cookie only), TOTP keys and recovery codes (SHA-256 only). console/
// decides (hashing, lockout policy, TOTP); this file persists, and appends every change's audit
// event in the same transaction (store/store.h, "Staff accounts").
#include <algorithm>
#include <mutex>

#include "store/store_impl.h"

namespace veridge::store {

using detail::CheckLen;
using detail::Stmt;
using detail::Translate;

namespace {

constexpr int kMaxStaffListed = 10000;
constexpr const char* kStaffColumns =
    "id, name, role, password_hash, created_at, updated_at, disabled_at, failed_logins, locked_until, "
    "totp_secret, totp_pending_secret, totp_last_step, "
    "(SELECT count(*) FROM staff_recovery_codes r WHERE r.staff_id = staff.id AND r.used_at IS NULL)";
constexpr const char* kSessionColumns = "token_sha256, staff_id, created_at, last_seen_at, expires_at, mfa, ended_at";

bool IsSha256Hex(const std::string& s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

StaffRecord ReadStaff(const Stmt& s) {
  StaffRecord r;
  r.id = s.Text(0);
  r.name = s.Text(1);
  r.role = s.Text(2);
  r.password_hash = s.Text(3);
  r.created_at = s.Int(4);
  r.updated_at = s.Int(5);
  if (!s.IsNull(6)) r.disabled_at = s.Int(6);
  r.failed_logins = static_cast<int>(s.Int(7));
  r.locked_until = s.Int(8);
  r.totp_secret = s.Text(9);
  r.totp_pending_secret = s.Text(10);
  r.totp_last_step = s.Int(11);
  r.recovery_codes_left = static_cast<int>(s.Int(12));
  return r;
}

ConsoleSessionRecord ReadSession(const Stmt& s) {
  ConsoleSessionRecord r;
  r.token_sha256 = s.Text(0);
  r.staff_id = s.Text(1);
  r.created_at = s.Int(2);
  r.last_seen_at = s.Int(3);
  r.expires_at = s.Int(4);
  r.mfa = s.Text(5);
  if (!s.IsNull(6)) r.ended_at = s.Int(6);
  return r;
}

std::string NoStaff(const std::string& id) { return "no staff account " + id + " (see veridge staff list)"; }

}  // namespace

Result<StaffRecord> Store::Impl::LoadStaffLocked(const std::string& id) {
  auto& I = *this;
  auto st = I.Prepare((std::string("SELECT ") + kStaffColumns + " FROM staff WHERE id = ?").c_str());
  if (!st.ok()) return st.status();
  st->Bind(1, id);
  const int rc = st->Step();
  if (rc == SQLITE_DONE) return Status::NotFound("not_found", NoStaff(id));
  if (rc != SQLITE_ROW) return Translate(rc, I.db, "reading staff account " + id);
  return ReadStaff(*st);
}

Result<std::int64_t> Store::Impl::EndStaffSessionsLocked(const std::string& staff_id, std::int64_t at) {
  auto& I = *this;
  auto up = I.Prepare(staff_id.empty() ? "UPDATE console_sessions SET ended_at = ?1 WHERE ended_at IS NULL"
                                       : "UPDATE console_sessions SET ended_at = ?1 WHERE ended_at IS NULL AND staff_id = ?2");
  if (!up.ok()) return up.status();
  up->Bind(1, at);
  if (!staff_id.empty()) up->Bind(2, staff_id);
  VERIDGE_RETURN_IF_ERROR(I.StepDone(*up, "ending console sessions"));
  return static_cast<std::int64_t>(sqlite3_changes(I.db));
}

Status Store::Impl::AuditStaffLocked(std::int64_t at, const std::string& actor, const std::string& action,
                                     const std::string& subject, const nlohmann::json& detail) {
  return AppendAuditLocked({AuditEvent{0, at, actor, action, subject, detail.dump(), "", ""}}).status();
}

Status Store::AddStaff(const StaffRecord& s, const std::string& actor) {
  VERIDGE_RETURN_IF_ERROR(CheckLen(s.id, kMaxTextBytes, "staff id"));
  VERIDGE_RETURN_IF_ERROR(CheckLen(s.name, kMaxTextBytes, "staff name"));
  VERIDGE_RETURN_IF_ERROR(CheckLen(s.password_hash, kMaxTextBytes, "password hash"));
  if (s.id.empty() || s.name.empty()) return Status::InvalidInput("bad_staff", "a staff account needs an id and a name");
  if (!IsStaffRole(s.role)) return Status::InvalidInput("bad_staff", "a staff role is operator, supervisor, auditor or admin");
  if (s.password_hash.rfind("$argon2id$", 0) != 0)
    return Status::InvalidInput("bad_staff", "a password is stored as an argon2id hash, never as itself");
  std::lock_guard lock(impl_->mu);
  auto& I = *impl_;
  return I.InTransaction("adding staff account " + s.id, [&]() -> Status {
    auto st = I.Prepare("INSERT INTO staff(id, name, role, password_hash, created_at, updated_at) VALUES(?,?,?,?,?,?)");
    if (!st.ok()) return st.status();
    st->Bind(1, s.id);
    st->Bind(2, s.name);
    st->Bind(3, s.role);
    st->Bind(4, s.password_hash);
    st->Bind(5, s.created_at);
    st->Bind(6, s.created_at);
    VERIDGE_RETURN_IF_ERROR(I.StepDone(*st, "adding staff account " + s.name));
    return I.AuditStaffLocked(s.created_at, actor, "staff.created", s.id, {{"name", s.name}, {"role", s.role}});
  });
}

Result<std::optional<StaffRecord>> Store::FindStaffByName(const std::string& name) {
  if (name.empty() || name.size() > kMaxTextBytes) return std::optional<StaffRecord>();
  std::lock_guard lock(impl_->mu);
  auto& I = *impl_;
  auto st = I.Prepare((std::string("SELECT ") + kStaffColumns + " FROM staff WHERE name = ?").c_str());
  if (!st.ok()) return st.status();
  st->Bind(1, name);
  const int rc = st->Step();
  if (rc == SQLITE_DONE) return std::optional<StaffRecord>();
  if (rc != SQLITE_ROW) return Translate(rc, I.db, "looking up a staff account");
  return std::optional<StaffRecord>(ReadStaff(*st));
}

Result<StaffRecord> Store::GetStaff(const std::string& id) {
  std::lock_guard lock(impl_->mu);
  return impl_->LoadStaffLocked(id);
}

Result<std::vector<StaffRecord>> Store::ListStaff() {
  std::lock_guard lock(impl_->mu);
  auto& I = *impl_;
  auto st = I.Prepare((std::string("SELECT ") + kStaffColumns + " FROM staff ORDER BY name LIMIT ?").c_str());
  if (!st.ok()) return st.status();
  st->Bind(1, kMaxStaffListed);
  std::vector<StaffRecord> out;
  int rc;
  while ((rc = st->Step()) == SQLITE_ROW) out.push_back(ReadStaff(*st));
  if (rc != SQLITE_DONE) return Translate(rc, I.db, "listing staff accounts");
  return out;
}

Status Store::SetStaffPassword(const std::string& id, const std::string& password_hash, std::int64_t at, const std::string& actor) {
  if (password_hash.rfind("$argon2id$", 0) != 0 || password_hash.size() > kMaxTextBytes)
    return Status::InvalidInput("bad_staff", "a password is stored as an argon2id hash, never as itself");
  std::lock_guard lock(impl_->mu);
  auto& I = *impl_;
  return I.InTransaction("changing the password of " + id, [&]() -> Status {
    auto cur = I.LoadStaffLocked(id);
    if (!cur.ok()) return cur.status();
    auto up = I.Prepare("UPDATE staff SET password_hash = ?, updated_at = ?, failed_logins = 0, locked_until = 0 WHERE id = ?");
    if (!up.ok()) return up.status();
    up->Bind(1, password_hash);
    up->Bind(2, at);
    up->Bind(3, id);
    VERIDGE_RETURN_IF_ERROR(I.StepDone(*up, "changing the password of " + id));
    auto ended = I.EndStaffSessionsLocked(id, at);
    if (!ended.ok()) return ended.status();
    return I.AuditStaffLocked(at, actor, "staff.password_changed", id, {{"sessions_ended", *ended}});
  });
}

Status Store::DisableStaff(const std::string& id, std::int64_t at, const std::string& actor) {
  std::lock_guard lock(impl_->mu);
  auto& I = *impl_;
  return I.InTransaction("disabling " + id, [&]() -> Status {
    auto cur = I.LoadStaffLocked(id);
    if (!cur.ok()) return cur.status();
    if (cur->disabled_at) return Status::Ok();  // disabled already: nothing changes, nothing to audit
    auto up = I.Prepare("UPDATE staff SET disabled_at = ?1, updated_at = ?1 WHERE id = ?2");
    if (!up.ok()) return up.status();
    up->Bind(1, at);
    up->Bind(2, id);
    VERIDGE_RETURN_IF_ERROR(I.StepDone(*up, "disabling " + id));
    auto ended = I.EndStaffSessionsLocked(id, at);
    if (!ended.ok()) return ended.status();
    return I.AuditStaffLocked(at, actor, "staff.disabled", id, {{"sessions_ended", *ended}});
  });
}

Result<FailedLoginOutcome> Store::RecordFailedLogin(const std::string& id, std::int64_t at, const LockoutPolicy& policy,
                                                    const std::string& reason) {
  std::lock_guard lock(impl_->mu);
  auto& I = *impl_;
  FailedLoginOutcome out;
  Status st = I.InTransaction("recording a failed login of " + id, [&]() -> Status {
    auto cur = I.LoadStaffLocked(id);
    if (!cur.ok()) return cur.status();
    out.failed_logins = cur->failed_logins + 1;
    out.locked_until = cur->locked_until;
    const int over = out.failed_logins - policy.threshold;
    if (policy.threshold > 0 && over >= 0) {
      // Backoff: base, 2×base, 4×base ... capped (the shift is bounded so it cannot overflow).
      std::int64_t lock_for = policy.base_seconds << std::min(over, 30);
      lock_for = std::min(lock_for, policy.max_seconds);
      out.locked_until = at + lock_for;
      out.locked_now = true;
    }
    auto up = I.Prepare("UPDATE staff SET failed_logins = ?, locked_until = ? WHERE id = ?");
    if (!up.ok()) return up.status();
    up->Bind(1, out.failed_logins);
    up->Bind(2, out.locked_until);
    up->Bind(3, id);
    VERIDGE_RETURN_IF_ERROR(I.StepDone(*up, "recording a failed login"));
    std::vector<AuditEvent> events{AuditEvent{0, at, "anonymous", "staff.login_failed", id,
                                              nlohmann::json{{"reason", reason}, {"failed_logins", out.failed_logins}}.dump(), "", ""}};
    if (out.locked_now)
      events.push_back(AuditEvent{0, at, "system", "staff.locked_out", id,
                                  nlohmann::json{{"locked_until", out.locked_until}, {"failed_logins", out.failed_logins}}.dump(), "", ""});
    return I.AppendAuditLocked(events).status();
  });
  if (!st.ok()) return st;
  return out;
}

Status Store::CreateConsoleSession(const ConsoleSessionRecord& s, const LoginProof& proof, const std::string& actor) {
  if (!IsSha256Hex(s.token_sha256)) return Status::InvalidInput("bad_session", "a console session is stored by the SHA-256 of its token");
  if (s.mfa != "verified" && s.mfa != "enrolment_required") return Status::InvalidInput("bad_session", "mfa is verified or enrolment_required");
  if (s.expires_at <= s.created_at) return Status::InvalidInput("bad_session", "a console session must expire after it starts");
  std::lock_guard lock(impl_->mu);
  auto& I = *impl_;
  return I.InTransaction("starting a console session", [&]() -> Status {
    auto cur = I.LoadStaffLocked(s.staff_id);
    if (!cur.ok()) return cur.status();
    if (cur->disabled_at) return Status::Permission("account_disabled", "this staff account is disabled");
    if (proof.totp_step) {
      if (*proof.totp_step <= cur->totp_last_step)
        return Status::Permission("totp_replayed", "this one-time code was used already; wait for the next one");
      auto up = I.Prepare("UPDATE staff SET totp_last_step = ? WHERE id = ?");
      if (!up.ok()) return up.status();
      up->Bind(1, *proof.totp_step);
      up->Bind(2, s.staff_id);
      VERIDGE_RETURN_IF_ERROR(I.StepDone(*up, "recording the one-time code step"));
    }
    if (!proof.recovery_code_sha256.empty()) {
      auto up = I.Prepare("UPDATE staff_recovery_codes SET used_at = ? WHERE staff_id = ? AND code_sha256 = ? AND used_at IS NULL");
      if (!up.ok()) return up.status();
      up->Bind(1, s.created_at);
      up->Bind(2, s.staff_id);
      up->Bind(3, proof.recovery_code_sha256);
      VERIDGE_RETURN_IF_ERROR(I.StepDone(*up, "using a recovery code"));
      if (sqlite3_changes(I.db) != 1) return Status::Permission("recovery_code_invalid", "this recovery code is unknown or used");
    }
    auto reset = I.Prepare("UPDATE staff SET failed_logins = 0, locked_until = 0 WHERE id = ?");
    if (!reset.ok()) return reset.status();
    reset->Bind(1, s.staff_id);
    VERIDGE_RETURN_IF_ERROR(I.StepDone(*reset, "clearing failed logins"));
    auto ins = I.Prepare("INSERT INTO console_sessions(token_sha256, staff_id, created_at, last_seen_at, expires_at, mfa) VALUES(?,?,?,?,?,?)");
    if (!ins.ok()) return ins.status();
    ins->Bind(1, s.token_sha256);
    ins->Bind(2, s.staff_id);
    ins->Bind(3, s.created_at);
    ins->Bind(4, s.created_at);
    ins->Bind(5, s.expires_at);
    ins->Bind(6, s.mfa);
    VERIDGE_RETURN_IF_ERROR(I.StepDone(*ins, "starting a console session"));
    const char* factor = proof.totp_step ? "totp" : !proof.recovery_code_sha256.empty() ? "recovery_code" : "none";
    return I.AuditStaffLocked(s.created_at, actor, "staff.login", s.staff_id, {{"second_factor", factor}, {"mfa", s.mfa}});
  });
}

Result<std::optional<ConsoleSessionRecord>> Store::FindConsoleSession(const std::string& token_sha256) {
  if (!IsSha256Hex(token_sha256)) return std::optional<ConsoleSessionRecord>();
  std::lock_guard lock(impl_->mu);
  auto& I = *impl_;
  auto st = I.Prepare((std::string("SELECT ") + kSessionColumns + " FROM console_sessions WHERE token_sha256 = ?").c_str());
  if (!st.ok()) return st.status();
  st->Bind(1, token_sha256);
  const int rc = st->Step();
  if (rc == SQLITE_DONE) return std::optional<ConsoleSessionRecord>();
  if (rc != SQLITE_ROW) return Translate(rc, I.db, "looking up a console session");
  return std::optional<ConsoleSessionRecord>(ReadSession(*st));
}

Status Store::TouchConsoleSession(const std::string& token_sha256, std::int64_t at) {
  std::lock_guard lock(impl_->mu);
  auto& I = *impl_;
  return I.InTransaction("touching a console session", [&]() -> Status {
    auto up = I.Prepare("UPDATE console_sessions SET last_seen_at = max(last_seen_at, ?) WHERE token_sha256 = ? AND ended_at IS NULL");
    if (!up.ok()) return up.status();
    up->Bind(1, at);
    up->Bind(2, token_sha256);
    return I.StepDone(*up, "touching a console session");
  });
}

Status Store::EndConsoleSession(const std::string& token_sha256, std::int64_t at, const std::string& reason, const std::string& actor) {
  std::lock_guard lock(impl_->mu);
  auto& I = *impl_;
  return I.InTransaction("ending a console session", [&]() -> Status {
    auto st = I.Prepare("SELECT staff_id, ended_at FROM console_sessions WHERE token_sha256 = ?");
    if (!st.ok()) return st.status();
    st->Bind(1, token_sha256);
    const int rc = st->Step();
    if (rc == SQLITE_DONE) return Status::NotFound("not_found", "no such console session");
    if (rc != SQLITE_ROW) return Translate(rc, I.db, "reading a console session");
    if (!st->IsNull(1)) return Status::Ok();  // ended already
    const std::string staff_id = st->Text(0);
    auto up = I.Prepare("UPDATE console_sessions SET ended_at = ? WHERE token_sha256 = ?");
    if (!up.ok()) return up.status();
    up->Bind(1, at);
    up->Bind(2, token_sha256);
    VERIDGE_RETURN_IF_ERROR(I.StepDone(*up, "ending a console session"));
    return I.AuditStaffLocked(at, actor, "staff.logout", staff_id, {{"reason", reason}});
  });
}

Result<std::int64_t> Store::EndAllConsoleSessions(const std::string& staff_id, std::int64_t at, const std::string& actor) {
  std::lock_guard lock(impl_->mu);
  auto& I = *impl_;
  std::int64_t ended = 0;
  Status st = I.InTransaction("ending console sessions", [&]() -> Status {
    if (!staff_id.empty()) {
      auto cur = I.LoadStaffLocked(staff_id);
      if (!cur.ok()) return cur.status();
    }
    auto n = I.EndStaffSessionsLocked(staff_id, at);
    if (!n.ok()) return n.status();
    ended = *n;
    return I.AuditStaffLocked(at, actor, "staff.logout_everywhere", staff_id.empty() ? "*" : staff_id, {{"sessions_ended", ended}});
  });
  if (!st.ok()) return st;
  return ended;
}

Status Store::StartTotpEnrolment(const std::string& id, const std::string& secret, std::int64_t at, const std::string& actor) {
  if (secret.size() < 16 || secret.size() > 64) return Status::InvalidInput("bad_totp_secret", "a TOTP key is 16..64 bytes");
  std::lock_guard lock(impl_->mu);
  auto& I = *impl_;
  return I.InTransaction("starting TOTP enrolment of " + id, [&]() -> Status {
    auto cur = I.LoadStaffLocked(id);
    if (!cur.ok()) return cur.status();
    auto up = I.Prepare("UPDATE staff SET totp_pending_secret = ?, updated_at = ? WHERE id = ?");
    if (!up.ok()) return up.status();
    up->BindBlob(1, secret);
    up->Bind(2, at);
    up->Bind(3, id);
    VERIDGE_RETURN_IF_ERROR(I.StepDone(*up, "starting TOTP enrolment"));
    return I.AuditStaffLocked(at, actor, "staff.totp_enrolment_started", id, nlohmann::json::object());
  });
}

Status Store::ConfirmTotpEnrolment(const std::string& id, std::int64_t step, const std::vector<std::string>& recovery_sha256,
                                   const std::string& session_token_sha256, std::int64_t at, const std::string& actor) {
  for (const auto& h : recovery_sha256)
    if (!IsSha256Hex(h)) return Status::InvalidInput("bad_recovery_code", "recovery codes are stored as SHA-256 only");
  std::lock_guard lock(impl_->mu);
  auto& I = *impl_;
  return I.InTransaction("confirming TOTP enrolment of " + id, [&]() -> Status {
    auto cur = I.LoadStaffLocked(id);
    if (!cur.ok()) return cur.status();
    if (cur->totp_pending_secret.empty())
      return Status::InvalidInput("totp_not_pending", "no TOTP enrolment is in progress; start one with POST /console/api/totp/enrol");
    if (step <= cur->totp_last_step) return Status::Permission("totp_replayed", "this one-time code was used already; wait for the next one");
    auto up = I.Prepare("UPDATE staff SET totp_secret = totp_pending_secret, totp_pending_secret = NULL, totp_last_step = ?, updated_at = ? WHERE id = ?");
    if (!up.ok()) return up.status();
    up->Bind(1, step);
    up->Bind(2, at);
    up->Bind(3, id);
    VERIDGE_RETURN_IF_ERROR(I.StepDone(*up, "confirming TOTP enrolment"));
    auto del = I.Prepare("DELETE FROM staff_recovery_codes WHERE staff_id = ?");
    if (!del.ok()) return del.status();
    del->Bind(1, id);
    VERIDGE_RETURN_IF_ERROR(I.StepDone(*del, "replacing recovery codes"));
    auto ins = I.Prepare("INSERT INTO staff_recovery_codes(staff_id, code_sha256) VALUES(?, ?)");
    if (!ins.ok()) return ins.status();
    for (const auto& h : recovery_sha256) {
      ins->Reset();
      ins->Bind(1, id);
      ins->Bind(2, h);
      VERIDGE_RETURN_IF_ERROR(I.StepDone(*ins, "storing a recovery code"));
    }
    auto ses = I.Prepare("UPDATE console_sessions SET mfa = 'verified' WHERE token_sha256 = ? AND staff_id = ? AND ended_at IS NULL");
    if (!ses.ok()) return ses.status();
    ses->Bind(1, session_token_sha256);
    ses->Bind(2, id);
    VERIDGE_RETURN_IF_ERROR(I.StepDone(*ses, "verifying the console session"));
    return I.AuditStaffLocked(at, actor, "staff.totp_enrolled", id, {{"recovery_codes", recovery_sha256.size()}});
  });
}

}  // namespace veridge::store
