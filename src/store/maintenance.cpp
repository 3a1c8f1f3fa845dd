// store/maintenance.cpp — the operations on the whole file: retention purge (verifiable: WAL
// truncated, freed pages vacuumed away), check (integrity, foreign keys, cipher) and rekey.
#include <mutex>

#include "store/store_impl.h"

namespace veridge::store {

using detail::RawKeySpec;
using detail::Translate;
using detail::Wipe;

Result<bool> Store::Impl::CheckpointTruncate() {
  auto st = Prepare("PRAGMA wal_checkpoint(TRUNCATE)");
  if (!st.ok()) return st.status();
  int rc = st->Step();
  if (rc != SQLITE_ROW) return Translate(rc, db, "checkpointing the WAL");
  return st->Int(0) == 0 && st->Int(1) <= 0;
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
  if (rep.schema_version != detail::kLatestSchemaVersion) rep.problems.push_back("schema version " + std::to_string(rep.schema_version) + " is not the latest");
  // The anchor again (Open compared it already; another process may have changed either since).
  auto anchor = detail::ReadAnchor(I.anchor_path, I.anchor_key);
  Status in_step = anchor.ok() ? I.CompareWithAnchor(*anchor) : anchor.status();
  auto head = I.ReadHead();
  if (!head.ok()) return head.status();
  if (in_step.ok())
    rep.anchor = I.anchor_path.string() + ": in step with the database (store id " + I.store_id + ", audit event " +
                 std::to_string(head->seq) + ")";
  else
    rep.problems.push_back(in_step.code() + ": " + in_step.message());
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
  // The anchor's MAC key derives from the store key: re-MAC the anchor under the new one. (A crash
  // just before this leaves an anchor under the old key: store_anchor_invalid, fixed by reanchor.)
  auto head = I.ReadHead();
  if (!head.ok()) return head.status();
  std::string old_anchor_key = std::move(I.anchor_key);
  Wipe wipe_old{old_anchor_key};
  I.anchor_key = detail::AnchorKey(key);
  Status st = I.AdvanceAnchor(*head, /*force=*/true);
  if (!st.ok())
    return st.WithContext("the store was re-encrypted, but its anchor was not rewritten under the new key (install the new key, then run "
                          "`veridge db reanchor --config FILE`)");
  return Status::Ok();
}

}  // namespace veridge::store
