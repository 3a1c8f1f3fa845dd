// Crash safety of `veridge verify`: the process is SIGKILLed at random points (200 runs by
// default; VERIDGE_CRASH_RUNS overrides) around the end of its session, where it commits. After
// every kill the database opens and passes `db check`; in the end every session whose decision was
// printed (acknowledged to the kiosk) is stored whole with its outbox row, no session is stored
// without its outbox row, and the audit chain verifies.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <thread>

#include "audit/audit.h"
#include "store/store.h"
#include "support/test_support.h"

using namespace veridge;
namespace fs = std::filesystem;

namespace {

pid_t SpawnTo(const std::vector<std::string>& args, const fs::path& out) {
  pid_t pid = ::fork();
  if (pid == 0) {
    int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int null = ::open("/dev/null", O_WRONLY);
    ::dup2(fd, 1);
    ::dup2(null, 2);
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(::strdup(a.c_str()));
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  return pid;
}

std::string Slurp(const fs::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace

TEST_CASE("SIGKILLed verify sessions never leave a decision without its outbox row or a broken store") {
  VERIDGE_REQUIRE_PATH(testing::DevModelDir() / "dlib_face_recognition_resnet_model_v1.dat",
                       "converted face model (run tools/fetch-models.sh)");
  auto ref = testing::SharedData("faces/tv-cast-a/amy/amy1.png");
  VERIDGE_REQUIRE_PATH(ref, "tv-cast-a faces");
  REQUIRE(fs::exists(testing::VeridgeBinary()));
  const int runs = std::getenv("VERIDGE_CRASH_RUNS") ? std::atoi(std::getenv("VERIDGE_CRASH_RUNS")) : 200;

  testing::TempDir dir;
  const auto config = dir / "veridge.toml";
  std::ofstream(config) << "[device]\nid = \"crash-test\"\nkey_file = \"device.key\"\ncert_chain = \"chain.pem\"\n"
                        << "[store]\npath = \"v.db\"\nkey_file = \"store.key\"\n"
                        << "[models]\ndir = \"" << testing::DevModelDir().string() << "\"\n"
                        << "[policy]\nrequire = [\"face\"]\n[liveness]\nenabled = false\n"
                        << "[lender]\nurl = \"https://127.0.0.1:9/hook\"\n";
  const std::string bin = testing::VeridgeBinary().string();
  REQUIRE(std::system((bin + " keys init --config " + config.string() + " >/dev/null 2>&1").c_str()) == 0);
  const std::vector<std::string> verify = {bin, "verify", "--json", "--config", config.string(), "--reference",
                                           ref.string(), "--capture", testing::SharedData("faces/tv-cast-a/amy/amy2.png").string()};

  // One uninterrupted run measures how long a session takes here; kills then land in the second
  // half of that span and a little past it, where the session is analysed and committed.
  auto t0 = std::chrono::steady_clock::now();
  pid_t first = SpawnTo(verify, dir / "out0");
  int st = 0;
  ::waitpid(first, &st, 0);
  const auto full_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  REQUIRE(WEXITSTATUS(st) == 0);
  std::set<std::string> acknowledged = {nlohmann::json::parse(Slurp(dir / "out0"))["session_id"].get<std::string>()};

  std::mt19937 rng(12345);
  std::uniform_int_distribution<long> when(full_ms / 2, full_ms * 11 / 10);
  store::StoreOptions so;
  so.path = dir / "v.db";
  so.key_file = dir / "store.key";
  so.audit_hasher = audit::ChainHasher();
  int killed = 0;
  for (int i = 1; i <= runs; ++i) {
    const auto out = dir / ("out" + std::to_string(i));
    pid_t pid = SpawnTo(verify, out);
    std::this_thread::sleep_for(std::chrono::milliseconds(when(rng)));
    ::kill(pid, SIGKILL);  // a no-op if it already finished
    ::waitpid(pid, &st, 0);
    if (WIFSIGNALED(st)) ++killed;
    std::string printed = Slurp(out);
    if (!printed.empty()) {
      auto j = nlohmann::json::parse(printed, nullptr, false);
      if (!j.is_discarded() && j.contains("session_id")) acknowledged.insert(j["session_id"].get<std::string>());
    }
    if (i % 20 == 0) {  // the database must open and be sound after any kill
      auto db = store::Store::Open(so);
      REQUIRE(db.ok());
      auto check = (*db)->Check();
      REQUIRE(check.ok());
      CHECK(check->ok);
    }
  }
  INFO("runs " << runs << ", killed " << killed << ", acknowledged " << acknowledged.size() << ", session " << full_ms << " ms");
  CHECK(killed > runs / 3);  // most runs die mid-session, the others finish

  auto db = store::Store::Open(so);
  REQUIRE(db.ok());
  auto check = (*db)->Check();
  REQUIRE(check.ok());
  CHECK(check->ok);
  auto sessions = (*db)->ListSessions(1000);
  REQUIRE(sessions.ok());
  auto outbox = (*db)->ListOutbox(std::nullopt, 1000);
  REQUIRE(outbox.ok());
  std::set<std::string> stored, queued;
  for (const auto& s : *sessions) stored.insert(s.session_id);
  for (const auto& o : *outbox) queued.insert(o.session_id);
  CHECK(stored == queued);  // never a decision without its outbox row, nor the reverse
  for (const auto& id : acknowledged) CHECK(stored.count(id) == 1);  // nothing acknowledged is lost
  auto report = audit::Verify(**db);
  REQUIRE(report.ok());
  CHECK(report->ok);
  CHECK(report->events == static_cast<std::int64_t>(stored.size()));
}
