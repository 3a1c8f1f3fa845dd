// Crash safety of `veridge verify`: the process SIGKILLs itself at each named crash point
// (common/crash_point.h) around its commit — before the commit, inside the transaction with every
// row written, right after COMMIT, and after storing but before printing — several times each.
// The kill lands at the same place whatever the machine's speed (the old test guessed kill times
// from one measured session and missed on a loaded machine).
// After every kill: the database opens and passes its check; the session is stored exactly when the
// kill came after COMMIT; a stored session always has its outbox row and audit event, and nothing
// printed (acknowledged to the kiosk) is ever missing.
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "audit/audit.h"
#include "common/crash_point.h"
#include "store/store.h"
#include "support/test_support.h"

using namespace veridge;
namespace fs = std::filesystem;

namespace {

struct RunResult {
  bool killed = false;  // died of SIGKILL
  int exit_code = -1;
  std::string out;
};

// Runs `args` with VERIDGE_CRASH_AT=crash_at (unset when empty), stdout to `out`.
RunResult RunTo(const std::vector<std::string>& args, const std::string& crash_at, const fs::path& out) {
  pid_t pid = ::fork();
  if (pid == 0) {
    int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int null = ::open("/dev/null", O_WRONLY);
    ::dup2(fd, 1);
    ::dup2(null, 2);
    if (crash_at.empty()) ::unsetenv("VERIDGE_CRASH_AT");
    else ::setenv("VERIDGE_CRASH_AT", crash_at.c_str(), 1);
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(::strdup(a.c_str()));
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  int st = 0;
  ::waitpid(pid, &st, 0);
  RunResult r;
  r.killed = WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL;
  if (WIFEXITED(st)) r.exit_code = WEXITSTATUS(st);
  std::ifstream in(out);
  r.out.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return r;
}

}  // namespace

TEST_CASE("verify SIGKILLed at every crash point of its commit never loses an acknowledged decision or breaks the store") {
  VERIDGE_REQUIRE_PATH(testing::DevModelDir() / "dlib_face_recognition_resnet_model_v1.dat",
                       "converted face model (run tools/fetch-models.sh)");
  auto ref = testing::SharedData("faces/tv-cast-a/amy/amy1.png");
  VERIDGE_REQUIRE_PATH(ref, "tv-cast-a faces");
  REQUIRE(fs::exists(testing::VeridgeBinary()));
  const int per_point = std::getenv("VERIDGE_CRASH_RUNS") ? std::max(1, std::atoi(std::getenv("VERIDGE_CRASH_RUNS"))) : 3;

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
  store::StoreOptions so;
  so.path = dir / "v.db";
  so.key_file = dir / "store.key";
  so.create_if_missing = false;
  so.audit_hasher = audit::ChainHasher();

  std::set<std::string> acknowledged;
  auto acknowledge = [&](const RunResult& r) {
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    REQUIRE(!j.is_discarded());
    REQUIRE(j.contains("session_id"));
    acknowledged.insert(j["session_id"].get<std::string>());
  };
  // Checks the store after a run; returns how many sessions it holds.
  auto check_store = [&]() -> std::size_t {
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
    return stored.size();
  };

  // The first session creates the store (its migrations are transactions of their own), so that
  // from here on the decision's commit is each run's first and only store transaction.
  auto first = RunTo(verify, "", dir / "out-first");
  REQUIRE(first.exit_code == 0);
  acknowledge(first);
  std::size_t sessions = check_store();
  REQUIRE(sessions == 1);

  struct Point {
    std::string_view name;
    bool committed;  // the kill comes after COMMIT: the session must be stored
  };
  const Point points[] = {
      {crash_points::kVerifyBeforeCommit, false},
      {crash_points::kStoreBeforeCommit, false},
      {crash_points::kStoreAfterCommit, true},
      {crash_points::kVerifyBeforePrint, true},
  };
  int run = 0;
  for (const auto& p : points) {
    for (int i = 0; i < per_point; ++i) {
      INFO("crash point " << p.name << ", run " << i);
      auto r = RunTo(verify, std::string(p.name), dir / ("out" + std::to_string(++run)));
      CHECK(r.killed);        // the process died at the point, not before it and not after it
      CHECK(r.out.empty());   // nothing was acknowledged
      const std::size_t now_stored = check_store();
      CHECK(now_stored == sessions + (p.committed ? 1 : 0));
      sessions = now_stored;
    }
  }
  // After all that, an uninterrupted session still works and is acknowledged.
  auto last = RunTo(verify, "", dir / "out-last");
  REQUIRE(last.exit_code == 0);
  acknowledge(last);
  CHECK(check_store() == sessions + 1);
}
