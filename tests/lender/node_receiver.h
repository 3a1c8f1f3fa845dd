// tests/lender/node_receiver.h — runs the Node lender receiver (tests/lender/receiver.mjs) as a child
// process over real HTTPS on 127.0.0.1 with an ephemeral port, and reads its request log. The
// receiver checks every delivery the way a lender would (standardwebhooks HMAC, jose JWS, the x5c
// chain), or only answers 204 in "accept" mode.
//
// Catch2-free on purpose: the lender tests (through lender_fixture.h) and tools/bench-delivery both
// use it. Needs VERIDGE_SOURCE_DIR (the checkout) defined by the build.
#pragma once

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace veridge::testing {

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
    std::vector<std::string> args = {"node", (std::filesystem::path(VERIDGE_SOURCE_DIR) / "tests/lender/receiver.mjs").string(),
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
