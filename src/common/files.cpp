#include "common/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace veridge {

std::string ErrnoText(int err) { return std::strerror(err); }

namespace {

// What a non-regular file is, for the message: the operator should see why it was refused.
const char* KindOf(mode_t m) {
  if (S_ISDIR(m)) return "a directory";
  if (S_ISFIFO(m)) return "a FIFO (named pipe)";
  if (S_ISCHR(m)) return "a character device";
  if (S_ISBLK(m)) return "a block device";
  if (S_ISSOCK(m)) return "a socket";
  return "not a regular file";
}

Status NotAFile(const std::filesystem::path& path, mode_t m) {
  return Status::InvalidInput("not_a_file", path.string() + " is " + KindOf(m) + ", not a regular file; give the path of a file");
}

Status TooLarge(const std::filesystem::path& path, const std::string& size, std::uint64_t max_bytes) {
  return Status::InvalidInput("file_too_large", path.string() + ": " + size + " bytes exceeds the limit of " +
                                                    std::to_string(max_bytes) + " bytes");
}

}  // namespace

Status OpenError(const std::filesystem::path& path, int err) {
  const std::string p = path.string();
  switch (err) {
    case ENOENT: return Status::NotFound("file_not_found", p + ": no such file; check the path");
    case EACCES:
    case EPERM: return Status::Permission("permission_denied", p + ": permission denied; check the file's owner and mode");
    case ELOOP: return Status::InvalidInput("bad_path", p + ": too many levels of symbolic links (a link loop?); point it at the real file");
    case ENAMETOOLONG: return Status::InvalidInput("bad_path", p + ": the path (or one of its names) is too long; shorten it");
    case ENOTDIR: return Status::InvalidInput("bad_path", p + ": a part of the path that should be a directory is a file; check the path");
    default: return Status::Io("read_failed", p + ": " + ErrnoText(err));
  }
}

Result<InputFile> InputFile::Open(const std::filesystem::path& path, std::uint64_t max_bytes) {
  // O_NONBLOCK: open() on a FIFO with no writer would otherwise wait forever. O_NOCTTY: a terminal
  // named as input must not become our controlling terminal.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) return OpenError(path, errno);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int e = errno;
    ::close(fd);
    return OpenError(path, e);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return NotAFile(path, st.st_mode);
  }
  if (static_cast<std::uint64_t>(st.st_size) > max_bytes) {
    ::close(fd);
    return TooLarge(path, std::to_string(st.st_size), max_bytes);
  }
  int flags = ::fcntl(fd, F_GETFL);
  if (flags >= 0) ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  return InputFile(fd, path, static_cast<std::uint64_t>(st.st_size), max_bytes, st.st_mode & 07777);
}

Result<std::size_t> InputFile::Read(char* buf, std::size_t n) {
  while (true) {
    ssize_t got = ::read(fd_, buf, n);
    if (got >= 0) return static_cast<std::size_t>(got);
    if (errno != EINTR) return Status::Io("read_failed", path_.string() + ": " + ErrnoText(errno));
  }
}

Result<std::string> InputFile::ReadAll() {
  // Read to end of file rather than trusting st_size: /proc files report 0 and a file may grow.
  // One byte past the limit is enough to know it is over.
  std::string data;
  data.resize(static_cast<std::size_t>(std::min<std::uint64_t>(size_, max_bytes_)) + 1);
  std::size_t got = 0;
  while (true) {
    if (got == data.size()) {
      if (data.size() > max_bytes_) return TooLarge(path_, "more than " + std::to_string(max_bytes_), max_bytes_);
      data.resize(static_cast<std::size_t>(std::min<std::uint64_t>(max_bytes_ + 1, data.size() * 2 + 4096)));
    }
    auto n = Read(data.data() + got, data.size() - got);
    if (!n.ok()) return n.status();
    if (*n == 0) break;
    got += *n;
  }
  data.resize(got);
  return data;
}

std::string InputFile::ProcPath() const { return "/proc/self/fd/" + std::to_string(fd_); }

InputFile::InputFile(InputFile&& o) noexcept
    : fd_(o.fd_), path_(std::move(o.path_)), size_(o.size_), max_bytes_(o.max_bytes_), mode_(o.mode_) {
  o.fd_ = -1;
}

InputFile& InputFile::operator=(InputFile&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.fd_;
    path_ = std::move(o.path_);
    size_ = o.size_;
    max_bytes_ = o.max_bytes_;
    mode_ = o.mode_;
    o.fd_ = -1;
  }
  return *this;
}

InputFile::~InputFile() {
  if (fd_ >= 0) ::close(fd_);
}

Result<std::string> ReadFileBounded(const std::filesystem::path& path, std::uint64_t max_bytes) {
  auto f = InputFile::Open(path, max_bytes);
  if (!f.ok()) return f.status();
  return f->ReadAll();
}

Result<std::string> ReadSecretFile(const std::filesystem::path& path, std::uint64_t max_bytes) {
  // One open: the type and the mode are checked on the descriptor that is then read, so neither a
  // FIFO nor a file swapped in after the check can get past.
  auto f = InputFile::Open(path, max_bytes);
  if (!f.ok()) {
    if (f.status().code() == "file_not_found")
      return Status::NotFound("secret_file_missing", path.string() + ": secret file not found; create it (veridge keys init) or fix the path in the config");
    return f.status();
  }
  if (f->mode() & (S_IRWXG | S_IRWXO)) {
    return Status::Permission("insecure_permissions", path.string() +
                                                          ": secret file is accessible by group or others; run: chmod 600 " + path.string());
  }
  return f->ReadAll();
}

Result<bool> RegularFileOrAbsent(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    int e = errno;
    if (e == ENOENT) return false;
    return OpenError(path, e);
  }
  if (!S_ISREG(st.st_mode)) return NotAFile(path, st.st_mode);
  return true;
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
