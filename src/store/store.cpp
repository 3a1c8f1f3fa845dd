// store/store.cpp — SQLCipher implementation of store/store.h.
#include "store/store.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <mutex>
#include <nlohmann/json.hpp>

#include "common/files.h"
#include "common/hex.h"
#include "store/sqlite_util.h"

namespace veridge::store {

using detail::Phase;
using detail::Stmt;
using detail::Translate;

namespace detail {

Status Translate(int rc, sqlite3* db, const std::string& what, Phase phase) {
  const int primary = rc & 0xff;
  std::string detail = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  switch (primary) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE:
      return Status::Ok();
    case SQLITE_FULL:
      return Status::Io("disk_full", what + ": the disk (or the store's size cap) is full (" + detail +
                                         "); nothing of this write was kept; free space or raise the cap, then retry");
    case SQLITE_NOTADB:
      if (phase == Phase::kKeying)
        return Status::Permission("store_key_wrong",
                                  what + ": the store key does not open this database (or its first page is damaged); "
                                         "use the key file this database was created or last rekeyed with, or restore a backup");
      return Status::Corruption("store_corrupt", what + ": a database page failed to decrypt or verify (" + detail +
                                                     "); run `veridge db check` and restore from a backup");
    case SQLITE_CORRUPT:
      return Status::Corruption("store_corrupt", what + ": the database is damaged (" + detail +
                                                     "); run `veridge db check` and restore from a backup");
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PERM:
      return Status::Io("store_io", what + ": " + detail + "; check the database path, its directory's permissions and the disk");
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Status::Unavailable("store_busy", what + ": the database is locked by another writer (" + detail +
                                                   "); retry, or stop the other veridge process");
    case SQLITE_CONSTRAINT:
      return Status::InvalidInput("duplicate", what + ": " + detail + " (an id that must be unique is already stored)");
    case SQLITE_TOOBIG:
      return Status::InvalidInput("too_large", what + ": " + detail);
    default:
      return Status::Internal("store_error", what + ": " + detail + " (SQLite code " + std::to_string(rc) + ")");
  }
}

}  // namespace detail

namespace {

// The actor of the audit events the delivery worker's outcomes cause (dead letter, 410).
constexpr const char* kDeliveryActor = "system:outbox";
constexpr const char* kZeroHash = "0000000000000000000000000000000000000000000000000000000000000000";
// SQLCipher 3.x defaults to 1024-byte pages; 4096 suits ~100 KB evidence blobs better. It must be
// set identically on every open (it is part of the file format), so it is a constant here.
constexpr int kCipherPageSize = 4096;

// Wipes a string holding key material before its memory is released.
struct Wipe {
  std::string& s;
  ~Wipe() { OPENSSL_cleanse(s.data(), s.size()); }
};

int HexVal(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// "x'<64 hex>'": SQLCipher's syntax for a raw key (no PBKDF2), passed to sqlite3_key_v2 directly
// so the key never becomes SQL text.
std::string RawKeySpec(const std::string& key) {
  std::string spec = "x'" + ToHex(reinterpret_cast<const unsigned char*>(key.data()), key.size()) + "'";
  return spec;
}

Status CheckLen(const std::string& v, size_t max, const char* what) {
  if (v.size() > max)
    return Status::InvalidInput("too_large", std::string(what) + " is " + std::to_string(v.size()) +
                                                 " bytes; the limit is " + std::to_string(max));
  return Status::Ok();
}

OutboxState StateFromText(const std::string& s) {
  if (s == "delivered") return OutboxState::kDelivered;
  if (s == "dead") return OutboxState::kDead;
  return OutboxState::kPending;
}

// The schema, one entry per version. Append only: a released migration never changes.
struct Migration {
  int version;
  const char* description;
  const char* sql;
};

const Migration kMigrations[] = {
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
};

constexpr int kLatestVersion = 1;

}  // namespace

const char* ToString(OutboxState s) {
  switch (s) {
    case OutboxState::kPending: return "pending";
    case OutboxState::kDelivered: return "delivered";
    case OutboxState::kDead: return "dead";
  }
  return "pending";
}

std::string Sha256Hex(const std::string& bytes) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_sha256(), nullptr);
  return ToHex(md, len);
}

Result<std::string> ReadStoreKey(const std::filesystem::path& key_file) {
  if (key_file.empty())
    return Status::InvalidInput("store_key_missing", "no store key file configured; set [store].key_file (veridge keys init creates one)");
  auto data = ReadSecretFile(key_file, 1024);
  if (!data.ok()) {
    if (data.status().code() == "secret_file_missing" || data.status().code() == "file_not_found")
      return Status::NotFound("store_key_missing", key_file.string() +
                                                       ": store key file not found; create it with `veridge keys init` or fix [store].key_file");
    return data.status();
  }
  std::string& raw = data.value();
  Wipe wipe{raw};
  if (raw.size() == 32) return std::string(raw);
  // Also accepted: 64 hex digits, optionally followed by a newline (easier to provision by hand).
  std::string hex = raw;
  Wipe wipe_hex{hex};
  while (!hex.empty() && (hex.back() == '\n' || hex.back() == '\r')) hex.pop_back();
  if (hex.size() == 64) {
    std::string key(32, '\0');
    bool good = true;
    for (size_t i = 0; i < 32 && good; ++i) {
      int hi = HexVal(hex[2 * i]), lo = HexVal(hex[2 * i + 1]);
      if (hi < 0 || lo < 0) good = false;
      else key[i] = static_cast<char>(hi * 16 + lo);
    }
    if (good) return key;
    OPENSSL_cleanse(key.data(), key.size());
  }
  return Status::InvalidInput("store_key_invalid", key_file.string() + ": a store key file must hold exactly 32 random bytes (or 64 hex digits); it holds " +
                                                       std::to_string(raw.size()) + " bytes. Create one with `veridge keys init`");
}

Status GenerateKeyFile(const std::filesystem::path& path) {
  std::error_code ec;
  if (std::filesystem::exists(path, ec))
    return Status::InvalidInput("exists", path.string() + ": already exists; not overwriting a key (the data it opens would be lost)");
  std::string key(32, '\0');
  Wipe wipe{key};
  size_t got = 0;
  while (got < key.size()) {
    ssize_t n = ::getrandom(key.data() + got, key.size() - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::Io("random_failed", std::string("getrandom: ") + ErrnoText(errno));
    got += static_cast<size_t>(n);
  }
  return WriteFileAtomic(path, key, 0600);
}

// ---------------------------------------------------------------------------------------------

struct Store::Impl {
  StoreOptions options;
  sqlite3* db = nullptr;
  std::mutex mu;

  ~Impl() {
    if (db) sqlite3_close_v2(db);
  }

  Result<Stmt> Prepare(const char* sql) {
    sqlite3_stmt* s = nullptr;
    int rc = sqlite3_prepare_v2(db, sql, -1, &s, nullptr);
    if (rc != SQLITE_OK) return Translate(rc, db, "preparing a statement");
    return Stmt(db, s);
  }

  Status Exec(const char* sql, const std::string& what, Phase phase = Phase::kOperation) {
    int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) return Translate(rc, db, what, phase);
    return Status::Ok();
  }

  // Runs a statement that yields one row and returns its first column as text ("" if no row).
  Result<std::string> QueryText(const char* sql, const std::string& what, Phase phase = Phase::kOperation) {
    sqlite3_stmt* s = nullptr;
    int rc = sqlite3_prepare_v2(db, sql, -1, &s, nullptr);
    if (rc != SQLITE_OK) return Translate(rc, db, what, phase);
    Stmt st(db, s);
    rc = st.Step();
    if (rc == SQLITE_ROW) return st.Text(0);
    if (rc == SQLITE_DONE) return std::string();
    return Translate(rc, db, what, phase);
  }

  // Sets a pragma and reads it back: SQLCipher 3.4.1 ignores what it does not know, silently.
  Status SetAndVerify(const std::string& set_sql, const char* get_sql, const std::string& expect) {
    auto r = QueryText(set_sql.c_str(), "setting " + set_sql);
    if (!r.ok()) return r.status();
    auto got = QueryText(get_sql, std::string("reading back ") + get_sql);
    if (!got.ok()) return got.status();
    if (got.value() != expect)
      return Status::Internal("store_setting_rejected", std::string(get_sql) + " is '" + got.value() + "', expected '" + expect +
                                                            "'; this SQLCipher build does not support a setting Veridge needs");
    return Status::Ok();
  }

  // BEGIN IMMEDIATE ... COMMIT, with ROLLBACK on any failure (also a failed COMMIT).
  template <typename F>
  Status InTransaction(const std::string& what, F&& body) {
    VERIDGE_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE", what));
    Status st = body();
    if (st.ok()) {
      int rc = sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
      if (rc == SQLITE_OK) return Status::Ok();
      st = Translate(rc, db, what + " (commit)");
    }
    // SQLite may already have rolled back (e.g. after SQLITE_FULL); only roll back if still open.
    if (!sqlite3_get_autocommit(db)) sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    return st;
  }

  Status StepDone(Stmt& st, const std::string& what) {
    int rc = st.Step();
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) return Translate(rc, db, what);
    return Status::Ok();
  }

  Result<std::int64_t> CurrentVersion() {
    auto exists = QueryText("SELECT count(*) FROM sqlite_master WHERE type='table' AND name='schema_version'", "reading the schema");
    if (!exists.ok()) return exists.status();
    if (exists.value() == "0") return std::int64_t{0};
    auto v = QueryText("SELECT coalesce(max(version), 0) FROM schema_version", "reading the schema version");
    if (!v.ok()) return v.status();
    return std::stoll(v.value());
  }

  Status Migrate() {
    VERIDGE_RETURN_IF_ERROR(Exec(
        "CREATE TABLE IF NOT EXISTS schema_version(version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL, description TEXT NOT NULL)",
        "creating the schema_version table"));
    auto cur = CurrentVersion();
    if (!cur.ok()) return cur.status();
    if (cur.value() > kLatestVersion)
      return Status::Internal("store_too_new", "the database has schema version " + std::to_string(cur.value()) +
                                                   " but this veridge knows up to " + std::to_string(kLatestVersion) + "; upgrade veridge");
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

  // Appends the audit event of a change to outbox row `id` inside the caller's transaction:
  // subject = the row's session, detail = its outbox id, webhook id and endpoint plus `detail`.
  Status AuditOutboxChangeLocked(std::int64_t id, std::int64_t at, const std::string& actor, const std::string& action,
                                 nlohmann::json detail) {
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

  // Appends events to the audit chain inside the caller's transaction.
  Result<std::vector<AuditEvent>> AppendAuditLocked(const std::vector<AuditEvent>& events) {
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
    return out;
  }

  OutboxMessage ReadOutboxRow(const Stmt& s) {
    // Column order of kOutboxColumns.
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

  Result<std::vector<OutboxMessage>> CollectOutbox(Stmt& st, const std::string& what) {
    std::vector<OutboxMessage> out;
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) out.push_back(ReadOutboxRow(st));
    if (rc != SQLITE_DONE) return Translate(rc, db, what);
    return out;
  }

  Result<std::int64_t> Count(const char* sql, std::int64_t arg, bool bind) {
    auto st = Prepare(sql);
    if (!st.ok()) return st.status();
    if (bind) st->Bind(1, arg);
    int rc = st->Step();
    if (rc != SQLITE_ROW) return Translate(rc, db, "counting rows");
    return st->Int(0);
  }

  // wal_checkpoint(TRUNCATE): true when every frame was copied back and the WAL is now empty.
  Result<bool> CheckpointTruncate() {
    auto st = Prepare("PRAGMA wal_checkpoint(TRUNCATE)");
    if (!st.ok()) return st.status();
    int rc = st->Step();
    if (rc != SQLITE_ROW) return Translate(rc, db, "checkpointing the WAL");
    return st->Int(0) == 0 && st->Int(1) <= 0;
  }
};

static constexpr const char* kOutboxColumns =
    "id, webhook_id, coalesce(session_id, ''), endpoint, payload, state, attempts, created_at, next_attempt_at, delivered_at, "
    "last_http_status, last_error, dead_reason, dead_at";

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::~Store() = default;

namespace {

// Serialises Store::Open across processes and threads (flock on "<db>.lock"): creating the
// encrypted file, switching it to WAL and migrating are not safe to run twice at once (a second
// opener would read a half-written first page, or apply a migration again). Held only during Open;
// waits at most `timeout_ms`, then Open goes on and SQLite's own busy handling decides.
class OpenLock {
 public:
  OpenLock(const std::filesystem::path& db, int timeout_ms) {
    std::filesystem::path lock = db;
    lock += ".lock";
    fd_ = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ < 0) return;
    for (int waited = 0; ::flock(fd_, LOCK_EX | LOCK_NB) != 0 && waited < timeout_ms; waited += 10) ::usleep(10'000);
  }
  ~OpenLock() {
    if (fd_ >= 0) ::close(fd_);  // closing releases the lock
  }
  OpenLock(const OpenLock&) = delete;
  OpenLock& operator=(const OpenLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace

Result<std::unique_ptr<Store>> Store::Open(const StoreOptions& options) {
  if (options.path.empty()) return Status::InvalidInput("store_path_missing", "no database path configured; set [store].path");
  OpenLock open_lock(options.path, options.busy_timeout_ms);
  std::error_code ec;
  const bool existed = std::filesystem::exists(options.path, ec);
  if (!existed && !options.create_if_missing)
    return Status::NotFound("store_missing", options.path.string() + ": no database here; check [store].path");
  const bool encrypted = !options.unencrypted_for_benchmark_only;

  std::string key;
  Wipe wipe_key{key};
  if (encrypted) {
    auto k = ReadStoreKey(options.key_file);
    if (!k.ok()) return k.status();
    key = std::move(k.value());
  }
  // A plaintext SQLite file starts with this magic; an encrypted one starts with a random salt.
  if (existed && encrypted) {
    int fd = ::open(options.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      char magic[16] = {};
      ssize_t n = ::read(fd, magic, sizeof magic);
      ::close(fd);
      if (n == 16 && std::string(magic, 16) == std::string("SQLite format 3\0", 16))
        return Status::Corruption("store_not_encrypted", options.path.string() +
                                                             ": this is a plaintext SQLite database, not a Veridge store; refusing to use it");
    }
  }

  auto impl = std::make_unique<Impl>();
  impl->options = options;
  int flags = SQLITE_OPEN_READWRITE | (options.create_if_missing ? SQLITE_OPEN_CREATE : 0) | SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2(options.path.c_str(), &impl->db, flags, nullptr);
  if (rc != SQLITE_OK) return Translate(rc, impl->db, "opening " + options.path.string());
  sqlite3_extended_result_codes(impl->db, 1);
  // Wait for other connections from the very first read (the probe below), not only after the
  // settings: another process may be checkpointing or committing while this one opens.
  sqlite3_busy_timeout(impl->db, options.busy_timeout_ms);
  if (!existed) ::chmod(options.path.c_str(), 0600);  // encrypted, but still nobody else's business

  if (encrypted) {
    std::string spec = RawKeySpec(key);
    Wipe wipe_spec{spec};
    rc = sqlite3_key_v2(impl->db, "main", spec.data(), static_cast<int>(spec.size()));
    if (rc != SQLITE_OK) return Translate(rc, impl->db, "keying " + options.path.string(), Phase::kKeying);
    VERIDGE_RETURN_IF_ERROR(impl->SetAndVerify("PRAGMA cipher_page_size = " + std::to_string(kCipherPageSize),
                                               "PRAGMA cipher_page_size", std::to_string(kCipherPageSize)));
    // SQLCipher 3.x defaults, read back so a differently built library cannot weaken them unseen:
    // AES-256-CBC and a per-page HMAC (tamper and wrong-key detection).
    VERIDGE_RETURN_IF_ERROR(impl->SetAndVerify("PRAGMA cipher_use_hmac", "PRAGMA cipher_use_hmac", "1"));
    VERIDGE_RETURN_IF_ERROR(impl->SetAndVerify("PRAGMA cipher", "PRAGMA cipher", "AES-256-CBC"));
  }
  if (!encrypted) {
    // The same page size as the encrypted files, so the benchmark compares like with like (for
    // an existing file SQLite keeps the page size it was created with; the read-back tells).
    VERIDGE_RETURN_IF_ERROR(impl->SetAndVerify("PRAGMA page_size = " + std::to_string(kCipherPageSize), "PRAGMA page_size",
                                               std::to_string(kCipherPageSize)));
  }
  // The codec must be linked even in unencrypted mode (the benchmark compares like with like).
  auto cv = impl->QueryText("PRAGMA cipher_version", "reading cipher_version");
  if (!cv.ok()) return cv.status();
  if (cv.value().empty())
    return Status::Internal("store_no_cipher", "PRAGMA cipher_version is empty: this SQLite library has no SQLCipher codec; install libsqlcipher");
  // First real read of the file: a wrong key shows up here as SQLITE_NOTADB.
  auto probe = impl->QueryText("SELECT count(*) FROM sqlite_master", "opening " + options.path.string(),
                               encrypted ? Phase::kKeying : Phase::kOperation);
  if (!probe.ok()) return probe.status();

  if (options.max_pages > 0) {
    // max_page_count answers with the cap in force (never below the current size).
    auto r = impl->QueryText(("PRAGMA max_page_count = " + std::to_string(options.max_pages)).c_str(), "setting max_page_count");
    if (!r.ok()) return r.status();
    if (r.value().empty() || std::stoll(r.value()) < options.max_pages)
      return Status::Internal("store_setting_rejected", "PRAGMA max_page_count did not take effect");
  }
  VERIDGE_RETURN_IF_ERROR(impl->SetAndVerify("PRAGMA busy_timeout = " + std::to_string(options.busy_timeout_ms), "PRAGMA busy_timeout",
                                             std::to_string(options.busy_timeout_ms)));
  VERIDGE_RETURN_IF_ERROR(impl->SetAndVerify("PRAGMA journal_mode = WAL", "PRAGMA journal_mode", "wal"));
  VERIDGE_RETURN_IF_ERROR(impl->SetAndVerify("PRAGMA synchronous = FULL", "PRAGMA synchronous", "2"));
  VERIDGE_RETURN_IF_ERROR(impl->SetAndVerify("PRAGMA secure_delete = ON", "PRAGMA secure_delete", "1"));
  VERIDGE_RETURN_IF_ERROR(impl->SetAndVerify("PRAGMA foreign_keys = ON", "PRAGMA foreign_keys", "1"));
  // Temporary tables and VACUUM's scratch copy stay in memory, never in a plaintext temp file.
  VERIDGE_RETURN_IF_ERROR(impl->SetAndVerify("PRAGMA temp_store = MEMORY", "PRAGMA temp_store", "2"));
  VERIDGE_RETURN_IF_ERROR(impl->Migrate());
  return std::unique_ptr<Store>(new Store(std::move(impl)));
}

// ---- decisions --------------------------------------------------------------------------------

Status Store::CommitDecision(const DecisionRecord& r) {
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
  return I.InTransaction(what, [&]() -> Status {
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
      }
    }
    auto audited = I.AppendAuditLocked(r.audit);
    if (!audited.ok()) return audited.status();
    if (r.outbox) {
      auto st = I.Prepare(
          "INSERT INTO outbox(webhook_id, session_id, endpoint, payload, state, created_at, next_attempt_at) "
          "VALUES(?,?,?,?,'pending',?,?)");
      if (!st.ok()) return st.status();
      st->Bind(1, r.outbox->webhook_id);
      st->Bind(2, r.session_id);
      st->Bind(3, r.outbox->endpoint);
      st->Bind(4, r.outbox->payload);
      st->Bind(5, r.created_at);
      st->Bind(6, r.outbox->next_attempt_at);
      VERIDGE_RETURN_IF_ERROR(I.StepDone(*st, what + " (outbox)"));
    }
    return Status::Ok();
  });
}

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

// ---- audit rows -------------------------------------------------------------------------------

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

// ---- outbox -----------------------------------------------------------------------------------

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

// ---- retention --------------------------------------------------------------------------------

Result<PurgeReport> Store::PurgeBiometrics(std::int64_t cutoff, std::int64_t now) {
  std::lock_guard lock(impl_->mu);
  auto& I = *impl_;
  PurgeReport rep;
  VERIDGE_RETURN_IF_ERROR(I.InTransaction("purging biometric data", [&]() -> Status {
    auto ev = I.Prepare("DELETE FROM evidence WHERE session_id IN (SELECT session_id FROM sessions WHERE created_at < ?)");
    if (!ev.ok()) return ev.status();
    ev->Bind(1, cutoff);
    VERIDGE_RETURN_IF_ERROR(I.StepDone(*ev, "purging evidence"));
    rep.evidence = sqlite3_changes(I.db);
    auto de = I.Prepare("DELETE FROM descriptors WHERE session_id IN (SELECT session_id FROM sessions WHERE created_at < ?)");
    if (!de.ok()) return de.status();
    de->Bind(1, cutoff);
    VERIDGE_RETURN_IF_ERROR(I.StepDone(*de, "purging descriptors"));
    rep.descriptors = sqlite3_changes(I.db);
    auto se = I.Prepare("UPDATE sessions SET biometrics_purged_at = ? WHERE created_at < ? AND biometrics_purged_at IS NULL");
    if (!se.ok()) return se.status();
    se->Bind(1, now);
    se->Bind(2, cutoff);
    VERIDGE_RETURN_IF_ERROR(I.StepDone(*se, "marking purged sessions"));
    rep.sessions = sqlite3_changes(I.db);
    return Status::Ok();
  }));
  // secure_delete has zeroed the deleted cells and freed pages in the new page images, but the
  // old images are still in the WAL until a checkpoint copies the new ones over them; TRUNCATE
  // then empties the WAL. VACUUM drops the (zeroed) free pages from the file altogether.
  auto t = I.CheckpointTruncate();
  if (!t.ok()) return t.status();
  auto free_pages = I.Count("PRAGMA freelist_count", 0, false);
  if (!free_pages.ok()) return free_pages.status();
  if (free_pages.value() > 0) {
    VERIDGE_RETURN_IF_ERROR(I.Exec("VACUUM", "vacuuming after the purge"));
    rep.vacuumed = true;
    t = I.CheckpointTruncate();
    if (!t.ok()) return t.status();
  }
  rep.wal_truncated = t.value();
  return rep;
}

// ---- maintenance ------------------------------------------------------------------------------

Result<CheckReport> Store::Check() {
  std::lock_guard lock(impl_->mu);
  auto& I = *impl_;
  CheckReport rep;
  auto cv = I.QueryText("PRAGMA cipher_version", "reading cipher_version");
  if (!cv.ok()) return cv.status();
  rep.cipher_version = cv.value();
  auto ver = I.CurrentVersion();
  if (!ver.ok()) return ver.status();
  rep.schema_version = ver.value();
  auto pc = I.Count("PRAGMA page_count", 0, false);
  if (!pc.ok()) return pc.status();
  rep.page_count = pc.value();
  auto fc = I.Count("PRAGMA freelist_count", 0, false);
  if (!fc.ok()) return fc.status();
  rep.freelist_count = fc.value();

  auto ic = I.Prepare("PRAGMA integrity_check(100)");
  if (!ic.ok()) return ic.status();
  int rc;
  while ((rc = ic->Step()) == SQLITE_ROW) {
    std::string line = ic->Text(0);
    if (line != "ok") rep.problems.push_back(line);
  }
  if (rc != SQLITE_DONE) {
    // SQLCipher reports a page whose HMAC fails during integrity_check as a plain SQLITE_ERROR.
    Status st = Translate(rc, I.db, "running integrity_check");
    if (st.kind() == Status::Kind::kInternal)
      return Status::Corruption("store_corrupt", "integrity_check could not read a page (it failed to decrypt or verify: " +
                                                     std::string(sqlite3_errmsg(I.db)) + "); restore the database from a backup");
    return st;
  }
  auto fk = I.Prepare("PRAGMA foreign_key_check");
  if (!fk.ok()) return fk.status();
  while ((rc = fk->Step()) == SQLITE_ROW && rep.problems.size() < 100)
    rep.problems.push_back("foreign key violation in table " + fk->Text(0) + " rowid " + std::to_string(fk->Int(1)));
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) return Translate(rc, I.db, "running foreign_key_check");
  // SQLCipher 4 has PRAGMA cipher_integrity_check; 3.4.1 answers nothing (unknown pragma). Probe it.
  auto cic = I.Prepare("PRAGMA cipher_integrity_check");
  if (!cic.ok()) return cic.status();
  bool have_cic = false;
  while ((rc = cic->Step()) == SQLITE_ROW) {
    have_cic = true;
    std::string line = cic->Text(0);
    if (line != "ok") rep.problems.push_back("cipher: " + line);
  }
  if (rc != SQLITE_DONE) return Translate(rc, I.db, "running cipher_integrity_check");
  rep.cipher_check = have_cic ? "cipher_integrity_check: every page's HMAC verified"
                              : "SQLCipher " + rep.cipher_version +
                                    " has no cipher_integrity_check; integrity_check decrypted and HMAC-verified every page in use (" +
                                    std::to_string(rep.page_count - rep.freelist_count) + " of " + std::to_string(rep.page_count) + ")";
  if (rep.schema_version != kLatestVersion) rep.problems.push_back("schema version " + std::to_string(rep.schema_version) + " is not the latest");
  rep.ok = rep.problems.empty();
  return rep;
}

Status Store::Rekey(const std::filesystem::path& new_key_file) {
  if (impl_->options.unencrypted_for_benchmark_only)
    return Status::InvalidInput("store_not_encrypted", "this store was opened without encryption; there is no key to rotate");
  auto k = ReadStoreKey(new_key_file);
  if (!k.ok()) return k.status();
  std::string key = std::move(k.value());
  Wipe wipe_key{key};
  std::lock_guard lock(impl_->mu);
  auto& I = *impl_;
  // Empty the WAL first so no frame under the old key outlives the rotation.
  auto t = I.CheckpointTruncate();
  if (!t.ok()) return t.status().WithContext("before rekey");
  std::string spec = RawKeySpec(key);
  Wipe wipe_spec{spec};
  int rc = sqlite3_rekey_v2(I.db, "main", spec.data(), static_cast<int>(spec.size()));
  if (rc != SQLITE_OK) return Translate(rc, I.db, "re-encrypting the database");
  auto probe = I.QueryText("SELECT count(*) FROM sqlite_master", "reading after rekey");
  if (!probe.ok()) return probe.status();
  t = I.CheckpointTruncate();
  if (!t.ok()) return t.status().WithContext("after rekey");
  return Status::Ok();
}

Result<std::int64_t> Store::SchemaVersion() {
  std::lock_guard lock(impl_->mu);
  return impl_->CurrentVersion();
}

}  // namespace veridge::store
