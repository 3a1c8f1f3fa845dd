// store/store_impl.h — private to store/: the state behind a Store and the helpers that its
// repositories share. Not part of the public API (no other module includes it).
//
// One file per repository, all behind the one public store/store.h:
//   store.cpp        Open (keying, settings read back), the key file, the connection helpers below
//   schema.cpp       migrations (append only) and the schema version
//   sessions.cpp     decisions, factor results, evidence, descriptors (CommitDecision's transaction)
//   audit_rows.cpp   the audit chain's rows and head (the chain logic lives in audit/)
//   outbox.cpp       outbox rows, delivery attempts, disabled endpoints
//   tokens.cpp       API tokens (hashes only; api/ makes and checks them)
//   staff.cpp        staff accounts, console sessions, TOTP keys and recovery codes (console/ decides)
//   anchor.cpp       the anchor file beside the database: checked at Open, advanced after commits
//   session_requests.cpp  lender-created sessions: kiosk codes, reference image, idempotency, states
//   maintenance.cpp  retention purge, check, rekey
//   sqlite_util.cpp  SQLite result codes → Status (sqlite_util.h)
//
// Locking: every public Store method takes Impl::mu, then calls the helpers. The helpers never lock;
// those named *Locked run inside the caller's transaction (InTransaction), so that one public call
// is one transaction however many repositories it writes (CommitDecision writes all of them).
#pragma once

#include <openssl/crypto.h>

#include <cstdint>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/crash_point.h"
#include "store/anchor.h"
#include "store/sqlite_util.h"
#include "store/store.h"

namespace veridge::store {

namespace detail {

// The schema version this binary writes: the last entry of schema.cpp's migration list (a
// static_assert there keeps the two together). Check() reports any other version as a problem.
inline constexpr int kLatestSchemaVersion = 4;

// The prev_hash of the first audit event, and the head of an empty chain.
inline constexpr const char* kZeroHash = "0000000000000000000000000000000000000000000000000000000000000000";

// Wipes a string holding key material before its memory is released.
struct Wipe {
  std::string& s;
  ~Wipe() { OPENSSL_cleanse(s.data(), s.size()); }
};

// "x'<64 hex>'": SQLCipher's syntax for a raw key (no PBKDF2), passed to sqlite3_key_v2 /
// sqlite3_rekey_v2 directly so the key never becomes SQL text. The caller wipes the result.
std::string RawKeySpec(const std::string& key);

// `too_large` when `v` is longer than `max` bytes; `what` names the field in the message.
Status CheckLen(const std::string& v, size_t max, const char* what);

}  // namespace detail

struct Store::Impl {
  StoreOptions options;
  sqlite3* db = nullptr;
  std::mutex mu;

  // ---- the anchor (anchor.cpp) ----
  struct Head {
    std::int64_t seq = 0;
    std::string hash;
  };
  std::filesystem::path anchor_path;   // "<db>.anchor"
  std::string anchor_key;              // detail::AnchorKey(store key); wiped by ~Impl
  std::string store_id;                // schema_version row 0 ("" for a store made before anchors)
  std::optional<Head> appended;        // the head the open transaction's audit appends reached
  bool anchor_write_deferred = false;  // Reanchor writes the anchor itself (force)
  Status anchor_finding;               // accept_anchor_mismatch: what the check at Open found

  ~Impl();

  // ---- the connection (store.cpp) ----
  Result<detail::Stmt> Prepare(const char* sql);
  Status Exec(const char* sql, const std::string& what, detail::Phase phase = detail::Phase::kOperation);
  // Runs a statement that yields one row and returns its first column as text ("" if no row).
  Result<std::string> QueryText(const char* sql, const std::string& what, detail::Phase phase = detail::Phase::kOperation);
  // Sets a pragma and reads it back: SQLCipher 3.4.1 ignores what it does not know, silently.
  Status SetAndVerify(const std::string& set_sql, const char* get_sql, const std::string& expect);
  // Steps a statement once; SQLITE_DONE and SQLITE_ROW are success.
  Status StepDone(detail::Stmt& st, const std::string& what);
  // Runs `sql` (with `arg` bound to ?1 when `bind`) and returns the first column of its one row.
  Result<std::int64_t> Count(const char* sql, std::int64_t arg, bool bind);

  // BEGIN IMMEDIATE ... COMMIT, with ROLLBACK on any failure (also a failed COMMIT).
  // A transaction that appended audit events advances the anchor after its COMMIT.
  template <typename F>
  Status InTransaction(const std::string& what, F&& body) {
    appended.reset();
    VERIDGE_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE", what));
    Status st = body();
    if (st.ok()) {
      CrashPoint(crash_points::kStoreBeforeCommit);  // every row written, nothing committed
      int rc = sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
      if (rc == SQLITE_OK) {
        CrashPoint(crash_points::kStoreAfterCommit);  // committed, the anchor not yet advanced, the caller not yet told
        AnchorAfterCommit();
        return Status::Ok();
      }
      st = detail::Translate(rc, db, what + " (commit)");
    }
    // SQLite may already have rolled back (e.g. after SQLITE_FULL); only roll back if still open.
    if (!sqlite3_get_autocommit(db)) sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    appended.reset();
    return st;
  }

  // ---- the anchor (anchor.cpp) ----
  Result<std::string> ReadStoreId();                       // "" when the database has none
  Status InsertStoreIdLocked(const std::string& id);       // inside the caller's transaction
  Result<Head> ReadHead();                                 // audit_head ({0, kZeroHash} when empty)
  Result<std::string> EventHash(std::int64_t seq);         // "" when there is no such event
  // Writes the anchor at `head` under the store's file lock; unless `force`, only forwards.
  Status AdvanceAnchor(const Head& head, bool force);
  void AnchorAfterCommit();                                // after a COMMIT: advance to `appended`
  Status CreateAnchorLocked();                             // new store id + anchor at the head
  Status CompareWithAnchor(const std::optional<detail::Anchor>& anchor);
  // At Open, with Open's file lock held: `created` stores get an id and their first anchor; every
  // other store is compared with its anchor (store.h, "Anchor").
  Status CheckAnchorAtOpen(bool created, const Result<std::optional<detail::Anchor>>& anchor);

  // ---- schema (schema.cpp) ----
  Result<std::int64_t> CurrentVersion();
  // Applies the migrations this database lacks, each in its own transaction.
  Status Migrate();

  // ---- audit rows (audit_rows.cpp) ----
  // Appends events to the audit chain inside the caller's transaction.
  Result<std::vector<AuditEvent>> AppendAuditLocked(const std::vector<AuditEvent>& events);

  // ---- outbox (outbox.cpp) ----
  // Inserts the pending outbox row of session `session_id` inside the caller's transaction.
  Status InsertOutboxLocked(const std::string& session_id, std::int64_t created_at, const OutboxMessageInput& message,
                            const std::string& what);
  // Appends the audit event of a change to outbox row `id` inside the caller's transaction:
  // subject = the row's session, detail = its outbox id, webhook id and endpoint plus `detail`.
  Status AuditOutboxChangeLocked(std::int64_t id, std::int64_t at, const std::string& actor, const std::string& action,
                                 nlohmann::json detail);
  Result<std::vector<OutboxMessage>> CollectOutbox(detail::Stmt& st, const std::string& what);

  // ---- staff (staff.cpp), inside the caller's transaction ----
  Result<StaffRecord> LoadStaffLocked(const std::string& id);  // code not_found
  // Ends the open sessions of `staff_id` (of everyone when empty); returns how many.
  Result<std::int64_t> EndStaffSessionsLocked(const std::string& staff_id, std::int64_t at);
  Status AuditStaffLocked(std::int64_t at, const std::string& actor, const std::string& action, const std::string& subject,
                          const nlohmann::json& detail);

  // ---- maintenance (maintenance.cpp) ----
  // wal_checkpoint(TRUNCATE): true when every frame was copied back and the WAL is now empty.
  Result<bool> CheckpointTruncate();
};

}  // namespace veridge::store
