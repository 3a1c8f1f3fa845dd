// common/files.h — bounded, permission-aware file access shared by every module.
//
// Contract: every read of a file from outside is bounded by a byte limit (the caller's); secret
// files (keys, PINs, webhook secrets) are refused when group- or world-accessible. Errors name the
// file and say what to do; they never include the file's contents.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "common/status.h"

namespace veridge {

// Reads a whole file of at most max_bytes. Codes: file_not_found, file_too_large, read_failed.
Result<std::string> ReadFileBounded(const std::filesystem::path& path, std::uint64_t max_bytes);

// Reads a secret (key, PIN, webhook secret). Refuses (code "insecure_permissions") if the file is
// readable or writable by group or others, so a secret never sits in a world-readable file.
Result<std::string> ReadSecretFile(const std::filesystem::path& path, std::uint64_t max_bytes = 64 * 1024);

// Writes data atomically (temp file in the same directory, fsync, rename, fsync dir) with the
// given mode (0600 for secrets). Code: write_failed (with errno text).
Status WriteFileAtomic(const std::filesystem::path& path, const std::string& data, unsigned mode = 0644);

// Text of errno for messages ("No space left on device").
std::string ErrnoText(int err);

}  // namespace veridge
