// common/crash_point.h — named places where a test can make the process die (SIGKILL).
//
// Why: crash-consistency tests used to SIGKILL `veridge verify` and `veridge outbox run` at times
// guessed from a measured session length; on a loaded machine those guesses miss (the process has
// not started, or has already finished). A crash point lets a test choose WHERE the process dies,
// whatever the machine's speed: "inside the commit, after every row is written", "after the commit,
// before the decision is printed".
//
// Contract
//  * CrashPoint(name) does nothing unless the process was armed for that name, either by the
//    environment variable VERIDGE_CRASH_AT="<name>[:<n>]" (read once, at the first CrashPoint call)
//    or by ArmCrashPoint() (unit tests that fork). Armed, the n-th pass (default 1) through the
//    point raises SIGKILL: no destructor, atexit handler or buffered write runs, as with a power cut
//    or the OOM killer.
//  * A crash point can only end the process early; it never changes data or control flow
//    otherwise, so an armed production binary can do nothing an operator's `kill -9` could not.
//    Builds for the appliance package may still compile the points out (-DVERIDGE_TEST_HOOKS=OFF).
//  * The names in use are listed below; each call site names its point with one of them.
//  * Thread-safety: CrashPoint may be called from any thread (the pass counter is atomic).
#pragma once

#include <string>
#include <string_view>

namespace veridge {

// Crash points used by Veridge (keep this list and the call sites in step).
namespace crash_points {
inline constexpr std::string_view kStoreBeforeCommit = "store.before_commit";  // a transaction's rows written, COMMIT not yet run
inline constexpr std::string_view kStoreAfterCommit = "store.after_commit";    // COMMIT returned, the caller not yet told
inline constexpr std::string_view kVerifyBeforeCommit = "verify.before_commit";  // session decided, nothing stored yet
inline constexpr std::string_view kVerifyBeforePrint = "verify.before_print";    // stored and queued, decision not yet printed
inline constexpr std::string_view kOutboxAfterResponse = "outbox.after_response";  // the lender answered, the answer not yet recorded
}  // namespace crash_points

void CrashPoint(std::string_view name);

// Arms `name` so that its n-th pass (n >= 1) kills the process; an empty name disarms. For tests
// that fork a child instead of starting a new process.
void ArmCrashPoint(const std::string& name, int n = 1);

}  // namespace veridge
