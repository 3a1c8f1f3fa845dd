// Session-level tests of LivenessChecker on the real clips, synthetic photo attacks and bad input.
// Models come from the dev model dir (tools/fetch-models.sh); clips from ../shared/data/liveness.
// Each test case runs in its own process (catch_discover_tests), so clips are cut to what each
// test needs to keep the suite fast.
#include <catch2/catch.hpp>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <nlohmann/json.hpp>

#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <map>

#include "capture/capture.h"
#include "common/log.h"
#include "liveness/liveness.h"
#include "liveness/liveness_test_support.h"
#include "liveness/synthetic.h"
#include "support/test_support.h"
#include "vision/vision.h"

using namespace veridge;

namespace {
struct LogInit {
  LogInit() { veridge::InitLogging(); }
} g_log_init;
}  // namespace
using veridge::testing::SharedData;
using veridge::testing::HaveLivenessModels;

namespace {

liveness::LivenessChecker* Checker(double max_session_ms = 30'000) {
  static std::map<double, std::unique_ptr<liveness::LivenessChecker>> cache;
  auto& c = cache[max_session_ms];
  if (!c) {
    liveness::LivenessOptions o;
    o.model_dir = veridge::testing::DevModelDir();
    o.max_session_ms = max_session_ms;
    auto r = liveness::LivenessChecker::Create(o);
    if (!r.ok()) FAIL(r.status().ToString());
    c = std::move(r).value();
  }
  return c.get();
}

// Passes through at most n frames of another source.
class Prefix final : public capture::FrameSource {
 public:
  Prefix(std::unique_ptr<capture::FrameSource> s, std::int64_t n) : s_(std::move(s)), n_(n) {}
  Result<std::optional<capture::Frame>> Next() override {
    if (n_-- <= 0) return std::optional<capture::Frame>();
    return s_->Next();
  }
  const capture::SourceInfo& info() const override { return s_->info(); }
  bool truncated() const override { return false; }

 private:
  std::unique_ptr<capture::FrameSource> s_;
  std::int64_t n_;
};

std::unique_ptr<capture::FrameSource> Clip(const std::string& rel, std::int64_t max_frames = 1 << 30) {
  auto s = capture::OpenSource(SharedData("liveness/" + rel).string());
  REQUIRE(s.ok());
  return std::make_unique<Prefix>(std::move(s).value(), max_frames);
}

// The passive verdict on a whole shared clip.
liveness::LivenessResult PassiveVerdict(const std::string& rel) {
  auto src = Clip(rel);
  auto r = Checker()->Check(*src);
  REQUIRE(r.ok());
  return std::move(r).value();
}

cv::Mat FrameOf(const std::string& rel, int index) {
  auto s = Clip(rel);
  cv::Mat m;
  for (int i = 0; i <= index; ++i) {
    auto f = s->Next();
    REQUIRE(f.ok());
    REQUIRE(f->has_value());
    m = (**f).bgr;
  }
  return m.clone();
}

// The first n frames of a clip, decoded.
std::vector<capture::Frame> Frames(const std::string& rel, int n) {
  auto s = Clip(rel, n);
  std::vector<capture::Frame> out;
  while (true) {
    auto f = s->Next();
    REQUIRE(f.ok());
    if (!f->has_value()) break;
    out.push_back(std::move(**f));
  }
  return out;
}

std::vector<capture::Frame> Noisy(const cv::Mat& photo, int n, double fps, double t0 = 0, std::int64_t i0 = 0) {
  std::vector<capture::Frame> out;
  cv::RNG rng(static_cast<std::uint64_t>(i0 + 7));
  for (int i = 0; i < n; ++i) {
    cv::Mat noise(photo.size(), CV_16SC3), f16, f;
    rng.fill(noise, cv::RNG::NORMAL, cv::Scalar::all(0), cv::Scalar::all(3));
    photo.convertTo(f16, CV_16SC3);
    f16 += noise;
    f16.convertTo(f, CV_8UC3);
    out.push_back({f, t0 + i * 1000.0 / fps, i0 + i});
  }
  return out;
}

capture::SourceInfo VideoInfo(double fps = 30) {
  capture::SourceInfo info;
  info.kind = "video";
  info.spec = "memory";
  info.nominal_fps = fps;
  return info;
}

bool HasReason(const liveness::LivenessResult& r, const std::string& code) {
  return std::find(r.reasons.begin(), r.reasons.end(), code) != r.reasons.end();
}

}  // namespace

TEST_CASE("real clips are live in passive mode, with a best frame from the clip", "[checker]") {
  REQUIRE_LIVENESS_DATA();
  for (const char* clip : {"subject-a/real.webm", "subject-b/real.mp4"}) {
    auto src = Clip(clip);
    auto r = Checker()->Check(*src);
    REQUIRE(r.ok());
    INFO(clip << ": " << liveness::ToJson(*r).dump());
    CHECK(r->live);
    CHECK(r->reasons.empty());
    CHECK(r->score > 0.9);
    CHECK(r->face_frames == r->frames);
    CHECK_FALSE(r->best_frame.empty());
    CHECK(r->best_frame_ms >= 0);
  }
}

TEST_CASE("phone-screen replays are rejected as presentation attacks", "[checker]") {
  REQUIRE_LIVENESS_DATA();
  for (const char* clip : {"subject-a/replay.webm", "subject-b/replay.mp4"}) {
    auto src = Clip(clip, 120);
    auto r = Checker()->Check(*src);
    REQUIRE(r.ok());
    INFO(clip << ": " << liveness::ToJson(*r).dump());
    CHECK_FALSE(r->live);
    CHECK(HasReason(*r, "presentation_attack"));
    CHECK(r->score < 0.1);
  }
}

TEST_CASE("a replay that blinks is still not live: blink alone is never enough", "[checker]") {
  REQUIRE_LIVENESS_DATA();
  auto src = Clip("subject-a/replay.webm", 150);
  liveness::CheckRequest req{{liveness::Challenge::kBlink}};
  auto r = Checker()->Check(*src, req);
  REQUIRE(r.ok());
  INFO(liveness::ToJson(*r).dump());
  CHECK_FALSE(r->live);
  CHECK(HasReason(*r, "presentation_attack"));
}

TEST_CASE("still and panned photos are rejected in passive mode (frozen_face)", "[checker]") {
  REQUIRE_LIVENESS_DATA();
  for (const char* clip : {"subject-a/real.webm", "subject-b/real.mp4"}) {
    const cv::Mat photo = FrameOf(clip, 50);
    liveness::SyntheticOptions so;
    so.frames = 45;
    auto still = liveness::StillPhotoSource(photo, so);
    auto panned = liveness::PannedPhotoSource(photo, so);
    for (auto* src : {still.get(), panned.get()}) {
      auto r = Checker()->Check(*src);
      REQUIRE(r.ok());
      INFO(clip << " " << src->info().spec << ": " << liveness::ToJson(*r).dump());
      CHECK_FALSE(r->live);
      CHECK(HasReason(*r, "frozen_face"));
      CHECK(r->face_frames == 45);
    }
  }
}

TEST_CASE("active mode rejects still and panned photos: they cannot follow the challenge", "[checker]") {
  REQUIRE_LIVENESS_DATA();
  const cv::Mat photo = FrameOf("subject-a/real.webm", 50);
  liveness::SyntheticOptions so;
  so.frames = 60;
  liveness::CheckRequest req{{liveness::Challenge::kBlink, liveness::Challenge::kTurnLeft}};
  auto still = liveness::StillPhotoSource(photo, so);
  auto panned = liveness::PannedPhotoSource(photo, so);
  for (auto* src : {still.get(), panned.get()}) {
    auto r = Checker()->Check(*src, req);
    REQUIRE(r.ok());
    INFO(src->info().spec << ": " << liveness::ToJson(*r).dump());
    CHECK_FALSE(r->live);
    const auto* c = r->Find("challenge");
    REQUIRE(c != nullptr);
    CHECK_FALSE(c->passed);
    CHECK(c->score == 0.0);  // not even the first challenge
  }
}

TEST_CASE("no face: a clip of an empty scene is not live (no_face)", "[checker][bad_input]") {
  REQUIRE_LIVENESS_DATA();
  cv::Mat wall(480, 640, CV_8UC3, cv::Scalar(120, 130, 125));
  auto src = capture::MemorySource(Noisy(wall, 20, 30), VideoInfo());
  auto r = Checker()->Check(*src);
  REQUIRE(r.ok());
  CHECK_FALSE(r->live);
  CHECK(HasReason(*r, "no_face"));
  CHECK(r->face_frames == 0);
  CHECK(r->best_frame.empty());
}

TEST_CASE("two faces in view fail with multiple_faces", "[checker][bad_input]") {
  REQUIRE_LIVENESS_DATA();
  cv::Mat a = FrameOf("subject-a/real.webm", 50), b = FrameOf("subject-b/real.mp4", 50);
  cv::resize(b, b, a.size());
  cv::Mat both;
  cv::hconcat(a, b, both);  // 1280×480: the applicant and someone beside/behind them
  auto src = capture::MemorySource(Noisy(both, 12, 30), VideoInfo());
  auto r = Checker()->Check(*src);
  REQUIRE(r.ok());
  INFO(liveness::ToJson(*r).dump());
  CHECK_FALSE(r->live);
  CHECK(HasReason(*r, "multiple_faces"));
}

TEST_CASE("a face lost mid-challenge fails with face_lost", "[checker][bad_input]") {
  REQUIRE_LIVENESS_DATA();
  auto frames = Noisy(FrameOf("subject-a/real.webm", 50), 24, 30);
  cv::Mat wall(480, 640, CV_8UC3, cv::Scalar(120, 130, 125));
  for (auto& f : Noisy(wall, 45, 30, 24 * 1000.0 / 30, 24)) frames.push_back(std::move(f));
  auto src = capture::MemorySource(std::move(frames), VideoInfo());
  auto r = Checker()->Check(*src, {{liveness::Challenge::kTurnLeft}});
  REQUIRE(r.ok());
  INFO(liveness::ToJson(*r).dump());
  CHECK_FALSE(r->live);
  CHECK(HasReason(*r, "face_lost"));
}

TEST_CASE("a clip shorter than the challenge fails with clip_too_short", "[checker][bad_input]") {
  REQUIRE_LIVENESS_DATA();
  auto src = Clip("subject-b/real.mp4", 20);
  auto r = Checker()->Check(*src, {{liveness::Challenge::kTurnLeft, liveness::Challenge::kOpenMouth}});
  REQUIRE(r.ok());
  INFO(liveness::ToJson(*r).dump());
  CHECK_FALSE(r->live);
  CHECK(HasReason(*r, "clip_too_short"));
}

TEST_CASE("a corrupt video is a bad-input error, not a verdict", "[checker][bad_input]") {
  veridge::testing::TempDir dir;
  const auto path = dir / "corrupt.webm";
  {
    std::ofstream out(path, std::ios::binary);
    std::string junk(64 * 1024, '\0');
    for (size_t i = 0; i < junk.size(); ++i) junk[i] = char((i * 2654435761u) >> 13);
    out << "\x1a\x45\xdf\xa3" << junk;  // an EBML magic followed by garbage
  }
  auto src = capture::OpenSource(path.string());
  if (!src.ok()) {
    CHECK(src.status().code() == "source_unreadable");
    CHECK(src.status().ExitCode() == 2);
    return;
  }
  if (!HaveLivenessModels()) VERIDGE_SKIP("models not installed");
  auto r = Checker()->Check(**src);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == "source_unreadable");
}

TEST_CASE("4K frames are analysed downscaled and give the same verdict", "[checker][bad_input]") {
  REQUIRE_LIVENESS_DATA();
  cv::Mat photo = FrameOf("subject-a/real.webm", 50), big;
  cv::resize(photo, big, cv::Size(3840, 2160), 0, 0, cv::INTER_LINEAR);
  auto src = capture::MemorySource(Noisy(big, 8, 30), VideoInfo());
  auto r = Checker()->Check(*src);
  REQUIRE(r.ok());
  INFO(liveness::ToJson(*r).dump());
  CHECK(r->face_frames == 8);
  CHECK(r->best_frame.cols <= 1280);  // evidence is the working copy, not a 4K frame
  CHECK(HasReason(*r, "frozen_face"));
}

TEST_CASE("a 10-minute clip is cut at max_session_ms and says so", "[checker][bad_input]") {
  REQUIRE_LIVENESS_DATA();
  liveness::SyntheticOptions so;
  so.frames = 10 * 60 * 30;  // generated lazily: no memory cost
  auto src = liveness::StillPhotoSource(FrameOf("subject-a/real.webm", 50), so);
  auto r = Checker(1000)->Check(*src);
  REQUIRE(r.ok());
  CHECK(r->frames <= 31);
  const auto* ts = r->Find("timestamps");
  REQUIRE(ts != nullptr);
  CHECK(ts->detail.find("analysis cut") != std::string::npos);
}

TEST_CASE("injection checks: timestamps, frame rate, virtual camera, repeated frames", "[checker][injection]") {
  REQUIRE_LIVENESS_DATA();
  const cv::Mat photo = FrameOf("subject-a/real.webm", 50);
  SECTION("timestamps that go backwards") {
    auto frames = Noisy(photo, 12, 30);
    std::swap(frames[5].timestamp_ms, frames[6].timestamp_ms);
    auto r = Checker()->Check(*capture::MemorySource(std::move(frames), VideoInfo()));
    REQUIRE(r.ok());
    CHECK(HasReason(*r, "bad_timestamps"));
  }
  SECTION("a frame rate far from the camera device's") {
    auto info = VideoInfo(30);
    info.kind = "device";
    auto r = Checker()->Check(*capture::MemorySource(Noisy(photo, 12, 8), info));
    REQUIRE(r.ok());
    CHECK(HasReason(*r, "frame_rate_mismatch"));
  }
  SECTION("a virtual camera stays a rejection even at its nominal rate") {
    auto info = VideoInfo(30);
    info.kind = "device";
    info.virtual_device = true;
    auto r = Checker()->Check(*capture::MemorySource(Noisy(photo, 12, 30), info));
    REQUIRE(r.ok());
    CHECK(HasReason(*r, "virtual_camera"));
    CHECK_FALSE(HasReason(*r, "frame_rate_mismatch"));
  }
  SECTION("a file with irregular timestamps (long stalls between bursts)") {
    auto frames = Noisy(photo, 24, 30);
    for (size_t i = 0; i < frames.size(); ++i) frames[i].timestamp_ms = double(i / 3) * 600.0 + double(i % 3) * 10.0;
    auto r = Checker()->Check(*capture::MemorySource(std::move(frames), VideoInfo(30)));
    REQUIRE(r.ok());
    INFO(liveness::ToJson(*r).dump());
    CHECK(HasReason(*r, "bad_timestamps"));
  }
  SECTION("a virtual camera device") {
    auto info = VideoInfo();
    info.kind = "device";
    info.driver = "v4l2 loopback";
    info.card = "OBS Virtual Camera";
    info.virtual_device = true;
    auto r = Checker()->Check(*capture::MemorySource(Noisy(photo, 8, 30), info));
    REQUIRE(r.ok());
    CHECK(HasReason(*r, "virtual_camera"));
  }
  SECTION("identical frames (a still injected without noise)") {
    std::vector<capture::Frame> frames;
    for (int i = 0; i < 12; ++i) frames.push_back({photo, i * 1000.0 / 30, i});
    auto r = Checker()->Check(*capture::MemorySource(std::move(frames), VideoInfo()));
    REQUIRE(r.ok());
    CHECK(HasReason(*r, "static_stream"));
  }
}

TEST_CASE("a different person in a still mid-clip fails identity_continuity", "[checker]") {
  REQUIRE_LIVENESS_DATA();
  cv::Mat a = FrameOf("subject-a/real.webm", 50), b = FrameOf("subject-b/real.mp4", 50);
  cv::resize(b, b, a.size());
  auto frames = Noisy(a, 10, 8);  // 8 fps keeps the clip short while spanning 2.5 s
  for (auto& f : Noisy(b, 10, 8, 10 * 125.0, 10)) frames.push_back(std::move(f));
  auto r = Checker()->Check(*capture::MemorySource(std::move(frames), VideoInfo(8)));
  REQUIRE(r.ok());
  INFO(liveness::ToJson(*r).dump());
  CHECK(HasReason(*r, "identity_changed"));
}

TEST_CASE("veridge liveness check: JSON verdict and exit codes", "[cli]") {
  REQUIRE_LIVENESS_DATA();
  VERIDGE_REQUIRE_PATH(veridge::testing::VeridgeBinary(), "veridge binary (build the 'veridge' target)");
  veridge::testing::TempDir dir;
  auto run = [&](const std::string& args) {
    const auto out = dir / "out.json";
    const std::string cmd = veridge::testing::VeridgeBinary().string() + " liveness check --json " + args + " > " + out.string() + " 2>/dev/null";
    const int rc = std::system(cmd.c_str());
    std::ifstream in(out);
    std::string line;
    std::getline(in, line);
    return std::make_pair(WEXITSTATUS(rc), nlohmann::json::parse(line, nullptr, false));
  };
  auto [rc, j] = run(SharedData("liveness/subject-b/replay.mp4").string());
  CHECK(rc == 1);
  REQUIRE(j.is_object());
  CHECK(j["live"] == false);
  CHECK(j["reasons"].dump().find("presentation_attack") != std::string::npos);
  CHECK(j["checks"].size() >= 9);
  auto [rc2, j2] = run("--challenge blink,wink " + SharedData("liveness/subject-b/replay.mp4").string());
  CHECK(rc2 == 2);
  CHECK(j2["error"]["code"] == "unknown_challenge");
  auto [rc3, j3] = run((dir / "missing.mp4").string());
  CHECK(rc3 == 2);
  CHECK(j3["error"]["code"] == "source_not_found");
}

TEST_CASE("real clips with head turns to profile (subject-c, subject-e) are live in passive mode", "[checker][continuity]") {
  REQUIRE_LIVENESS_DATA();
  VERIDGE_REQUIRE_PATH(SharedData("liveness/subject-e/real.mp4"), "liveness clips with turns");
  for (const char* clip : {"subject-c/real.webm", "subject-e/real.mp4"}) {
    const auto r = PassiveVerdict(clip);
    INFO(clip << ": " << liveness::ToJson(r).dump());
    CHECK(r.live);
    CHECK(r.reasons.empty());
    const auto* id = r.Find("identity_continuity");
    REQUIRE(id != nullptr);
    CHECK(id->passed);
    CHECK(r.continuity_distance > 0.0);  // descriptors were compared
    CHECK(r.continuity_distance < 0.6);
  }
}

TEST_CASE("the replays of the turning clips are rejected", "[checker][continuity]") {
  REQUIRE_LIVENESS_DATA();
  VERIDGE_REQUIRE_PATH(SharedData("liveness/subject-e/replay.mp4"), "liveness clips with turns");
  for (const char* clip : {"subject-c/replay.webm", "subject-e/replay.mp4"}) {
    const auto r = PassiveVerdict(clip);
    INFO(clip << ": " << liveness::ToJson(r).dump());
    CHECK_FALSE(r.live);
  }
}

TEST_CASE("a clip spliced from two people (subject-a then subject-b) fails with identity_changed", "[checker][continuity]") {
  REQUIRE_LIVENESS_DATA();
  veridge::testing::TempDir dir;
  // An image folder (a capture source like any other): 1.5 s of subject-a, then 1.5 s of subject-b
  // scaled to the same frame size, as a cut in an edited or injected video would look.
  auto a = Frames("subject-a/real.webm", 45), b = Frames("subject-b/real.mp4", 45);
  REQUIRE(a.size() == 45);
  REQUIRE(b.size() == 45);
  int k = 0;
  char name[32];
  for (const auto& f : a) {
    std::snprintf(name, sizeof name, "%04d.jpg", k++);
    REQUIRE(cv::imwrite((dir / name).string(), f.bgr));
  }
  for (const auto& f : b) {
    cv::Mat m;
    cv::resize(f.bgr, m, a[0].bgr.size(), 0, 0, cv::INTER_AREA);
    std::snprintf(name, sizeof name, "%04d.jpg", k++);
    REQUIRE(cv::imwrite((dir / name).string(), m));
  }
  auto src = capture::OpenSource(dir.path().string());
  REQUIRE(src.ok());
  auto r = Checker()->Check(**src);
  REQUIRE(r.ok());
  INFO(liveness::ToJson(*r).dump());
  CHECK_FALSE(r->live);
  CHECK(HasReason(*r, "identity_changed"));
  // Each half alone is one person: the failure is the splice, not either clip.
  const auto* pad = r->Find("pad");
  REQUIRE(pad != nullptr);
  CHECK(pad->passed);
}

TEST_CASE("a file whose container claims the wrong fps passes on its timestamps, with a quality note", "[checker][injection]") {
  REQUIRE_LIVENESS_DATA();
  // The real frames of subject-a, re-timed at 16 fps, in a "container" that claims 1000 fps (what
  // WebM's millisecond timebase makes OpenCV report). OpenCV cannot write a file whose claim and
  // timestamps disagree, so the FrameSource seam carries the claim.
  auto frames = Frames("subject-a/real.webm", 48);
  for (size_t i = 0; i < frames.size(); ++i) frames[i].timestamp_ms = double(i) * 62.5;
  auto r = Checker()->Check(*capture::MemorySource(std::move(frames), VideoInfo(1000)));
  REQUIRE(r.ok());
  INFO(liveness::ToJson(*r).dump());
  CHECK_FALSE(HasReason(*r, "frame_rate_mismatch"));
  const auto* fr = r->Find("frame_rate");
  REQUIRE(fr != nullptr);
  CHECK(fr->passed);
  CHECK(fr->score == Approx(16.0).epsilon(0.01));
  REQUIRE(r->notes.size() == 1);
  CHECK(r->notes[0].find("claims 1000.0 fps") != std::string::npos);
  CHECK(r->live);
  CHECK(liveness::ToJson(*r)["notes"].size() == 1);
}

namespace {

// The face box of frame `index` of a clip (the largest face).
cv::Rect FaceBox(const cv::Mat& frame) {
  vision::VisionOptions vo;
  vo.model_dir = veridge::testing::DevModelDir();
  vo.detector = "yunet";
  vo.load_descriptor = false;
  auto va = vision::FaceAnalyzer::Create(vo);
  REQUIRE(va.ok());
  auto faces = (*va)->Detect(frame);
  REQUIRE(faces.ok());
  REQUIRE_FALSE(faces->empty());
  return (*faces)[0];
}

// Real subject-a frames with subject-b's face (with a margin) pasted in the top-left background at
// `ratio` × subject-a's face width.
std::vector<capture::Frame> WithSecondFace(double ratio) {
  auto frames = Frames("subject-a/real.webm", 30);
  const cv::Mat bframe = FrameOf("subject-b/real.mp4", 30);
  const cv::Rect bbox = FaceBox(bframe), abox = FaceBox(frames[0].bgr);
  const cv::Rect crop = cv::Rect(bbox.x - bbox.width / 2, bbox.y - bbox.height / 2, bbox.width * 2, bbox.height * 2) &
                        cv::Rect(0, 0, bframe.cols, bframe.rows);
  cv::Mat small;
  const double s = ratio * abox.width / bbox.width;
  cv::resize(bframe(crop), small, cv::Size(), s, s, s < 1 ? cv::INTER_AREA : cv::INTER_LINEAR);
  for (auto& f : frames) {
    f.bgr = f.bgr.clone();
    const cv::Rect at(0, 0, std::min(small.cols, f.bgr.cols), std::min(small.rows, f.bgr.rows));
    small(cv::Rect(0, 0, at.width, at.height)).copyTo(f.bgr(at));
  }
  return frames;
}

}  // namespace

TEST_CASE("a small face far in the background is not multiple_faces, a close second person is", "[checker][bad_input]") {
  REQUIRE_LIVENESS_DATA();
  {
    auto r = Checker()->Check(*capture::MemorySource(WithSecondFace(0.2), VideoInfo()));
    REQUIRE(r.ok());
    INFO(liveness::ToJson(*r).dump());
    const auto* single = r->Find("single_face");
    REQUIRE(single != nullptr);
    CHECK(single->score > 0.15);  // the background face was seen...
    CHECK(single->score < 0.3);
    CHECK(single->passed);        // ... and is not a second applicant
    CHECK_FALSE(HasReason(*r, "multiple_faces"));
  }
  {
    auto r = Checker()->Check(*capture::MemorySource(WithSecondFace(0.8), VideoInfo()));
    REQUIRE(r.ok());
    INFO(liveness::ToJson(*r).dump());
    CHECK(HasReason(*r, "multiple_faces"));
  }
}

TEST_CASE("a swapped PAD model is refused by its manifest checksum, never loaded", "[checker][models]") {
  if (!HaveLivenessModels()) VERIDGE_SKIP("models not in " << veridge::testing::DevModelDir() << ": run tools/fetch-models.sh");
  // A copy of the real model directory with one byte of MiniFASNetV2 changed: the file still
  // parses as ONNX-sized bytes, but it is not the network the manifest names.
  veridge::testing::TempDir dir;
  for (const auto& e : std::filesystem::directory_iterator(veridge::testing::DevModelDir()))
    if (e.is_regular_file()) std::filesystem::copy_file(e.path(), dir.path() / e.path().filename());
  const auto v2 = dir.path() / "MiniFASNetV2.onnx";
  {
    std::fstream f(v2, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(1000);
    char c = 0;
    f.read(&c, 1);
    c = static_cast<char>(c ^ 0x01);
    f.seekp(1000);
    f.write(&c, 1);
  }
  liveness::LivenessOptions o;
  o.model_dir = dir.path();
  auto r = liveness::LivenessChecker::Create(o);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == "model_checksum_mismatch");
  CHECK(r.status().message().find("MiniFASNetV2.onnx") != std::string::npos);

  // The directory without the PAD model keeps its own code and fix.
  std::filesystem::remove(v2);
  auto missing = liveness::LivenessChecker::Create(o);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().code() == "pad_model_missing");
}
