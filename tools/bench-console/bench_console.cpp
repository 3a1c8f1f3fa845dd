// bench-console — the login latency that argon2id parameters give on this machine (issue 14).
//
// For each (memory KiB, passes) pair it makes a real encrypted store in a temporary directory,
// creates one operator with those parameters, and then sends POST /console/api/login through the
// console's real route table (net::Router::Dispatch, the handler the TLS listener calls: account
// lookup, argon2id verification, session row and audit event in one transaction). It reports the
// median, minimum and 90th percentile over --runs logins, plus the bare argon2id verification.
// TLS and the network add a few milliseconds on top (measure those with curl against `veridge serve`).
//
// Usage: bench-console [--runs N=15] [--params M:T,M:T,...=19456:2,47104:1,65536:1,65536:2,65536:3]
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "audit/audit.h"
#include "console/console.h"
#include "store/store.h"

using namespace veridge;
using Steady = std::chrono::steady_clock;

namespace {

struct Stats {
  double median, min, p90;
};

Stats Summarise(std::vector<double> ms) {
  std::sort(ms.begin(), ms.end());
  return {ms[ms.size() / 2], ms.front(), ms[std::min(ms.size() - 1, ms.size() * 9 / 10)]};
}

double Since(Steady::time_point t) { return std::chrono::duration<double, std::milli>(Steady::now() - t).count(); }

}  // namespace

int main(int argc, char** argv) {
  int runs = 15;
  std::string params = "19456:2,47104:1,65536:1,65536:2,65536:3";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--runs")) runs = std::max(3, std::atoi(argv[i + 1]));
    else if (!std::strcmp(argv[i], "--params")) params = argv[i + 1];
  }
  char tmpl[] = "/tmp/bench-console-XXXXXX";
  if (!::mkdtemp(tmpl)) return 3;
  const std::filesystem::path dir = tmpl;
  std::printf("%-10s %-6s %-28s %-28s\n", "memory", "passes", "login median/min/p90 ms", "argon2id verify median ms");
  int index = 0;
  std::size_t start = 0;
  while (start < params.size()) {
    std::size_t end = params.find(',', start);
    if (end == std::string::npos) end = params.size();
    const std::string pair = params.substr(start, end - start);
    start = end + 1;
    console::Argon2Params p;
    if (std::sscanf(pair.c_str(), "%u:%u", &p.memory_kib, &p.time_cost) != 2) continue;

    store::StoreOptions so;
    so.path = dir / ("bench-" + std::to_string(index) + ".db");
    so.key_file = dir / ("bench-" + std::to_string(index++) + ".key");
    so.create_if_missing = true;
    so.audit_hasher = audit::ChainHasher();
    if (!store::GenerateKeyFile(so.key_file).ok()) return 3;
    auto st = store::Store::Open(so);
    if (!st.ok()) {
      std::fprintf(stderr, "%s\n", st.status().ToString().c_str());
      return 3;
    }
    const std::string pw = "bench pass phrase for argon2";
    auto staff = console::CreateStaff(**st, "bench", "operator", pw, p, 1'800'000'000, "bench");
    if (!staff.ok()) {
      std::fprintf(stderr, "%s\n", staff.status().ToString().c_str());
      return 3;
    }
    console::ConsoleOptions co;
    co.argon2 = p;
    net::Router router;
    if (!console::AddConsoleRoutes(router, **st, co).ok()) return 3;
    std::vector<double> login, verify;
    for (int i = 0; i < runs; ++i) {
      net::Request req;
      req.method = net::Method::kPost;
      req.path = "/console/api/login";
      req.headers = {{"Content-Type", "application/json"}};
      req.body = "{\"name\":\"bench\",\"password\":\"" + pw + "\"}";
      auto t = Steady::now();
      auto res = router.Dispatch(req);
      login.push_back(Since(t));
      if (res.status != 200) {
        std::fprintf(stderr, "login answered %d: %s\n", res.status, res.body.c_str());
        return 3;
      }
      t = Steady::now();
      if (!console::VerifyPassword(pw, staff->password_hash)) return 3;
      verify.push_back(Since(t));
    }
    const auto l = Summarise(login), v = Summarise(verify);
    char col[64];
    std::snprintf(col, sizeof col, "%.1f / %.1f / %.1f", l.median, l.min, l.p90);
    std::printf("%-10s %-6u %-28s %.1f\n", (std::to_string(p.memory_kib / 1024) + " MiB").c_str(), p.time_cost, col, v.median);
  }
  std::filesystem::remove_all(dir);
  return 0;
}
