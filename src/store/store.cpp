// store/store.cpp — opening a Store (keying, settings read back, migrations), the store key file,
// and the connection helpers the repositories share (store/store_impl.h lists the other files).
#include "store/store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "common/files.h"
#include "common/hex.h"
#include "store/store_impl.h"

namespace veridge::store {

using detail::Phase;
using detail::RawKeySpec;
using detail::Stmt;
using detail::Translate;
using detail::Wipe;

namespace detail {

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

}  // namespace detail

namespace {

// SQLCipher 3.x defaults to 1024-byte pages; 4096 suits ~100 KB evidence blobs better. It must be
// set identically on every open (it is part of the file format), so it is a constant here.
constexpr int kCipherPageSize = 4096;

int HexVal(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

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

// ---- the connection ---------------------------------------------------------------------------

Store::Impl::~Impl() {
  if (db) sqlite3_close_v2(db);
  OPENSSL_cleanse(anchor_key.data(), anchor_key.size());
}

Result<Stmt> Store::Impl::Prepare(const char* sql) {
  sqlite3_stmt* s = nullptr;
  int rc = sqlite3_prepare_v2(db, sql, -1, &s, nullptr);
  if (rc != SQLITE_OK) return Translate(rc, db, "preparing a statement");
  return Stmt(db, s);
}

Status Store::Impl::Exec(const char* sql, const std::string& what, Phase phase) {
  int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return Translate(rc, db, what, phase);
  return Status::Ok();
}

Result<std::string> Store::Impl::QueryText(const char* sql, const std::string& what, Phase phase) {
  sqlite3_stmt* s = nullptr;
  int rc = sqlite3_prepare_v2(db, sql, -1, &s, nullptr);
  if (rc != SQLITE_OK) return Translate(rc, db, what, phase);
  Stmt st(db, s);
  rc = st.Step();
  if (rc == SQLITE_ROW) return st.Text(0);
  if (rc == SQLITE_DONE) return std::string();
  return Translate(rc, db, what, phase);
}

Status Store::Impl::SetAndVerify(const std::string& set_sql, const char* get_sql, const std::string& expect) {
  auto r = QueryText(set_sql.c_str(), "setting " + set_sql);
  if (!r.ok()) return r.status();
  auto got = QueryText(get_sql, std::string("reading back ") + get_sql);
  if (!got.ok()) return got.status();
  if (got.value() != expect)
    return Status::Internal("store_setting_rejected", std::string(get_sql) + " is '" + got.value() + "', expected '" + expect +
                                                          "'; this SQLCipher build does not support a setting Veridge needs");
  return Status::Ok();
}

Status Store::Impl::StepDone(Stmt& st, const std::string& what) {
  int rc = st.Step();
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) return Translate(rc, db, what);
  return Status::Ok();
}

Result<std::int64_t> Store::Impl::Count(const char* sql, std::int64_t arg, bool bind) {
  auto st = Prepare(sql);
  if (!st.ok()) return st.status();
  if (bind) st->Bind(1, arg);
  int rc = st->Step();
  if (rc != SQLITE_ROW) return Translate(rc, db, "counting rows");
  return st->Int(0);
}

// ---- open ------------------------------------------------------------------------------------

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::~Store() = default;

namespace {

// What is at [store].path before SQLite touches it.
enum class AtPath { kNothing, kEmptyFile, kDatabase };

// The message for a store whose database is gone while its anchor is still beside it.
Status Wiped(const std::filesystem::path& db, AtPath at, const Result<std::optional<detail::Anchor>>& anchor) {
  std::string held;
  if (anchor.ok() && anchor->has_value())
    held = "its anchor " + detail::AnchorPath(db).string() + " says it held " + std::to_string((*anchor)->seq) + " audit events (store id " +
           (*anchor)->store_id + ")";
  else
    held = "an anchor is beside it (" + detail::AnchorPath(db).string() + ", which does not verify: " + anchor.status().message() + ")";
  return Status::Corruption("store_wiped", "store " + db.string() + (at == AtPath::kNothing ? " is missing" : " is empty (0 bytes)") +
                                               " but " + held +
                                               ": it was deleted, wiped or truncated. Restore it from backup (the database together with "
                                               "its -wal). Nothing was created. To start a new, empty store here instead (what it held is "
                                               "then lost), move the anchor away and run `veridge db init --config FILE`");
}

}  // namespace

Result<std::unique_ptr<Store>> Store::Open(const StoreOptions& options) {
  if (options.path.empty()) return Status::InvalidInput("store_path_missing", "no database path configured; set [store].path");
  // Serialises Open across processes and threads: creating the encrypted file, switching it to WAL,
  // migrating and the anchor check are not safe to run twice at once (a second opener would read a
  // half-written first page, or apply a migration again). Held only during Open.
  detail::StoreFileLock open_lock(options.path, options.busy_timeout_ms);
  const std::filesystem::path anchor_path = detail::AnchorPath(options.path);
  auto regular = RegularFileOrAbsent(options.path);
  if (!regular.ok()) return regular.status().WithContext("[store].path");
  std::error_code ec;
  const std::uintmax_t size = *regular ? std::filesystem::file_size(options.path, ec) : 0;
  const AtPath at = !*regular ? AtPath::kNothing : size == 0 ? AtPath::kEmptyFile : AtPath::kDatabase;
  auto anchor_there = RegularFileOrAbsent(anchor_path);
  if (!anchor_there.ok()) return anchor_there.status().WithContext("the store's anchor");
  if (at != AtPath::kDatabase && !*anchor_there && !options.create_if_missing) {
    if (at == AtPath::kNothing)
      return Status::NotFound("store_missing", options.path.string() +
                                                   ": no database here; check [store].path, or create the store with `veridge db init "
                                                   "--config FILE` (or `veridge keys init`). Nothing was created");
    return Status::Corruption("store_empty", "store " + options.path.string() +
                                                 " is empty (0 bytes) and has no anchor beside it: either it was never created (create it "
                                                 "with `veridge db init --config FILE`) or it was wiped together with its anchor (restore "
                                                 "both from backup). Nothing was created");
  }
  const bool encrypted = !options.unencrypted_for_benchmark_only;

  std::string key;
  Wipe wipe_key{key};
  if (encrypted) {
    auto k = ReadStoreKey(options.key_file);
    if (!k.ok()) return k.status();
    key = std::move(k.value());
  }
  // The unencrypted benchmark mode has no key; its anchor is MACed with a fixed one (no secrecy).
  std::string anchor_key = detail::AnchorKey(encrypted ? key : std::string(32, '\0'));
  Wipe wipe_anchor_key{anchor_key};
  Result<std::optional<detail::Anchor>> anchor = std::optional<detail::Anchor>();
  if (*anchor_there) {
    anchor = detail::ReadAnchor(anchor_path, anchor_key);
    if (!anchor.ok() && anchor.status().code() != "store_anchor_invalid") return anchor.status();
  }
  if (at != AtPath::kDatabase && *anchor_there) return Wiped(options.path, at, anchor);
  const bool creating = at != AtPath::kDatabase;  // create_if_missing, and no anchor

  if (at == AtPath::kDatabase) {
    // SQLite reads and writes whole pages: a file cut short (or grown by junk) is damaged, whatever
    // page SQLite happens to read first. Found here, before any command acts on it.
    if (size % kCipherPageSize != 0)
      return Status::Corruption("store_corrupt", "store " + options.path.string() + " is " + std::to_string(size) +
                                                     " bytes, not a whole number of " + std::to_string(kCipherPageSize) +
                                                     "-byte pages: it was cut short or damaged. Nothing was changed. Restore it from a "
                                                     "backup (`veridge db check --config FILE` tells more)");
  }
  // A plaintext SQLite file starts with this magic; an encrypted one starts with a random salt.
  if (at == AtPath::kDatabase && encrypted) {
    int fd = ::open(options.path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
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
  impl->anchor_path = anchor_path;
  impl->anchor_key = anchor_key;
  int flags = SQLITE_OPEN_READWRITE | (creating ? SQLITE_OPEN_CREATE : 0) | SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2(options.path.c_str(), &impl->db, flags, nullptr);
  if (rc != SQLITE_OK) return Translate(rc, impl->db, "opening " + options.path.string());
  sqlite3_extended_result_codes(impl->db, 1);
  // Wait for other connections from the very first read (the probe below), not only after the
  // settings: another process may be checkpointing or committing while this one opens.
  sqlite3_busy_timeout(impl->db, options.busy_timeout_ms);
  // Encrypted, but still nobody else's business; also when an empty file with a wider mode was there.
  if (creating && ::chmod(options.path.c_str(), 0600) != 0)
    return Status::Io("store_io", "setting mode 0600 on " + options.path.string() + ": " + ErrnoText(errno));

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
  VERIDGE_RETURN_IF_ERROR(impl->CheckAnchorAtOpen(creating, anchor));
  return std::unique_ptr<Store>(new Store(std::move(impl)));
}

}  // namespace veridge::store
