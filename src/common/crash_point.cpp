// common/crash_point.cpp — see crash_point.h.
#include "common/crash_point.h"

#include <signal.h>

#include <atomic>
#include <cstdlib>
#include <mutex>

namespace veridge {
namespace {

struct Armed {
  std::mutex mu;
  bool loaded = false;
  std::string name;
  int at = 0;
  std::atomic<int> passes{0};
};

Armed& State() {
  static Armed* armed = new Armed;  // never destroyed: crash points may be passed during exit
  return *armed;
}

// "<name>[:<n>]"; a malformed count leaves the point disarmed rather than guessing.
void Parse(const std::string& spec, std::string* name, int* at) {
  const auto colon = spec.rfind(':');
  *name = spec.substr(0, colon);
  *at = 1;
  if (colon == std::string::npos) return;
  char* end = nullptr;
  const long n = std::strtol(spec.c_str() + colon + 1, &end, 10);
  if (end == spec.c_str() + colon + 1 || *end != '\0' || n < 1 || n > 1'000'000) {
    name->clear();
    *at = 0;
    return;
  }
  *at = static_cast<int>(n);
}

}  // namespace

void ArmCrashPoint(const std::string& name, int n) {
  Armed& a = State();
  std::lock_guard<std::mutex> lock(a.mu);
  a.loaded = true;
  a.name = name;
  a.at = n < 1 ? 1 : n;
  a.passes = 0;
}

void CrashPoint(std::string_view name) {
#ifdef VERIDGE_TEST_HOOKS
  Armed& a = State();
  {
    std::lock_guard<std::mutex> lock(a.mu);
    if (!a.loaded) {
      a.loaded = true;
      if (const char* env = std::getenv("VERIDGE_CRASH_AT")) Parse(env, &a.name, &a.at);
    }
    if (a.name.empty() || a.name != name) return;
  }
  if (++a.passes == a.at) ::raise(SIGKILL);
#else
  (void)name;
#endif
}

}  // namespace veridge
