// Crash safety of the store alone: a child process commits decisions in a loop and SIGKILLs
// itself at the n-th pass (n random, 1..8) of a crash point inside the commit — before COMMIT or
// right after it (common/crash_point.h), so the kill lands at the same place on any machine; the
// parent then checks that the database opens (its anchor lagging by at most the killed commit),
// passes its checks, and that every decision the child saw committed is there whole (session, factors,
// evidence, descriptor, audit event, outbox row) and no decision is there in part.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <random>

#include "common/crash_point.h"
#include "store/store_fixture.h"

using namespace veridge;
using namespace veridge::testing;

TEST_CASE("SIGKILL during commits loses no committed decision and leaves none half-written") {
  StoreFixture f;
  { auto s = f.Open(); }  // created once; the children reopen it
  std::mt19937 rng(12345);
  const std::string jpeg = FakeJpeg("CRASH-EVIDENCE-", 60 * 1024);
  int next = 0;
  for (int round = 0; round < 12; ++round) {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    const bool after_commit = round % 2 == 1;
    const int nth = std::uniform_int_distribution<int>(1, 8)(rng);
    if (pid == 0) {
      ::close(fds[0]);
      auto s = store::Store::Open(f.Options());
      ArmCrashPoint(std::string(after_commit ? crash_points::kStoreAfterCommit : crash_points::kStoreBeforeCommit), nth);
      if (!s.ok()) ::_exit(3);
      for (int i = next;; ++i) {
        if (!(*s)->CommitDecision(MakeDecision("s" + std::to_string(i), i, "ref", jpeg, "desc")).ok()) ::_exit(4);
        // Acknowledge only after CommitDecision returned: from here on the decision must survive.
        if (::write(fds[1], &i, sizeof i) != sizeof i) ::_exit(5);
      }
    }
    ::close(fds[1]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    INFO("round " << round << (after_commit ? ": after COMMIT" : ": before COMMIT") << " of commit " << nth);
    CHECK((WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL));  // it died at the point, not failing
    int acked = -1, v;
    while (::read(fds[0], &v, sizeof v) == sizeof v) acked = v;
    ::close(fds[0]);

    auto s = f.Open();
    auto check = s->Check();
    REQUIRE(check.ok());
    CHECK(check->ok);
    auto rep = audit::Verify(*s);
    REQUIRE(rep.ok());
    CHECK(rep->ok);
    auto sessions = s->ListSessions(1000);
    REQUIRE(sessions.ok());
    // The child acknowledged exactly nth - 1 commits; the nth is there exactly when the kill came
    // after its COMMIT (committed, never acknowledged), and never in part.
    CHECK(acked == (nth > 1 ? next + nth - 2 : -1));
    CHECK(static_cast<int>(sessions->size()) == next + nth - 1 + (after_commit ? 1 : 0));
    for (const auto& sess : sessions.value()) {
      auto full = s->GetSession(sess.session_id);
      REQUIRE(full.ok());
      CHECK(full->factors.size() == 3);
      CHECK(s->GetEvidence(sess.session_id)->size() == 1);
      CHECK(s->GetDescriptors(sess.session_id)->size() == 1);
    }
    CHECK(s->ListOutbox(std::nullopt, 1000)->size() == sessions->size());
    CHECK(rep->events == static_cast<std::int64_t>(sessions->size()));
    // A kill after COMMIT comes before that commit's anchor write (the crash window): the database
    // is one transaction ahead of its anchor, which the open above accepted and moved up.
    auto anchor = s->AnchorState();
    REQUIRE(anchor.ok());
    CHECK(anchor->finding.empty());
    CHECK(anchor->seq == rep->events);
    next = static_cast<int>(sessions->size());
  }
  CHECK(next >= 6);  // the after-COMMIT rounds each left at least one decision
}
