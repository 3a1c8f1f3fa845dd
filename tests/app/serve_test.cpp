// `veridge serve` as systemd runs it: the real binary on ephemeral ports (reported through
// --ready-file), real TLS with certificates made at test time, a real sd_notify socket, SIGTERM.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "app/serve.h"
#include "audit/audit.h"
#include "common/sha256.h"
#include "lender/lender_fixture.h"
#include "net/https_client.h"
#include "pki/device_identity.h"
#include "outbox/worker.h"
#include "store/store.h"
#include "support/raw_http.h"

#include <opencv2/imgcodecs.hpp>

using namespace veridge;
using namespace veridge::testing;
using nlohmann::json;
using Ms = std::chrono::milliseconds;

namespace {

std::string Q(const std::filesystem::path& p) { return "'" + p.string() + "'"; }

std::string Slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The datagram socket systemd would listen on (NOTIFY_SOCKET).
class NotifySocket {
 public:
  explicit NotifySocket(const std::filesystem::path& path) : path_(path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
    ok_ = fd_ >= 0 && ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  ~NotifySocket() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool ok() const { return ok_; }
  // Collects messages until one contains `want` or the timeout passes.
  bool WaitFor(const std::string& want, int timeout_ms) {
    const auto deadline = std::chrono::steady_clock::now() + Ms(timeout_ms);
    while (std::chrono::steady_clock::now() < deadline) {
      if (seen_.find(want) != std::string::npos) return true;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      char buf[4096];
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n > 0) seen_.append(buf, static_cast<std::size_t>(n)).append("\n");
    }
    return seen_.find(want) != std::string::npos;
  }
  const std::string& seen() const { return seen_; }

 private:
  std::filesystem::path path_;
  int fd_ = -1;
  bool ok_ = false;
  std::string seen_;
};

struct Setup {
  TempDir dir;
  LenderPki pki;
  bool made = false;
  Setup() { made = MakeLenderPki(dir / "pki", &pki); }
  std::filesystem::path config() const { return dir / "veridge.toml"; }
  // extra: more [serve] lines; models: the model directory.
  void WriteConfig(const std::filesystem::path& models, const std::string& lender_url = "https://127.0.0.1:9/h",
                   const std::string& extra_serve = "") const {
    std::ofstream(config()) << "[device]\nid = \"kiosk-serve\"\nkey_file = \"keys/device.key\"\ncert_chain = \"keys/device-chain.pem\"\n"
                               "[store]\npath = \"veridge.db\"\nkey_file = \"keys/store.key\"\n"
                               "[models]\ndir = \"" << models.string() << "\"\n"
                            << "[lender]\nurl = \"" << lender_url << "\"\nwebhook_secret_file = \"keys/lender.whsec\"\n"
                            << "ca_file = \"" << pki.ca().string() << "\"\n"
                            << "[outbox]\nretry_schedule = [\"0s\", \"1s\", \"1s\"]\nrequest_timeout = \"5s\"\n"
                            << "[serve]\nkiosk_listen = \"127.0.0.1:0\"\napi_listen = \"127.0.0.1:0\"\n"
                            << "tls_cert = \"" << pki.server_cert().string() << "\"\ntls_key = \"" << pki.server_key().string() << "\"\n"
                            << "drain_timeout = \"5s\"\n" << extra_serve;
  }
  bool KeysInit() const {
    return std::system(("'" + VeridgeBinary().string() + "' keys init --config " + Q(config()) + " >/dev/null 2>&1").c_str()) == 0;
  }
};

// The daemon as a child process: stdout+stderr to a log file, ports from --ready-file.
class Daemon {
 public:
  ~Daemon() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  // Returns "" once the ready file is there, else why not (the child's log included).
  std::string Start(const Setup& s, const std::vector<std::pair<std::string, std::string>>& env = {}) {
    log_ = s.dir / "serve.log";
    ready_ = s.dir / "ready.json";
    std::filesystem::remove(ready_);
    pid_ = ::fork();
    if (pid_ == 0) {
      for (const auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
      int fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      std::string bin = VeridgeBinary().string(), cfg = s.config().string(), rf = ready_.string();
      ::execl(bin.c_str(), bin.c_str(), "serve", "--config", cfg.c_str(), "--ready-file", rf.c_str(), (char*)nullptr);
      ::_exit(127);
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      int st = 0;
      if (::waitpid(pid_, &st, WNOHANG) == pid_) {
        pid_ = -1;
        exit_code_ = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        return "veridge serve exited with " + std::to_string(exit_code_) + ": " + Slurp(log_);
      }
      if (std::filesystem::exists(ready_)) {
        auto j = json::parse(Slurp(ready_), nullptr, false);
        if (j.is_object()) {
          kiosk_port_ = j["kiosk"]["port"].get<int>();
          api_port_ = j["api"]["port"].get<int>();
          return "";
        }
      }
      std::this_thread::sleep_for(Ms(50));
    }
    return "no ready file within 30 s: " + Slurp(log_);
  }
  // SIGTERM, then waits up to timeout_ms; returns the exit code (-1: did not exit, or by signal).
  int Terminate(int timeout_ms, Ms* took = nullptr) {
    if (pid_ <= 0) return exit_code_;
    const auto start = std::chrono::steady_clock::now();
    ::kill(pid_, SIGTERM);
    while (std::chrono::steady_clock::now() - start < Ms(timeout_ms)) {
      int st = 0;
      if (::waitpid(pid_, &st, WNOHANG) == pid_) {
        pid_ = -1;
        if (took) *took = std::chrono::duration_cast<Ms>(std::chrono::steady_clock::now() - start);
        return exit_code_ = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
      }
      std::this_thread::sleep_for(Ms(20));
    }
    return -1;
  }
  int kiosk_port() const { return kiosk_port_; }
  int api_port() const { return api_port_; }
  std::string log() const { return Slurp(log_); }

 private:
  pid_t pid_ = -1;
  int exit_code_ = -1;
  int kiosk_port_ = 0, api_port_ = 0;
  std::filesystem::path log_, ready_;
};

Result<net::HttpResponse> Https(const Setup& s, int port, const std::string& method, const std::string& path,
                                const std::string& body = "", const std::string& bearer = "",
                                const std::vector<std::pair<std::string, std::string>>& headers = {}) {
  net::HttpsClientOptions o;
  o.tls.ca_file = s.pki.ca();
  o.connect_timeout = o.handshake_timeout = Ms(3000);
  o.total_timeout = Ms(5000);
  auto c = net::HttpsClient::Create(o);
  if (!c.ok()) return c.status();
  net::HttpRequest r;
  r.method = method;
  r.url = "https://127.0.0.1:" + std::to_string(port) + path;
  r.body = body;
  if (!bearer.empty()) r.headers.emplace_back("Authorization", "Bearer " + bearer);
  r.headers.insert(r.headers.end(), headers.begin(), headers.end());
  return (*c)->Send(r);
}

// Runs `veridge ARGS` and returns (exit code, stdout).
std::pair<int, std::string> Veridge(const std::string& args) {
  std::string out;
  FILE* f = ::popen(("'" + VeridgeBinary().string() + "' " + args + " 2>/dev/null").c_str(), "r");
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  int st = ::pclose(f);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

std::string Hex(const std::string& bytes) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) out += {d[c >> 4], d[c & 15]};
  return out;
}

}  // namespace

TEST_CASE("serve: health and readiness on both listeners, metrics on the API, READY=1, watchdog, SIGTERM exits 0") {
  REQUIRE(std::filesystem::exists(VeridgeBinary()));
  Setup s;
  REQUIRE(s.made);
  std::filesystem::create_directories(s.dir / "no-models");
  s.WriteConfig(s.dir / "no-models", "https://127.0.0.1:9/h", "api_max_body_bytes = 4096\n");
  REQUIRE(s.KeysInit());
  NotifySocket notify(s.dir / "notify.sock");
  REQUIRE(notify.ok());
  Daemon d;
  auto err = d.Start(s, {{"NOTIFY_SOCKET", (s.dir / "notify.sock").string()}, {"WATCHDOG_USEC", "400000"}});
  INFO(err);
  REQUIRE(err.empty());
  CHECK(notify.WaitFor("READY=1", 5000));
  CHECK(notify.WaitFor("WATCHDOG=1", 3000));
  CHECK(notify.seen().find("STATUS=serving, not ready: models") != std::string::npos);

  // Kiosk: plain HTTP on loopback.
  auto h = RawRequest(d.kiosk_port(), "GET", "/healthz");
  REQUIRE(h);
  CHECK(h->status == 200);
  CHECK(json::parse(h->body) == json{{"status", "alive"}});
  auto r = RawRequest(d.kiosk_port(), "GET", "/readyz");
  REQUIRE(r);
  CHECK(r->status == 503);  // the model directory is empty
  CHECK(json::parse(r->body) ==
        json{{"ready", false},
             {"checks", {{"models", false}, {"store", true}, {"keys", true}, {"clock", true}, {"camera", false}}}});
  auto km = RawRequest(d.kiosk_port(), "GET", "/metrics");
  REQUIRE(km);
  CHECK(km->status == 404);  // metrics only on the API listener
  auto post = RawRequest(d.kiosk_port(), "POST", "/healthz", "{}");
  REQUIRE(post);
  CHECK(post->status == 405);

  // API: TLS, verified against the test CA with the IP name.
  auto ah = Https(s, d.api_port(), "GET", "/healthz");
  INFO(ah.status().ToString());
  REQUIRE(ah.ok());
  CHECK(ah->status == 200);
  auto ar = Https(s, d.api_port(), "GET", "/readyz");
  REQUIRE(ar.ok());
  CHECK(ar->status == 503);
  CHECK(ar->body == r->body);
  auto m = Https(s, d.api_port(), "GET", "/metrics");
  REQUIRE(m.ok());
  CHECK(m->status == 200);
  CHECK(m->Header("content-type").value_or("").rfind("text/plain; version=0.0.4", 0) == 0);
  CHECK(m->body.find("veridge_build_info{version=\"") != std::string::npos);
  CHECK(m->body.find("veridge_ready_check{check=\"models\"} 0") != std::string::npos);
  CHECK(m->body.find("veridge_outbox_messages{state=\"pending\"} 0") != std::string::npos);
  CHECK(m->body.find("veridge_outbox_dead_letters 0") != std::string::npos);
  CHECK(m->body.find("veridge_http_requests_total{listener=\"kiosk\"} 4") != std::string::npos);
  // An oversized body is refused on the API too, before routing.
  auto big = Https(s, d.api_port(), "POST", "/healthz", std::string(64 << 10, 'x'));
  INFO(big.status().ToString());
  REQUIRE(big.ok());
  CHECK(big->status == 413);

  // No secret in any response or log line: store key, webhook secret, TLS and device keys.
  auto store_key = Slurp(s.dir / "keys/store.key");
  std::string whsec = Slurp(s.dir / "keys/lender.whsec");
  whsec = whsec.substr(0, whsec.find('\n'));
  auto tls_key = Slurp(s.pki.server_key());
  const std::string tls_key_line = tls_key.substr(tls_key.find('\n') + 1, 40);

  Ms took{0};
  CHECK(d.Terminate(10000, &took) == 0);
  CHECK(took < Ms(5000));
  const std::string log = d.log();
  INFO(log);
  CHECK(log.find("draining") != std::string::npos);
  CHECK(log.find("stopped") != std::string::npos);
  CHECK(notify.WaitFor("STOPPING=1", 1000));
  for (const std::string& secret : {whsec, whsec.substr(6), tls_key_line, Hex(store_key.substr(0, 32))}) {
    REQUIRE(secret.size() >= 20);
    CHECK(log.find(secret) == std::string::npos);
    CHECK(m->body.find(secret) == std::string::npos);
  }
}

TEST_CASE("serve: with the models installed and a clip as the camera /readyz is 200 on both listeners") {
  VERIDGE_REQUIRE_PATH(DevModelDir() / "dlib_face_recognition_resnet_model_v1.dat", "models (tools/fetch-models.sh)");
  const auto clip = SharedData("liveness/subject-a/real.webm");
  VERIDGE_REQUIRE_PATH(clip, "liveness clip subject-a/real.webm");
  Setup s;
  REQUIRE(s.made);
  s.WriteConfig(DevModelDir(), "https://127.0.0.1:9/h", "[camera]\nsource = \"" + clip.string() + "\"\n");
  REQUIRE(s.KeysInit());
  Daemon d;
  auto err = d.Start(s);
  INFO(err);
  REQUIRE(err.empty());
  // The camera is ready at its first frame: the clip opens in milliseconds, but on a loaded
  // build machine the first decode can take a moment, so poll (the cold-start budget is 2 s).
  std::optional<RawResponse> r;
  const auto until = std::chrono::steady_clock::now() + Ms(5000);
  do {
    r = RawRequest(d.kiosk_port(), "GET", "/readyz");
    if (r && r->status == 200) break;
    std::this_thread::sleep_for(Ms(50));
  } while (std::chrono::steady_clock::now() < until);
  REQUIRE(r);
  INFO(r->body);
  CHECK(r->status == 200);
  auto ar = Https(s, d.api_port(), "GET", "/readyz");
  REQUIRE(ar.ok());
  CHECK(ar->status == 200);
  CHECK(json::parse(ar->body)["ready"] == true);
  CHECK(d.Terminate(10000) == 0);
}

TEST_CASE("serve: SIGTERM with a client holding a keep-alive connection still drains and exits 0") {
  Setup s;
  REQUIRE(s.made);
  s.WriteConfig(s.dir.path());
  REQUIRE(s.KeysInit());
  Daemon d;
  auto err = d.Start(s);
  INFO(err);
  REQUIRE(err.empty());
  RawConn held(d.kiosk_port());
  REQUIRE(held.Send(held.Request("GET", "/healthz")));
  REQUIRE(held.Read());
  Ms took{0};
  CHECK(d.Terminate(10000, &took) == 0);
  CHECK(took < Ms(3000));  // the idle connection is closed at once, not waited for
  CHECK(held.ClosedWithin(1000));
}

TEST_CASE("serve: a bad configuration fails start-up with exit 2 and says why") {
  Setup s;
  REQUIRE(s.made);
  s.WriteConfig(s.dir.path());
  REQUIRE(s.KeysInit());
  auto run = [&](const std::string& extra) {
    s.WriteConfig(s.dir.path(), "https://127.0.0.1:9/h", extra);
    Daemon d;
    return d.Start(s);
  };
  // A duplicate key is a TOML error; so write the variants over the defaults instead.
  auto cfg_with = [&](const std::string& from, const std::string& to) {
    s.WriteConfig(s.dir.path());
    std::string text = Slurp(s.config());
    auto at = text.find(from);
    REQUIRE(at != std::string::npos);
    text.replace(at, from.size(), to);
    std::ofstream(s.config()) << text;
    Daemon d;
    return d.Start(s);
  };
  CHECK(cfg_with("kiosk_listen = \"127.0.0.1:0\"", "kiosk_listen = \"0.0.0.0:0\"").find("exited with 2") != std::string::npos);
  CHECK(cfg_with("kiosk_listen = \"127.0.0.1:0\"", "kiosk_listen = \"127.0.0.1\"").find("config_invalid") != std::string::npos);
  CHECK(cfg_with("tls_cert = ", "# tls_cert = ").find("tls_cert") != std::string::npos);
  CHECK(run("threads = 99\n").find("serve.threads") != std::string::npos);
  CHECK(run("idle_timeout = \"forever\"\n").find("config_invalid") != std::string::npos);
  ::chmod(s.pki.server_key().c_str(), 0644);
  auto unsafe = run("");
  CHECK(unsafe.find("exited with 2") != std::string::npos);
  CHECK(unsafe.find("group or others") != std::string::npos);
  CHECK(unsafe.find("PRIVATE KEY") == std::string::npos);
}

TEST_CASE("serve: the in-process delivery worker sends a committed result to the lender") {
  auto why = NodeMissingReason();
  if (!why.empty()) VERIDGE_SKIP(why);
  Setup s;
  REQUIRE(s.made);
  s.WriteConfig(s.dir.path());
  REQUIRE(s.KeysInit());
  NodeReceiver rx;
  REQUIRE(rx.Start({s.pki.server_cert(), s.pki.server_key(), s.dir / "keys/lender.whsec", s.dir / "keys/dev-ca.pem", s.dir / "rx.log",
                    "normal", {}}) == "");
  s.WriteConfig(s.dir.path(), rx.url());
  {
    // A decision committed as verify/ would, before the daemon starts.
    auto signer = pki::DeviceSigner::Load(s.dir / "keys/device.key", s.dir / "keys/device-chain.pem").value();
    store::StoreOptions so;
    so.path = s.dir / "veridge.db";
    so.key_file = s.dir / "keys/store.key";
    so.create_if_missing = true;  // as keys init would
    so.audit_hasher = audit::ChainHasher();
    auto db = store::Store::Open(so).value();
    const auto now = SystemClock::Instance().NowUnixSeconds();
    auto sr = outbox::SignResult({{"session_id", "serve-1"}, {"decision", "approved"}, {"reasons", json::array()}}, signer, now).value();
    store::DecisionRecord rec;
    rec.session_id = "serve-1";
    rec.created_at = now;
    rec.decision = "approved";
    rec.reasons_json = "[]";
    rec.factors_json = "{}";
    rec.result_json = sr.result_json;
    rec.outbox = store::OutboxMessageInput{sr.webhook_id, rx.url(), sr.body, now};
    REQUIRE(db->CommitDecision(rec).ok());
  }
  Daemon d;
  auto err = d.Start(s);
  INFO(err);
  REQUIRE(err.empty());
  bool delivered = false;
  for (int i = 0; i < 100 && !delivered; ++i) {
    std::this_thread::sleep_for(Ms(100));
    for (auto& l : rx.Log()) delivered = delivered || l.value("ok", false);
  }
  CHECK(delivered);
  bool counted = false;
  for (int i = 0; i < 20 && !counted; ++i) {
    auto m = Https(s, d.api_port(), "GET", "/metrics");
    counted = m.ok() && m->body.find("veridge_outbox_messages{state=\"delivered\"} 1") != std::string::npos;
    if (!counted) std::this_thread::sleep_for(Ms(100));
  }
  CHECK(counted);
  CHECK(d.Terminate(10000) == 0);
}

TEST_CASE("serve: /v1 needs a bearer token made by veridge token, and none, wrong or revoked get 401") {
  Setup s;
  REQUIRE(s.made);
  s.WriteConfig(s.dir.path());
  REQUIRE(s.KeysInit());
  const std::string cfg = " --config " + Q(s.config());
  auto [rc1, out1] = Veridge("token create --json --name lender-prod" + cfg);
  REQUIRE(rc1 == 0);
  auto created = json::parse(out1.substr(0, out1.find('\n')));
  const std::string token = created["token"], id = created["id"];
  CHECK(token.rfind("vrg_", 0) == 0);
  auto [rc2, out2] = Veridge("token create --json --name old" + cfg);
  REQUIRE(rc2 == 0);
  auto old = json::parse(out2.substr(0, out2.find('\n')));
  CHECK(Veridge("token revoke " + old["id"].get<std::string>() + cfg).first == 0);
  CHECK(Veridge("token revoke tok_nope" + cfg).first == 2);
  CHECK(Veridge("token create --name 'bad name'" + cfg).first == 2);
  auto [rc3, listed] = Veridge("token list --json" + cfg);
  CHECK(rc3 == 0);
  CHECK(listed.find(id) != std::string::npos);
  CHECK(listed.find("vrg_") == std::string::npos);  // never the token
  CHECK(listed.find(veridge::Sha256Hex(token)) == std::string::npos);  // nor its hash
  CHECK(listed.find("\"revoked_at\":null") != std::string::npos);

  Daemon d;
  auto err = d.Start(s);
  INFO(err);
  REQUIRE(err.empty());
  auto code = [](const Result<net::HttpResponse>& r) { return json::parse(r->body)["error"]["code"].get<std::string>(); };
  auto none = Https(s, d.api_port(), "GET", "/v1/sessions/ses-1");
  REQUIRE(none.ok());
  CHECK(none->status == 401);
  CHECK(code(none) == "unauthorized");
  CHECK(none->Header("www-authenticate").value_or("").rfind("Bearer", 0) == 0);
  auto wrong = Https(s, d.api_port(), "GET", "/v1/sessions/ses-1", "", "vrg_" + std::string(64, '0'));
  REQUIRE(wrong.ok());
  CHECK(wrong->status == 401);
  CHECK(code(wrong) == "invalid_token");
  auto revoked = Https(s, d.api_port(), "GET", "/v1/sessions/ses-1", "", old["token"].get<std::string>());
  REQUIRE(revoked.ok());
  CHECK(revoked->status == 401);
  CHECK(revoked->body == wrong->body);
  auto good = Https(s, d.api_port(), "GET", "/v1/sessions/ses-1", "", token);
  REQUIRE(good.ok());
  CHECK(good->status == 404);
  CHECK(code(good) == "session_not_found");
  // The OpenAPI document, over real TLS, for a token holder only.
  auto spec = Https(s, d.api_port(), "GET", "/v1/openapi.json", "", token);
  REQUIRE(spec.ok());
  CHECK(spec->status == 200);
  CHECK(json::parse(spec->body)["openapi"] == "3.1.0");
  auto spec_anon = Https(s, d.api_port(), "GET", "/v1/openapi.json");
  REQUIRE(spec_anon.ok());
  CHECK(spec_anon->status == 401);
  // The kiosk listener has no /v1 at all.
  auto kiosk = RawRequest(d.kiosk_port(), "GET", "/v1/sessions/ses-1", "", "Authorization: Bearer " + token + "\r\n");
  REQUIRE(kiosk);
  CHECK(kiosk->status == 404);
  // Revocation takes effect on the running daemon at once.
  REQUIRE(Veridge("token revoke " + id + cfg).first == 0);
  auto after = Https(s, d.api_port(), "GET", "/v1/sessions/ses-1", "", token);
  REQUIRE(after.ok());
  CHECK(after->status == 401);
  CHECK(d.Terminate(10000) == 0);
  CHECK(d.log().find(token) == std::string::npos);
  CHECK(d.log().find(token.substr(4)) == std::string::npos);
}

// Issue 13: the daemon's delivery worker writes to the store; it must not start on a store that
// `db check` calls corrupt (a damaged page), or on one that was wiped (its anchor says it held
// events), and it must never make a new one in its place.
TEST_CASE("serve: refuses to start on a corrupt or a wiped store, and creates none") {
  Setup s;
  REQUIRE(s.made);
  s.WriteConfig(s.dir.path());
  REQUIRE(s.KeysInit());  // creates the store
  const auto db = s.dir / "veridge.db";
  {
    store::StoreOptions so;
    so.path = db;
    so.key_file = s.dir / "keys/store.key";
    so.create_if_missing = true;  // keys init made it; an older keys init did not
    so.audit_hasher = audit::ChainHasher();
    auto opened = store::Store::Open(so);
    REQUIRE(opened.ok());
    for (int i = 0; i < 3; ++i) {
      store::DecisionRecord rec;
      rec.session_id = "corrupt-" + std::to_string(i);
      rec.created_at = 1'700'000'000 + i;
      rec.decision = "approved";
      rec.reasons_json = "[]";
      rec.factors_json = "{}";
      rec.result_json = "{}";
      rec.evidence = {{"best_frame", "image/jpeg", std::string(200 * 1024, static_cast<char>('a' + i)), ""}};
      rec.audit = {audit::MakeEvent(rec.created_at, "kiosk", "session.decided", rec.session_id)};
      REQUIRE((*opened)->CommitDecision(rec).ok());
    }
  }
  SECTION("a damaged page") {
    const auto size = std::filesystem::file_size(db);
    {
      std::fstream io(db, std::ios::in | std::ios::out | std::ios::binary);
      io.seekp(static_cast<std::streamoff>(size / 2));
      io.write(std::string(64, '\xAA').data(), 64);
    }
    Daemon d;
    auto err = d.Start(s);
    CHECK(err.find("exited with 3") != std::string::npos);
    CHECK(err.find("store_corrupt") != std::string::npos);
  }
  SECTION("wiped to 0 bytes") {
    { std::ofstream wipe(db, std::ios::trunc); }
    Daemon d;
    auto err = d.Start(s);
    CHECK(err.find("exited with 3") != std::string::npos);
    CHECK(err.find("store_wiped") != std::string::npos);
    CHECK(std::filesystem::file_size(db) == 0);
  }
}

namespace {

// Reads GET /kiosk/v1/preview.mjpg until `parts` whole JPEG parts came; returns how many did.
int PreviewParts(RawConn& c, int parts, int timeout_ms, std::string* content_type) {
  auto head_ok = c.ReadUntilCount("\r\n\r\n", 1, timeout_ms);
  if (!head_ok) return -1;
  if (!c.ReadUntilCount("--frame\r\n", parts + 1, timeout_ms)) return -2;
  const std::string& b = c.buffered();
  const auto head_end = b.find("\r\n\r\n");
  const std::string head = b.substr(0, head_end);
  if (head.rfind("HTTP/1.1 200", 0) != 0) return -3;
  auto ct = head.find("Content-Type: ");
  if (ct != std::string::npos && content_type) *content_type = head.substr(ct + 14, head.find("\r\n", ct) - ct - 14);
  int whole = 0;
  std::size_t at = head_end + 4;
  for (int i = 0; i < parts; ++i) {
    if (b.compare(at, 9, "--frame\r\n") != 0) return whole;
    const auto hend = b.find("\r\n\r\n", at);
    const auto cl = b.find("Content-Length: ", at);
    if (hend == std::string::npos || cl == std::string::npos || cl > hend) return whole;
    const std::size_t len = std::stoul(b.substr(cl + 16, hend - cl - 16));
    const std::string jpeg = b.substr(hend + 4, len);
    if (jpeg.size() != len || len < 4 || static_cast<unsigned char>(jpeg[0]) != 0xFF || static_cast<unsigned char>(jpeg[1]) != 0xD8 ||
        static_cast<unsigned char>(jpeg[len - 1]) != 0xD9)
      return whole;
    ++whole;
    at = hend + 4 + len + 2;
  }
  return whole;
}

}  // namespace

TEST_CASE("serve: a clip as the camera streams the kiosk preview, bounded in clients, with camera metrics") {
  const auto clip = SharedData("liveness/subject-a/real.webm");
  VERIDGE_REQUIRE_PATH(clip, "liveness clip subject-a/real.webm");
  Setup s;
  REQUIRE(s.made);
  std::filesystem::create_directories(s.dir / "no-models");
  s.WriteConfig(s.dir / "no-models", "https://127.0.0.1:9/h",
                "[camera]\nsource = \"" + clip.string() + "\"\npreview_max_clients = 2\npreview_max_width = 320\npreview_max_height = 240\n");
  REQUIRE(s.KeysInit());
  Daemon d;
  auto err = d.Start(s);
  INFO(err);
  REQUIRE(err.empty());

  // Until the clip delivers its first frame the preview answers 503 camera_unavailable with
  // Retry-After (the kiosk page retries); on a loaded machine the first decode can take a few
  // seconds, so wait for /readyz to report the camera up (the rest is not ready: no models).
  bool camera_up = false;
  for (const auto until = std::chrono::steady_clock::now() + Ms(10000); !camera_up && std::chrono::steady_clock::now() < until;) {
    auto r = RawRequest(d.kiosk_port(), "GET", "/readyz");
    auto j = r ? json::parse(r->body, nullptr, false) : json();
    camera_up = j.is_object() && j.contains("checks") && j["checks"].value("camera", false);
    if (!camera_up) std::this_thread::sleep_for(Ms(50));
  }
  REQUIRE(camera_up);
  RawConn a(d.kiosk_port()), b(d.kiosk_port());
  REQUIRE(a.Send(a.Request("GET", "/kiosk/v1/preview.mjpg")));
  std::string ct;
  REQUIRE(PreviewParts(a, 5, 5000, &ct) == 5);
  CHECK(ct == "multipart/x-mixed-replace; boundary=frame");
  // Downscaled to fit the configured bound.
  {
    const std::string& buf = a.buffered();
    const auto start = buf.find("\r\n\r\n", buf.find("--frame\r\n")) + 4;
    const auto cl = buf.find("Content-Length: ", buf.find("--frame\r\n"));
    const std::size_t len = std::stoul(buf.substr(cl + 16));
    cv::Mat img = cv::imdecode(std::vector<unsigned char>(buf.begin() + start, buf.begin() + start + len), cv::IMREAD_COLOR);
    REQUIRE(!img.empty());
    CHECK(img.cols <= 320);
    CHECK(img.rows <= 240);
    CHECK(img.cols == 320);  // a 640-wide clip halves
  }
  REQUIRE(b.Send(b.Request("GET", "/kiosk/v1/preview.mjpg")));
  CHECK(PreviewParts(b, 2, 5000, nullptr) == 2);
  // A third viewer is over preview_max_clients.
  auto third = RawRequest(d.kiosk_port(), "GET", "/kiosk/v1/preview.mjpg");
  REQUIRE(third);
  CHECK(third->status == 503);
  CHECK(third->body.find("preview_busy") != std::string::npos);
  // The preview is on the kiosk listener only.
  auto api_preview = Https(s, d.api_port(), "GET", "/kiosk/v1/preview.mjpg");
  REQUIRE(api_preview.ok());
  CHECK(api_preview->status == 404);

  auto r = RawRequest(d.kiosk_port(), "GET", "/readyz");
  REQUIRE(r);
  CHECK(json::parse(r->body)["checks"]["camera"] == true);
  auto m = Https(s, d.api_port(), "GET", "/metrics");
  REQUIRE(m.ok());
  INFO(m->body);
  const auto fps_at = m->body.find("\nveridge_camera_fps ");
  REQUIRE(fps_at != std::string::npos);
  const double fps = std::stod(m->body.substr(fps_at + 20));
  CHECK(fps > 15);
  CHECK(fps < 65);
  CHECK(m->body.find("veridge_camera_state{state=\"ok\"} 1") != std::string::npos);
  CHECK(m->body.find("veridge_camera_frames_dropped_total ") != std::string::npos);
  CHECK(m->body.find("veridge_preview_clients 2") != std::string::npos);

  // A stream open at SIGTERM does not hold up the drain.
  Ms took{0};
  CHECK(d.Terminate(10000, &took) == 0);
  INFO(d.log());
  CHECK(took < Ms(3000));
  CHECK(a.ClosedWithin(1000));
}

namespace {

std::string B64(const std::string& bytes) {
  static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    unsigned v = (unsigned char)bytes[i] << 16 | (unsigned char)bytes[i + 1] << 8 | (unsigned char)bytes[i + 2];
    out += {t[v >> 18], t[(v >> 12) & 63], t[(v >> 6) & 63], t[v & 63]};
  }
  if (i + 1 == bytes.size()) {
    unsigned v = (unsigned char)bytes[i] << 16;
    out += {t[v >> 18], t[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == bytes.size()) {
    unsigned v = (unsigned char)bytes[i] << 16 | (unsigned char)bytes[i + 1] << 8;
    out += {t[v >> 18], t[(v >> 12) & 63], t[(v >> 6) & 63], '='};
  }
  return out;
}

Result<net::HttpResponse> HttpsH(const Setup& s, int port, const std::string& method, const std::string& path, const std::string& body,
                                 const std::string& bearer, const std::vector<std::pair<std::string, std::string>>& headers) {
  net::HttpsClientOptions o;
  o.tls.ca_file = s.pki.ca();
  o.connect_timeout = o.handshake_timeout = Ms(3000);
  o.total_timeout = Ms(20000);
  o.max_request_body_bytes = 8 << 20;  // a 4 MiB photo in base64 (the client's default is 2 MiB)
  auto c = net::HttpsClient::Create(o);
  if (!c.ok()) return c.status();
  net::HttpRequest r;
  r.method = method;
  r.url = "https://127.0.0.1:" + std::to_string(port) + path;
  r.body = body;
  r.headers = headers;
  r.headers.emplace_back("Authorization", "Bearer " + bearer);
  r.headers.emplace_back("Content-Type", "application/json");
  return (*c)->Send(r);
}

std::string Body(const std::string& image, int expires_in = 600) {
  return json{{"applicant_ref", "app-42"}, {"reference_image", B64(image)}, {"factors", {"face", "liveness"}},
              {"locale", "en"}, {"expires_in", expires_in}}
      .dump();
}

// A daemon with the dev models (the reference-photo check) and one lender API token: what the
// session tests start from. The caller skips first when the models are absent.
struct SessionsDaemon {
  Setup s;
  Daemon d;
  std::string token;
  // extra: more lines after [serve] (other sections may follow). "" once ready, else why not.
  std::string Start(const std::string& extra) {
    if (!s.made) return "no test PKI";
    s.WriteConfig(DevModelDir(), "https://127.0.0.1:9/h", extra);
    if (!s.KeysInit()) return "keys init failed";
    auto [rc, out] = Veridge("token create --json --name lender --config " + Q(s.config()));
    if (rc != 0) return "token create failed: " + out;
    token = json::parse(out.substr(0, out.find('\n')))["token"];
    return d.Start(s);
  }
  Result<net::HttpResponse> Api(const std::string& method, const std::string& path, const std::string& body = "",
                                const std::vector<std::pair<std::string, std::string>>& headers = {}) const {
    return HttpsH(s, d.api_port(), method, path, body, token, headers);
  }
};

}  // namespace

TEST_CASE("serve: lender sessions — create with a checked photo, get, cancel, idempotency, bad photos, restart aborts") {
  VERIDGE_REQUIRE_PATH(DevModelDir() / "shape_predictor_68_face_landmarks.dat", "models (tools/fetch-models.sh)");
  const auto face = SharedData("faces/deepface/img1.jpg"), couple = SharedData("faces/deepface/couple.jpg");
  VERIDGE_REQUIRE_PATH(face, "../shared/data faces");
  VERIDGE_REQUIRE_PATH(couple, "../shared/data faces");
  SessionsDaemon sd;
  auto err = sd.Start("rate_per_second = 0\n");
  INFO(err);
  REQUIRE(err.empty());
  const Setup& s = sd.s;
  Daemon& d = sd.d;
  const std::string& token = sd.token;
  auto code = [](const Result<net::HttpResponse>& r) { return json::parse(r->body)["error"]["code"].get<std::string>(); };

  auto created = HttpsH(s, d.api_port(), "POST", "/v1/sessions", Body(Slurp(face)), token, {{"Idempotency-Key", "k-1"}});
  INFO((created.ok() ? std::string() : created.status().ToString()));
  REQUIRE(created.ok());
  INFO(created->body);
  REQUIRE(created->status == 201);
  CHECK_FALSE(created->Header("Idempotent-Replayed"));
  auto c = json::parse(created->body);
  const std::string id = c["id"];
  CHECK(id.rfind("ses_", 0) == 0);
  CHECK(c["state"] == "created");
  CHECK(c["kiosk_code"].get<std::string>().size() == 6);
  CHECK(c["expires_at"].get<std::int64_t>() > SystemClock::Instance().NowUnixSeconds() + 500);

  auto replay = HttpsH(s, d.api_port(), "POST", "/v1/sessions", Body(Slurp(face)), token, {{"Idempotency-Key", "k-1"}});
  REQUIRE(replay.ok());
  CHECK(replay->status == 201);
  CHECK(replay->Header("Idempotent-Replayed") == std::optional<std::string>("true"));
  CHECK(json::parse(replay->body) == c);
  auto reused = HttpsH(s, d.api_port(), "POST", "/v1/sessions", Body(Slurp(face), 700), token, {{"Idempotency-Key", "k-1"}});
  REQUIRE(reused.ok());
  CHECK(reused->status == 422);
  CHECK(code(reused) == "idempotency_key_reused");

  auto got = HttpsH(s, d.api_port(), "GET", "/v1/sessions/" + id, "", token, {});
  REQUIRE(got.ok());
  CHECK(got->status == 200);
  auto g = json::parse(got->body);
  CHECK(g["state"] == "created");
  CHECK(g["factors"] == json{"face", "liveness"});
  CHECK(got->body.find(c["kiosk_code"].get<std::string>()) == std::string::npos);  // the code is shown once, at creation

  // Bad photos, each with its code.
  auto two = HttpsH(s, d.api_port(), "POST", "/v1/sessions", Body(Slurp(couple)), token, {});
  REQUIRE(two.ok());
  CHECK(two->status == 422);
  CHECK(code(two) == "multiple_faces");
  std::string corrupt = Slurp(face).substr(0, 2000);
  auto cut = HttpsH(s, d.api_port(), "POST", "/v1/sessions", Body(corrupt), token, {});
  REQUIRE(cut.ok());
  INFO(cut->body);
  CHECK(cut->status == 422);
  CHECK(code(cut) == "truncated_image");
  // Damaged entropy-coded data in the middle of a whole JPEG (the end marker kept).
  std::string damaged = Slurp(face);
  for (std::size_t i = damaged.size() / 2; i < damaged.size() / 2 + 4096; ++i) damaged[i] = static_cast<char>(0xFF);
  auto bad = HttpsH(s, d.api_port(), "POST", "/v1/sessions", Body(damaged), token, {});
  REQUIRE(bad.ok());
  INFO(bad->body);
  CHECK(bad->status == 422);
  CHECK(code(bad) == "corrupt_image");
  auto text = HttpsH(s, d.api_port(), "POST", "/v1/sessions", Body("not an image at all"), token, {});
  REQUIRE(text.ok());
  CHECK(text->status == 422);
  CHECK(code(text) == "unsupported_image_format");
  std::string huge = "\xff\xd8\xff" + std::string(4 * 1024 * 1024, 'x');
  auto big = HttpsH(s, d.api_port(), "POST", "/v1/sessions", Body(huge), token, {});
  REQUIRE(big.ok());
  CHECK(big->status == 413);
  CHECK(code(big) == "reference_image_too_large");
  auto unknown = HttpsH(s, d.api_port(), "POST", "/v1/sessions", R"({"applicant_ref":"a","colour":"red"})", token, {});
  REQUIRE(unknown.ok());
  CHECK(unknown->status == 400);
  CHECK(code(unknown) == "unknown_field");

  // Cancel, then cancel again.
  auto cancel = HttpsH(s, d.api_port(), "POST", "/v1/sessions/" + id + "/cancel", "", token, {});
  REQUIRE(cancel.ok());
  CHECK(cancel->status == 200);
  CHECK(json::parse(cancel->body)["state"] == "cancelled");
  auto again = HttpsH(s, d.api_port(), "POST", "/v1/sessions/" + id + "/cancel", "", token, {});
  REQUIRE(again.ok());
  CHECK(again->status == 409);
  auto missing = HttpsH(s, d.api_port(), "GET", "/v1/sessions/ses_nope", "", token, {});
  REQUIRE(missing.ok());
  CHECK(missing->status == 404);

  // A session claimed at a kiosk when the daemon is killed is aborted at the next start.
  auto second = HttpsH(s, d.api_port(), "POST", "/v1/sessions", Body(Slurp(face)), token, {});
  REQUIRE(second.ok());
  REQUIRE(second->status == 201);
  const auto sec = json::parse(second->body);
  CHECK(sec["kiosk_code"] != c["kiosk_code"]);
  CHECK(d.Terminate(10000) == 0);
  {
    store::StoreOptions so;
    so.path = s.dir / "veridge.db";
    so.key_file = s.dir / "keys/store.key";
    so.create_if_missing = false;
    so.audit_hasher = audit::ChainHasher();
    auto db = store::Store::Open(so);
    REQUIRE(db.ok());
    REQUIRE((*db)->ClaimSessionByCode(sec["kiosk_code"], std::string(64, 'a'), SystemClock::Instance().NowUnixSeconds(), "kiosk").ok());
  }
  Daemon d2;
  err = d2.Start(s);
  INFO(err);
  REQUIRE(err.empty());
  auto after = HttpsH(s, d2.api_port(), "GET", "/v1/sessions/" + sec["id"].get<std::string>(), "", token, {});
  REQUIRE(after.ok());
  auto a = json::parse(after->body);
  CHECK(a["state"] == "aborted");
  CHECK(a["terminal_reason"] == "daemon_restarted");
  CHECK(d2.Terminate(10000) == 0);
  CHECK(d2.log().find(token) == std::string::npos);
}

TEST_CASE("serve: the kiosk listener claims a session by its code, reads it and stores consent — wrong, used, cancelled, expired and locked codes refused") {
  VERIDGE_REQUIRE_PATH(DevModelDir() / "shape_predictor_68_face_landmarks.dat", "models (tools/fetch-models.sh)");
  const auto face = SharedData("faces/deepface/img1.jpg");
  VERIDGE_REQUIRE_PATH(face, "../shared/data faces");
  SessionsDaemon sd;
  auto err = sd.Start("rate_per_second = 0\n[sessions]\nmin_expires_in = 1\n");
  INFO(err);
  REQUIRE(err.empty());
  const int kiosk = sd.d.kiosk_port();
  auto create = [&](int expires_in) {
    auto r = sd.Api("POST", "/v1/sessions", Body(Slurp(face), expires_in));
    REQUIRE(r.ok());
    REQUIRE(r->status == 201);
    return json::parse(r->body);
  };
  const json a = create(600), b = create(600), c = create(1), d = create(600);
  std::set<std::string> codes;
  for (const auto& j : {a, b, c, d}) codes.insert(j["kiosk_code"].get<std::string>());
  REQUIRE(codes.size() == 4);
  std::string wrong = "000000";
  while (codes.count(wrong)) wrong[5]++;
  auto post = [&](const std::string& path, const json& body, const std::string& headers = "") {
    auto r = RawRequest(kiosk, "POST", path, body.dump(), headers);
    REQUIRE(r);
    return *r;
  };
  auto code_of = [](const RawResponse& r) { return json::parse(r.body)["error"]["code"].get<std::string>(); };

  // A wrong code (refusal 1 of the 5 that lock code entry).
  auto unknown = post("/kiosk/v1/code", {{"code", wrong}});
  CHECK(unknown.status == 404);
  CHECK(code_of(unknown) == "unknown_code");

  // The right code: the session and a kiosk token, also as an HttpOnly cookie.
  auto claimed = post("/kiosk/v1/code", {{"code", a["kiosk_code"]}});
  INFO(claimed.body);
  REQUIRE(claimed.status == 200);
  const auto cj = json::parse(claimed.body);
  const std::string token = cj["kiosk_token"], id = a["id"];
  CHECK(cj["session"]["id"] == id);
  CHECK(cj["session"]["state"] == "claimed");
  CHECK(cj["session"]["factors"] == json{"face", "liveness"});
  CHECK(cj["session"]["max_attempts"] == 3);
  const std::string cookie = claimed.header("set-cookie");
  CHECK(cookie.rfind("veridge_kiosk=" + token + "; Path=/kiosk; HttpOnly; SameSite=Strict; Max-Age=", 0) == 0);
  // Code entry is on the kiosk listener only.
  auto on_api = Https(sd.s, sd.d.api_port(), "POST", "/kiosk/v1/code", json{{"code", b["kiosk_code"]}}.dump());
  REQUIRE(on_api.ok());
  CHECK(on_api->status == 404);

  // The page reads its session with the cookie (or the bearer); nobody else can.
  const std::string by_cookie = "Cookie: veridge_kiosk=" + token + "\r\n", by_bearer = "Authorization: Bearer " + token + "\r\n";
  auto mine = RawRequest(kiosk, "GET", "/kiosk/v1/sessions/" + id, "", by_cookie);
  REQUIRE(mine);
  CHECK(mine->status == 200);
  CHECK(json::parse(mine->body) == cj["session"]);
  auto anon = RawRequest(kiosk, "GET", "/kiosk/v1/sessions/" + id);
  REQUIRE(anon);
  CHECK(anon->status == 401);
  auto other = RawRequest(kiosk, "GET", "/kiosk/v1/sessions/" + b["id"].get<std::string>(), "", by_cookie);
  REQUIRE(other);
  CHECK(other->status == 401);

  // Consent: not by cookie alone; by the bearer it is stored with the session, once.
  const json yes = {{"accepted", true}, {"locale", "en"}, {"consent_version", "2026-12-v1"}};
  const std::string consent_path = "/kiosk/v1/sessions/" + id + "/consent";
  CHECK(post(consent_path, yes, by_cookie).status == 401);
  auto unknown_field = post(consent_path, {{"accepted", true}, {"locale", "en"}, {"consent_version", "2026-12-v1"}, {"score", 1}}, by_bearer);
  CHECK(unknown_field.status == 400);
  CHECK(code_of(unknown_field) == "unknown_field");
  auto consent = post(consent_path, yes, by_bearer);
  INFO(consent.body);
  REQUIRE(consent.status == 200);
  CHECK(json::parse(consent.body)["state"] == "capturing");
  auto lender_view = sd.Api("GET", "/v1/sessions/" + id);
  REQUIRE(lender_view.ok());
  const auto lv = json::parse(lender_view->body);
  CHECK(lv["state"] == "capturing");
  CHECK(lv["consent"]["accepted"] == true);
  CHECK(lv["consent"]["locale"] == "en");
  CHECK(lv["consent"]["version"] == "2026-12-v1");
  auto replayed = post(consent_path, yes, by_bearer);
  CHECK(replayed.status == 409);
  CHECK(code_of(replayed) == "invalid_state");

  // The used code again (refusal 2), a cancelled session's (3), an expired one's (4).
  auto used = post("/kiosk/v1/code", {{"code", a["kiosk_code"]}});
  CHECK(used.status == 409);
  CHECK(code_of(used) == "already_claimed");
  CHECK(used.body.find("vks_") == std::string::npos);
  auto cancel = sd.Api("POST", "/v1/sessions/" + b["id"].get<std::string>() + "/cancel");
  REQUIRE(cancel.ok());
  REQUIRE(cancel->status == 200);
  auto closed = post("/kiosk/v1/code", {{"code", b["kiosk_code"]}});
  CHECK(closed.status == 410);
  CHECK(code_of(closed) == "session_closed");
  while (SystemClock::Instance().NowUnixSeconds() <= c["expires_at"].get<std::int64_t>()) std::this_thread::sleep_for(Ms(100));
  auto expired = post("/kiosk/v1/code", {{"code", c["kiosk_code"]}});
  CHECK(expired.status == 410);
  CHECK(code_of(expired) == "session_expired");

  // The fifth refusal within 60 s locks code entry: even the right code is 429 with Retry-After.
  CHECK(post("/kiosk/v1/code", {{"code", wrong}}).status == 404);
  auto locked = post("/kiosk/v1/code", {{"code", d["kiosk_code"]}});
  CHECK(locked.status == 429);
  CHECK(code_of(locked) == "too_many_attempts");
  const std::string retry = locked.header("retry-after");
  REQUIRE_FALSE(retry.empty());
  CHECK(std::stoi(retry) >= 1);
  CHECK(std::stoi(retry) <= 60);
  auto still = sd.Api("GET", "/v1/sessions/" + d["id"].get<std::string>());
  REQUIRE(still.ok());
  CHECK(json::parse(still->body)["state"] == "created");

  CHECK(sd.d.Terminate(10000) == 0);
  // Neither a code nor the token reaches the log; the audit chain holds.
  const std::string log = sd.d.log();
  CHECK(log.find(token.substr(4)) == std::string::npos);
  for (const auto& code : codes) CHECK(log.find(code) == std::string::npos);
  CHECK(Veridge("audit verify --config " + Q(sd.s.config())).first == 0);
}

namespace {

// A console request: JSON for POSTs (the console refuses anything else), the cookie and CSRF token when given.
Result<net::HttpResponse> ConsoleCall(const Setup& s, int port, const std::string& method, const std::string& path,
                                      const std::string& body, std::vector<std::pair<std::string, std::string>> headers) {
  if (method == "POST") headers.emplace_back("Content-Type", "application/json");
  return Https(s, port, method, path, body, "", headers);
}

}  // namespace

TEST_CASE("serve: the console API on the TLS listener — staff add on stdin, login, me, logout, 401 without a session") {
  Setup s;
  REQUIRE(s.made);
  s.WriteConfig(s.dir.path(), "https://127.0.0.1:9/h", "\n[console]\nargon2_memory_kib = 19456\nargon2_time_cost = 1\n");
  REQUIRE(s.KeysInit());
  const std::string cfg = " --config " + Q(s.config());
  const std::string pw = "operator pass phrase 42";
  std::ofstream(s.dir / "pw.txt") << pw << "\n";
  auto [rc, out] = Veridge("staff add --role operator olga --json" + cfg + " < " + Q(s.dir / "pw.txt"));
  INFO(out);
  REQUIRE(rc == 0);
  std::filesystem::remove(s.dir / "pw.txt");
  Daemon d;
  auto err = d.Start(s);
  INFO(err);
  REQUIRE(err.empty());
  auto anon = ConsoleCall(s, d.api_port(), "GET", "/console/api/sessions", "", {});
  REQUIRE(anon.ok());
  CHECK(anon->status == 401);
  auto bad = ConsoleCall(s, d.api_port(), "POST", "/console/api/login", json{{"name", "olga"}, {"password", "not it at all"}}.dump(), {});
  REQUIRE(bad.ok());
  CHECK(bad->status == 401);
  auto login = ConsoleCall(s, d.api_port(), "POST", "/console/api/login", json{{"name", "olga"}, {"password", pw}}.dump(), {});
  REQUIRE(login.ok());
  REQUIRE(login->status == 200);
  const std::string set = login->Header("Set-Cookie").value_or("");
  CHECK(set.find("HttpOnly") != std::string::npos);
  CHECK(set.find("Secure") != std::string::npos);
  CHECK(set.find("SameSite=Strict") != std::string::npos);
  const std::string cookie = set.substr(0, set.find(';'));
  const std::string csrf = json::parse(login->body)["csrf_token"];
  auto me = ConsoleCall(s, d.api_port(), "GET", "/console/api/me", "", {{"Cookie", cookie}});
  REQUIRE(me.ok());
  CHECK(me->status == 200);
  auto today = ConsoleCall(s, d.api_port(), "GET", "/console/api/sessions", "", {{"Cookie", cookie}});
  REQUIRE(today.ok());
  CHECK(today->status == 200);
  auto audit = ConsoleCall(s, d.api_port(), "GET", "/console/api/audit", "", {{"Cookie", cookie}});
  REQUIRE(audit.ok());
  CHECK(audit->status == 403);  // an operator does not read the audit log
  auto nocsrf = ConsoleCall(s, d.api_port(), "POST", "/console/api/logout", "{}", {{"Cookie", cookie}});
  REQUIRE(nocsrf.ok());
  CHECK(nocsrf->status == 403);
  auto logout = ConsoleCall(s, d.api_port(), "POST", "/console/api/logout", "{}", {{"Cookie", cookie}, {"X-CSRF-Token", csrf}});
  REQUIRE(logout.ok());
  CHECK(logout->status == 200);
  auto after = ConsoleCall(s, d.api_port(), "GET", "/console/api/me", "", {{"Cookie", cookie}});
  REQUIRE(after.ok());
  CHECK(after->status == 401);
  CHECK(d.Terminate(10000) == 0);
  CHECK(d.log().find(pw) == std::string::npos);
  CHECK(d.log().find(cookie.substr(cookie.find('=') + 1)) == std::string::npos);
}

TEST_CASE("serve: /metrics on the API listener answers only loopback clients (threat model G9)") {
  // It answered anyone who could reach the API port, with no token.
  auto state = std::make_shared<app::ServeState>();
  auto routes = app::ApiRoutes(state);
  auto get = [&](const std::string& from) {
    net::Request r;
    r.method = net::Method::kGet;
    r.path = "/metrics";
    r.remote_address = from;
    return routes->Dispatch(r);
  };
  for (const std::string local : {"127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"}) {
    INFO(local);
    const auto m = get(local);
    CHECK(m.status == 200);
    CHECK(m.body.find("veridge_build_info{version=") != std::string::npos);
  }
  for (const std::string remote : {"192.0.2.7", "10.0.0.1", "::ffff:192.0.2.7", "2001:db8::1", "::", "0.0.0.0", "unknown", ""}) {
    INFO(remote);
    const auto m = get(remote);
    CHECK(m.status == 403);
    CHECK(m.body.find("metrics_local_only") != std::string::npos);
    CHECK(m.body.find("veridge_") == std::string::npos);
  }
  CHECK(app::IsLoopbackAddress("::ffff:127.1.2.3"));
  CHECK_FALSE(app::IsLoopbackAddress("127.0.0.1 "));
}
