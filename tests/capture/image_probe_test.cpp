#include "capture/image_probe.h"

#include <opencv2/imgcodecs.hpp>
#include <string>
#include <vector>

#include "support/test_support.h"

using veridge::capture::ProbeImageDimensions;

static std::string Encode(const cv::Mat& m, const std::string& ext) {
  std::vector<uchar> buf;
  REQUIRE(cv::imencode(ext, m, buf));
  return std::string(buf.begin(), buf.end());
}

TEST_CASE("Probe reads the declared size of real encoded images") {
  cv::Mat img(37, 53, CV_8UC3, cv::Scalar(10, 20, 30));
  for (std::string ext : {".png", ".jpg", ".bmp", ".ppm", ".pgm", ".webp"}) {
    cv::Mat src = ext == ".pgm" ? cv::Mat(37, 53, CV_8UC1, cv::Scalar(7)) : img;
    auto d = ProbeImageDimensions(Encode(src, ext));
    INFO(ext);
    REQUIRE(d.has_value());
    CHECK(d->width == 53);
    CHECK(d->height == 37);
  }
}

TEST_CASE("Probe sees a PNG header claiming 30000x30000 without decoding it") {
  std::string png = Encode(cv::Mat(2, 2, CV_8UC1, cv::Scalar(0)), ".png");
  // Patch IHDR width/height (big-endian at offsets 16 and 20).
  for (int off : {16, 20}) {
    png[off] = 0; png[off + 1] = 0; png[off + 2] = char(30000 >> 8); png[off + 3] = char(30000 & 0xFF);
  }
  auto d = ProbeImageDimensions(png);
  REQUIRE(d.has_value());
  CHECK(d->width == 30000);
  CHECK(d->height == 30000);
}

TEST_CASE("Probe gives up on unknown or truncated headers") {
  CHECK_FALSE(ProbeImageDimensions("").has_value());
  CHECK_FALSE(ProbeImageDimensions("random bytes that are not an image").has_value());
  std::string jpg = Encode(cv::Mat(8, 8, CV_8UC3, cv::Scalar(1, 2, 3)), ".jpg");
  CHECK_FALSE(ProbeImageDimensions(jpg.substr(0, 6)).has_value());
}

TEST_CASE("Probe never reports a negative size: a BMP declaring INT32_MIN x INT32_MIN") {
  // Regression (issue 13): the size was printed as -2147483648x-2147483648.
  std::string bmp = Encode(cv::Mat(4, 4, CV_8UC3, cv::Scalar(1, 2, 3)), ".bmp");
  for (int off : {18, 22}) {  // little-endian width and height
    bmp[off] = 0; bmp[off + 1] = 0; bmp[off + 2] = 0; bmp[off + 3] = char(0x80);
  }
  auto d = ProbeImageDimensions(bmp);
  // The probe refuses a width it cannot represent (no size: the still decoder then refuses the
  // file), or reports a positive size; never a negative one.
  if (d.has_value()) {
    CHECK(d->width > 0);
    CHECK(d->height > 0);
  }
  // A top-down BMP (negative height) is an ordinary image: its height is the magnitude.
  bmp = Encode(cv::Mat(4, 4, CV_8UC3, cv::Scalar(1, 2, 3)), ".bmp");
  bmp[22] = char(0xFC); bmp[23] = char(0xFF); bmp[24] = char(0xFF); bmp[25] = char(0xFF);  // -4
  d = ProbeImageDimensions(bmp);
  REQUIRE(d.has_value());
  CHECK(d->height == 4);
}
