// `veridge face embed|compare`: exit codes and JSON under the CLI contract, run as a subprocess.
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include <cstdio>
#include <fstream>

#include "fixture.h"

using namespace veridge;
using veridge::testing::SharedData;

namespace {
struct Run {
  int exit_code = -1;
  std::string out;
};
// Runs the binary with stdout captured (stderr discarded); arguments are test-controlled paths.
Run Veridge(const std::string& args, const std::string& env = "") {
  const std::string cmd = env + " '" + testing::VeridgeBinary().string() + "' " + args + " 2>/dev/null";
  Run r;
  FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int st = ::pclose(p);
  r.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}
std::string Q(const std::filesystem::path& p) { return "'" + p.string() + "'"; }
nlohmann::json FirstLine(const std::string& s) { return nlohmann::json::parse(s.substr(0, s.find('\n'))); }
}  // namespace

#define REQUIRE_BINARY() \
  if (!std::filesystem::exists(testing::VeridgeBinary())) VERIDGE_SKIP("veridge binary not built at " << testing::VeridgeBinary().string())

TEST_CASE("cli: face compare exit codes 0 match / 1 no match / 2 bad input / 3 model missing") {
  REQUIRE_BINARY();
  VERIDGE_REQUIRE_PATH(SharedData("faces/tv-cast-a"), "tv-cast-a (shared data)");
  if (!testing::DevModelsPresent()) VERIDGE_SKIP("face models not in dev model dir: run tools/fetch-models.sh");
  const std::string md = "--model-dir " + Q(testing::DevModelDir());
  const auto amy1 = SharedData("faces/tv-cast-a/amy/amy1.png");
  const auto amy2 = SharedData("faces/tv-cast-a/amy/amy2.png");
  const auto raj1 = SharedData("faces/tv-cast-a/raj/raj1.png");

  auto same = Veridge("face compare --json " + md + " " + Q(amy1) + " " + Q(amy2));
  CHECK(same.exit_code == 0);
  auto j = FirstLine(same.out);
  CHECK(j["match"] == true);
  CHECK(j["distance"].get<double>() < 0.6);
  CHECK(j["threshold"].get<double>() == 0.6);
  CHECK(j.contains("similarity"));

  auto diff = Veridge("face compare --json " + md + " " + Q(amy1) + " " + Q(raj1));
  CHECK(diff.exit_code == 1);
  CHECK(FirstLine(diff.out)["match"] == false);

  testing::TempDir dir;
  std::ofstream(dir / "empty.jpg").close();
  auto bad = Veridge("face compare --json " + md + " " + Q(amy1) + " " + Q(dir / "empty.jpg"));
  CHECK(bad.exit_code == 2);
  CHECK(FirstLine(bad.out)["error"]["code"] == "empty_file");

  auto nomodel = Veridge("face compare --json --model-dir " + Q(dir.path()) + " " + Q(amy1) + " " + Q(amy2));
  CHECK(nomodel.exit_code == 3);
  CHECK(FirstLine(nomodel.out)["error"]["code"] == "model_missing");

  // The environment variable is honoured when --model-dir is absent.
  auto env = Veridge("face compare --json " + Q(amy1) + " " + Q(amy2), "VERIDGE_MODEL_DIR=" + Q(dir.path()));
  CHECK(env.exit_code == 3);

  auto usage = Veridge("face compare --json " + Q(amy1));
  CHECK(usage.exit_code == 2);
}

TEST_CASE("cli: face embed prints one JSON object per image, errors per image") {
  REQUIRE_BINARY();
  VERIDGE_REQUIRE_PATH(SharedData("faces/deepface/couple.jpg"), "deepface (shared data)");
  if (!testing::DevModelsPresent()) VERIDGE_SKIP("face models not in dev model dir: run tools/fetch-models.sh");
  testing::TempDir dir;
  {
    std::ofstream junk(dir / "random.jpg", std::ios::binary);
    for (int i = 0; i < 3000; ++i) junk.put(char((i * 7919 + 13) % 251));
  }
  const auto good = SharedData("faces/tv-cast-a/penny/penny1.png");
  auto r = Veridge("face embed --json --model-dir " + Q(testing::DevModelDir()) + " " + Q(good) + " " +
                   Q(dir / "random.jpg") + " " + Q(SharedData("faces/deepface/couple.jpg")));
  CHECK(r.exit_code == 2);
  std::vector<nlohmann::json> lines;
  std::istringstream in(r.out);
  for (std::string l; std::getline(in, l);) lines.push_back(nlohmann::json::parse(l));
  REQUIRE(lines.size() == 3);
  CHECK(lines[0]["image"] == good.string());
  CHECK(lines[0]["embedding"].size() == 128);
  CHECK(lines[0]["box"].size() == 4);
  CHECK(lines[0]["quality"].contains("reasons"));
  CHECK(lines[1]["error"]["code"] == "unknown_image_format");
  CHECK(lines[2]["error"]["code"] == "multiple_faces");
}
