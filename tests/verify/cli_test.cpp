// `veridge verify` end to end through the binary: config → session → encrypted store + outbox.
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "support/test_support.h"

using veridge::testing::SharedData;

namespace {

struct Run {
  int exit_code = -1;
  std::string out;
};

Run Veridge(const std::string& args) {
  Run r;
  std::string cmd = veridge::testing::VeridgeBinary().string() + " " + args + " 2>/dev/null";
  FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p);
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  int st = ::pclose(p);
  r.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

}  // namespace

TEST_CASE("veridge verify stores, signs and queues the session, then db check and audit verify pass") {
  VERIDGE_REQUIRE_PATH(veridge::testing::DevModelDir() / "dlib_face_recognition_resnet_model_v1.dat",
                       "converted face model (run tools/fetch-models.sh)");
  auto ref = SharedData("faces/tv-cast-a/amy/amy1.png");
  VERIDGE_REQUIRE_PATH(ref, "tv-cast-a faces");
  veridge::testing::TempDir dir;
  std::ofstream(dir / "veridge.toml") << "[device]\nid = \"cli-test\"\nkey_file = \"device.key\"\ncert_chain = \"chain.pem\"\n"
                                      << "[store]\npath = \"v.db\"\nkey_file = \"store.key\"\n"
                                      << "[models]\ndir = \"" << veridge::testing::DevModelDir().string() << "\"\n"
                                      << "[policy]\nrequire = [\"face\"]\n[liveness]\nenabled = false\n"
                                      << "[lender]\nurl = \"https://127.0.0.1:9/hook\"\n";
  std::string cfg = "--config " + (dir / "veridge.toml").string();
  REQUIRE(Veridge("keys init " + cfg).exit_code == 0);

  auto same = Veridge("verify --json " + cfg + " --reference " + ref.string() + " --capture " +
                      SharedData("faces/tv-cast-a/amy/amy3.png").string() + " --applicant-ref A-1");
  INFO(same.out);
  CHECK(same.exit_code == 0);
  auto j = nlohmann::json::parse(same.out);
  CHECK(j["decision"] == "approved");
  CHECK(j["delivery"]["state"] == "queued");
  CHECK(j["delivery"]["webhook_id"].get<std::string>().rfind("msg_", 0) == 0);

  auto other = Veridge("verify --json " + cfg + " --reference " + ref.string() + " --capture " +
                       SharedData("faces/tv-cast-a/sheldon/sheldon1.png").string());
  CHECK(other.exit_code == 1);
  CHECK(nlohmann::json::parse(other.out)["decision"] == "rejected");

  CHECK(Veridge("db check " + cfg).exit_code == 0);
  CHECK(Veridge("audit verify " + cfg).exit_code == 0);

  auto bad = Veridge("verify --json " + cfg + " --reference " + (dir / "nope.jpg").string() + " --capture " + ref.string());
  CHECK(bad.exit_code == 2);
  CHECK(nlohmann::json::parse(bad.out)["error"]["code"] == "file_not_found");
}

TEST_CASE("veridge verify refuses a lender URL delivery would refuse, before the session starts") {
  VERIDGE_REQUIRE_PATH(veridge::testing::VeridgeBinary(), "veridge binary");
  for (std::string url : {"http://lender.example/hook", "not a url", "https://user:pw@lender.example/h"}) {
    INFO(url);
    veridge::testing::TempDir dir;
    std::ofstream(dir / "veridge.toml") << "[device]\nkey_file = \"device.key\"\ncert_chain = \"chain.pem\"\n"
                                        << "[store]\npath = \"v.db\"\nkey_file = \"store.key\"\n"
                                        << "[lender]\nurl = \"" << url << "\"\n";
    // Neither input exists and no model is loaded: the URL must be refused before any of that.
    auto r = Veridge("verify --json --config " + (dir / "veridge.toml").string() + " --reference " + (dir / "nope.jpg").string() +
                     " --capture " + (dir / "nope.mp4").string());
    INFO(r.out);
    CHECK(r.exit_code == 2);
    auto j = nlohmann::json::parse(r.out);
    CHECK(j["error"]["code"] == "config_invalid");
    CHECK(j["error"]["message"].get<std::string>().find("lender.url") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(dir / "v.db"));  // nothing was created for a session that cannot deliver
  }
}
