// store/anchor.cpp — the anchor file (store/anchor.h) and what the Store does with it: the check
// at open, the advance after each commit that appended audit events, the store id in the database,
// and Reanchor (store/store.h, "Anchor").
#include "store/anchor.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sys/file.h>
#include <sys/random.h>
#include <unistd.h>

#include <cerrno>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/files.h"
#include "common/hex.h"
#include "common/log.h"
#include "store/store_impl.h"

namespace veridge::store {

namespace detail {

namespace {

constexpr const char* kMagic = "veridge-store-anchor 1";
constexpr const char* kKeyLabel = "veridge/store-anchor/v1";
constexpr std::uint64_t kMaxAnchorBytes = 4096;
// schema_version row 0 is not a migration: it records the store's creation and its id.
constexpr const char* kStoreIdPrefix = "store created; id ";

bool IsHex(const std::string& s, std::size_t n) {
  if (s.size() != n) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

std::string Body(const Anchor& a) {
  return std::string(kMagic) + "\nstore_id " + a.store_id + "\nseq " + std::to_string(a.seq) + "\nhead " + a.head + "\n";
}

std::string Mac(const std::string& key, const std::string& body) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(body.data()), body.size(), md,
       &len);
  return ToHex(md, len);
}

Status Invalid(const std::filesystem::path& path, const std::string& why) {
  return Status::Corruption("store_anchor_invalid",
                            path.string() + " " + why +
                                ": it was edited or damaged, or it belongs to another store or key (a rekey that did not finish). Nothing was "
                                "changed. Restore it from the same backup as the database, or, once you have checked that the database is the "
                                "newest, write a new one with `veridge db reanchor --config FILE`");
}

}  // namespace

std::filesystem::path AnchorPath(const std::filesystem::path& db) {
  std::filesystem::path p = db;
  p += ".anchor";
  return p;
}

std::string AnchorKey(const std::string& store_key) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), store_key.data(), static_cast<int>(store_key.size()), reinterpret_cast<const unsigned char*>(kKeyLabel),
       std::char_traits<char>::length(kKeyLabel), md, &len);
  std::string key(reinterpret_cast<const char*>(md), len);
  OPENSSL_cleanse(md, sizeof md);
  return key;
}

Result<std::optional<Anchor>> ReadAnchor(const std::filesystem::path& path, const std::string& mac_key) {
  auto present = RegularFileOrAbsent(path);
  if (!present.ok()) return present.status().WithContext("the store's anchor");
  if (!present.value()) return std::optional<Anchor>();
  auto text = ReadFileBounded(path, kMaxAnchorBytes);
  if (!text.ok()) {
    if (text.status().code() == "file_not_found") return std::optional<Anchor>();  // removed since the stat
    return text.status().WithContext("the store's anchor");
  }
  std::istringstream in(*text);
  std::string magic, id_line, seq_line, head_line, mac_line, extra;
  if (!std::getline(in, magic) || magic != kMagic) return Invalid(path, "is not a Veridge store anchor (version 1)");
  std::getline(in, id_line);
  std::getline(in, seq_line);
  std::getline(in, head_line);
  std::getline(in, mac_line);
  if (std::getline(in, extra) || text->empty() || text->back() != '\n') return Invalid(path, "has extra or unterminated lines");
  Anchor a;
  auto field = [](const std::string& line, const std::string& name) -> std::optional<std::string> {
    if (line.rfind(name + " ", 0) != 0) return std::nullopt;
    return line.substr(name.size() + 1);
  };
  auto id = field(id_line, "store_id");
  auto seq = field(seq_line, "seq");
  auto head = field(head_line, "head");
  auto mac = field(mac_line, "mac");
  if (!id || !IsHex(*id, 32)) return Invalid(path, "has no valid store_id line");
  if (!head || !IsHex(*head, 64)) return Invalid(path, "has no valid head line");
  if (!mac || !IsHex(*mac, 64)) return Invalid(path, "has no valid mac line");
  if (!seq || seq->empty() || seq->size() > 18 || seq->find_first_not_of("0123456789") != std::string::npos)
    return Invalid(path, "has no valid seq line");
  a.store_id = *id;
  a.seq = std::stoll(*seq);
  a.head = *head;
  const std::string want = Mac(mac_key, Body(a));
  if (want.size() != mac->size() || CRYPTO_memcmp(want.data(), mac->data(), want.size()) != 0)
    return Invalid(path, "does not verify (its MAC is wrong)");
  return std::optional<Anchor>(std::move(a));
}

Status WriteAnchor(const std::filesystem::path& path, const std::string& mac_key, const Anchor& anchor) {
  const std::string body = Body(anchor);
  Status st = WriteFileAtomic(path, body + "mac " + Mac(mac_key, body) + "\n", 0600);
  if (!st.ok())
    return Status::Io("store_anchor_write_failed", "writing the store's anchor " + path.string() + ": " + st.message() +
                                                        "; free space or fix the directory's permissions, then run the command again");
  return Status::Ok();
}

Result<std::string> NewStoreId() {
  unsigned char id[16];
  size_t got = 0;
  while (got < sizeof id) {
    ssize_t n = ::getrandom(id + got, sizeof id - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::Io("random_failed", std::string("getrandom: ") + ErrnoText(errno));
    got += static_cast<size_t>(n);
  }
  return ToHex(id, sizeof id);
}

StoreFileLock::StoreFileLock(const std::filesystem::path& db, int timeout_ms) {
  std::filesystem::path lock = db;
  lock += ".lock";
  fd_ = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NONBLOCK, 0600);
  if (fd_ < 0) return;
  for (int waited = 0; ::flock(fd_, LOCK_EX | LOCK_NB) != 0 && waited < timeout_ms; waited += 10) ::usleep(10'000);
}

StoreFileLock::~StoreFileLock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the lock
}

}  // namespace detail

using detail::kZeroHash;

// ---- the store id (schema_version row 0) -------------------------------------------------------

Result<std::string> Store::Impl::ReadStoreId() {
  auto d = QueryText("SELECT description FROM schema_version WHERE version = 0", "reading the store id");
  if (!d.ok()) return d.status();
  const std::string prefix = detail::kStoreIdPrefix;
  if (d->rfind(prefix, 0) != 0) return std::string();
  std::string id = d->substr(prefix.size());
  return id.size() == 32 && id.find_first_not_of("0123456789abcdef") == std::string::npos ? id : std::string();
}

Status Store::Impl::InsertStoreIdLocked(const std::string& id) {
  auto st = Prepare("INSERT OR REPLACE INTO schema_version(version, applied_at, description) VALUES(0, strftime('%s','now'), ?)");
  if (!st.ok()) return st.status();
  st->Bind(1, std::string(detail::kStoreIdPrefix) + id);
  return StepDone(*st, "recording the store id");
}

Result<Store::Impl::Head> Store::Impl::ReadHead() {
  auto st = Prepare("SELECT seq, hash FROM audit_head WHERE id = 1");
  if (!st.ok()) return st.status();
  Head h{0, kZeroHash};
  int rc = st->Step();
  if (rc == SQLITE_ROW) h = {st->Int(0), st->Text(1)};
  else if (rc != SQLITE_DONE) return detail::Translate(rc, db, "reading the audit head");
  return h;
}

Result<std::string> Store::Impl::EventHash(std::int64_t seq) {
  if (seq == 0) return std::string(kZeroHash);
  auto st = Prepare("SELECT hash FROM audit_events WHERE seq = ?");
  if (!st.ok()) return st.status();
  st->Bind(1, seq);
  int rc = st->Step();
  if (rc == SQLITE_ROW) return st->Text(0);
  if (rc == SQLITE_DONE) return std::string();
  return detail::Translate(rc, db, "reading an audit event");
}

// ---- writing the anchor ------------------------------------------------------------------------

Status Store::Impl::AdvanceAnchor(const Head& head, bool force) {
  detail::StoreFileLock lock(options.path, options.busy_timeout_ms);
  if (!force) {
    // Forward only: another process may have committed (and anchored) more in the meantime.
    auto cur = detail::ReadAnchor(anchor_path, anchor_key);
    if (cur.ok() && cur->has_value() && (*cur)->store_id == store_id && (*cur)->seq >= head.seq) return Status::Ok();
  }
  return detail::WriteAnchor(anchor_path, anchor_key, detail::Anchor{store_id, head.seq, head.hash});
}

void Store::Impl::AnchorAfterCommit() {
  if (!appended) return;
  Head h = std::move(*appended);
  appended.reset();
  if (anchor_write_deferred) return;  // Reanchor writes it itself
  // The transaction is committed and stays so: a failed anchor write does not undo it. The anchor
  // then lags, which the next Open repairs (or refuses to open, when it cannot write either).
  Status st = AdvanceAnchor(h, false);
  if (!st.ok()) spdlog::error("store: committed audit event {} but could not advance the anchor: {}", h.seq, st.message());
}

// ---- the check at open -----------------------------------------------------------------------

Status Store::Impl::CreateAnchorLocked() {
  auto id = detail::NewStoreId();
  if (!id.ok()) return id.status();
  VERIDGE_RETURN_IF_ERROR(InTransaction("recording the store id", [&]() -> Status { return InsertStoreIdLocked(*id); }));
  store_id = *id;
  auto head = ReadHead();
  if (!head.ok()) return head.status();
  return detail::WriteAnchor(anchor_path, anchor_key, detail::Anchor{store_id, head->seq, head->hash});
}

Status Store::Impl::CompareWithAnchor(const std::optional<detail::Anchor>& anchor) {
  const std::string db_name = options.path.string();
  auto id = ReadStoreId();
  if (!id.ok()) return id.status();
  store_id = *id;
  auto head = ReadHead();
  if (!head.ok()) return head.status();
  if (!anchor) {
    // No audit event yet: nothing the anchor protects can have been lost; anchor it now (a store
    // made before anchors existed, or a crash between creating a store and its first anchor).
    if (head->seq == 0 && store_id.empty()) return CreateAnchorLocked();
    if (head->seq == 0) return detail::WriteAnchor(anchor_path, anchor_key, detail::Anchor{store_id, 0, kZeroHash});
    return Status::Corruption(
        "store_anchor_missing",
        db_name + ": its anchor " + anchor_path.string() + " is missing, but the database holds " + std::to_string(head->seq) +
            " audit events: without the anchor a rollback of this database cannot be detected (the anchor was deleted, or the database "
            "was copied here without it, or it was made by a Veridge without anchors). Nothing was changed. Restore the anchor from the "
            "same backup as the database, or, once you have checked that this database is the newest, write a new one with "
            "`veridge db reanchor --config FILE`");
  }
  const std::string reanchor = " If this database is the one to keep, accept it with `veridge db reanchor --config FILE` (the audit log "
                               "records that you did).";
  if (store_id.empty() || store_id != anchor->store_id)
    return Status::Corruption("store_replaced", db_name + " is not the database its anchor belongs to (store id " +
                                                    (store_id.empty() ? std::string("none") : store_id) + " here, " + anchor->store_id +
                                                    " in " + anchor_path.string() +
                                                    "): another store's database was put in its place. Nothing was changed. Put the right "
                                                    "database back (from backup)." +
                                                    reanchor);
  if (head->seq < anchor->seq)
    return Status::Corruption(
        "store_rolled_back",
        db_name + ": the audit log ends at event " + std::to_string(head->seq) + " but the anchor says event " + std::to_string(anchor->seq) +
            " was committed: the newest " + std::to_string(anchor->seq - head->seq) +
            " audited transaction(s) (sessions, results, delivery changes) are gone. Its WAL (" + db_name +
            "-wal) was deleted, truncated or damaged, or an older copy of the database was put back. Nothing was changed. Restore the "
            "newest backup of the database together with its -wal." +
            reanchor);
  auto at = EventHash(anchor->seq);
  if (!at.ok()) return at.status();
  if (*at != anchor->head)
    return Status::Corruption("store_rolled_back", db_name + ": audit event " + std::to_string(anchor->seq) +
                                                       " is not the one the anchor recorded (hash " + at->substr(0, 16) + "... here, " +
                                                       anchor->head.substr(0, 16) +
                                                       "... in the anchor): the database was rolled back and written to since. Nothing "
                                                       "was changed. Restore the newest backup of the database together with its -wal." +
                                                       reanchor);
  // Ahead of the anchor by the transactions whose anchor write a crash (or a full disk) cut off:
  // they are committed, so the anchor moves up to them.
  if (head->seq > anchor->seq) return detail::WriteAnchor(anchor_path, anchor_key, detail::Anchor{store_id, head->seq, head->hash});
  return Status::Ok();
}

Status Store::Impl::CheckAnchorAtOpen(bool created, const Result<std::optional<detail::Anchor>>& anchor) {
  if (created) return CreateAnchorLocked();
  Status st = anchor.ok() ? CompareWithAnchor(*anchor) : anchor.status();
  if (st.ok() || !options.accept_anchor_mismatch || st.kind() != Status::Kind::kCorruption) return st;
  // `db reanchor`: open anyway and keep what was found, for Reanchor to record.
  if (!anchor.ok()) {
    auto id = ReadStoreId();
    if (!id.ok()) return id.status();
    store_id = *id;
  }
  anchor_finding = st;
  return Status::Ok();
}

// ---- public ----------------------------------------------------------------------------------

Result<AnchorInfo> Store::AnchorState() {
  std::lock_guard lock(impl_->mu);
  auto& I = *impl_;
  AnchorInfo info;
  info.path = I.anchor_path;
  info.store_id = I.store_id;
  info.finding = I.anchor_finding.ok() ? "" : I.anchor_finding.code();
  auto a = detail::ReadAnchor(I.anchor_path, I.anchor_key);
  if (a.ok() && a->has_value()) {
    info.seq = (*a)->seq;
    info.head = (*a)->head;
  }
  return info;
}

Result<AuditEvent> Store::Reanchor(std::int64_t at, const std::string& actor, const std::string& reason) {
  std::lock_guard lock(impl_->mu);
  auto& I = *impl_;
  VERIDGE_RETURN_IF_ERROR(detail::CheckLen(reason, kMaxTextBytes, "reanchor reason"));
  nlohmann::json detail = {{"found", I.anchor_finding.ok() ? std::string("in_step") : I.anchor_finding.code()}, {"reason", reason}};
  auto old = detail::ReadAnchor(I.anchor_path, I.anchor_key);
  if (old.ok() && old->has_value()) detail["previous"] = {{"store_id", (*old)->store_id}, {"seq", (*old)->seq}, {"head", (*old)->head}};
  else detail["previous"] = old.ok() ? "none" : old.status().code();
  AuditEvent stored;
  I.anchor_write_deferred = true;
  Status st = I.InTransaction("re-anchoring the store", [&]() -> Status {
    if (I.store_id.empty()) {
      auto id = detail::NewStoreId();
      if (!id.ok()) return id.status();
      VERIDGE_RETURN_IF_ERROR(I.InsertStoreIdLocked(*id));
      I.store_id = *id;
    }
    AuditEvent ev;
    ev.at = at;
    ev.actor = actor;
    ev.action = "store.reanchored";
    ev.subject = I.store_id;
    ev.detail_json = detail.dump();
    auto r = I.AppendAuditLocked({ev});
    if (!r.ok()) return r.status();
    stored = r->front();
    return Status::Ok();
  });
  I.anchor_write_deferred = false;
  if (!st.ok()) return st;
  VERIDGE_RETURN_IF_ERROR(I.AdvanceAnchor({stored.seq, stored.hash}, /*force=*/true));
  I.anchor_finding = Status::Ok();
  return stored;
}

Status Store::QuickCheck() {
  std::lock_guard lock(impl_->mu);
  auto& I = *impl_;
  auto st = I.Prepare("PRAGMA quick_check(1)");
  if (!st.ok()) return st.status();
  int rc = st->Step();
  if (rc == SQLITE_ROW && st->Text(0) == "ok") return Status::Ok();
  if (rc != SQLITE_ROW) {
    // SQLCipher reports a page that fails its HMAC as a plain SQLITE_ERROR ("SQL logic error").
    Status t = detail::Translate(rc, I.db, "running quick_check");
    if (t.kind() != Status::Kind::kInternal && t.kind() != Status::Kind::kCorruption) return t;
  }
  std::string what = rc == SQLITE_ROW ? st->Text(0) : std::string("a page failed to decrypt or verify: ") + sqlite3_errmsg(I.db);
  return Status::Corruption("store_corrupt", I.options.path.string() + " failed its quick integrity check (" + what +
                                                  "); nothing was written. Run `veridge db check --config FILE` for the details and restore "
                                                  "the database from a backup");
}

}  // namespace veridge::store
