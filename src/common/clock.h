// common/clock.h — the time seam. Code that reads the time takes a Clock&, so tests can fake it
// (retry schedules, CRL freshness, timestamps, retention). Implementations are thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace veridge {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock time (for timestamps, validity periods): seconds and microseconds since the epoch.
  virtual std::chrono::system_clock::time_point Now() const = 0;
  // Monotonic time (for timeouts and durations).
  virtual std::chrono::steady_clock::time_point Monotonic() const = 0;
  std::int64_t NowUnixSeconds() const {
    return std::chrono::duration_cast<std::chrono::seconds>(Now().time_since_epoch()).count();
  }
};

class SystemClock final : public Clock {
 public:
  std::chrono::system_clock::time_point Now() const override { return std::chrono::system_clock::now(); }
  std::chrono::steady_clock::time_point Monotonic() const override { return std::chrono::steady_clock::now(); }
  static SystemClock& Instance() {
    static SystemClock clock;
    return clock;
  }
};

// A clock that only moves when told to; for tests.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(std::int64_t unix_seconds = 1'700'000'000) : us_(unix_seconds * 1'000'000) {}
  std::chrono::system_clock::time_point Now() const override {
    return std::chrono::system_clock::time_point(std::chrono::microseconds(us_.load()));
  }
  std::chrono::steady_clock::time_point Monotonic() const override {
    return std::chrono::steady_clock::time_point(std::chrono::microseconds(us_.load()));
  }
  void Advance(std::chrono::microseconds d) { us_ += d.count(); }

 private:
  std::atomic<std::int64_t> us_;
};

}  // namespace veridge
