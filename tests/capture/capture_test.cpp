#include "capture/capture.h"

#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/videoio.hpp>

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
  CHECK(OpenSource((dir / "garbage.mp4").string()).status().code() == "unsupported_container");

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

// ---- issue 13, item 8: a capture file may not pull in other inputs ---------------------------

namespace {
// A small real clip (Motion-JPEG in AVI), written by OpenCV itself.
std::filesystem::path WriteClip(const testing::TempDir& dir, const std::string& name, int frames = 8) {
  const auto path = dir / name;
  cv::VideoWriter w(path.string(), cv::CAP_FFMPEG, cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), 10, cv::Size(64, 48));
  if (!w.isOpened()) return {};
  for (int i = 0; i < frames; ++i) w.write(cv::Mat(48, 64, CV_8UC3, cv::Scalar(i * 20, 100, 200)));
  w.release();
  return path;
}
}  // namespace

TEST_CASE("A recorded clip still opens: AVI written here, and the sniffed demuxer is forced") {
  testing::TempDir dir;
  auto clip = WriteClip(dir, "clip.avi");
  if (clip.empty()) VERIDGE_SKIP("this OpenCV cannot write Motion-JPEG AVI");
  auto src = OpenSource(clip.string());
  REQUIRE(src.ok());
  CHECK(Drain(**src).size() == 8);
}

TEST_CASE("An HLS playlist, a concat list or an image2 pattern named as a clip is refused before FFmpeg opens it") {
  testing::TempDir dir;
  auto clip = WriteClip(dir, "real.avi");
  if (clip.empty()) VERIDGE_SKIP("this OpenCV cannot write Motion-JPEG AVI");
  // A 200-byte ".mp4" that is an HLS playlist pulling in another local file.
  std::ofstream(dir / "hls.mp4") << "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:10\n#EXTINF:10.0,\n"
                                 << clip.string() << "\n#EXT-X-ENDLIST\n";
  auto hls = OpenSource((dir / "hls.mp4").string());
  REQUIRE_FALSE(hls.ok());
  CHECK(hls.status().code() == "unsupported_container");
  CHECK(hls.status().message().find("HLS playlist") != std::string::npos);

  std::ofstream(dir / "concat.mp4") << "ffconcat version 1.0\nfile 'real.avi'\nfile 'real.avi'\n";
  auto concat = OpenSource((dir / "concat.mp4").string());
  REQUIRE_FALSE(concat.ok());
  CHECK(concat.status().code() == "unsupported_container");

  // image2: a name with a %d pattern (and a file of that very name, so it "exists") reads f1, f2...
  const std::string pbm = "P4\n8 8\n" + std::string(8, '\x55');
  for (std::string n : {"f%d.pbm", "f1.pbm", "f2.pbm", "f3.pbm"}) std::ofstream(dir / n, std::ios::binary) << pbm;
  auto pattern = OpenSource((dir / "f%d.pbm").string());
  REQUIRE_FALSE(pattern.ok());
  CHECK(pattern.status().code() == "unsupported_container");
}

TEST_CASE("A file named like a protocol (pipe:0) is read as that file, never as the protocol") {
  testing::TempDir dir;
  auto clip = WriteClip(dir, "real.avi");
  if (clip.empty()) VERIDGE_SKIP("this OpenCV cannot write Motion-JPEG AVI");
  std::filesystem::copy_file(clip, dir / "pipe:0");
  const auto cwd = std::filesystem::current_path();
  std::filesystem::current_path(dir.path());
  auto src = OpenSource("pipe:0");  // FFmpeg alone would read standard input
  std::vector<Frame> frames;
  if (src.ok()) frames = Drain(**src);
  std::filesystem::current_path(cwd);
  REQUIRE(src.ok());
  CHECK(frames.size() == 8);
}
