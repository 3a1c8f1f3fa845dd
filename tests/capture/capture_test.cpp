#include "capture/capture.h"

#include <fstream>
#include <opencv2/imgcodecs.hpp>

#include "support/test_support.h"

using namespace veridge;
using namespace veridge::capture;

static std::vector<Frame> Drain(FrameSource& src) {
  std::vector<Frame> out;
  while (true) {
    auto f = src.Next();
    REQUIRE(f.ok());
    if (!f->has_value()) break;
    out.push_back(std::move(**f));
  }
  return out;
}

TEST_CASE("A real video yields frames with source timestamps that move forward") {
  auto clip = testing::SharedData("liveness/subject-a/real.webm");
  VERIDGE_REQUIRE_PATH(clip, "liveness clip subject-a/real.webm");
  auto src = OpenSource(clip.string());
  REQUIRE(src.ok());
  CHECK((*src)->info().kind == "video");
  auto frames = Drain(**src);
  REQUIRE(frames.size() > 10);
  CHECK(frames[0].bgr.cols == 640);
  CHECK(frames[0].bgr.type() == CV_8UC3);
  for (size_t i = 1; i < frames.size(); ++i) CHECK(frames[i].timestamp_ms > frames[i - 1].timestamp_ms);
}

TEST_CASE("max_frames bounds a source and reports truncation") {
  auto clip = testing::SharedData("liveness/subject-b/real.mp4");
  VERIDGE_REQUIRE_PATH(clip, "liveness clip subject-b/real.mp4");
  CaptureOptions o;
  o.max_frames = 5;
  auto src = OpenSource(clip.string(), o);
  REQUIRE(src.ok());
  CHECK(Drain(**src).size() == 5);
  CHECK((*src)->truncated());
}

TEST_CASE("An image folder is read in name order with a synthetic clock") {
  testing::TempDir dir;
  for (int i = 0; i < 3; ++i)
    REQUIRE(cv::imwrite((dir / ("f" + std::to_string(i) + ".png")).string(), cv::Mat(20, 30, CV_8UC1, cv::Scalar(i * 50))));
  std::ofstream(dir / "notes.txt") << "ignored";
  auto src = OpenSource(dir.path().string());
  REQUIRE(src.ok());
  auto frames = Drain(**src);
  REQUIRE(frames.size() == 3);
  CHECK(frames[2].bgr.at<cv::Vec3b>(0, 0)[0] == 100);
  CHECK(frames[1].timestamp_ms == Approx(1000.0 / 30));
}

TEST_CASE("Bad sources get named errors") {
  testing::TempDir dir;
  CHECK(OpenSource((dir / "missing.mp4").string()).status().code() == "source_not_found");

  std::ofstream(dir / "garbage.mp4") << std::string(4096, 'x');
  auto garbage = OpenSource((dir / "garbage.mp4").string());
  if (garbage.ok()) {  // some FFmpeg builds open anything and fail on the first read
    auto f = (*garbage)->Next();
    CHECK(f.status().code() == "source_unreadable");
  } else {
    CHECK(garbage.status().code() == "source_unreadable");
  }

  std::ofstream(dir / "empty.jpg");
  auto empty = OpenSource((dir / "empty.jpg").string());
  REQUIRE(empty.ok());
  CHECK((*empty)->Next().status().code() == "empty_file");

  std::filesystem::create_directory(dir / "none");
  CHECK(OpenSource((dir / "none").string()).status().code() == "source_unreadable");
}

TEST_CASE("Frames over the resolution limit are refused before decoding") {
  testing::TempDir dir;
  std::vector<uchar> buf;
  cv::imencode(".png", cv::Mat(2, 2, CV_8UC1, cv::Scalar(0)), buf);
  for (int off : {16, 20}) {
    buf[off] = 0; buf[off + 1] = 0; buf[off + 2] = uchar(30000 >> 8); buf[off + 3] = uchar(30000 & 0xFF);
  }
  std::ofstream(dir / "bomb.png", std::ios::binary).write(reinterpret_cast<const char*>(buf.data()), buf.size());
  auto src = OpenSource((dir / "bomb.png").string());
  REQUIRE(src.ok());
  CHECK((*src)->Next().status().code() == "frame_too_large");
}
