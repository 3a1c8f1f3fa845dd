// veridge doctor through the binary: it names what is missing and exits 3 until it is fixed.
#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

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
  CHECK(rc == 3);
  auto report = nlohmann::json::parse(out);
  const auto* cfg = Find(report, "config");
  REQUIRE(cfg);
  CHECK((*cfg)["detail"].get<std::string>().find("face.threshold") != std::string::npos);

  std::ofstream(dir / "store.key") << std::string(32, 'k');
  ::chmod((dir / "store.key").c_str(), 0644);
  std::ofstream(dir / "ok.toml") << "[store]\nkey_file = \"store.key\"\n";
  auto [rc2, out2] = Doctor("", "--config " + (dir / "ok.toml").string());
  CHECK(rc2 == 3);
  auto report2 = nlohmann::json::parse(out2);
  const auto* key = Find(report2, "store.key_file");
  REQUIRE(key);
  CHECK((*key)["ok"] == false);
  CHECK((*key)["detail"].get<std::string>().find("chmod 600") != std::string::npos);
}
