// bench-store — the cost of encryption on the decision path.
//
// For each round it creates two fresh databases in --dir (same disk as a real deployment should
// use), one SQLCipher-encrypted (raw 256-bit key, 4096-byte pages, HMAC per page) and one with the
// SAME schema, pragmas and code path but no key (SQLCipher's library in plaintext mode: Debian has
// no libsqlite3-dev here, and this also keeps the SQLite version identical). It commits N decisions
// through Store::CommitDecision (session + 3 factors + one evidence blob of --evidence-kb random
// bytes + a descriptor + an audit event + an outbox row, one transaction, synchronous=FULL), in
// alternating order per round, and reports sessions/s and the encrypted/plain time ratio.
//
// With --check 1 it then times, on each encrypted store it made, what a command pays before it may
// write: Store::Open (keying, settings, the anchor check), QuickCheck (what outbox run and serve's
// delivery worker run first) and the full Check (db check).
//
// Usage: bench-store [--sessions N=200] [--evidence-kb K=100] [--rounds R=3] [--dir DIR=/var/tmp] [--check 0|1]
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "audit/audit.h"
#include "store/store.h"

using namespace veridge;

namespace {

struct Args {
  int sessions = 200;
  int evidence_kb = 100;
  int rounds = 3;
  std::filesystem::path dir = "/var/tmp";
  bool check = false;
};

double Since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

struct Timing {
  double wall = 0;  // seconds
  double cpu = 0;   // process CPU seconds (user + system): encryption shows here, fsync waits do not
};

double CpuSeconds() {
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

Timing RunOnce(const std::filesystem::path& dir, bool encrypted, const Args& a, const std::string& evidence, const std::string& descriptor) {
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  store::StoreOptions o;
  o.path = dir / "bench.db";
  o.key_file = dir / "store.key";
  o.unencrypted_for_benchmark_only = !encrypted;
  o.audit_hasher = audit::ChainHasher();
  o.create_if_missing = true;
  if (encrypted && !store::GenerateKeyFile(o.key_file).ok()) std::exit(3);
  auto s = store::Store::Open(o);
  if (!s.ok()) {
    std::fprintf(stderr, "open: %s\n", s.status().ToString().c_str());
    std::exit(3);
  }
  auto t0 = std::chrono::steady_clock::now();
  double c0 = CpuSeconds();
  for (int i = 0; i < a.sessions; ++i) {
    store::DecisionRecord r;
    r.session_id = "sess-" + std::to_string(i);
    r.applicant_ref = "applicant-" + std::to_string(i);
    r.created_at = 1'700'000'000 + i;
    r.decision = "approved";
    r.reasons_json = "[]";
    r.factors_json = R"({"face":true,"liveness":true,"certificate":true})";
    r.result_json = R"({"decision":"approved","session_id":")" + r.session_id + R"(","evidence":["sha256..."]})";
    r.factors = {{"face", true, 0.4, "{}"}, {"liveness", true, 0.9, "{}"}, {"certificate", true, 1.0, "{}"}};
    r.evidence = {{"best_frame", "image/jpeg", evidence, ""}};
    r.descriptors = {{"face_probe", descriptor}};
    r.audit = {audit::MakeEvent(r.created_at, "kiosk", "session.decided", r.session_id)};
    r.outbox = store::OutboxMessageInput{"msg_" + r.session_id, "https://lender.test/hook", std::string(2000, 'p'), r.created_at};
    Status st = (*s)->CommitDecision(r);
    if (!st.ok()) {
      std::fprintf(stderr, "commit: %s\n", st.ToString().c_str());
      std::exit(3);
    }
  }
  Timing t;
  t.wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  t.cpu = CpuSeconds() - c0;
  s.value().reset();
  if (a.check && encrypted) {
    o.create_if_missing = false;
    auto t1 = std::chrono::steady_clock::now();
    auto opened = store::Store::Open(o);
    const double open_ms = Since(t1);
    if (!opened.ok()) {
      std::fprintf(stderr, "reopen: %s\n", opened.status().ToString().c_str());
      std::exit(3);
    }
    t1 = std::chrono::steady_clock::now();
    Status quick = (*opened)->QuickCheck();
    const double quick_ms = Since(t1);
    t1 = std::chrono::steady_clock::now();
    auto full = (*opened)->Check();
    const double full_ms = Since(t1);
    std::printf("  check of %.1f MB (%d sessions): Open with anchor check %.1f ms, quick_check %.1f ms (%s), integrity_check (db check) %.1f ms (%s)\n",
                static_cast<double>(std::filesystem::file_size(o.path)) / 1e6, a.sessions, open_ms, quick_ms, quick.ok() ? "ok" : "FAILED",
                full_ms, full.ok() && full->ok ? "ok" : "FAILED");
  }
  std::filesystem::remove_all(dir);
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    if (k == "--sessions") a.sessions = std::atoi(argv[i + 1]);
    else if (k == "--evidence-kb") a.evidence_kb = std::atoi(argv[i + 1]);
    else if (k == "--rounds") a.rounds = std::atoi(argv[i + 1]);
    else if (k == "--dir") a.dir = argv[i + 1];
    else if (k == "--check") a.check = std::atoi(argv[i + 1]) != 0;
    else {
      std::fprintf(stderr, "usage: bench-store [--sessions N] [--evidence-kb K] [--rounds R] [--dir DIR] [--check 0|1]\n");
      return 2;
    }
  }
  if (a.sessions <= 0 || a.evidence_kb <= 0 || a.evidence_kb > 8000 || a.rounds <= 0) {
    std::fprintf(stderr, "bad arguments\n");
    return 2;
  }
  // Random bytes: like JPEG data they do not compress, and they defeat no page-level shortcut.
  std::mt19937_64 rng(42);
  std::string evidence(static_cast<size_t>(a.evidence_kb) * 1024, '\0');
  for (auto& c : evidence) c = static_cast<char>(rng());
  std::string descriptor(512, '\0');
  for (auto& c : descriptor) c = static_cast<char>(rng());

  auto base = a.dir / ("veridge-bench-store-" + std::to_string(::getpid()));
  std::vector<double> enc, plain, enc_cpu, plain_cpu;
  for (int r = 0; r < a.rounds; ++r) {
    // Alternate which goes first so disk cache warm-up does not favour one side.
    bool enc_first = (r % 2) == 0;
    for (int k = 0; k < 2; ++k) {
      bool encrypted = (k == 0) == enc_first;
      Timing tm = RunOnce(base, encrypted, a, evidence, descriptor);
      double t = tm.wall;
      (encrypted ? enc : plain).push_back(t);
      (encrypted ? enc_cpu : plain_cpu).push_back(tm.cpu);
      std::printf("round %d %-9s %d sessions in %.3f s = %.1f sessions/s (%.1f MB/s evidence), CPU %.3f s = %.2f ms/session\n", r + 1,
                  encrypted ? "sqlcipher" : "plain", a.sessions, t, a.sessions / t, a.sessions * a.evidence_kb / 1024.0 / t, tm.cpu,
                  1000.0 * tm.cpu / a.sessions);
    }
  }
  std::sort(enc.begin(), enc.end());
  std::sort(plain.begin(), plain.end());
  std::sort(enc_cpu.begin(), enc_cpu.end());
  std::sort(plain_cpu.begin(), plain_cpu.end());
  double me = enc[enc.size() / 2], mp = plain[plain.size() / 2];
  double ce = enc_cpu[enc_cpu.size() / 2], cp = plain_cpu[plain_cpu.size() / 2];
  std::printf("median: sqlcipher %.1f sessions/s, plain (same library, no key) %.1f sessions/s, encryption cost ratio (time enc/plain) %.2f\n",
              a.sessions / me, a.sessions / mp, me / mp);
  std::printf("median CPU: sqlcipher %.2f ms/session, plain %.2f ms/session, ratio %.2f (the rest of the wall time is fsync: synchronous=FULL)\n",
              1000.0 * ce / a.sessions, 1000.0 * cp / a.sessions, cp > 0 ? ce / cp : 0.0);
  return 0;
}
