// store/sqlite_util.cpp — the one place where SQLite result codes become Status (sqlite_util.h).
#include "store/sqlite_util.h"

namespace veridge::store {

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

}  // namespace veridge::store
