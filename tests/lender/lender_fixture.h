// tests/lender/lender_fixture.h — starts the Node lender receiver (tests/lender/receiver.mjs) over
// real HTTPS on 127.0.0.1 with an ephemeral port, and the throw-away TLS PKI it serves with
// (tests/lender/make-test-pki.sh, generated at test time). Shared by tests/net, tests/outbox and
// tests/lender.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "support/test_support.h"

namespace veridge::testing {

// Empty when Node and the npm packages are installed; else why the lender tests must skip.
inline std::string NodeMissingReason() {
  if (std::system("node --version >/dev/null 2>&1") != 0) return "node is not installed (tools/setup-debian.sh)";
  if (!std::filesystem::exists(SourceDir() / "tools/node/node_modules/jose") ||
      !std::filesystem::exists(SourceDir() / "tools/node/node_modules/standardwebhooks"))
    return "npm packages jose/standardwebhooks not installed (run tools/setup-node.sh)";
  return "";
}

struct LenderPki {
  std::filesystem::path dir;
  std::filesystem::path ca() const { return dir / "ca.pem"; }
  std::filesystem::path other_ca() const { return dir / "other-ca.pem"; }
  std::filesystem::path server_cert() const { return dir / "server.pem"; }
  std::filesystem::path server_key() const { return dir / "server.key"; }
  std::filesystem::path wrongname_cert() const { return dir / "wrongname.pem"; }
  std::filesystem::path expired_cert() const { return dir / "expired.pem"; }
  std::filesystem::path client_cert() const { return dir / "client.pem"; }
  std::filesystem::path client_key() const { return dir / "client.key"; }
};

inline bool MakeLenderPki(const std::filesystem::path& dir, LenderPki* pki) {
  pki->dir = dir;
  std::string cmd = "bash '" + (SourceDir() / "tests/lender/make-test-pki.sh").string() + "' '" + dir.string() + "'";
  return std::system(cmd.c_str()) == 0;
}

// "sha256/<base64>" of a certificate's SubjectPublicKeyInfo, computed with the openssl CLI.
inline std::string SpkiPinOf(const std::filesystem::path& cert) {
  std::string cmd = "openssl x509 -in '" + cert.string() +
                    "' -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64";
  std::string out;
  if (FILE* f = ::popen(cmd.c_str(), "r")) {
    char buf[128];
    while (fgets(buf, sizeof buf, f)) out += buf;
    ::pclose(f);
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return "sha256/" + out;
}

class NodeReceiver {
 public:
  struct Config {
    std::filesystem::path cert, key;
    std::filesystem::path secret_file;  // whsec_ file
    std::filesystem::path device_ca;    // the Veridge dev CA the receiver validates x5c against
    std::filesystem::path log;
    std::string mode = "normal";
    std::filesystem::path client_ca;    // set: the receiver demands a client certificate (mTLS)
  };
  NodeReceiver() = default;
  NodeReceiver(const NodeReceiver&) = delete;
  NodeReceiver& operator=(const NodeReceiver&) = delete;
  ~NodeReceiver() { Stop(); }

  // Starts node and waits (at most 15 s) for its {"port":N} line. Returns "" or the failure.
  std::string Start(const Config& c) {
    config_ = c;
    if (c.secret_file.empty()) {  // transport-only tests: a throw-away secret
      config_.secret_file = c.log.parent_path() / "receiver.whsec";
      std::ofstream(config_.secret_file) << "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n";
    }
    if (config_.device_ca.empty()) config_.device_ca = c.cert;
    int fds[2];
    if (::pipe(fds) != 0) return "pipe failed";
    std::vector<std::string> args = {"node", (SourceDir() / "tests/lender/receiver.mjs").string(),
                                     "--cert", config_.cert.string(), "--key", config_.key.string(),
                                     "--secret-file", config_.secret_file.string(), "--device-ca", config_.device_ca.string(),
                                     "--log", config_.log.string(), "--mode", config_.mode, "--port", "0"};
    if (!config_.client_ca.empty()) {
      args.push_back("--client-ca");
      args.push_back(config_.client_ca.string());
    }
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(fds[1], 1);
      ::close(fds[0]);
      ::close(fds[1]);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execvp("node", argv.data());
      ::_exit(127);
    }
    ::close(fds[1]);
    std::string line;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (line.find('\n') == std::string::npos && std::chrono::steady_clock::now() < deadline) {
      pollfd p{fds[0], POLLIN, 0};
      if (::poll(&p, 1, 200) <= 0) continue;
      char buf[256];
      ssize_t n = ::read(fds[0], buf, sizeof buf);
      if (n <= 0) break;
      line.append(buf, static_cast<size_t>(n));
    }
    ::close(fds[0]);
    auto j = nlohmann::json::parse(line.substr(0, line.find('\n')), nullptr, false);
    if (!j.is_object() || !j.contains("port")) return "receiver did not start (output: " + line + ")";
    port_ = j["port"].get<int>();
    return "";
  }

  void Stop() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int st = 0;
      ::waitpid(pid_, &st, 0);
      pid_ = -1;
    }
  }

  int port() const { return port_; }
  std::string url(const std::string& host = "127.0.0.1") const {
    return "https://" + host + ":" + std::to_string(port_) + "/hooks/veridge";
  }
  // The receiver's log: one JSON object per request.
  std::vector<nlohmann::json> Log() const {
    std::vector<nlohmann::json> out;
    std::ifstream in(config_.log);
    std::string l;
    while (std::getline(in, l))
      if (!l.empty()) out.push_back(nlohmann::json::parse(l, nullptr, false));
    return out;
  }

 private:
  Config config_;
  pid_t pid_ = -1;
  int port_ = 0;
};

}  // namespace veridge::testing
