// store/anchor.h — private to store/: the signed marker "<db>.anchor" that sits OUTSIDE the
// database and records how far its audit chain had got, so that a database that lost committed
// transactions (a deleted or damaged WAL, an older copy put back, a wiped file) is noticed at the
// next open instead of being used as if nothing had happened. store.h ("Anchor") states what the
// anchor guarantees and what it cannot; this header is the file format and its I/O.
//
// Format: five text lines, the last one the MAC of the four before it (each ends in '\n'):
//     veridge-store-anchor 1
//     store_id <32 lowercase hex>      random at creation; also in the database (schema_version row 0)
//     seq <n>                          the last committed audit sequence number (0: no event yet)
//     head <64 lowercase hex>          that event's hash ("0"*64 when seq is 0)
//     mac <64 lowercase hex>           HMAC-SHA256 of the four lines above, under AnchorKey()
// Anything else (another version, a missing or extra line, a bad digit, a bad MAC) is
// store_anchor_invalid. The file is at most 4 KiB and is read with the bounded regular-file reader
// (a FIFO or a directory there is not_a_file, never a hang).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "common/status.h"

namespace veridge::store::detail {

struct Anchor {
  std::string store_id;  // 32 hex
  std::int64_t seq = 0;
  std::string head;      // 64 hex
};

// "<db>.anchor" beside the database.
std::filesystem::path AnchorPath(const std::filesystem::path& db);

// The anchor's MAC key: HMAC-SHA256(store key, "veridge/store-anchor/v1"). Never the raw store key
// (a leaked anchor key then opens nothing), and bound to it: a store rekeyed or copied under
// another key does not verify an old anchor. The caller wipes the result.
std::string AnchorKey(const std::string& store_key);

// nullopt when no file is at the path; store_anchor_invalid when it does not parse or verify;
// not_a_file / bad_path / read errors as common/files.h words them.
Result<std::optional<Anchor>> ReadAnchor(const std::filesystem::path& path, const std::string& mac_key);

// Writes the anchor atomically (temp file in the same directory, fsync, rename, fsync of the
// directory), mode 0600. Code store_anchor_write_failed (with the errno text).
Status WriteAnchor(const std::filesystem::path& path, const std::string& mac_key, const Anchor& anchor);

// A new random store id (128 bits, hex). Code random_failed.
Result<std::string> NewStoreId();

// flock(2) on "<db>.lock", the file Store::Open serialises on: held while an anchor is read,
// compared and replaced, so two processes committing to one store never move it backwards. Waits
// at most `timeout_ms`, then goes on unlocked (the comparison still makes a lost race harmless
// but for a short lag). Not re-entrant: never take it while Open's lock is held.
class StoreFileLock {
 public:
  StoreFileLock(const std::filesystem::path& db, int timeout_ms);
  ~StoreFileLock();
  StoreFileLock(const StoreFileLock&) = delete;
  StoreFileLock& operator=(const StoreFileLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace veridge::store::detail
