// tests/support/raw_http.h — a deliberately plain HTTP/1.1 client over a blocking POSIX socket on
// 127.0.0.1, for tests that need to misbehave (slow headers, oversized bodies, idle connections)
// or to see exactly what the server sent. Every read is bounded by a timeout.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <map>
#include <optional>
#include <string>

namespace veridge::testing {

struct RawResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

class RawConn {
 public:
  explicit RawConn(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd_ >= 0 && ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) Close();
  }
  ~RawConn() { Close(); }
  RawConn(const RawConn&) = delete;
  RawConn& operator=(const RawConn&) = delete;

  bool ok() const { return fd_ >= 0; }
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  bool Send(const std::string& data) {
    std::size_t off = 0;
    while (off < data.size()) {
      ssize_t n = ::send(fd_, data.data() + off, data.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return false;
      off += static_cast<std::size_t>(n);
    }
    return true;
  }

  // Reads one response (headers, then Content-Length bytes of body, or up to the close).
  std::optional<RawResponse> Read(int timeout_ms = 5000) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    std::size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos)
      if (!Fill(deadline)) return std::nullopt;
    RawResponse r;
    const std::string head = buf_.substr(0, end);
    buf_.erase(0, end + 4);
    if (head.size() < 12 || head.compare(0, 5, "HTTP/") != 0) return std::nullopt;
    r.status = std::stoi(head.substr(9, 3));
    std::size_t pos = head.find("\r\n");
    while (pos != std::string::npos && pos + 2 < head.size()) {
      std::size_t eol = head.find("\r\n", pos + 2);
      std::string line = head.substr(pos + 2, eol == std::string::npos ? std::string::npos : eol - pos - 2);
      auto colon = line.find(':');
      if (colon != std::string::npos) {
        std::string k = line.substr(0, colon), v = line.substr(colon + 1);
        std::transform(k.begin(), k.end(), k.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        while (!v.empty() && v.front() == ' ') v.erase(0, 1);
        r.headers[k] = v;
      }
      pos = eol;
    }
    if (r.status == 100) return r;  // interim: no body
    if (r.headers.count("content-length")) {
      std::size_t len = std::stoul(r.headers["content-length"]);
      while (buf_.size() < len)
        if (!Fill(deadline)) return std::nullopt;
      r.body = buf_.substr(0, len);
      buf_.erase(0, len);
    } else {
      while (Fill(deadline)) {
      }
      r.body = buf_;
      buf_.clear();
    }
    return r;
  }

  // True when the server closes the connection (EOF or reset) within timeout_ms; bytes that
  // arrive meanwhile are kept for Read.
  bool ClosedWithin(int timeout_ms) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (std::chrono::steady_clock::now() < deadline) {
      if (!Fill(deadline)) return closed_;
    }
    return closed_;
  }

  // Reads until `needle` has arrived `count` times in what was read (true), or until the timeout or
  // the close (false). Everything read so far stays in buffered(); for streamed bodies.
  bool ReadUntilCount(const std::string& needle, int count, int timeout_ms) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (true) {
      int seen = 0;
      for (std::size_t at = buf_.find(needle); at != std::string::npos; at = buf_.find(needle, at + needle.size())) ++seen;
      if (seen >= count) return true;
      if (!Fill(deadline)) return false;
    }
  }
  const std::string& buffered() const { return buf_; }

  std::string Request(const std::string& method, const std::string& path, const std::string& body = "",
                      const std::string& extra_headers = "") {
    std::string r = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra_headers;
    if (method == "POST") r += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
    return r + "\r\n" + body;
  }

 private:
  // One read of what is available; false at the deadline, on close or on error.
  bool Fill(std::chrono::steady_clock::time_point deadline) {
    if (fd_ < 0) return false;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0) return false;
    char tmp[16384];
    ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0) {
      closed_ = true;
      return false;
    }
    buf_.append(tmp, static_cast<std::size_t>(n));
    return true;
  }

  int fd_ = -1;
  bool closed_ = false;
  std::string buf_;
};

// One GET or POST on a fresh connection.
inline std::optional<RawResponse> RawRequest(int port, const std::string& method, const std::string& path,
                                             const std::string& body = "", const std::string& extra_headers = "") {
  RawConn c(port);
  if (!c.ok() || !c.Send(c.Request(method, path, body, extra_headers))) return std::nullopt;
  return c.Read();
}

}  // namespace veridge::testing
