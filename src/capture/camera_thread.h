// capture/camera_thread.h — the appliance's one camera: a grab thread that owns a FrameSource and
// only grabs frames into a small ring (ARCHITECTURE.md, "The appliance"). Everything that looks at
// the camera (the analysis worker, the kiosk preview) reads from here, never from the source.
//
// Contract
//  * Source. `[camera] source` is a V4L2 device (/dev/video*: asked for width × height at fps, and
//    read as fast as it delivers) or a video file, played at its own frame rate in a loop: frames
//    are released at the wall-clock time their container timestamps say (a decoder that falls
//    more than 250 ms behind is re-anchored, never made to burst), and at the end the file is
//    reopened and played again. The grabber lifts capture's 10-minute source bound: a camera runs
//    for as long as the process does.
//  * Ring. At most `ring_capacity` frames are kept; a new frame drops the oldest. The grabber never
//    waits for a consumer: it holds the ring's mutex only to push (no decode, copy or allocation of
//    pixels under it), so a slow or stuck consumer cannot slow the camera.
//  * Frames carry a sequence number (1, 2, ... over the life of the service, across file loops and
//    reopens). `NextAfter(seq)` gives the oldest kept frame newer than `seq` (for a consumer that
//    wants every frame: the analysis worker) and counts the frames that consumer missed because
//    they left the ring first as dropped; `Latest()` / `WaitNewer()` give the newest frame (for the
//    preview, which only ever wants the newest). A frame's pixels are shared, never copied: consumers
//    must treat CameraFrame::bgr as read-only.
//  * States. kStarting until the first frame; kOk; kFrozen when no new frame came for
//    `frozen_after` (a device that stalls inside its read) or the last `identical_frames` frames
//    were byte-identical (a driver repeating its buffer); kLost when the source cannot be opened or
//    fails while reading (unplugged): the grabber retries the open every `reopen_interval`, and a
//    frame brings kOk back. kStopped after Stop(). The state is worked out when asked, so a grabber
//    stuck in a device read still shows kFrozen.
//  * fps: frames per second over the last `fps_window` frames' arrival times, 0 once frozen or lost.
//  * Stop() wakes the grabber out of any pacing or retry wait and joins it; it returns as soon as an
//    in-progress Next() returns (one frame time for files; a V4L2 read has the driver's timeout).
//  * Thread-safety: every public method may be called from any thread at any time; Start/Stop are
//    idempotent. The SourceFactory is called on the grab thread only.
//  * Logs (spdlog): open, lost (with the source's error) and recovered at warn/info, once per change.
#pragma once

#include <opencv2/core.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "capture/capture.h"
#include "common/status.h"

namespace veridge::capture {

enum class CameraState { kStarting, kOk, kFrozen, kLost, kStopped };
const char* ToString(CameraState s);  // "starting" | "ok" | "frozen" | "lost" | "stopped"

struct CameraOptions {
  std::string source;                 // [camera] source: /dev/videoN or a video file
  int width = 640, height = 480;      // asked of a device; a file plays at its own size
  double fps = 30.0;                  // asked of a device; a file's pace when it has no frame rate
  std::size_t ring_capacity = 4;
  std::chrono::milliseconds frozen_after{1000};
  int identical_frames = 30;          // this many byte-identical frames in a row: frozen
  std::chrono::milliseconds reopen_interval{1000};
  int fps_window = 30;
};

struct CameraFrame {
  cv::Mat bgr;                 // 8-bit BGR; shared, read-only
  double source_ms = 0.0;      // the source's timestamp (restarts when a file loops)
  std::chrono::steady_clock::time_point grabbed_at;
  std::uint64_t sequence = 0;  // 1-based, strictly increasing over the life of the service
};

struct CameraStatus {
  CameraState state = CameraState::kStarting;
  double fps = 0.0;
  std::uint64_t frames = 0;       // grabbed since start
  std::uint64_t dropped = 0;      // missed by NextAfter consumers (left the ring unread)
  std::uint64_t reopens = 0;      // file loops and recoveries
  std::size_t ring_size = 0;
  std::size_t ring_high_water = 0;  // the most frames the ring ever held (<= capacity)
  int width = 0, height = 0;      // of the last frame
  std::string last_error;         // why the source is lost (the source's message); "" otherwise
  bool up() const { return state == CameraState::kOk; }
};

// Opens the source; called on the grab thread at start, at each file loop and at each retry.
using SourceFactory = std::function<Result<std::unique_ptr<FrameSource>>()>;

class CameraService {
 public:
  // Opens `options.source` through capture::OpenSource.
  explicit CameraService(CameraOptions options);
  // The seam for tests: frames come from `factory`. A source whose info().kind is "device" is read
  // as fast as it returns; any other kind is paced by its timestamps.
  CameraService(CameraOptions options, SourceFactory factory);
  ~CameraService();  // Stop()
  CameraService(const CameraService&) = delete;
  CameraService& operator=(const CameraService&) = delete;

  void Start();
  void Stop();

  CameraStatus Status() const;
  std::optional<CameraFrame> Latest() const;
  // The newest frame with sequence > `after`, waiting up to `timeout` for one (nullopt: none came,
  // or the service stopped).
  std::optional<CameraFrame> WaitNewer(std::uint64_t after, std::chrono::milliseconds timeout) const;
  // The oldest kept frame with sequence > `after`, waiting up to `timeout`. *missed (optional) gets
  // how many frames after `after` had already left the ring; they are added to Status().dropped.
  std::optional<CameraFrame> NextAfter(std::uint64_t after, std::chrono::milliseconds timeout, std::uint64_t* missed = nullptr);

  const CameraOptions& options() const { return options_; }

 private:
  void Run();
  void Publish(Frame&& frame);
  void SetLost(const std::string& why);
  // Sleeps until `until` or Stop(); false when stopping.
  bool SleepUntil(std::chrono::steady_clock::time_point until);

  CameraOptions options_;
  SourceFactory factory_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::mutex lifecycle_mu_;  // Start vs Stop

  mutable std::mutex mu_;
  mutable std::condition_variable frame_cv_;  // a frame was pushed, or stopping
  std::condition_variable stop_cv_;          // wakes the grabber's waits
  std::deque<CameraFrame> ring_;
  std::deque<std::chrono::steady_clock::time_point> arrivals_;
  std::uint64_t next_sequence_ = 1;
  std::uint64_t dropped_ = 0;
  std::uint64_t reopens_ = 0;
  std::size_t high_water_ = 0;
  std::uint64_t last_hash_ = 0;
  int identical_run_ = 0;
  bool lost_ = false;
  bool stopped_ = false;
  bool started_ = false;
  std::string last_error_;
};

// A 64-bit hash of a frame's pixels (for identical-frame detection; not cryptographic).
std::uint64_t PixelHash(const cv::Mat& m);

}  // namespace veridge::capture
