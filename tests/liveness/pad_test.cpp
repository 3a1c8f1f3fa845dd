#include <catch2/catch.hpp>

#include "capture/capture.h"
#include "liveness/pad.h"
#include "support/test_support.h"
#include "vision/vision.h"

using namespace veridge;
using veridge::testing::SharedData;
using veridge::testing::SharedModel;

namespace {

// The frame at `index` of a clip and the largest face in it (YuNet through vision).
struct FrameAndBox {
  cv::Mat frame;
  cv::Rect box;
};
std::optional<FrameAndBox> FaceFrame(const std::string& clip, int index) {
  auto src = capture::OpenSource(SharedData(clip).string());
  if (!src.ok()) return std::nullopt;
  std::optional<capture::Frame> f;
  for (int i = 0; i <= index; ++i) {
    auto n = (*src)->Next();
    if (!n.ok() || !n->has_value()) return std::nullopt;
    f = std::move(**n);
  }
  vision::VisionOptions vo;
  vo.model_dir = veridge::testing::DevModelDir();
  vo.detector = "yunet";
  vo.load_descriptor = false;
  auto va = vision::FaceAnalyzer::Create(vo);
  if (!va.ok()) return std::nullopt;
  auto faces = (*va)->Detect(f->bgr);
  if (!faces.ok() || faces->empty()) return std::nullopt;
  return FrameAndBox{f->bgr, (*faces)[0]};
}

}  // namespace

TEST_CASE("PAD scores a live face high and a phone-screen replay low", "[pad]") {
  VERIDGE_REQUIRE_PATH(SharedData("liveness/subject-a/real.webm"), "liveness clips");
  VERIDGE_REQUIRE_PATH(SharedModel("minifasnet/MiniFASNetV2.onnx"), "MiniFASNet models");
  VERIDGE_REQUIRE_PATH(veridge::testing::DevModelDir() / "shape_predictor_68_face_landmarks.dat", "dev model dir (run tools/fetch-models.sh)");
  auto pad = liveness::PadModel::Load(SharedModel("minifasnet"));
  REQUIRE(pad.ok());
  for (const char* subject : {"subject-a/real.webm", "subject-b/real.mp4"}) {
    auto fb = FaceFrame(std::string("liveness/") + subject, 40);
    REQUIRE(fb.has_value());
    auto s = (*pad)->Score(fb->frame, cv::Rect2f(fb->box));
    REQUIRE(s.ok());
    INFO(subject << " v2 " << s->v2 << " v1se " << s->v1se);
    CHECK(s->fused > 0.9);
  }
  for (const char* subject : {"subject-a/replay.webm", "subject-b/replay.mp4"}) {
    auto fb = FaceFrame(std::string("liveness/") + subject, 40);
    REQUIRE(fb.has_value());
    auto s = (*pad)->Score(fb->frame, cv::Rect2f(fb->box));
    REQUIRE(s.ok());
    INFO(subject << " v2 " << s->v2 << " v1se " << s->v1se);
    CHECK(s->fused < 0.1);
  }
}

TEST_CASE("PAD crops shrink and shift to stay inside the frame instead of padding", "[pad]") {
  // A 400-px face in a 1080×720 frame: ×2.7 would be 1080 px tall, so the scale drops to fit.
  cv::Rect r = liveness::PadModel::CropRect({1080, 720}, cv::Rect2f(330, 195, 393, 405), 2.7);
  CHECK(r.x >= 0);
  CHECK(r.y >= 0);
  CHECK(r.br().x <= 1080);
  CHECK(r.br().y <= 720);
  CHECK(r.height >= 715);
  CHECK(double(r.width) / r.height == Approx(393.0 / 405.0).epsilon(0.02));
  // A face near the left edge: the crop is shifted right, keeping its full size.
  cv::Rect e = liveness::PadModel::CropRect({640, 480}, cv::Rect2f(0, 100, 100, 100), 2.7);
  CHECK(e.x == 0);
  CHECK(e.width == 270);
}

TEST_CASE("PAD reports a missing model directory and bad input clearly", "[pad]") {
  veridge::testing::TempDir empty;
  auto missing = liveness::PadModel::Load(empty.path());
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().code() == "pad_model_missing");
  CHECK(missing.status().message().find("fetch-models") != std::string::npos);
  CHECK(liveness::PadModel::CheckFiles(empty.path()).code() == "pad_model_missing");
  VERIDGE_REQUIRE_PATH(SharedModel("minifasnet/MiniFASNetV2.onnx"), "MiniFASNet models");
  auto pad = liveness::PadModel::Load(SharedModel("minifasnet"));
  REQUIRE(pad.ok());
  cv::Mat frame(480, 640, CV_8UC3, cv::Scalar(90, 90, 90));
  CHECK((*pad)->Score(frame, cv::Rect2f(600, 400, 200, 200)).status().code() == "pad_bad_input");
  CHECK((*pad)->Score(cv::Mat(), cv::Rect2f(0, 0, 50, 50)).status().code() == "pad_bad_input");
  CHECK((*pad)->Score(frame, cv::Rect2f(100, 100, 4, 4)).status().code() == "pad_bad_input");
}
