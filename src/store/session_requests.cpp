// store/session_requests.cpp — the session-requests repository: sessions a lender created through
// the API, from creation through the kiosk's claim and consent to a terminal state (store/store.h,
// "Session requests"). Every state change and its audit event are one transaction.
#include <openssl/hmac.h>

#include <algorithm>
#include <mutex>

#include "common/hex.h"
#include "store/store_impl.h"

namespace veridge::store {

using detail::CheckLen;
using detail::Stmt;
using detail::Translate;

namespace {

constexpr int kMaxCodeTries = 64;  // live sessions are few; 64 clashes in a row means something is wrong
constexpr const char* kRunningStates = "('claimed','capturing','challenge','card','pin','deciding')";
constexpr const char* kLiveStates = "('created','claimed','capturing','challenge','card','pin','deciding')";

constexpr const char* kRequestColumns =
    "id, token_id, applicant_ref, factors_json, locale, state, created_at, expires_at, updated_at, claimed_at, attempt, "
    "coalesce(kiosk_token_sha256, ''), coalesce(consent_json, ''), terminal_reason, reference_image IS NOT NULL, code_nonce, "
    "request_sha256";

struct Row {
  SessionRequestRecord rec;
  std::int64_t code_nonce = 0;
  std::string request_sha256;
};

Row ReadRow(const Stmt& s) {
  Row r;
  r.rec.id = s.Text(0);
  r.rec.token_id = s.Text(1);
  r.rec.applicant_ref = s.Text(2);
  r.rec.factors_json = s.Text(3);
  r.rec.locale = s.Text(4);
  r.rec.state = s.Text(5);
  r.rec.created_at = s.Int(6);
  r.rec.expires_at = s.Int(7);
  r.rec.updated_at = s.Int(8);
  if (!s.IsNull(9)) r.rec.claimed_at = s.Int(9);
  r.rec.attempt = static_cast<int>(s.Int(10));
  r.rec.kiosk_token_sha256 = s.Text(11);
  r.rec.consent_json = s.Text(12);
  r.rec.terminal_reason = s.Text(13);
  r.rec.has_reference = s.Int(14) != 0;
  r.code_nonce = s.Int(15);
  r.request_sha256 = s.Text(16);
  return r;
}

std::string Hmac(const std::string& key, const std::string& data) {
  unsigned char out[32];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()), data.size(), out,
       &len);
  return std::string(reinterpret_cast<const char*>(out), len);
}

// The code of session `id` at `nonce`: 64 bits of the HMAC mod 10^6 (bias below 10^-13).
std::string DeriveCode(const std::string& key, const std::string& id, std::int64_t nonce) {
  const std::string mac = Hmac(key, "code|" + id + "|" + std::to_string(nonce));
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(mac[static_cast<std::size_t>(i)]);
  char buf[8];
  std::snprintf(buf, sizeof buf, "%06u", static_cast<unsigned>(v % 1000000));
  return buf;
}

std::string CodeLookup(const std::string& key, const std::string& code) {
  const std::string mac = Hmac(key, "lookup|" + code);
  return ToHex(mac.data(), mac.size());
}

bool IsSixDigits(const std::string& c) {
  return c.size() == 6 && std::all_of(c.begin(), c.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
}

// What a state change inside a transaction found; turned into a Status after COMMIT, so that an
// expiry applied on the way is kept even when the call itself is refused.
struct Outcome {
  Status refusal = Status::Ok();
  Row row;
};

}  // namespace

// ---- helpers (locked; inside the caller's transaction) -------------------------------------------
// Templates over the connection type only because Store::Impl is private to Store: each is
// instantiated once, with Store::Impl, from the member functions below.

namespace {

template <typename Db>
Result<std::optional<Row>> SelectRow(Db& I, const char* where, const std::string& arg, const std::string& what) {
  auto st = I.Prepare((std::string("SELECT ") + kRequestColumns + " FROM session_requests WHERE " + where).c_str());
  if (!st.ok()) return st.status();
  st->Bind(1, arg);
  const int rc = st->Step();
  if (rc == SQLITE_DONE) return std::optional<Row>();
  if (rc != SQLITE_ROW) return Translate(rc, I.db, what);
  return std::optional<Row>(ReadRow(*st));
}

template <typename Db>
Result<std::string> LookupKey(Db& I) {
  auto st = I.Prepare("SELECT key FROM lookup_keys WHERE name = 'kiosk_code'");
  if (!st.ok()) return st.status();
  const int rc = st->Step();
  if (rc != SQLITE_ROW) return rc == SQLITE_DONE ? Status::Corruption("store_corrupt", "the kiosk-code lookup key is missing")
                                                 : Translate(rc, I.db, "reading the kiosk-code lookup key");
  std::string key = st->Text(0);
  if (key.size() != 32) return Status::Corruption("store_corrupt", "the kiosk-code lookup key is not 32 bytes");
  return key;
}

// Moves `row` to `state` (terminal ones drop the reference image) and audits it.
template <typename Db>
Status TransitionLocked(Db& I, Row& row, const std::string& state, const std::string& reason, std::int64_t now,
                        const std::string& actor, const std::string& action, nlohmann::json detail) {
  const bool terminal = IsTerminalSessionState(state);
  auto up = I.Prepare(terminal ? "UPDATE session_requests SET state = ?, terminal_reason = ?, updated_at = ?, reference_image = NULL "
                                 "WHERE id = ?"
                               : "UPDATE session_requests SET state = ?, terminal_reason = ?, updated_at = ? WHERE id = ?");
  if (!up.ok()) return up.status();
  up->Bind(1, state);
  up->Bind(2, reason);
  up->Bind(3, now);
  up->Bind(4, row.rec.id);
  VERIDGE_RETURN_IF_ERROR(I.StepDone(*up, "moving session " + row.rec.id + " to " + state));
  detail["from"] = row.rec.state;
  detail["to"] = state;
  if (!reason.empty()) detail["reason"] = reason;
  row.rec.state = state;
  row.rec.terminal_reason = reason;
  row.rec.updated_at = now;
  if (terminal) row.rec.has_reference = false;
  return I.AppendAuditLocked({AuditEvent{0, now, actor, action, row.rec.id, detail.dump(), "", ""}}).status();
}

bool PastExpiry(const Row& r, std::int64_t now) { return !IsTerminalSessionState(r.rec.state) && r.rec.expires_at <= now; }

template <typename Db>
Status ExpireLocked(Db& I, Row& row, std::int64_t now) {
  return TransitionLocked(I, row, "expired", "expires_at_passed", now, "system", "session.expired", {{"expires_at", row.rec.expires_at}});
}

}  // namespace

// ---- public calls --------------------------------------------------------------------------------

Result<CreatedSessionRequest> Store::CreateSessionRequest(const SessionRequestInput& in, const std::string& actor) {
  if (in.id.empty() || in.token_id.empty() || in.request_sha256.size() != 64 || in.expires_at <= in.created_at)
    return Status::InvalidInput("bad_session_request", "a session request needs an id, a token id, a request hash and expires_at > created_at");
  for (const auto* f : {&in.id, &in.token_id, &in.applicant_ref, &in.locale, &in.reference_media_type, &in.idempotency_key})
    VERIDGE_RETURN_IF_ERROR(CheckLen(*f, kMaxTextBytes, "a session request field"));
  VERIDGE_RETURN_IF_ERROR(CheckLen(in.factors_json, kMaxTextBytes, "factors"));
  VERIDGE_RETURN_IF_ERROR(CheckLen(in.reference_image, kMaxReferenceImageBytes, "the reference image"));

  std::lock_guard lock(impl_->mu);
  auto& I = *impl_;
  CreatedSessionRequest out;
  Status refusal = Status::Ok();
  const std::string what = "creating session " + in.id;
  Status st = I.InTransaction(what, [&]() -> Status {
    auto key = LookupKey(I);
    if (!key.ok()) return key.status();
    detail::Wipe wipe{*key};
    if (!in.idempotency_key.empty()) {
      auto st = I.Prepare((std::string("SELECT ") + kRequestColumns + " FROM session_requests WHERE token_id = ? AND idempotency_key = ?").c_str());
      if (!st.ok()) return st.status();
      st->Bind(1, in.token_id);
      st->Bind(2, in.idempotency_key);
      const int rc = st->Step();
      if (rc == SQLITE_ROW) {
        Row prior = ReadRow(*st);
        if (prior.request_sha256 != in.request_sha256) {
          refusal = Status::InvalidInput("idempotency_key_reused",
                                         "this Idempotency-Key was used with a different request; use a new key for a new session");
          return Status::Ok();
        }
        out.record = prior.rec;
        out.kiosk_code = DeriveCode(*key, prior.rec.id, prior.code_nonce);
        out.replayed = true;
        return Status::Ok();
      }
      if (rc != SQLITE_DONE) return Translate(rc, I.db, what + " (idempotency key)");
    }
    // A code no live session holds; a dead session's code is taken over.
    std::int64_t nonce = 0;
    std::string code, lookup;
    for (;; ++nonce) {
      if (nonce >= kMaxCodeTries)
        return Status::Unavailable("code_space_exhausted", "no free kiosk code after " + std::to_string(kMaxCodeTries) + " tries; retry");
      code = DeriveCode(*key, in.id, nonce);
      lookup = CodeLookup(*key, code);
      auto holder = SelectRow(I, "code_hmac = ?", lookup, what + " (kiosk code)");
      if (!holder.ok()) return holder.status();
      if (!holder->has_value()) break;
      const Row& h = **holder;
      if (!IsTerminalSessionState(h.rec.state) && h.rec.expires_at > in.created_at) continue;  // live: next nonce
      auto clear = I.Prepare("UPDATE session_requests SET code_hmac = NULL WHERE id = ?");
      if (!clear.ok()) return clear.status();
      clear->Bind(1, h.rec.id);
      VERIDGE_RETURN_IF_ERROR(I.StepDone(*clear, what + " (retiring a dead session's code)"));
      break;
    }
    auto ins = I.Prepare(
        "INSERT INTO session_requests(id, token_id, applicant_ref, factors_json, locale, state, created_at, expires_at, updated_at, "
        "code_nonce, code_hmac, reference_media_type, reference_image, idempotency_key, request_sha256) "
        "VALUES(?,?,?,?,?,'created',?,?,?,?,?,?,?,?,?)");
    if (!ins.ok()) return ins.status();
    ins->Bind(1, in.id);
    ins->Bind(2, in.token_id);
    ins->Bind(3, in.applicant_ref);
    ins->Bind(4, in.factors_json);
    ins->Bind(5, in.locale);
    ins->Bind(6, in.created_at);
    ins->Bind(7, in.expires_at);
    ins->Bind(8, in.created_at);
    ins->Bind(9, nonce);
    ins->Bind(10, lookup);
    ins->Bind(11, in.reference_media_type);
    ins->BindBlob(12, in.reference_image);
    if (in.idempotency_key.empty()) ins->BindNull(13);
    else ins->Bind(13, in.idempotency_key);
    ins->Bind(14, in.request_sha256);
    VERIDGE_RETURN_IF_ERROR(I.StepDone(*ins, what));
    auto row = SelectRow(I, "id = ?", in.id, what);
    if (!row.ok()) return row.status();
    if (!row->has_value()) return Status::Internal("store_io", what + ": the row just written is not there");
    out.record = (*row)->rec;
    out.kiosk_code = code;
    nlohmann::json detail = {{"token_id", in.token_id}, {"factors", nlohmann::json::parse(in.factors_json, nullptr, false)},
                             {"locale", in.locale}, {"expires_at", in.expires_at}};
    if (detail["factors"].is_discarded()) detail["factors"] = nullptr;
    return I.AppendAuditLocked({AuditEvent{0, in.created_at, actor, "session.created", in.id, detail.dump(), "", ""}}).status();
  });
  if (!st.ok()) return st;
  if (!refusal.ok()) return refusal;
  return out;
}

Result<SessionRequestRecord> Store::GetSessionRequest(const std::string& id, std::int64_t now) {
  std::lock_guard lock(impl_->mu);
  auto& I = *impl_;
  const std::string what = "reading session " + id;
  auto row = SelectRow(I, "id = ?", id, what);
  if (!row.ok()) return row.status();
  if (!row->has_value()) return Status::NotFound("not_found", "no session '" + id + "'");
  Row r = **row;
  if (!PastExpiry(r, now)) return r.rec;
  Status st = I.InTransaction("expiring session " + id, [&]() -> Status {
    auto fresh = SelectRow(I, "id = ?", id, what);  // re-read under the write lock
    if (!fresh.ok()) return fresh.status();
    r = **fresh;
    return PastExpiry(r, now) ? ExpireLocked(I, r, now) : Status::Ok();
  });
  if (!st.ok()) return st;
  return r.rec;
}

Result<std::pair<std::string, std::string>> Store::GetSessionReference(const std::string& id) {
  std::lock_guard lock(impl_->mu);
  auto& I = *impl_;
  auto st = I.Prepare("SELECT reference_media_type, reference_image FROM session_requests WHERE id = ? AND reference_image IS NOT NULL");
  if (!st.ok()) return st.status();
  st->Bind(1, id);
  const int rc = st->Step();
  if (rc == SQLITE_DONE) return Status::NotFound("not_found", "no reference image for session '" + id + "' (unknown, or deleted once terminal)");
  if (rc != SQLITE_ROW) return Translate(rc, I.db, "reading the reference of " + id);
  return std::make_pair(st->Text(1), st->Text(0));
}

namespace {

// Runs `change` on the row of `id` in one transaction, expiring it first when due. `change` sets
// a refusal or changes the row; the expiry is committed either way.
template <typename Db, typename F>
Result<SessionRequestRecord> ChangeRequest(Db& I, const std::string& id, const char* where, std::int64_t now,
                                           const std::string& what, F&& change) {
  Outcome o;
  Status st = I.InTransaction(what, [&]() -> Status {
    auto row = SelectRow(I, where, id, what);
    if (!row.ok()) return row.status();
    if (!row->has_value()) {
      o.refusal = Status::NotFound("not_found", "no such session");
      return Status::Ok();
    }
    o.row = **row;
    if (PastExpiry(o.row, now)) VERIDGE_RETURN_IF_ERROR(ExpireLocked(I, o.row, now));
    return change(o);
  });
  if (!st.ok()) return st;
  if (!o.refusal.ok()) return o.refusal;
  return o.row.rec;
}

Status NotLive(const Row& r) {
  if (r.rec.state == "expired") return Status::InvalidInput("session_expired", "this session expired; the lender can create a new one");
  return Status::InvalidInput("session_closed", "this session is " + r.rec.state + "; the lender can create a new one");
}

}  // namespace

Result<SessionRequestRecord> Store::CancelSessionRequest(const std::string& id, std::int64_t now, const std::string& reason,
                                                         const std::string& actor) {
  VERIDGE_RETURN_IF_ERROR(CheckLen(reason, kMaxTextBytes, "cancel reason"));
  std::lock_guard lock(impl_->mu);
  auto& I = *impl_;
  return ChangeRequest(I, id, "id = ?", now, "cancelling session " + id, [&](Outcome& o) -> Status {
    if (IsTerminalSessionState(o.row.rec.state)) {
      o.refusal = Status::InvalidInput("invalid_state", "the session is already " + o.row.rec.state + "; nothing was changed");
      return Status::Ok();
    }
    return TransitionLocked(I, o.row, "cancelled", reason, now, actor, "session.cancelled", nlohmann::json::object());
  });
}

Result<SessionRequestRecord> Store::ClaimSessionByCode(const std::string& code, const std::string& kiosk_token_sha256,
                                                       std::int64_t now, const std::string& actor) {
  if (!IsSixDigits(code)) return Status::InvalidInput("bad_code", "a kiosk code is exactly 6 digits");
  if (kiosk_token_sha256.size() != 64) return Status::InvalidInput("bad_session_request", "a kiosk token is kept as its SHA-256 (64 hex digits)");
  std::lock_guard lock(impl_->mu);
  auto& I = *impl_;
  std::string lookup;
  {
    auto key = LookupKey(I);
    if (!key.ok()) return key.status();
    detail::Wipe wipe{*key};
    lookup = CodeLookup(*key, code);
  }
  auto r = ChangeRequest(I, lookup, "code_hmac = ?", now, "claiming a session by kiosk code", [&](Outcome& o) -> Status {
    if (IsTerminalSessionState(o.row.rec.state)) {
      o.refusal = NotLive(o.row);
      return Status::Ok();
    }
    if (o.row.rec.state != "created") {
      o.refusal = Status::InvalidInput("already_claimed", "this code was already used at a kiosk");
      return Status::Ok();
    }
    auto up = I.Prepare("UPDATE session_requests SET kiosk_token_sha256 = ?, claimed_at = ? WHERE id = ?");
    if (!up.ok()) return up.status();
    up->Bind(1, kiosk_token_sha256);
    up->Bind(2, now);
    up->Bind(3, o.row.rec.id);
    VERIDGE_RETURN_IF_ERROR(I.StepDone(*up, "claiming session " + o.row.rec.id));
    o.row.rec.kiosk_token_sha256 = kiosk_token_sha256;
    o.row.rec.claimed_at = now;
    return TransitionLocked(I, o.row, "claimed", "", now, actor, "session.claimed", nlohmann::json::object());
  });
  if (!r.ok() && r.status().code() == "not_found") return Status::NotFound("unknown_code", "no session has this code");
  return r;
}

Result<SessionRequestRecord> Store::RecordConsent(const std::string& id, bool accepted, const std::string& consent_json,
                                                  std::int64_t now, const std::string& actor) {
  VERIDGE_RETURN_IF_ERROR(CheckLen(consent_json, kMaxTextBytes, "the consent record"));
  std::lock_guard lock(impl_->mu);
  auto& I = *impl_;
  return ChangeRequest(I, id, "id = ?", now, "recording consent for " + id, [&](Outcome& o) -> Status {
    if (o.row.rec.state == "expired") {
      o.refusal = NotLive(o.row);
      return Status::Ok();
    }
    if (o.row.rec.state != "claimed") {
      o.refusal = Status::InvalidInput("invalid_state", "consent is answered once, right after the code (the session is " + o.row.rec.state + ")");
      return Status::Ok();
    }
    auto up = I.Prepare("UPDATE session_requests SET consent_json = ? WHERE id = ?");
    if (!up.ok()) return up.status();
    up->Bind(1, consent_json);
    up->Bind(2, id);
    VERIDGE_RETURN_IF_ERROR(I.StepDone(*up, "recording consent for " + id));
    o.row.rec.consent_json = consent_json;
    auto detail = nlohmann::json::parse(consent_json, nullptr, false);
    if (detail.is_discarded() || !detail.is_object()) detail = nlohmann::json::object();
    return accepted ? TransitionLocked(I, o.row, "capturing", "", now, actor, "session.consent", detail)
                    : TransitionLocked(I, o.row, "cancelled", "consent_declined", now, actor, "session.consent", detail);
  });
}

namespace {

// Moves every row `select_sql` yields (its ?1, when bind_now, is `now`) to `state`.
template <typename Db>
Result<std::int64_t> TransitionAll(Db& I, const std::string& select_sql, std::int64_t now, const std::string& state,
                                   const std::string& reason, const std::string& action, const std::string& what, bool bind_now) {
  std::int64_t n = 0;
  Status st = I.InTransaction(what, [&]() -> Status {
    auto sel = I.Prepare(select_sql.c_str());
    if (!sel.ok()) return sel.status();
    if (bind_now) sel->Bind(1, now);
    std::vector<Row> rows;
    int rc;
    while ((rc = sel->Step()) == SQLITE_ROW) rows.push_back(ReadRow(*sel));
    if (rc != SQLITE_DONE) return Translate(rc, I.db, what);
    for (auto& r : rows) VERIDGE_RETURN_IF_ERROR(TransitionLocked(I, r, state, reason, now, "system", action, nlohmann::json::object()));
    n = static_cast<std::int64_t>(rows.size());
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return n;
}

}  // namespace

Result<std::int64_t> Store::ExpireSessionRequests(std::int64_t now) {
  std::lock_guard lock(impl_->mu);
  auto& I = *impl_;
  {
    // The sweep runs every few seconds: look before taking the write lock.
    auto due = I.Prepare((std::string("SELECT count(*) FROM session_requests WHERE state IN ") + kLiveStates + " AND expires_at <= ?").c_str());
    if (!due.ok()) return due.status();
    due->Bind(1, now);
    const int rc = due->Step();
    if (rc != SQLITE_ROW) return Translate(rc, I.db, "counting expired sessions");
    if (due->Int(0) == 0) return std::int64_t{0};
  }
  return TransitionAll(I,
                       std::string("SELECT ") + kRequestColumns + " FROM session_requests WHERE state IN " + kLiveStates +
                           " AND expires_at <= ? ORDER BY expires_at LIMIT 1000",
                       now, "expired", "expires_at_passed", "session.expired", "expiring sessions", true);
}

Result<std::int64_t> Store::AbortRunningSessions(std::int64_t now, const std::string& reason) {
  VERIDGE_RETURN_IF_ERROR(CheckLen(reason, kMaxTextBytes, "abort reason"));
  std::lock_guard lock(impl_->mu);
  auto& I = *impl_;
  return TransitionAll(I,
                       std::string("SELECT ") + kRequestColumns + " FROM session_requests WHERE state IN " + kRunningStates +
                           " ORDER BY created_at",
                       now, "aborted", reason, "session.aborted", "aborting interrupted sessions", false);
}

}  // namespace veridge::store
