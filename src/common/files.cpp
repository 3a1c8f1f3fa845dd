#include "common/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace veridge {

std::string ErrnoText(int err) { return std::strerror(err); }

Result<std::string> ReadFileBounded(const std::filesystem::path& path, std::uint64_t max_bytes) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    if (e == ENOENT) return Status::NotFound("file_not_found", path.string() + ": no such file; check the path");
    if (e == EACCES) return Status::Permission("permission_denied", path.string() + ": permission denied; check the file's owner and mode");
    return Status::Io("read_failed", path.string() + ": " + ErrnoText(e));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status::InvalidInput("not_a_file", path.string() + ": not a regular file");
  }
  if (static_cast<std::uint64_t>(st.st_size) > max_bytes) {
    ::close(fd);
    return Status::InvalidInput("file_too_large", path.string() + ": " + std::to_string(st.st_size) +
                                                      " bytes exceeds the limit of " + std::to_string(max_bytes));
  }
  std::string data;
  data.resize(static_cast<size_t>(st.st_size));
  size_t got = 0;
  while (got < data.size()) {
    ssize_t n = ::read(fd, data.data() + got, data.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      ::close(fd);
      return Status::Io("read_failed", path.string() + ": " + ErrnoText(e));
    }
    if (n == 0) break;  // file shrank while reading
    got += static_cast<size_t>(n);
  }
  data.resize(got);
  ::close(fd);
  return data;
}

Result<std::string> ReadSecretFile(const std::filesystem::path& path, std::uint64_t max_bytes) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    int e = errno;
    if (e == ENOENT)
      return Status::NotFound("secret_file_missing", path.string() + ": secret file not found; create it (veridge keys init) or fix the path in the config");
    return Status::Io("read_failed", path.string() + ": " + ErrnoText(e));
  }
  if (st.st_mode & (S_IRWXG | S_IRWXO)) {
    return Status::Permission("insecure_permissions", path.string() +
                                                          ": secret file is accessible by group or others; run: chmod 600 " + path.string());
  }
  return ReadFileBounded(path, max_bytes);
}

Status WriteFileAtomic(const std::filesystem::path& path, const std::string& data, unsigned mode) {
  std::filesystem::path tmp = path;
  tmp += ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return Status::Io("write_failed", tmp.string() + ": " + ErrnoText(errno));
  ::fchmod(fd, mode);  // umask must not widen or narrow what the caller asked for
  size_t put = 0;
  while (put < data.size()) {
    ssize_t n = ::write(fd, data.data() + put, data.size() - put);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return Status::Io("write_failed", path.string() + ": " + ErrnoText(e));
    }
    put += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return Status::Io("write_failed", path.string() + ": " + ErrnoText(e));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return Status::Io("write_failed", path.string() + ": " + ErrnoText(e));
  }
  auto dir = path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path();
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return Status::Ok();
}

}  // namespace veridge
