// Bounded decode: every bad input named in issue 2 gets its own error code; odd-but-valid inputs
// (grey, alpha, 16-bit, EXIF-rotated) come out as 8-bit BGR the right way up.
#include <opencv2/imgcodecs.hpp>

#include <fstream>
#include <random>

#include "common/files.h"
#include "support/test_support.h"
#include "vision/vision.h"

using namespace veridge;
using namespace veridge::vision;

namespace {
std::string Encode(const cv::Mat& m, const std::string& ext) {
  std::vector<uchar> buf;
  REQUIRE(cv::imencode(ext, m, buf));
  return std::string(buf.begin(), buf.end());
}
cv::Mat Gradient(int w, int h) {
  cv::Mat m(h, w, CV_8UC3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) m.at<cv::Vec3b>(y, x) = cv::Vec3b(uchar(x * 255 / w), uchar(y * 255 / h), 128);
  return m;
}
void Write(const std::filesystem::path& p, const std::string& data) {
  std::ofstream(p, std::ios::binary).write(data.data(), std::streamsize(data.size()));
}
void PutBe32(std::string& s, std::uint32_t v) {
  for (int i = 3; i >= 0; --i) s += char((v >> (8 * i)) & 0xFF);
}
}  // namespace

TEST_CASE("decode: a 0-byte file is empty_file") {
  testing::TempDir dir;
  Write(dir / "empty.jpg", "");
  auto r = DecodeImageFile(dir / "empty.jpg");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == "empty_file");
  CHECK(r.status().ExitCode() == 2);
}

TEST_CASE("decode: a missing file is file_not_found") {
  testing::TempDir dir;
  CHECK(DecodeImageFile(dir / "nope.jpg").status().code() == "file_not_found");
}

TEST_CASE("decode: a truncated JPEG is truncated_image, not a grey-padded picture") {
  const std::string full = Encode(Gradient(320, 240), ".jpg");
  REQUIRE(DecodeImageBytes(full).ok());
  auto r = DecodeImageBytes(std::string_view(full).substr(0, full.size() / 2));
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == "truncated_image");
  // Cut inside the header: still recognisably a JPEG, still truncated.
  CHECK(DecodeImageBytes(std::string_view(full).substr(0, 20)).status().code() == "truncated_image");
}

TEST_CASE("decode: random bytes named .jpg are unknown_image_format") {
  testing::TempDir dir;
  std::mt19937 rng(42);
  std::string junk(4096, '\0');
  for (auto& c : junk) c = char(rng() & 0xFF);
  junk[0] = 'x';  // a fixed seed already avoids magic bytes; make it explicit
  Write(dir / "photo.jpg", junk);
  auto r = DecodeImageFile(dir / "photo.jpg");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == "unknown_image_format");
}

TEST_CASE("decode: a PNG whose header claims 30000x30000 is refused before decoding") {
  // Signature + IHDR only, no pixel data at all: if it reached the decoder the code would be
  // decode_failed; image_too_large proves the header check came first.
  std::string png("\x89PNG\r\n\x1a\n", 8);
  PutBe32(png, 13);
  png += "IHDR";
  PutBe32(png, 30000);
  PutBe32(png, 30000);
  png += std::string("\x08\x02\x00\x00\x00", 5);
  PutBe32(png, 0);  // CRC (not checked by the probe)
  PutBe32(png, 0);
  png += "IEND";
  PutBe32(png, 0xAE426082);
  testing::TempDir dir;
  Write(dir / "bomb.png", png);
  auto r = DecodeImageFile(dir / "bomb.png");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == "image_too_large");
  CHECK(r.status().message().find("30000x30000") != std::string::npos);
}

TEST_CASE("decode: files over max_file_bytes are file_too_large") {
  testing::TempDir dir;
  const std::string png = Encode(Gradient(200, 200), ".png");
  Write(dir / "a.png", png);
  DecodeLimits limits;
  limits.max_file_bytes = png.size() - 1;
  CHECK(DecodeImageFile(dir / "a.png", limits).status().code() == "file_too_large");
  limits.max_file_bytes = png.size();
  CHECK(DecodeImageFile(dir / "a.png", limits).ok());
}

TEST_CASE("decode: grey, alpha and 16-bit PNGs become 8-bit BGR") {
  cv::Mat grey(64, 48, CV_8UC1, cv::Scalar(77));
  auto g = DecodeImageBytes(Encode(grey, ".png"));
  REQUIRE(g.ok());
  CHECK(g->type() == CV_8UC3);
  CHECK(g->at<cv::Vec3b>(10, 10) == cv::Vec3b(77, 77, 77));

  cv::Mat sixteen(64, 48, CV_16UC3, cv::Scalar(65535, 0, 257 * 100));
  auto s = DecodeImageBytes(Encode(sixteen, ".png"));
  REQUIRE(s.ok());
  CHECK(s->type() == CV_8UC3);
  CHECK(s->at<cv::Vec3b>(5, 5) == cv::Vec3b(255, 0, 100));

  cv::Mat rgba(64, 48, CV_8UC4, cv::Scalar(0, 0, 0, 0));           // transparent black
  rgba(cv::Rect(0, 0, 10, 10)).setTo(cv::Scalar(0, 0, 255, 255));  // opaque red corner
  auto a = DecodeImageBytes(Encode(rgba, ".png"));
  REQUIRE(a.ok());
  CHECK(a->type() == CV_8UC3);
  CHECK(a->at<cv::Vec3b>(5, 5) == cv::Vec3b(0, 0, 255));
  CHECK(a->at<cv::Vec3b>(40, 40) == cv::Vec3b(255, 255, 255));  // composited over white
}

TEST_CASE("decode: EXIF orientation 6 (rotate 90° clockwise) is applied") {
  cv::Mat m(40, 80, CV_8UC3, cv::Scalar(255, 255, 255));
  m(cv::Rect(0, 0, 20, 20)).setTo(cv::Scalar(0, 0, 255));  // red at top-left
  std::string jpg = Encode(m, ".jpg");
  // APP1 "Exif\0\0" + big-endian TIFF with one IFD0 entry: Orientation (0x0112) SHORT = 6.
  std::string tiff = std::string("MM\0\x2a", 4);
  PutBe32(tiff, 8);
  tiff += std::string("\x00\x01", 2);                         // 1 entry
  tiff += std::string("\x01\x12\x00\x03\x00\x00\x00\x01\x00\x06\x00\x00", 12);
  PutBe32(tiff, 0);                                           // no next IFD
  std::string app1 = std::string("Exif\0\0", 6) + tiff;
  const size_t len = app1.size() + 2;
  std::string seg = std::string("\xFF\xE1", 2) + char(len >> 8) + char(len & 0xFF) + app1;
  jpg.insert(2, seg);
  auto r = DecodeImageBytes(jpg);
  REQUIRE(r.ok());
  CHECK(r->cols == 40);
  CHECK(r->rows == 80);
  const cv::Vec3b top_right = r->at<cv::Vec3b>(5, 34);
  const cv::Vec3b top_left = r->at<cv::Vec3b>(5, 5);
  CHECK(top_right[2] > 200);
  CHECK(top_right[0] < 60);
  CHECK(top_left[0] > 200);  // white
}

TEST_CASE("decode: an image too small to hold a face is image_too_small") {
  CHECK(DecodeImageBytes(Encode(Gradient(8, 8), ".png")).status().code() == "image_too_small");
}
