// common/files.h — bounded, permission-aware file access shared by every module.
//
// Contract
//  * Every file read from outside (config, certificates, CRLs, webhook inputs, images, models,
//    keys, PINs) goes through InputFile / ReadFileBounded / ReadSecretFile. They open the path with
//    O_NONBLOCK, so open() returns at once even on a FIFO, a tty or another device, and then check
//    the type with fstat on that same descriptor (no window between check and use). Anything but a
//    regular file is refused with code "not_a_file", and the message says what it is ("a FIFO (named
//    pipe)", "a directory", "a character device" ...). A regular file cannot block a read, so every
//    read is bounded in time as well as in bytes.
//  * Reads are bounded by the caller's byte limit: by the size fstat reports AND by what read()
//    returns (a file that grows while it is read, or reports size 0 like /proc files, is still cut
//    at the limit and refused with "file_too_large").
//  * Libraries that insist on a path (OpenCV video, dlib and cv::dnn models) get the path of the
//    descriptor InputFile holds open (ProcPath(): "/proc/self/fd/N"), so they open the very file
//    that was checked.
//  * Secret files (keys, PINs, webhook secrets) are also refused when group- or world-accessible.
//  * Errors name the file and say what to do; they never include the file's contents. Codes:
//      file_not_found (kNotFound)       ENOENT
//      permission_denied (kPermission)  EACCES / EPERM
//      bad_path (kInvalidInput)         ELOOP (a symbolic-link loop), ENAMETOOLONG, ENOTDIR
//      not_a_file (kInvalidInput)       a directory, FIFO, device or socket
//      file_too_large (kInvalidInput)   over the caller's limit
//      read_failed (kIo)                any other OS error
//  * Thread-safety: free functions are thread-safe; an InputFile is used from one thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace veridge {

// A read-only descriptor on a checked regular file, closed on destruction. Move-only.
class InputFile {
 public:
  // Opens `path` without blocking and refuses anything but a regular file of at most max_bytes
  // (codes above). O_NONBLOCK is cleared again after the check: it means nothing for regular files.
  static Result<InputFile> Open(const std::filesystem::path& path, std::uint64_t max_bytes);

  // Reads the whole file, at most the limit given to Open (file_too_large if it grew past it).
  Result<std::string> ReadAll();
  // Reads up to n bytes; 0 at end of file. Retries EINTR. Code read_failed.
  Result<std::size_t> Read(char* buf, std::size_t n);

  int fd() const { return fd_; }
  std::uint64_t size() const { return size_; }  // as fstat reported it at Open
  unsigned mode() const { return mode_; }       // st_mode permission bits at Open
  const std::filesystem::path& path() const { return path_; }
  // "/proc/self/fd/N": for libraries that open by name; valid while this InputFile lives.
  std::string ProcPath() const;

  InputFile(InputFile&& o) noexcept;
  InputFile& operator=(InputFile&& o) noexcept;
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;
  ~InputFile();

 private:
  InputFile(int fd, std::filesystem::path path, std::uint64_t size, std::uint64_t max_bytes, unsigned mode)
      : fd_(fd), path_(std::move(path)), size_(size), max_bytes_(max_bytes), mode_(mode) {}
  int fd_ = -1;
  std::filesystem::path path_;
  std::uint64_t size_ = 0;
  std::uint64_t max_bytes_ = 0;
  unsigned mode_ = 0;
};

// Reads a whole file of at most max_bytes (InputFile::Open + ReadAll).
Result<std::string> ReadFileBounded(const std::filesystem::path& path, std::uint64_t max_bytes);

// Reads a secret (key, PIN, webhook secret). Refuses (code "insecure_permissions") if the file is
// readable or writable by group or others, so a secret never sits in a world-readable file; a
// missing file is "secret_file_missing"; a directory or FIFO is "not_a_file" (never "chmod 600").
Result<std::string> ReadSecretFile(const std::filesystem::path& path, std::uint64_t max_bytes = 64 * 1024);

// For a path that a library opens itself and that may not exist yet (the SQLite database and its
// -wal / -shm / -journal companions): false when nothing is there, true for a regular file, an
// error (not_a_file, bad_path, permission_denied, read_failed) for anything else. Uses stat(2),
// which never blocks on a FIFO. There is a window between this check and the library's open:
// use it where the library gives no descriptor seam, and check again where it does.
Result<bool> RegularFileOrAbsent(const std::filesystem::path& path);

// The Status for a failed open/stat of `path` with errno `err` (codes above), so every module words
// ENOENT, ELOOP, ENAMETOOLONG and EACCES the same way.
Status OpenError(const std::filesystem::path& path, int err);

// Writes data atomically (temp file in the same directory, fsync, rename, fsync dir) with the
// given mode (0600 for secrets). Code: write_failed (with errno text).
Status WriteFileAtomic(const std::filesystem::path& path, const std::string& data, unsigned mode = 0644);

// Text of errno for messages ("No space left on device").
std::string ErrnoText(int err);

}  // namespace veridge
