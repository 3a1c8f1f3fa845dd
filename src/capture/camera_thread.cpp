#include "capture/camera_thread.h"

#include <cstring>
#include <limits>

#include "common/log.h"

namespace veridge::capture {

using Clock = std::chrono::steady_clock;

const char* ToString(CameraState s) {
  switch (s) {
    case CameraState::kStarting: return "starting";
    case CameraState::kOk: return "ok";
    case CameraState::kFrozen: return "frozen";
    case CameraState::kLost: return "lost";
    case CameraState::kStopped: return "stopped";
  }
  return "unknown";
}

std::uint64_t PixelHash(const cv::Mat& m) {
  // Word-wise multiply-xor over every row: ~1 ms for 640x480 BGR, on the grab thread only.
  std::uint64_t h = 0x9E3779B97F4A7C15ull ^ (static_cast<std::uint64_t>(m.cols) << 32) ^ static_cast<std::uint64_t>(m.rows);
  const std::size_t row_bytes = m.cols * m.elemSize();
  for (int y = 0; y < m.rows; ++y) {
    const unsigned char* p = m.ptr<unsigned char>(y);
    std::size_t i = 0;
    for (; i + 8 <= row_bytes; i += 8) {
      std::uint64_t w;
      std::memcpy(&w, p + i, 8);
      h = (h ^ w) * 0x100000001B3ull;
      h ^= h >> 29;
    }
    for (; i < row_bytes; ++i) h = (h ^ p[i]) * 0x100000001B3ull;
  }
  return h;
}

namespace {

SourceFactory OpenFromOptions(const CameraOptions& o) {
  return [o]() -> Result<std::unique_ptr<FrameSource>> {
    CaptureOptions c;
    c.max_frames = std::numeric_limits<std::int64_t>::max();  // a camera runs as long as the process
    c.max_duration_ms = std::numeric_limits<double>::infinity();
    c.device_width = o.width;
    c.device_height = o.height;
    c.device_fps = o.fps;
    return OpenSource(o.source, c);
  };
}

}  // namespace

CameraService::CameraService(CameraOptions options) : CameraService(options, OpenFromOptions(options)) {}

CameraService::CameraService(CameraOptions options, SourceFactory factory)
    : options_(std::move(options)), factory_(std::move(factory)) {
  if (options_.ring_capacity < 1) options_.ring_capacity = 1;
  if (options_.fps_window < 2) options_.fps_window = 2;
  if (options_.fps <= 0) options_.fps = 30;
}

CameraService::~CameraService() { Stop(); }

void CameraService::Start() {
  std::lock_guard<std::mutex> lock(lifecycle_mu_);
  if (started_) return;
  started_ = true;
  thread_ = std::thread([this] { Run(); });
}

void CameraService::Stop() {
  std::lock_guard<std::mutex> lock(lifecycle_mu_);
  {
    std::lock_guard<std::mutex> l(mu_);
    if (stopped_) return;
    stopped_ = true;
    stop_ = true;
  }
  stop_cv_.notify_all();
  frame_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool CameraService::SleepUntil(Clock::time_point until) {
  std::unique_lock<std::mutex> lock(mu_);
  stop_cv_.wait_until(lock, until, [&] { return stop_.load(); });
  return !stop_.load();
}

void CameraService::SetLost(const std::string& why) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!lost_ || last_error_ != why) spdlog::warn("camera {}: lost: {}", options_.source, why);
  lost_ = true;
  last_error_ = why;
  arrivals_.clear();
}

void CameraService::Publish(Frame&& frame) {
  const std::uint64_t hash = PixelHash(frame.bgr);  // outside the lock
  const auto now = Clock::now();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (lost_) spdlog::info("camera {}: delivering frames again", options_.source);
    lost_ = false;
    last_error_.clear();
    identical_run_ = (hash == last_hash_ && !ring_.empty()) ? identical_run_ + 1 : 0;
    last_hash_ = hash;
    CameraFrame f{std::move(frame.bgr), frame.timestamp_ms, now, next_sequence_++};
    if (ring_.size() >= options_.ring_capacity) ring_.pop_front();
    ring_.push_back(std::move(f));
    high_water_ = std::max(high_water_, ring_.size());
    arrivals_.push_back(now);
    while (arrivals_.size() > static_cast<std::size_t>(options_.fps_window)) arrivals_.pop_front();
  }
  frame_cv_.notify_all();
}

void CameraService::Run() {
  std::unique_ptr<FrameSource> source;
  bool paced = false;
  Clock::time_point anchor_wall{};  // wall time of the first frame of this open
  double anchor_ts = 0;             // its source timestamp
  Clock::time_point last_due{};
  bool have_anchor = false, had_frame = false;
  double period_ms = 1000.0 / options_.fps;
  auto retry_at = Clock::now();

  while (!stop_.load()) {
    if (!source) {
      if (!SleepUntil(retry_at)) break;
      auto opened = factory_();
      if (!opened.ok()) {
        SetLost(opened.status().ToString());
        retry_at = Clock::now() + options_.reopen_interval;
        continue;
      }
      source = std::move(*opened);
      paced = source->info().kind != "device";
      if (source->info().nominal_fps > 0 && source->info().nominal_fps < 1000) period_ms = 1000.0 / source->info().nominal_fps;
      have_anchor = false;
      if (had_frame) {
        std::lock_guard<std::mutex> lock(mu_);
        ++reopens_;
      }
    }
    auto next = source->Next();
    if (!next.ok()) {
      SetLost(next.status().ToString());
      source.reset();
      retry_at = Clock::now() + options_.reopen_interval;
      continue;
    }
    if (!next->has_value()) {
      // End of a file (or a source that ended): play it again from the start.
      source.reset();
      retry_at = Clock::now();
      if (!had_frame) {
        SetLost(options_.source + ": the source ended without a frame");
        retry_at += options_.reopen_interval;
      }
      continue;
    }
    Frame frame = std::move(**next);
    if (paced) {
      const auto now = Clock::now();
      Clock::time_point due;
      if (!have_anchor) {
        // The first frame of an open follows the previous frame by one frame time.
        due = had_frame ? std::max(now, last_due + std::chrono::duration_cast<Clock::duration>(
                                                      std::chrono::duration<double, std::milli>(period_ms)))
                        : now;
        if (had_frame && due - now > std::chrono::milliseconds(250)) due = now;
        anchor_wall = due;
        anchor_ts = frame.timestamp_ms;
        have_anchor = true;
      } else {
        due = anchor_wall + std::chrono::duration_cast<Clock::duration>(
                                std::chrono::duration<double, std::milli>(frame.timestamp_ms - anchor_ts));
        if (due < last_due) due = last_due;  // timestamps that go backwards: no earlier than the last
        if (now - due > std::chrono::milliseconds(250)) {
          // Decoding fell behind: re-anchor here instead of bursting the backlog out.
          anchor_wall = due = now;
          anchor_ts = frame.timestamp_ms;
        }
      }
      if (!SleepUntil(due)) break;
      last_due = due;
    }
    had_frame = true;
    Publish(std::move(frame));
  }
  std::lock_guard<std::mutex> lock(mu_);
  stop_ = true;
  frame_cv_.notify_all();
}

CameraStatus CameraService::Status() const {
  std::lock_guard<std::mutex> lock(mu_);
  CameraStatus s;
  const auto now = Clock::now();
  s.frames = next_sequence_ - 1;
  s.dropped = dropped_;
  s.reopens = reopens_;
  s.ring_size = ring_.size();
  s.ring_high_water = high_water_;
  s.last_error = last_error_;
  if (!ring_.empty()) {
    s.width = ring_.back().bgr.cols;
    s.height = ring_.back().bgr.rows;
  }
  if (stopped_) s.state = CameraState::kStopped;
  else if (lost_) s.state = CameraState::kLost;
  else if (ring_.empty()) s.state = CameraState::kStarting;
  else if (now - ring_.back().grabbed_at > options_.frozen_after || identical_run_ + 1 >= options_.identical_frames)
    s.state = CameraState::kFrozen;
  else s.state = CameraState::kOk;
  if (s.state == CameraState::kOk && arrivals_.size() >= 2) {
    const double span = std::chrono::duration<double>(arrivals_.back() - arrivals_.front()).count();
    if (span > 0) s.fps = static_cast<double>(arrivals_.size() - 1) / span;
  }
  return s;
}

std::optional<CameraFrame> CameraService::Latest() const {
  std::lock_guard<std::mutex> lock(mu_);
  if (ring_.empty()) return std::nullopt;
  return ring_.back();
}

std::optional<CameraFrame> CameraService::WaitNewer(std::uint64_t after, std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(mu_);
  frame_cv_.wait_for(lock, timeout, [&] { return stop_.load() || (!ring_.empty() && ring_.back().sequence > after); });
  if (ring_.empty() || ring_.back().sequence <= after) return std::nullopt;
  return ring_.back();
}

std::optional<CameraFrame> CameraService::NextAfter(std::uint64_t after, std::chrono::milliseconds timeout, std::uint64_t* missed) {
  std::unique_lock<std::mutex> lock(mu_);
  if (missed) *missed = 0;
  frame_cv_.wait_for(lock, timeout, [&] { return stop_.load() || (!ring_.empty() && ring_.back().sequence > after); });
  if (ring_.empty() || ring_.back().sequence <= after) return std::nullopt;
  for (const auto& f : ring_) {
    if (f.sequence <= after) continue;
    // A consumer that has seen frames before (after > 0) and finds a gap missed what left the ring.
    const std::uint64_t gap = after > 0 ? f.sequence - after - 1 : 0;
    dropped_ += gap;
    if (missed) *missed = gap;
    return f;
  }
  return std::nullopt;
}

}  // namespace veridge::capture
