// Crash safety of delivery: `veridge outbox run` SIGKILLs itself at named crash points (36 times)
// while decisions keep being committed; afterwards every committed decision has been delivered to
// the lender (at least once), every duplicate carried the same webhook-id, and the database
// passes `veridge db check`.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "audit/audit.h"
#include "common/crash_point.h"
#include "lender/lender_fixture.h"
#include "pki/device_identity.h"
#include "outbox/worker.h"
#include "store/store.h"

using namespace veridge;
using namespace veridge::testing;
using nlohmann::json;

namespace {

// Starts `args`; with `crash_at`, the child runs with VERIDGE_CRASH_AT set to it (crash_point.h).
pid_t Spawn(const std::vector<std::string>& args, const std::string& crash_at = "") {
  pid_t pid = ::fork();
  if (pid == 0) {
    if (!crash_at.empty()) ::setenv("VERIDGE_CRASH_AT", crash_at.c_str(), 1);
    int null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, 1);
    ::dup2(null, 2);
    std::vector<char*> argv;
    for (auto a : args) argv.push_back(::strdup(a.c_str()));
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  return pid;
}

int Wait(pid_t pid) {
  int st = 0;
  ::waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st);
}

}  // namespace

TEST_CASE("SIGKILLed outbox runs lose no committed decision and never change a webhook-id") {
  auto why = NodeMissingReason();
  if (!why.empty()) VERIDGE_SKIP(why);
  REQUIRE(std::filesystem::exists(VeridgeBinary()));
  TempDir dir;
  LenderPki pki;
  REQUIRE(MakeLenderPki(dir / "pki", &pki));
  const auto config = dir / "veridge.toml";
  // A 1 s lease so that rows leased by a killed run come back quickly.
  std::ofstream(config) << "[device]\nid = \"kiosk-crash\"\nkey_file = \"keys/device.key\"\ncert_chain = \"keys/device-chain.pem\"\n"
                           "[store]\npath = \"veridge.db\"\nkey_file = \"keys/store.key\"\n"
                           "[lender]\nurl = \"https://127.0.0.1:9/unused\"\nwebhook_secret_file = \"keys/lender.whsec\"\n"
                        << "ca_file = \"" << pki.ca().string() << "\"\n"
                        << "[outbox]\nretry_schedule = [\"0s\", \"1s\", \"1s\", \"1s\", \"1s\", \"1s\"]\nlease = \"1s\"\n";
  REQUIRE(Wait(Spawn({VeridgeBinary().string(), "keys", "init", "--config", config.string()})) == 0);
  NodeReceiver rx;
  REQUIRE(rx.Start({pki.server_cert(), pki.server_key(), dir / "keys/lender.whsec", dir / "keys/dev-ca.pem", dir / "rx.log", "normal", {}}) == "");

  auto signer = pki::DeviceSigner::Load(dir / "keys/device.key", dir / "keys/device-chain.pem").value();
  store::StoreOptions so;
  so.path = dir / "veridge.db";
  so.key_file = dir / "keys/store.key";
  so.audit_hasher = audit::ChainHasher();  // dead letters and replays are audited
  std::map<std::string, std::string> committed;  // webhook_id -> session_id
  auto commit = [&](int i) {
    auto db = store::Store::Open(so);
    REQUIRE(db.ok());
    const auto now = SystemClock::Instance().NowUnixSeconds();
    const std::string sid = "crash-" + std::to_string(i);
    auto sr = outbox::SignResult({{"session_id", sid}, {"decision", "approved"}}, signer, now).value();
    store::DecisionRecord r;
    r.session_id = sid;
    r.created_at = now;
    r.decision = "approved";
    r.reasons_json = "[]";
    r.factors_json = "{}";
    r.result_json = sr.result_json;
    r.outbox = store::OutboxMessageInput{sr.webhook_id, rx.url(), sr.body, now};
    Status st = (*db)->CommitDecision(r);
    INFO(st.ToString());
    REQUIRE(st.ok());
    committed[sr.webhook_id] = sid;
  };
  int next_session = 0;
  for (; next_session < 20; ++next_session) commit(next_session);

  // Each round commits three more decisions, then starts `outbox run` armed to SIGKILL itself at
  // the k-th pass (k = 1..3) of one crash point: after the lender answered but before the answer
  // is recorded, inside a store transaction before COMMIT, or right after it. Three fresh rows mean
  // at least three passes of each point, so every run dies where it was told to, whatever the
  // machine's speed (the old test guessed kill times from a measured start-up and missed under load).
  const std::string points[] = {std::string(crash_points::kOutboxAfterResponse), std::string(crash_points::kStoreBeforeCommit),
                                std::string(crash_points::kStoreAfterCommit)};
  const int kRounds = 36;
  int killed = 0;
  for (int round = 0; round < kRounds; ++round) {
    for (int c = 0; c < 3; ++c) commit(next_session++);  // decisions keep arriving between crashes
    const std::string crash_at = points[round % 3] + ":" + std::to_string(1 + (round / 3) % 3);
    INFO("round " << round << ", VERIDGE_CRASH_AT=" << crash_at);
    const int rc = Wait(Spawn({VeridgeBinary().string(), "outbox", "run", "--until-empty", "--config", config.string()}, crash_at));
    CHECK(rc == -SIGKILL);
    killed += rc == -SIGKILL;
  }
  const size_t delivered_while_killing = rx.Log().size();
  CHECK(killed == kRounds);
  // Let leases of killed runs lapse, then one run to completion.
  ::sleep(2);
  REQUIRE(Wait(Spawn({VeridgeBinary().string(), "outbox", "run", "--until-empty", "--config", config.string()})) == 0);

  std::map<std::string, std::set<std::string>> ids_per_session;
  std::set<std::string> delivered;
  int duplicates = 0;
  for (auto& l : rx.Log()) {
    if (!l.value("ok", false)) continue;
    const std::string id = l["id"];
    REQUIRE(committed.count(id) == 1);  // nothing the store did not commit
    ids_per_session[l["session_id"]].insert(id);
    duplicates += l["duplicate"].get<bool>();
    delivered.insert(id);
  }
  for (const auto& [id, sid] : committed) {
    INFO(sid);
    CHECK(delivered.count(id) == 1);  // none lost
  }
  for (const auto& [sid, ids] : ids_per_session) CHECK(ids.size() == 1);  // a duplicate keeps its webhook-id
  WARN("crash runs: " << killed << " kills, " << committed.size() << " decisions, "
                       << delivered_while_killing << " deliveries before the final run, " << duplicates << " duplicate deliveries");
  CHECK(delivered_while_killing > 0);  // the kills did land while runs were delivering

  auto db = store::Store::Open(so);
  REQUIRE(db.ok());
  auto counts = (*db)->CountOutbox(SystemClock::Instance().NowUnixSeconds());
  REQUIRE(counts.ok());
  CHECK(counts->delivered == static_cast<std::int64_t>(committed.size()));
  CHECK(counts->pending == 0);
  CHECK(counts->dead == 0);
  db->reset();
  CHECK(Wait(Spawn({VeridgeBinary().string(), "db", "check", "--config", config.string()})) == 0);
}
