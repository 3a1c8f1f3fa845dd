// The camera service: synthetic sources behind the SourceFactory seam for timing and states, and a
// real clip from ../shared/data/liveness played as the camera.
#include "capture/camera_thread.h"

#include <opencv2/imgproc.hpp>

#include <thread>

#include "support/test_support.h"

using namespace veridge;
using namespace veridge::capture;
using Ms = std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

namespace {

cv::Mat Numbered(int i, int w = 64, int h = 48) {
  cv::Mat m(h, w, CV_8UC3, cv::Scalar(i % 251, (i * 7) % 253, (i * 13) % 255));
  m.at<cv::Vec3b>(0, 0) = cv::Vec3b(static_cast<uchar>(i), static_cast<uchar>(i >> 8), 1);
  return m;
}

// A "file" of n frames at fps: frames come out at once; the service must pace them.
SourceFactory SyntheticFile(int n, double fps, int* opens = nullptr) {
  return [=]() -> Result<std::unique_ptr<FrameSource>> {
    if (opens) ++*opens;
    std::vector<Frame> frames;
    for (int i = 0; i < n; ++i) frames.push_back(Frame{Numbered(i), i * 1000.0 / fps, i});
    SourceInfo info;
    info.kind = "video";
    info.nominal_fps = fps;
    return MemorySource(std::move(frames), info);
  };
}

// A "device" that blocks in Next for one frame time, like V4L2; `identical` repeats one buffer,
// `stall_after` frames in, Next blocks until `release` is set.
class FakeDevice final : public FrameSource {
 public:
  FakeDevice(Ms period, bool identical, int stall_after, std::shared_ptr<std::atomic<bool>> release)
      : period_(period), identical_(identical), stall_after_(stall_after), release_(std::move(release)) {
    info_.kind = "device";
  }
  Result<std::optional<Frame>> Next() override {
    if (stall_after_ >= 0 && n_ >= stall_after_)
      while (!release_->load()) std::this_thread::sleep_for(Ms(5));
    std::this_thread::sleep_for(period_);
    ++n_;
    return std::optional<Frame>(Frame{identical_ ? Numbered(0) : Numbered(n_), static_cast<double>(n_), n_});
  }
  const SourceInfo& info() const override { return info_; }
  bool truncated() const override { return false; }

 private:
  Ms period_;
  bool identical_;
  int stall_after_;
  std::shared_ptr<std::atomic<bool>> release_;
  SourceInfo info_;
  int n_ = 0;
};

SourceFactory Device(Ms period, bool identical = false, int stall_after = -1,
                     std::shared_ptr<std::atomic<bool>> release = std::make_shared<std::atomic<bool>>(false)) {
  return [=]() -> Result<std::unique_ptr<FrameSource>> {
    return std::unique_ptr<FrameSource>(std::make_unique<FakeDevice>(period, identical, stall_after, release));
  };
}

template <typename Pred>
bool WaitUntil(Pred pred, Ms timeout) {
  const auto until = SteadyClock::now() + timeout;
  while (SteadyClock::now() < until) {
    if (pred()) return true;
    std::this_thread::sleep_for(Ms(5));
  }
  return pred();
}

}  // namespace

TEST_CASE("camera: a file source is paced by its timestamps and loops at its end") {
  int opens = 0;
  CameraOptions o;
  o.source = "synthetic";
  CameraService cam(o, SyntheticFile(10, 50.0, &opens));
  cam.Start();
  std::this_thread::sleep_for(Ms(1000));
  const auto s = cam.Status();
  cam.Stop();
  // 50 fps for one second: 50 frames (never the 10-frame file in a burst, never far fewer).
  CHECK(s.frames >= 45);
  CHECK(s.frames <= 55);
  CHECK(s.fps == Approx(50.0).epsilon(0.10));
  CHECK(s.state == CameraState::kOk);
  CHECK(opens >= 5);  // played again from the start every 10 frames
  CHECK(s.reopens >= 4);
}

TEST_CASE("camera: the ring never exceeds its capacity and a slow consumer does not slow the grabber") {
  CameraOptions o;
  o.source = "fake-device";
  o.ring_capacity = 3;
  CameraService cam(o, Device(Ms(5)));
  cam.Start();
  const auto start = SteadyClock::now();
  std::uint64_t seen = 0, first = 0, consumed = 0, missed_total = 0;
  std::size_t max_ring = 0;
  while (SteadyClock::now() - start < Ms(1000)) {
    std::uint64_t missed = 0;
    auto f = cam.NextAfter(seen, Ms(200), &missed);
    REQUIRE(f);
    CHECK(f->sequence > seen);
    if (!first) first = f->sequence;
    seen = f->sequence;
    ++consumed;
    missed_total += missed;
    max_ring = std::max(max_ring, cam.Status().ring_size);
    std::this_thread::sleep_for(Ms(50));  // a consumer ten times slower than the camera
  }
  const auto s = cam.Status();
  cam.Stop();
  CHECK(max_ring <= 3);
  CHECK(s.ring_high_water <= 3);
  CHECK(s.ring_high_water == 3);
  // The grabber kept its ~200 fps (5 ms reads plus scheduling): far more frames than were consumed.
  CHECK(s.frames >= 100);
  CHECK(consumed <= 25);
  CHECK(missed_total > 0);
  CHECK(s.dropped == missed_total);
  CHECK(seen <= s.frames);
  CHECK(seen - first == consumed - 1 + missed_total);  // every frame after the first was taken or missed
}

TEST_CASE("camera: identical frames and a stalled source are frozen, a source that cannot open is lost") {
  SECTION("identical frames") {
    CameraOptions o;
    o.identical_frames = 10;
    CameraService cam(o, Device(Ms(2), /*identical=*/true));
    cam.Start();
    CHECK(WaitUntil([&] { return cam.Status().frames >= 12; }, Ms(2000)));
    CHECK(cam.Status().state == CameraState::kFrozen);
    CHECK(cam.Status().fps == 0.0);
  }
  SECTION("changing frames are ok, then a stall is frozen, then a new frame is ok again") {
    CameraOptions o;
    o.frozen_after = Ms(150);
    auto release = std::make_shared<std::atomic<bool>>(false);
    CameraService cam(o, Device(Ms(5), false, /*stall_after=*/20, release));
    cam.Start();
    CHECK(WaitUntil([&] { return cam.Status().frames >= 5; }, Ms(2000)));
    CHECK(cam.Status().state == CameraState::kOk);
    CHECK(WaitUntil([&] { return cam.Status().state == CameraState::kFrozen; }, Ms(2000)));
    const auto frames = cam.Status().frames;
    CHECK(frames == 20);
    *release = true;
    CHECK(WaitUntil([&] { return cam.Status().state == CameraState::kOk; }, Ms(2000)));
    CHECK(cam.Status().frames > frames);
  }
  SECTION("an open that fails is lost and is retried; a later success brings it back") {
    CameraOptions o;
    o.reopen_interval = Ms(20);
    std::atomic<int> attempts{0};
    auto device = Device(Ms(5));
    CameraService cam(o, [&]() -> Result<std::unique_ptr<FrameSource>> {
      if (++attempts < 5) return Status::Unavailable("device_unavailable", "/dev/video9: cannot open the camera");
      return device();
    });
    cam.Start();
    CHECK(WaitUntil([&] { return cam.Status().state == CameraState::kLost; }, Ms(1000)));
    CHECK(cam.Status().last_error.find("device_unavailable") != std::string::npos);
    CHECK(WaitUntil([&] { return cam.Status().state == CameraState::kOk; }, Ms(2000)));
    CHECK(attempts == 5);
    CHECK(cam.Status().last_error.empty());
  }
  SECTION("a real missing device is lost with the capture error") {
    CameraOptions o;
    o.source = "/dev/video-veridge-missing";
    CameraService cam(o);
    cam.Start();
    CHECK(WaitUntil([&] { return cam.Status().state == CameraState::kLost; }, Ms(2000)));
    CHECK(!cam.Latest());
  }
}

TEST_CASE("camera: Stop joins promptly from a pacing wait and from a retry wait") {
  SECTION("a 1 fps file") {
    CameraService cam({}, SyntheticFile(5, 1.0));
    cam.Start();
    CHECK(WaitUntil([&] { return cam.Status().frames >= 1; }, Ms(1000)));
    const auto t0 = SteadyClock::now();
    cam.Stop();
    CHECK(SteadyClock::now() - t0 < Ms(100));
    CHECK(cam.Status().state == CameraState::kStopped);
    CHECK(!cam.WaitNewer(cam.Status().frames, Ms(10)));
  }
  SECTION("a lost camera waiting 10 s to retry") {
    CameraOptions o;
    o.reopen_interval = Ms(10000);
    CameraService cam(o, [] { return Result<std::unique_ptr<FrameSource>>(Status::Unavailable("device_unavailable", "gone")); });
    cam.Start();
    CHECK(WaitUntil([&] { return cam.Status().state == CameraState::kLost; }, Ms(1000)));
    const auto t0 = SteadyClock::now();
    cam.Stop();
    CHECK(SteadyClock::now() - t0 < Ms(100));
  }
}

TEST_CASE("camera: a real clip as the camera plays at the file's frame rate") {
  auto clip = testing::SharedData("liveness/subject-a/real.webm");
  VERIDGE_REQUIRE_PATH(clip, "liveness clip subject-a/real.webm");
  auto src = OpenSource(clip.string());
  REQUIRE(src.ok());
  auto first = (*src)->Next();
  REQUIRE(first.ok());
  REQUIRE(first->has_value());
  const cv::Size size = (*first)->bgr.size();

  CameraOptions o;
  o.source = clip.string();
  CameraService cam(o);
  cam.Start();
  // Every frame for 2 s, as the analysis worker would take them: when each was grabbed, and the
  // file's own timestamp. A webcam recording has a variable frame rate, so the file's rate is
  // taken over the very frames played, from their timestamps.
  std::vector<CameraFrame> got;
  std::uint64_t seen = 0, missed_total = 0;
  const auto t0 = SteadyClock::now();
  while (SteadyClock::now() - t0 < Ms(2000)) {
    std::uint64_t missed = 0;
    auto f = cam.NextAfter(seen, Ms(1000), &missed);
    REQUIRE(f);
    seen = f->sequence;
    missed_total += missed;
    if (!got.empty() && f->source_ms < got.back().source_ms) got.clear();  // the file looped: start the window again
    got.push_back(*f);
  }
  const auto s = cam.Status();
  const auto t1 = SteadyClock::now();
  cam.Stop();
  CHECK(SteadyClock::now() - t1 < Ms(200));
  REQUIRE(got.size() > 20);
  const auto n = got.size();
  const double file_fps = (n - 1) * 1000.0 / (got.back().source_ms - got.front().source_ms);
  const double played_fps = (n - 1) / std::chrono::duration<double>(got.back().grabbed_at - got.front().grabbed_at).count();
  // The service's own measure covers its last fps_window frames: compare it with the file's rate there.
  const std::size_t w = std::min<std::size_t>(n, static_cast<std::size_t>(o.fps_window));
  const double file_fps_recent = (w - 1) * 1000.0 / (got.back().source_ms - got[n - w].source_ms);
  INFO("file fps " << file_fps << " (recent " << file_fps_recent << "), played " << played_fps << ", measured " << s.fps
                   << " over " << n << " frames");
  CHECK(missed_total == 0);  // a consumer that keeps up misses nothing
  CHECK(s.state == CameraState::kOk);
  CHECK(played_fps == Approx(file_fps).epsilon(0.10));
  CHECK(s.fps == Approx(file_fps_recent).epsilon(0.10));
  CHECK(s.width == size.width);
  CHECK(s.height == size.height);
  CHECK(s.ring_high_water <= o.ring_capacity);
}
