// veridge doctor through the binary: it names what is missing and exits 3 until it is fixed.
#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <regex>
#include <nlohmann/json.hpp>

#include "store/store.h"
#include "support/test_support.h"

namespace {

std::pair<int, std::string> Doctor(const std::string& env, const std::string& args) {
  std::string cmd = env + " " + veridge::testing::VeridgeBinary().string() + " doctor --json " + args + " 2>/dev/null";
  FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p);
  std::string out;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  int st = ::pclose(p);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

const nlohmann::json* Find(const nlohmann::json& report, const std::string& name) {
  for (const auto& c : report["checks"])
    if (c["name"] == name) return &c;
  return nullptr;
}

}  // namespace

TEST_CASE("doctor fails on an empty model directory and says to fetch the models") {
  VERIDGE_REQUIRE_PATH(veridge::testing::VeridgeBinary(), "veridge binary");
  veridge::testing::TempDir dir;
  auto [rc, out] = Doctor("VERIDGE_MODEL_DIR=" + dir.path().string(), "");
  CHECK(rc == 3);
  auto j = nlohmann::json::parse(out);
  CHECK(j["ok"] == false);
  const auto* face = Find(j, "model dlib_face_recognition_resnet_model_v1");
  REQUIRE(face);
  CHECK((*face)["ok"] == false);
  CHECK((*face)["detail"].get<std::string>().find("fetch-models") != std::string::npos);
}

TEST_CASE("doctor reports a config with a wrong type and unsafe key files") {
  VERIDGE_REQUIRE_PATH(veridge::testing::VeridgeBinary(), "veridge binary");
  veridge::testing::TempDir dir;
  std::ofstream(dir / "bad.toml") << "[face]\nthreshold = \"high\"\n";
  auto [rc, out] = Doctor("", "--config " + (dir / "bad.toml").string());
  CHECK(rc == 2);  // bad input: the operator must fix the file
  auto report = nlohmann::json::parse(out);
  const auto* cfg = Find(report, "config");
  REQUIRE(cfg);
  CHECK((*cfg)["detail"].get<std::string>().find("face.threshold") != std::string::npos);

  std::ofstream(dir / "store.key") << std::string(32, 'k');
  ::chmod((dir / "store.key").c_str(), 0644);
  std::ofstream(dir / "ok.toml") << "[store]\nkey_file = \"store.key\"\n";
  auto [rc2, out2] = Doctor("", "--config " + (dir / "ok.toml").string());
  CHECK(rc2 == 2);
  auto report2 = nlohmann::json::parse(out2);
  const auto* key = Find(report2, "store.key_file");
  REQUIRE(key);
  CHECK((*key)["ok"] == false);
  CHECK((*key)["detail"].get<std::string>().find("chmod 600") != std::string::npos);
}

// ---- issue 13, item 5: doctor runs the commands' validation and exits 2 on each found case -----

namespace {

// A complete appliance config in `dir` whose keys, secret and store exist (made with the binary's
// own `keys init` and the store API), so that each case below changes exactly one thing.
struct Appliance {
  veridge::testing::TempDir dir;
  std::string body;
  explicit Appliance(const std::string& extra = "") {
    body = "[device]\nid = \"doctor-test\"\nkey_file = \"device.key\"\ncert_chain = \"chain.pem\"\n"
           "[store]\npath = \"v.db\"\nkey_file = \"store.key\"\n"
           "[lender]\nurl = \"https://lender.example/hook\"\nwebhook_secret_file = \"lender.whsec\"\nca_file = \"ca.pem\"\n" +
           extra;
    Write(body);
    auto cmd = veridge::testing::VeridgeBinary().string() + " keys init --config " + (dir / "veridge.toml").string() + " >/dev/null 2>&1";
    REQUIRE(std::system(cmd.c_str()) == 0);
    veridge::store::StoreOptions o;
    o.path = dir / "v.db";
    o.key_file = dir / "store.key";
    o.create_if_missing = true;
    REQUIRE(veridge::store::Store::Open(o).ok());
    // The lender's CA: any valid certificate will do for loading (the dev CA keys init made).
    std::filesystem::copy_file(dir / "dev-ca.pem", dir / "ca.pem");
  }
  void Write(const std::string& text) const { std::ofstream(dir / "veridge.toml", std::ios::trunc) << text; }
  std::pair<int, nlohmann::json> Run() const {
    // An empty model directory: the models are not what these cases are about (and hashing them
    // each run is slow); their absence is exit 3, which a config failure must override with 2.
    std::filesystem::create_directories(dir / "no-models");
    auto [rc, out] = Doctor("VERIDGE_MODEL_DIR=" + (dir / "no-models").string(), "--config " + (dir / "veridge.toml").string());
    INFO(out);
    return {rc, nlohmann::json::parse(out)};
  }
};

// The check that failed, for the message.
std::string Failed(const nlohmann::json& report) {
  std::string s;
  for (const auto& c : report["checks"])
    if (c["ok"] == false && c["required"] == true) s += c["name"].get<std::string>() + ": " + c["detail"].get<std::string>() + "\n";
  return s;
}

}  // namespace

TEST_CASE("doctor: a complete config passes every config check") {
  VERIDGE_REQUIRE_PATH(veridge::testing::VeridgeBinary(), "veridge binary");
  Appliance a;
  auto [rc, report] = a.Run();
  INFO(Failed(report));
  for (const char* name : {"config", "config keys", "lender.url", "outbox settings", "lender TLS", "lender.webhook_secret_file", "store",
                           "store.key_file", "device.key_file"}) {
    const auto* c = Find(report, name);
    INFO(name);
    REQUIRE(c);
    CHECK((*c)["ok"] == true);
  }
  CHECK(rc != 2);  // only models or tools may be missing here (exit 3)
}

TEST_CASE("doctor exits 2 on each found config case, naming it") {
  VERIDGE_REQUIRE_PATH(veridge::testing::VeridgeBinary(), "veridge binary");
  struct Case {
    const char* what;
    std::function<void(Appliance&)> apply;
    const char* expect;  // in the failing check's detail
  };
  const std::vector<Case> cases = {
      {"empty config", [](Appliance& a) { a.Write(""); }, "store.path"},
      {"invalid TOML", [](Appliance& a) { a.Write("[store\npath = 1\n"); }, "invalid TOML"},
      {"store.path = 42", [](Appliance& a) { a.Write("[store]\npath = 42\n"); }, "store.path"},
      {"64-byte store key", [](Appliance& a) {
         std::ofstream(a.dir / "store.key", std::ios::trunc) << std::string(64, 'k');
       }, "store_key_invalid"},
      {"a key that does not open the store", [](Appliance& a) {
         std::ofstream(a.dir / "store.key", std::ios::trunc) << std::string(32, 'z');
       }, "store_key_wrong"},
      {"0644 webhook secret", [](Appliance& a) { ::chmod((a.dir / "lender.whsec").c_str(), 0644); }, "chmod 600"},
      {"url = not a url", [](Appliance& a) {
         a.Write(std::regex_replace(a.body, std::regex("https://lender.example/hook"), "not a url"));
       }, "lender.url"},
      {"plain http:// lender URL", [](Appliance& a) {
         a.Write(std::regex_replace(a.body, std::regex("https://"), "http://"));
       }, "https://"},
      {"batch = -1", [](Appliance& a) { a.Write(a.body + "[outbox]\nbatch = -1\n"); }, "outbox.batch"},
      {"NaN face threshold", [](Appliance& a) { a.Write(a.body + "[face]\nthreshold = nan\n"); }, "face.threshold"},
      {"NaN PAD threshold", [](Appliance& a) { a.Write(a.body + "[liveness]\npad_threshold = nan\n"); }, "liveness.pad_threshold"},
      {"threshold = 100", [](Appliance& a) { a.Write(a.body + "[face]\nthreshold = 100.0\n"); }, "face.threshold"},
      {"no lender CA bundle", [](Appliance& a) { std::filesystem::remove(a.dir / "ca.pem"); }, "lender TLS"},
      {"a typo'd table [stroe]", [](Appliance& a) { a.Write(a.body + "[stroe]\nretention_days = 30\n"); }, "did you mean [store]?"},
      {"a typo'd key treshold", [](Appliance& a) { a.Write(a.body + "[face]\ntreshold = 0.5\n"); }, "did you mean face.threshold?"},
      {"11-year retry", [](Appliance& a) { a.Write(a.body + "[outbox]\nretry_schedule = [\"0s\", \"100000h\"]\n"); }, "retry_schedule"},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    Appliance a;
    c.apply(a);
    auto [rc, report] = a.Run();
    const std::string failed = Failed(report);
    INFO(failed);
    CHECK(rc == 2);
    CHECK(failed.find(c.expect) != std::string::npos);
  }
}
