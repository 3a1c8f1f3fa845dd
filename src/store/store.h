// store/store.h — the encrypted local store (SQLCipher): sessions, factor results, evidence,
// biometric descriptors, the audit log's rows, the webhook outbox and retention.
// This is the only code in Veridge that touches SQL; SQLCipher stays inside store/.
//
// Contract
//  * Encryption: every database is a SQLCipher database keyed with a raw 256-bit key
//    (`PRAGMA key = "x'<64 hex>'"`, no passphrase KDF) read from StoreOptions::key_file. The key
//    file holds exactly 32 random bytes (or 64 hex digits and an optional newline) and must not be
//    accessible by group or others (else `insecure_permissions`). The key never appears in logs,
//    argv, error messages or SQL text kept after use.
//  * Settings: Open() sets and then READS BACK every setting (SQLCipher 3.4.1 / SQLite 3.15.2 ignore
//    unknown pragmas silently): cipher_version (proves the codec is linked), journal_mode=WAL,
//    synchronous=FULL (a committed decision or outbox row survives power loss), secure_delete=ON
//    (deleted content is zeroed, needed for verifiable purges), foreign_keys=ON, busy_timeout.
//    A setting that does not take effect fails Open with `store_setting_rejected`.
//  * Schema: migrations are applied at Open, each in its own transaction, recorded in the
//    `schema_version` table. A database written by a newer Veridge fails with `store_too_new`.
//  * Transactions: CommitDecision writes the session, its factor results, evidence, descriptors,
//    its audit events and its outbox row in ONE transaction (all or nothing). Every other mutating
//    call is one transaction too. Nothing is half-written after a crash (WAL + synchronous=FULL).
//  * Audit of delivery: dead-lettering a result, replaying it, and disabling or re-enabling an
//    endpoint each append an audit event ("outbox.dead_lettered", "outbox.replayed",
//    "endpoint.disabled", "endpoint.enabled") in the same transaction as the change, so neither
//    exists without the other. These calls therefore need StoreOptions::audit_hasher.
//  * API tokens: only the lowercase hex SHA-256 of a token is stored, never the token (api/ makes
//    and checks tokens). Adding and revoking a token each append an audit event ("token.created",
//    "token.revoked", subject = the token id) in the same transaction; these need audit_hasher too.
//    A revoked token keeps its row (its id stays meaningful in the audit trail).
//  * Staff accounts (staff.cpp): console users (console/ hashes passwords with argon2id and makes
//    session tokens; the store keeps only the encoded argon2id hash, the SHA-256 of each session
//    cookie and of each recovery code, and the TOTP key, encrypted with the database like every
//    row). Every change appends an audit event in the same transaction ("staff.created",
//    "staff.password_changed", "staff.disabled", "staff.login", "staff.login_failed",
//    "staff.locked_out", "staff.logout", "staff.logout_everywhere", "staff.totp_enrolment_started",
//    "staff.totp_enrolled"; subject = the staff id; the detail never holds a password, hash, code,
//    key or token). Disabling an account or changing its password ends its sessions.
//  * Creation: Open creates a store only with StoreOptions::create_if_missing (set by `veridge keys
//    init`, `veridge db init` and tests; every other command opens an existing store). A store is
//    created where nothing is, or where an empty (0-byte) file is and no anchor: the file gets mode
//    0600 whatever mode it had. A missing or empty file WITH an anchor beside it is `store_wiped`,
//    even with create_if_missing: a store was there, and making a new one would hide the loss.
//  * Anchor ("<db>.anchor", store/anchor.h): a small file outside the database, MACed with a key
//    derived from the store key (HMAC-SHA256 with a label, never the raw key), holding the store id
//    (random at creation, also kept in the database as schema_version row 0), the last committed
//    audit sequence number and that event's hash. After every COMMIT of a transaction that appended
//    audit events (decisions, dead letters, replays, endpoint changes, tokens, rekey, purge, ...) the
//    anchor is replaced atomically (temp file, fsync, rename, fsync of the directory), forward only
//    (under flock on "<db>.lock", so two writing processes never move it back). Open compares:
//      store_wiped (kCorruption)          the database is missing or 0 bytes but its anchor is there
//      store_rolled_back (kCorruption)    the audit head is BEHIND the anchor, or the anchored event
//                                         is not in the chain any more: committed transactions are
//                                         gone (WAL deleted, truncated or bit-flipped — SQLite drops
//                                         the WAL from the first bad frame on, and SQLCipher's page
//                                         HMACs cannot see a whole frame missing — or an older copy
//                                         of the database put back)
//      store_replaced (kCorruption)       the database's store id is not the anchor's
//      store_anchor_invalid (kCorruption) the anchor does not parse or its MAC fails
//      store_anchor_missing (kCorruption) no anchor, and the database holds audit events
//    A store with no audit event and no anchor (made before anchors existed) is anchored at open.
//    Crash window: the anchor is written AFTER the COMMIT, so a crash (or a failed anchor write,
//    which is logged and does not undo the committed transaction) leaves the anchor behind the
//    database by at most the transactions since the last anchor write — normally one. The database
//    AHEAD of the anchor is therefore accepted, provided the anchored event is still in its chain,
//    and Open moves the anchor up (and fails with store_anchor_write_failed if it cannot). Writing
//    the anchor BEFORE the commit would instead make every crash before COMMIT look like a rollback.
//    Recovery after a finding: restore the newest backup (database, -wal and anchor together), or
//    accept the database as it is with `veridge db reanchor` (Reanchor; StoreOptions::
//    accept_anchor_mismatch opens it for that), which appends "store.reanchored" to the audit log.
//    LIMITS (cannot be detected; docs/store-integrity.md):
//      - the database and its anchor rolled back TOGETHER (an old backup of both, a snapshot of the
//        whole disk or VM restored): both agree, and nothing outside the appliance remembers the
//        head. The audit head in each signed result (sent to the lender) is the external record
//        that shows it;
//      - anyone holding the store key: they can rewrite the database and MAC a matching anchor;
//      - the database and the anchor both deleted: indistinguishable from a store never created
//        (every command but keys init/db init then fails with store_missing, nothing is created);
//      - changes that append no audit event (delivery attempts, a row marked delivered, a lease)
//        are not anchored: rolling them back re-sends a result (the lender deduplicates it by its
//        webhook-id), it loses none;
//      - transactions after the last anchor write (the crash window above), at most one per writer.
//  * Damage: a database whose size is not a whole number of 4096-byte pages (cut short) fails Open
//    with store_corrupt. QuickCheck() (PRAGMA quick_check: every page in use decrypted and
//    HMAC-verified, the b-trees checked) is what `outbox run` and serve's delivery worker run before
//    they write; Check() is the full `db check`.
//  * Session requests (session_requests.cpp): a session a lender created through the API, before
//    and while it runs on the kiosk. Its id is THE session id end to end: when the live pipeline
//    decides, it calls CommitDecision with the same session_id, so `sessions` (the decided rows
//    `veridge verify` writes too) and `session_requests` share one key; a CLI session simply has
//    no request row. States: created → claimed → capturing → challenge → (card → pin →)
//    deciding → completed, or the terminal cancelled | expired | aborted with terminal_reason.
//    - Kiosk code (6 digits): never stored. The store keeps a random 32-byte lookup key
//      (lookup_keys, made by migration 3, encrypted with the database) and derives the code as
//      HMAC-SHA256(key, "code|" id "|" nonce) mod 10^6; it keeps the nonce and
//      HMAC-SHA256(key, "lookup|" code) for the lookup. So an idempotent replay can give the same
//      code back, and the code is not readable from a row. A code is unique among live sessions
//      (non-terminal, not past expires_at): on a clash the next nonce is tried; a code last used
//      by a dead session is taken over (the dead row forgets it).
//    - The reference image (bounded by kMaxReferenceImageBytes) lives in the row, encrypted by
//      SQLCipher, until the session is terminal: cancelling, expiring or aborting deletes it at once
//      (secure_delete zeroes the bytes); a completed session's reference belongs to its evidence.
//    - Idempotency: (token_id, idempotency_key) is unique. Creating with a key already used by the
//      same token returns the stored session (replayed = true) when request_sha256 matches, and
//      idempotency_key_reused otherwise; the check and the insert are one transaction.
//    - Expiry: a non-terminal session past expires_at is expired, lazily by GetSessionRequest (in
//      its own transaction) and by ExpireSessionRequests (the daemon's sweep).
//    - Every state change appends an audit event ("session.created", "session.claimed",
//      "session.consent", "session.cancelled", "session.expired", "session.aborted"; subject =
//      the id; never the code, token or image) in the same transaction.
//  * Thread-safety: a Store owns one SQLite connection guarded by a mutex; every method may be
//    called from any thread (calls are serialised). Several processes (verify, outbox run) may open
//    the same file: WAL lets readers run beside one writer; a writer waits up to busy_timeout.
//  * Ownership: Store is move-only behind unique_ptr; returned records are plain values (copies).
//  * Failure: SQLite/SQLCipher result codes are translated once, here, into Status:
//      store_missing (kNotFound)            no database at the path (and no anchor), not creating
//      store_empty (kCorruption)            a 0-byte file at the path, no anchor, not creating
//      store_key_missing (kNotFound)        the key file does not exist
//      insecure_permissions (kPermission)   the key file is group/world accessible
//      store_key_invalid (kInvalidInput)    the key file is not 32 bytes / 64 hex digits
//      store_key_wrong (kPermission)        the key does not open this database (or page 1 is corrupt)
//      store_not_encrypted (kCorruption)    the file is a plaintext SQLite database
//      store_corrupt (kCorruption)          a page fails its HMAC or the b-tree is damaged
//      disk_full (kIo)                      SQLITE_FULL: disk or StoreOptions::max_pages exhausted
//      store_io (kIo)                       SQLITE_IOERR / CANTOPEN (with the path, never the key)
//      store_busy (kUnavailable)            another writer held the lock past busy_timeout
//      store_too_new (kInternal)            schema newer than this binary
//      duplicate (kInvalidInput)            session_id or webhook_id already stored
//      not_found (kNotFound)                no such session / outbox row
//      too_large (kInvalidInput)            an item exceeds the bounds below
//      invalid_state (kInvalidInput)        a session request is not in a state that allows this
//    After any failed call the earlier committed data is intact and the Store stays usable.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace veridge::store {

struct AuditEvent;
// Computes an audit event's hash (hex) from its content and prev_hash; provided by audit/.
using AuditHasher = std::function<std::string(const AuditEvent&)>;

// ---- options ---------------------------------------------------------------------------------

struct StoreOptions {
  std::filesystem::path path;       // [store].path: the database file
  std::filesystem::path key_file;   // [store].key_file: 32 random bytes, mode 0600
  // How long a writer waits for another process's lock before failing with store_busy.
  int busy_timeout_ms = 5000;
  // Hard cap on the database size in pages (Veridge uses 4096-byte cipher pages); 0 = no cap. A write
  // beyond it fails with disk_full, exactly like a full disk (also used by tests to inject it).
  std::int64_t max_pages = 0;
  // Create the store when nothing (or an empty file without an anchor) is at the path. Only `keys
  // init`, `db init` and tests set it; for every other caller a missing store is an error.
  bool create_if_missing = false;
  // Only for `veridge db reanchor`: open even when the anchor check finds a rollback, a replaced
  // database or a bad/missing anchor (Store::AnchorState() then says what it found), so that Reanchor
  // can accept the database as it is. A wiped store still fails (there is nothing to open).
  bool accept_anchor_mismatch = false;
  // ONLY for tests and the encryption-cost benchmark: open the same schema WITHOUT encryption
  // (key_file ignored). Never set from configuration.
  bool unencrypted_for_benchmark_only = false;
  // Computes an audit event's hash from its content and the previous hash. Provided by audit/
  // (audit::ChainHasher()); store/ only persists the chain. Required to append audit events
  // (CommitDecision with audit events, AppendAudit) — else `audit_hasher_missing` (kInternal).
  AuditHasher audit_hasher;
};

// Bounds on what one call may store (bad input gets `too_large`).
inline constexpr std::size_t kMaxEvidenceBytes = 8 * 1024 * 1024;   // one evidence blob
inline constexpr std::size_t kMaxEvidenceItems = 64;                // per decision
inline constexpr std::size_t kMaxDescriptorBytes = 64 * 1024;       // one biometric template
inline constexpr std::size_t kMaxJsonBytes = 1024 * 1024;           // reasons/factors/result/payload/detail
inline constexpr std::size_t kMaxTextBytes = 1024;                  // ids, refs, names, urls
inline constexpr std::size_t kMaxReferenceImageBytes = 4 * 1024 * 1024;  // a session's reference photo

// ---- records ---------------------------------------------------------------------------------

// A piece of evidence kept with the decision (encrypted with the database).
struct EvidenceItem {
  std::string kind;        // "best_frame", "face_crop", "reference", ...
  std::string media_type;  // "image/jpeg"
  std::string data;        // the bytes
  // Lowercase hex SHA-256 of `data`. Leave empty and Store computes it; if given, it must match
  // (else `evidence_hash_mismatch`). The result JSON references evidence by this hash.
  std::string sha256;
};

// A biometric template (e.g. the 128-D face descriptor as raw floats), purged by retention.
struct DescriptorItem {
  std::string kind;  // "face_probe", "face_reference"
  std::string data;
};

// A stored descriptor with its row id and session, for building a search index at start.
struct StoredDescriptor {
  std::int64_t id = 0;  // descriptors row id: stable, increasing
  std::string session_id;
  std::string kind;
  std::string data;
  std::string applicant_ref;    // of its session (the 1:N checks group templates by it)
  std::int64_t created_at = 0;  // of its session, unix seconds (retention purges by it)
};

struct FactorResult {
  std::string factor;       // "face", "liveness", "certificate"
  bool passed = false;
  double score = 0.0;
  std::string detail_json;  // the factor's JSON output
};

// One audit event. audit/ fills actor/action/subject/detail/at; Store assigns seq and prev_hash,
// then calls StoreOptions::audit_hasher to fill hash, inside the same transaction.
struct AuditEvent {
  std::int64_t seq = 0;         // 1, 2, 3 ... (assigned by Store)
  std::int64_t at = 0;          // unix seconds
  std::string actor;            // "kiosk", "staff:alice", "system"
  std::string action;           // "session.decided", "outbox.dead_lettered", "db.rekeyed" ...
  std::string subject;          // e.g. the session id
  std::string detail_json;      // "{}" if nothing
  std::string prev_hash;        // hex SHA-256 of the previous event ("0"*64 for the first)
  std::string hash;             // hex, computed by audit_hasher
};

// The message the delivery side will send (Standard Webhooks): one row per decision.
struct OutboxMessageInput {
  std::string webhook_id;            // stable across retries ("msg_...")
  std::string endpoint;              // the lender URL it goes to
  std::string payload;               // the exact body bytes to POST (signed result inside)
  std::int64_t next_attempt_at = 0;  // unix seconds; usually the commit time
};

// One point of the audit chain: a sequence number and that event's hash (seq 0 = the empty
// chain, hash "0"*64). It is what a signed result carries as its anchor.
struct AuditHeadPoint {
  std::int64_t seq = 0;
  std::string hash;
};

struct DecisionRecord {
  std::string session_id;       // unique
  std::string applicant_ref;    // the lender's applicant reference (stored encrypted only)
  std::int64_t created_at = 0;  // unix seconds
  std::string decision;         // "approved" | "rejected" | "review"
  std::string reasons_json;     // JSON array
  std::string factors_json;     // JSON object (summary)
  std::string result_json;      // the canonical result text the delivery side signs
  std::vector<FactorResult> factors;
  std::vector<EvidenceItem> evidence;
  std::vector<DescriptorItem> descriptors;
  std::vector<AuditEvent> audit;         // appended to the chain in this transaction
  std::optional<OutboxMessageInput> outbox;  // absent: nothing to deliver
  // The audit head the signed result carries (result "audit_head"). When set, the transaction
  // first checks that the chain's head is still exactly this point, so the head a lender keeps is
  // the one this session's own events were appended onto; another writer that appended in between
  // makes it fail with audit_head_moved (kUnavailable) and write nothing: re-read, re-sign, retry.
  std::optional<AuditHeadPoint> expect_audit_head;
};

struct SessionRecord {
  std::string session_id;
  std::string applicant_ref;
  std::int64_t created_at = 0;
  std::string decision;
  std::string reasons_json;
  std::string factors_json;
  std::string result_json;
  std::optional<std::int64_t> biometrics_purged_at;  // set once retention removed evidence
  std::vector<FactorResult> factors;
};

struct StoredEvidence {
  std::int64_t id = 0;
  std::string session_id;
  std::string kind;
  std::string media_type;
  std::string sha256;
  std::string data;
};

enum class OutboxState { kPending, kDelivered, kDead };
const char* ToString(OutboxState s);  // "pending", "delivered", "dead"

struct OutboxMessage {
  std::int64_t id = 0;
  std::string webhook_id;
  std::string session_id;
  std::string endpoint;
  std::string payload;
  OutboxState state = OutboxState::kPending;
  int attempts = 0;                       // attempts since creation or the last Replay
  std::int64_t created_at = 0;
  std::int64_t next_attempt_at = 0;
  std::optional<std::int64_t> delivered_at;
  std::optional<std::int64_t> dead_at;
  std::optional<int> last_http_status;
  std::string last_error;
  std::string dead_reason;
};

// One delivery attempt as the delivery side saw it (http_status 0 = no HTTP response).
struct Attempt {
  int attempt_no = 0;        // 1-based, as counted by the caller (OutboxMessage::attempts + 1)
  std::int64_t at = 0;       // unix seconds when the request started
  int http_status = 0;
  std::string error;         // transport error text, "" if a response came
  std::int64_t duration_ms = 0;
};

struct AttemptRow {
  std::int64_t outbox_id = 0;
  Attempt attempt;
};

enum class AttemptOutcome {
  kRetry,      // failed; try again at next_attempt_at
  kDelivered,  // 2xx
  kDead,       // no more tries (schedule exhausted, or a 410): dead-letter with reason
};

struct OutboxCounts {
  std::int64_t pending = 0;
  std::int64_t due = 0;        // pending with next_attempt_at <= now (endpoint not disabled)
  std::int64_t delivered = 0;
  std::int64_t dead = 0;
};

struct EndpointState {
  std::string endpoint;
  std::int64_t disabled_at = 0;
  std::string reason;
};

struct PurgeReport {
  std::int64_t sessions = 0;     // sessions whose biometric data was removed
  std::int64_t evidence = 0;     // evidence rows deleted
  std::int64_t descriptors = 0;  // descriptor rows deleted
  bool wal_truncated = false;    // checkpoint(TRUNCATE) left an empty WAL
  bool vacuumed = false;         // VACUUM rewrote the file (no free pages left)
};

struct CheckReport {
  bool ok = false;
  std::string cipher_version;        // e.g. "3.4.1"
  std::int64_t schema_version = 0;
  std::int64_t page_count = 0;
  std::int64_t freelist_count = 0;
  std::vector<std::string> problems;  // integrity_check / foreign_key_check lines (bounded to 100)
  // What the cipher check covered: SQLCipher 3.4.1 has no cipher_integrity_check (probed; used
  // when present); integrity_check reads, and so decrypts and HMAC-verifies, every page in use.
  std::string cipher_check;
  // The anchor compared with the database again (a finding is a problem above).
  std::string anchor;
};

// The anchor as the open store sees it (Store::AnchorState()).
struct AnchorInfo {
  std::filesystem::path path;  // "<db>.anchor"
  std::string store_id;        // the database's store id
  std::int64_t seq = 0;        // the anchored audit sequence number
  std::string head;            // the anchored event's hash ("" when the anchor is unreadable)
  std::string finding;         // accept_anchor_mismatch: the code Open would have failed with, else ""
};

// A lender/staff API token as stored: never the token itself.
struct ApiTokenRecord {
  std::string id;                         // "tok_<16 hex>"
  std::string name;                       // the operator's label ("lender-prod")
  std::string sha256;                     // lowercase hex SHA-256 of the token string
  std::int64_t created_at = 0;            // unix seconds
  std::optional<std::int64_t> revoked_at;  // set once revoked
};

// ---- staff accounts and console sessions (staff.cpp; see "Staff accounts") --------------------

inline bool IsStaffRole(const std::string& r) {
  return r == "operator" || r == "supervisor" || r == "auditor" || r == "admin";
}

// A console user as stored: the password only as an argon2id encoded hash, made by console/.
struct StaffRecord {
  std::string id;                          // "stf_<16 hex>"
  std::string name;                        // login name, unique
  std::string role;                        // operator | supervisor | auditor | admin
  std::string password_hash;               // "$argon2id$v=19$m=...,t=...,p=...$salt$hash"
  std::int64_t created_at = 0;
  std::int64_t updated_at = 0;
  std::optional<std::int64_t> disabled_at;  // set: can no longer log in (the row stays for the audit trail)
  int failed_logins = 0;                   // consecutive; a successful login resets it
  std::int64_t locked_until = 0;           // unix seconds; logins before it are refused unchecked
  std::string totp_secret;                 // raw bytes of the RFC 6238 key; "" = not enrolled
  std::string totp_pending_secret;         // enrolment started, not yet confirmed with a code
  std::int64_t totp_last_step = 0;         // last accepted 30-s step: a code is accepted once
  int recovery_codes_left = 0;             // unused recovery codes
};

// Lockout with backoff: the threshold-th consecutive failure locks the account for base_seconds,
// each failure after it doubles the lock, up to max_seconds.
struct LockoutPolicy {
  int threshold = 5;
  std::int64_t base_seconds = 60;
  std::int64_t max_seconds = 3600;
};

struct FailedLoginOutcome {
  int failed_logins = 0;
  std::int64_t locked_until = 0;  // 0 = not locked
  bool locked_now = false;        // this failure set the lock (a "staff.locked_out" event was appended)
};

// A console login session. The cookie value is never stored: only its SHA-256.
struct ConsoleSessionRecord {
  std::string token_sha256;       // lowercase hex SHA-256 of the cookie value
  std::string staff_id;
  std::int64_t created_at = 0;
  std::int64_t last_seen_at = 0;  // idle timeout counts from here
  std::int64_t expires_at = 0;    // absolute timeout
  // "verified" (second factor given or not required), "enrolment_required" (a supervisor or
  // admin without TOTP yet: only enrolment, me and logout are allowed).
  std::string mfa = "verified";
  std::optional<std::int64_t> ended_at;  // logout, logout everywhere, disable, password change
};

// What a successful login consumes, checked and written in the login's transaction.
struct LoginProof {
  std::optional<std::int64_t> totp_step;  // must be above the account's totp_last_step
  std::string recovery_code_sha256;       // "" = none; else must be an unused code of the account
};

// A lender-created session as the API hands it to the store (see "Session requests").
struct SessionRequestInput {
  std::string id;                    // "ses_<32 hex>", made by api/
  std::string token_id;              // the API token that created it (scopes the idempotency key)
  std::string applicant_ref;
  std::string factors_json;          // JSON array of factor names
  std::string locale;                // "zh-CN" | "en"
  std::int64_t created_at = 0;
  std::int64_t expires_at = 0;
  std::string reference_media_type;  // "image/jpeg" | "image/png"
  std::string reference_image;       // the bytes, at most kMaxReferenceImageBytes
  std::string idempotency_key;       // "" = none
  std::string request_sha256;        // hex SHA-256 of the canonical request (idempotency check)
};

inline bool IsTerminalSessionState(const std::string& s) {
  return s == "completed" || s == "cancelled" || s == "expired" || s == "aborted";
}

struct SessionRequestRecord {
  std::string id;
  std::string token_id;
  std::string applicant_ref;
  std::string factors_json;
  std::string locale;
  std::string state;
  std::int64_t created_at = 0;
  std::int64_t expires_at = 0;
  std::int64_t updated_at = 0;
  std::optional<std::int64_t> claimed_at;
  int attempt = 1;
  std::string kiosk_token_sha256;   // "" until claimed
  std::string consent_json;         // "" until the applicant answered
  std::string terminal_reason;      // "" unless cancelled | expired | aborted
  bool has_reference = false;       // the reference image is still held
};

struct CreatedSessionRequest {
  SessionRequestRecord record;
  std::string kiosk_code;  // 6 digits; derived, never stored
  bool replayed = false;   // an idempotent replay of an earlier create
};

// ---- the store -------------------------------------------------------------------------------

class Store {
 public:
  // Opens (or creates) the database, keys it, verifies the settings, applies migrations.
  static Result<std::unique_ptr<Store>> Open(const StoreOptions& options);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // -- decisions (one transaction; synchronous=FULL) --
  // `descriptor_ids`, when given, receives the row id of each of record.descriptors, in order, once
  // the transaction has committed (untouched on failure): fraud/'s in-memory index keys templates
  // by these ids.
  Status CommitDecision(const DecisionRecord& record, std::vector<std::int64_t>* descriptor_ids = nullptr);
  Result<SessionRecord> GetSession(const std::string& session_id);
  // Newest first, at most `limit` (<= 1000).
  Result<std::vector<SessionRecord>> ListSessions(int limit, int offset = 0);
  Result<std::vector<StoredEvidence>> GetEvidence(const std::string& session_id);
  Result<std::vector<DescriptorItem>> GetDescriptors(const std::string& session_id);
  // Descriptors of `kind` with row id > after_id, in id order, at most `limit` (1..10000), each
  // with its session's applicant_ref and created_at: the pages fraud/ builds its in-memory index
  // from. Purged sessions have none. Code bad_limit.
  Result<std::vector<StoredDescriptor>> ListDescriptors(const std::string& kind, std::int64_t after_id, int limit);

  // -- audit rows (the chain logic lives in audit/) --
  // Appends one event (seq/prev_hash/hash assigned as in CommitDecision); returns it as stored.
  Result<AuditEvent> AppendAudit(const AuditEvent& event);
  // Events with seq > after_seq in seq order, at most `limit` (<= 10000).
  Result<std::vector<AuditEvent>> ListAudit(std::int64_t after_seq, int limit);
  // The head the store recorded with the last append (seq 0 and "0"*64 when empty); lets
  // audit/ notice a truncated tail.
  Result<AuditEvent> AuditHead();

  // -- outbox (the delivery side calls these after each response) --
  // Pending rows with next_attempt_at <= now, whose endpoint is not disabled and that are not
  // leased, oldest due first; each is leased until now + lease_seconds so that a second worker
  // does not take it, and becomes claimable again if the worker dies (at-least-once delivery).
  Result<std::vector<OutboxMessage>> ClaimDue(std::int64_t now, int limit, std::int64_t lease_seconds = 60);
  // Records one attempt and the outcome in one transaction; clears the lease.
  // kRetry: next_attempt_at is when to try again. kDead: dead_reason says why (shown in console).
  Status RecordAttempt(std::int64_t id, const Attempt& attempt, AttemptOutcome outcome,
                       std::int64_t next_attempt_at = 0, const std::string& dead_reason = "");
  Status MarkDelivered(std::int64_t id, const Attempt& attempt);                 // = kDelivered
  Status DeadLetter(std::int64_t id, const std::string& reason, std::int64_t at);  // no attempt
  // A dead (or delivered) row goes back to pending, due at `now`, attempts reset to 0; keeps its
  // webhook_id so the lender deduplicates it. `actor` (who asked: "cli", "console") is audited.
  Status Replay(std::int64_t id, std::int64_t now, const std::string& actor);
  Result<OutboxMessage> GetOutbox(std::int64_t id);
  Result<std::vector<OutboxMessage>> ListOutbox(std::optional<OutboxState> state, int limit, int offset = 0);
  Result<std::vector<AttemptRow>> ListAttempts(std::int64_t id);
  Result<OutboxCounts> CountOutbox(std::int64_t now);
  // When the worker should next look: the earliest time a pending row on an enabled endpoint
  // becomes claimable (max of next_attempt_at and its lease), or nullopt when there is none.
  Result<std::optional<std::int64_t>> NextClaimableAt();
  // A 410 from the lender disables its endpoint: ClaimDue skips its rows until re-enabled.
  Status DisableEndpoint(const std::string& endpoint, const std::string& reason, std::int64_t at);
  Status EnableEndpoint(const std::string& endpoint, std::int64_t at, const std::string& actor);
  Result<std::vector<EndpointState>> DisabledEndpoints();

  // -- API tokens (tokens.cpp) --
  // Adds a token and its "token.created" audit event in one transaction. Codes: bad_token (empty
  // id or name, sha256 not 64 lowercase hex digits, revoked_at set), duplicate (id or hash).
  Status AddApiToken(const ApiTokenRecord& token, const std::string& actor);
  // The token with this hash, revoked or not (the caller refuses revoked ones); nullopt when none
  // (also for a string that is not 64 lowercase hex digits).
  Result<std::optional<ApiTokenRecord>> FindApiTokenByHash(const std::string& sha256_hex);
  // Oldest first, at most 10000.
  Result<std::vector<ApiTokenRecord>> ListApiTokens();
  // Sets revoked_at and appends "token.revoked" in one transaction. Revoking a revoked token
  // changes nothing (the first revocation time stays). Code not_found.
  Status RevokeApiToken(const std::string& id, std::int64_t at, const std::string& actor);

  // -- staff accounts and console sessions (staff.cpp; see "Staff accounts") --
  // Adds an account and "staff.created" in one transaction. Codes bad_staff (empty id/name, bad
  // role, a hash that is not argon2id), duplicate (id or name).
  Status AddStaff(const StaffRecord& staff, const std::string& actor);
  Result<std::optional<StaffRecord>> FindStaffByName(const std::string& name);
  Result<StaffRecord> GetStaff(const std::string& id);  // code not_found
  Result<std::vector<StaffRecord>> ListStaff();         // by name, at most 10000
  // New hash, failures and lock cleared, every session of the account ended; "staff.password_changed".
  Status SetStaffPassword(const std::string& id, const std::string& password_hash, std::int64_t at, const std::string& actor);
  // disabled_at set, every session ended; "staff.disabled". Disabling twice changes nothing.
  Status DisableStaff(const std::string& id, std::int64_t at, const std::string& actor);
  // One failed login of an existing account: "staff.login_failed" (detail: reason, count) and, when
  // the policy locks it now, "staff.locked_out" (detail: until), in one transaction.
  Result<FailedLoginOutcome> RecordFailedLogin(const std::string& id, std::int64_t at, const LockoutPolicy& policy,
                                               const std::string& reason);
  // A successful login: checks and consumes `proof` (codes totp_replayed, recovery_code_invalid,
  // account_disabled), resets the failure count, inserts the session and appends "staff.login".
  Status CreateConsoleSession(const ConsoleSessionRecord& session, const LoginProof& proof, const std::string& actor);
  Result<std::optional<ConsoleSessionRecord>> FindConsoleSession(const std::string& token_sha256);
  // last_seen_at = at (no audit event: it is not a change of anyone's rights).
  Status TouchConsoleSession(const std::string& token_sha256, std::int64_t at);
  // Ends one session: "staff.logout" (detail: reason). Ending an ended session changes nothing.
  Status EndConsoleSession(const std::string& token_sha256, std::int64_t at, const std::string& reason, const std::string& actor);
  // Ends every open session (of `staff_id`, or of everyone when empty): one "staff.logout_everywhere"
  // with the count. Returns how many ended.
  Result<std::int64_t> EndAllConsoleSessions(const std::string& staff_id, std::int64_t at, const std::string& actor);
  // Keeps `secret` as the pending TOTP key of the account; "staff.totp_enrolment_started".
  Status StartTotpEnrolment(const std::string& id, const std::string& secret, std::int64_t at, const std::string& actor);
  // The pending key becomes the key (step accepted as the last one), the recovery codes (SHA-256
  // hex) replace any earlier ones, and `session_token_sha256`'s session becomes mfa=verified;
  // "staff.totp_enrolled". Codes totp_not_pending, totp_replayed.
  Status ConfirmTotpEnrolment(const std::string& id, std::int64_t step, const std::vector<std::string>& recovery_sha256,
                              const std::string& session_token_sha256, std::int64_t at, const std::string& actor);

  // -- session requests (session_requests.cpp; see "Session requests") --
  // Codes: bad_session_request (empty id/token/hash, expires_at <= created_at), too_large,
  // duplicate (id), idempotency_key_reused (same token and key, another request_sha256),
  // code_space_exhausted (kUnavailable: no free code after many tries; practically never).
  Result<CreatedSessionRequest> CreateSessionRequest(const SessionRequestInput& input, const std::string& actor);
  // The session, expired first (and audited) if it is non-terminal and past expires_at at `now`.
  // Code not_found.
  Result<SessionRequestRecord> GetSessionRequest(const std::string& id, std::int64_t now);
  // The reference image bytes and media type; not_found once deleted (terminal) or unknown.
  Result<std::pair<std::string, std::string>> GetSessionReference(const std::string& id);
  // created/claimed/capturing/... → cancelled with `reason`. Codes not_found, invalid_state (already
  // terminal: the message says which state; expiry is applied first).
  Result<SessionRequestRecord> CancelSessionRequest(const std::string& id, std::int64_t now, const std::string& reason,
                                                    const std::string& actor);
  // The kiosk enters a code: the live session holding it is claimed and bound to the kiosk token
  // (its SHA-256 is kept). Codes: bad_code (not 6 digits), unknown_code (kNotFound),
  // already_claimed, session_expired, session_closed (cancelled, aborted or completed).
  Result<SessionRequestRecord> ClaimSessionByCode(const std::string& code, const std::string& kiosk_token_sha256,
                                                  std::int64_t now, const std::string& actor);
  // The applicant's consent answer, in state claimed only: accepted → capturing, declined →
  // cancelled (reason consent_declined); consent_json is kept either way. Codes not_found,
  // invalid_state, session_expired.
  Result<SessionRequestRecord> RecordConsent(const std::string& id, bool accepted, const std::string& consent_json,
                                             std::int64_t now, const std::string& actor);
  // Expires every non-terminal session past expires_at; returns how many.
  Result<std::int64_t> ExpireSessionRequests(std::int64_t now);
  // Start-up of the daemon: every session that was running (claimed, capturing, challenge, card,
  // pin, deciding) is recorded aborted with `reason`; created ones wait on. Returns how many.
  Result<std::int64_t> AbortRunningSessions(std::int64_t now, const std::string& reason);

  // -- retention --
  // Deletes evidence and descriptors of sessions created before `cutoff` (unix seconds), marks
  // those sessions purged (decisions, results and audit stay), then checkpoints the WAL with
  // TRUNCATE and VACUUMs so that no freed page still holds the old bytes (secure_delete zeroes
  // them as well). `now` is recorded as biometrics_purged_at. Call with no other process reading
  // or writing for a complete WAL truncation (PurgeReport::wal_truncated says if it happened).
  Result<PurgeReport> PurgeBiometrics(std::int64_t cutoff, std::int64_t now);

  // -- maintenance --
  // integrity_check + foreign_key_check + cipher information. Corruption is reported in the
  // report (ok=false) where SQLite can describe it; a page that cannot be decrypted at all
  // returns store_corrupt.
  Result<CheckReport> Check();
  // Re-encrypts every page with the key in new_key_file (same format rules as key_file). The data
  // is intact; afterwards only the new key opens the file. The caller then installs the new key
  // file in place of the old one.
  Status Rekey(const std::filesystem::path& new_key_file);
  // PRAGMA quick_check: every page in use decrypted and HMAC-verified and the b-trees checked (not
  // the index contents). Code store_corrupt with the first problem. Run before a command writes to
  // a store it did not just create (outbox run, serve's delivery worker).
  Status QuickCheck();
  // The anchor's state (store.h, "Anchor").
  Result<AnchorInfo> AnchorState();
  // Accepts the database as it is now: appends "store.reanchored" (detail: what the open check
  // found, the previous anchor, `reason`) and writes the anchor at the new head, even backwards.
  // Gives a store made before anchors a store id. For `veridge db reanchor`.
  Result<AuditEvent> Reanchor(std::int64_t at, const std::string& actor, const std::string& reason);
  // Schema version applied (the highest row in schema_version).
  Result<std::int64_t> SchemaVersion();

 private:
  struct Impl;
  explicit Store(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Reads and validates a store key file (mode, size/format). Returns the 32 key bytes.
// Codes: store_key_missing, insecure_permissions, store_key_invalid.
Result<std::string> ReadStoreKey(const std::filesystem::path& key_file);
// Writes a new random 32-byte key to `path` with mode 0600 (fails with `exists` if present), for
// `veridge keys init` and tests.
Status GenerateKeyFile(const std::filesystem::path& path);

}  // namespace veridge::store
