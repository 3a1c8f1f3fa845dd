// store/schema.cpp — the schema: migrations applied at Open, each in its own transaction, and
// recorded in schema_version (store/store.h, "Schema").
#include <cstdint>
#include <iterator>
#include <string>

#include "store/store_impl.h"

namespace veridge::store {

using detail::kLatestSchemaVersion;

namespace {

// The schema, one entry per version. Append only: a released migration never changes.
struct Migration {
  int version;
  const char* description;
  const char* sql;
};

constexpr Migration kMigrations[] = {
    {1, "sessions, factors, evidence, descriptors, audit, outbox", R"SQL(
CREATE TABLE sessions(
  session_id TEXT PRIMARY KEY,
  applicant_ref TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  decision TEXT NOT NULL,
  reasons_json TEXT NOT NULL,
  factors_json TEXT NOT NULL,
  result_json TEXT NOT NULL,
  biometrics_purged_at INTEGER
);
CREATE INDEX sessions_created ON sessions(created_at);
CREATE TABLE factor_results(
  session_id TEXT NOT NULL REFERENCES sessions(session_id),
  factor TEXT NOT NULL,
  passed INTEGER NOT NULL,
  score REAL NOT NULL,
  detail_json TEXT NOT NULL,
  PRIMARY KEY(session_id, factor)
);
CREATE TABLE evidence(
  id INTEGER PRIMARY KEY,
  session_id TEXT NOT NULL REFERENCES sessions(session_id),
  kind TEXT NOT NULL,
  media_type TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  data BLOB NOT NULL
);
CREATE INDEX evidence_session ON evidence(session_id);
CREATE TABLE descriptors(
  id INTEGER PRIMARY KEY,
  session_id TEXT NOT NULL REFERENCES sessions(session_id),
  kind TEXT NOT NULL,
  data BLOB NOT NULL
);
CREATE INDEX descriptors_session ON descriptors(session_id);
CREATE TABLE audit_events(
  seq INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  subject TEXT NOT NULL,
  detail_json TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
);
CREATE TABLE audit_head(
  id INTEGER PRIMARY KEY CHECK (id = 1),
  seq INTEGER NOT NULL,
  hash TEXT NOT NULL
);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit_events
  BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit_events
  BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
CREATE TABLE outbox(
  id INTEGER PRIMARY KEY,
  webhook_id TEXT NOT NULL UNIQUE,
  session_id TEXT REFERENCES sessions(session_id),
  endpoint TEXT NOT NULL,
  payload TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'dead')),
  attempts INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  next_attempt_at INTEGER NOT NULL,
  lease_until INTEGER NOT NULL DEFAULT 0,
  delivered_at INTEGER,
  dead_at INTEGER,
  last_http_status INTEGER,
  last_error TEXT NOT NULL DEFAULT '',
  dead_reason TEXT NOT NULL DEFAULT ''
);
CREATE INDEX outbox_due ON outbox(state, next_attempt_at);
CREATE TABLE outbox_attempts(
  id INTEGER PRIMARY KEY,
  outbox_id INTEGER NOT NULL REFERENCES outbox(id),
  attempt_no INTEGER NOT NULL,
  at INTEGER NOT NULL,
  http_status INTEGER NOT NULL,
  error TEXT NOT NULL,
  duration_ms INTEGER NOT NULL
);
CREATE INDEX outbox_attempts_outbox ON outbox_attempts(outbox_id);
CREATE TABLE disabled_endpoints(
  endpoint TEXT PRIMARY KEY,
  disabled_at INTEGER NOT NULL,
  reason TEXT NOT NULL
);
)SQL"},
    {2, "API tokens (SHA-256 only)", R"SQL(
CREATE TABLE api_tokens(
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  sha256 TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER
);
)SQL"},
    {3, "lender-created session requests (kiosk code HMAC, reference image, idempotency, consent)", R"SQL(
CREATE TABLE session_requests(
  id TEXT PRIMARY KEY,
  token_id TEXT NOT NULL,
  applicant_ref TEXT NOT NULL,
  factors_json TEXT NOT NULL,
  locale TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('created', 'claimed', 'capturing', 'challenge', 'card', 'pin', 'deciding',
                                       'completed', 'cancelled', 'expired', 'aborted')),
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  code_nonce INTEGER NOT NULL,
  code_hmac TEXT UNIQUE,
  kiosk_token_sha256 TEXT,
  claimed_at INTEGER,
  attempt INTEGER NOT NULL DEFAULT 1,
  reference_media_type TEXT NOT NULL,
  reference_image BLOB,
  idempotency_key TEXT,
  request_sha256 TEXT NOT NULL,
  consent_json TEXT,
  terminal_reason TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX session_requests_idempotency ON session_requests(token_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX session_requests_state ON session_requests(state, expires_at);
CREATE TABLE lookup_keys(
  name TEXT PRIMARY KEY,
  key BLOB NOT NULL CHECK (length(key) = 32)
);
INSERT INTO lookup_keys(name, key) VALUES('kiosk_code', randomblob(32));
)SQL"},
    {4, "staff accounts (argon2id hashes), console sessions (SHA-256 of the cookie), TOTP keys, recovery codes", R"SQL(
CREATE TABLE staff(
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  role TEXT NOT NULL CHECK (role IN ('operator', 'supervisor', 'auditor', 'admin')),
  password_hash TEXT NOT NULL CHECK (substr(password_hash, 1, 10) = '$argon2id$'),
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  disabled_at INTEGER,
  failed_logins INTEGER NOT NULL DEFAULT 0,
  locked_until INTEGER NOT NULL DEFAULT 0,
  totp_secret BLOB,
  totp_pending_secret BLOB,
  totp_last_step INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE staff_recovery_codes(
  staff_id TEXT NOT NULL REFERENCES staff(id),
  code_sha256 TEXT NOT NULL,
  used_at INTEGER,
  PRIMARY KEY(staff_id, code_sha256)
);
CREATE TABLE console_sessions(
  token_sha256 TEXT PRIMARY KEY,
  staff_id TEXT NOT NULL REFERENCES staff(id),
  created_at INTEGER NOT NULL,
  last_seen_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  mfa TEXT NOT NULL CHECK (mfa IN ('verified', 'enrolment_required')),
  ended_at INTEGER
);
CREATE INDEX console_sessions_staff ON console_sessions(staff_id);
)SQL"},
};

static_assert(kMigrations[std::size(kMigrations) - 1].version == kLatestSchemaVersion,
              "append a migration and raise detail::kLatestSchemaVersion together");

}  // namespace

Result<std::int64_t> Store::Impl::CurrentVersion() {
  auto exists = QueryText("SELECT count(*) FROM sqlite_master WHERE type='table' AND name='schema_version'", "reading the schema");
  if (!exists.ok()) return exists.status();
  if (exists.value() == "0") return std::int64_t{0};
  auto v = QueryText("SELECT coalesce(max(version), 0) FROM schema_version", "reading the schema version");
  if (!v.ok()) return v.status();
  return std::stoll(v.value());
}

Status Store::Impl::Migrate() {
  VERIDGE_RETURN_IF_ERROR(Exec(
      "CREATE TABLE IF NOT EXISTS schema_version(version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL, description TEXT NOT NULL)",
      "creating the schema_version table"));
  auto cur = CurrentVersion();
  if (!cur.ok()) return cur.status();
  if (cur.value() > kLatestSchemaVersion)
    return Status::Internal("store_too_new", "the database has schema version " + std::to_string(cur.value()) +
                                                 " but this veridge knows up to " + std::to_string(kLatestSchemaVersion) + "; upgrade veridge");
  for (const auto& m : kMigrations) {
    if (m.version <= cur.value()) continue;
    VERIDGE_RETURN_IF_ERROR(InTransaction("applying schema migration " + std::to_string(m.version), [&]() -> Status {
      // Another process opening the same new database may have applied it while we waited for
      // the write lock: re-check under the lock (BEGIN IMMEDIATE), so each migration runs once.
      const std::string sql = "SELECT count(*) FROM schema_version WHERE version = " + std::to_string(m.version);
      auto done = QueryText(sql.c_str(), "reading the schema version");
      if (!done.ok()) return done.status();
      if (done.value() != "0") return Status::Ok();
      VERIDGE_RETURN_IF_ERROR(Exec(m.sql, "applying schema migration " + std::to_string(m.version)));
      auto st = Prepare("INSERT INTO schema_version(version, applied_at, description) VALUES(?, strftime('%s','now'), ?)");
      if (!st.ok()) return st.status();
      st->Bind(1, m.version);
      st->Bind(2, std::string(m.description));
      return StepDone(*st, "recording schema migration");
    }));
  }
  return Status::Ok();
}

Result<std::int64_t> Store::SchemaVersion() {
  std::lock_guard lock(impl_->mu);
  return impl_->CurrentVersion();
}

}  // namespace veridge::store
