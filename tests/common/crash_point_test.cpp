// Crash points (common/crash_point.h): an armed point kills the process on exactly its n-th pass;
// other names, and a disarmed point, do nothing.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/crash_point.h"

using namespace veridge;

namespace {

// Forks a child that arms `armed`:`n`, then passes `passed` up to 10 times, writing one byte to a
// pipe after each pass. Returns {killed by SIGKILL, passes completed}.
std::pair<bool, int> PassInChild(const std::string& armed, int n, std::string_view passed) {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(fds[0]);
    ArmCrashPoint(armed, n);
    for (int i = 0; i < 10; ++i) {
      CrashPoint(passed);
      if (::write(fds[1], "x", 1) != 1) ::_exit(5);
    }
    ::_exit(0);
  }
  ::close(fds[1]);
  int passes = 0;
  char c;
  while (::read(fds[0], &c, 1) == 1) ++passes;
  ::close(fds[0]);
  int st = 0;
  ::waitpid(pid, &st, 0);
  return {WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, passes};
}

}  // namespace

TEST_CASE("An armed crash point kills on its n-th pass, and only then") {
  CHECK(PassInChild("store.after_commit", 1, crash_points::kStoreAfterCommit) == std::make_pair(true, 0));
  CHECK(PassInChild("store.after_commit", 4, crash_points::kStoreAfterCommit) == std::make_pair(true, 3));
  // Another name, or nothing armed: the child runs to its end.
  CHECK(PassInChild("store.after_commit", 1, crash_points::kStoreBeforeCommit) == std::make_pair(false, 10));
  CHECK(PassInChild("", 1, crash_points::kStoreBeforeCommit) == std::make_pair(false, 10));
}
