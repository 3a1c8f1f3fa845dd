// Geometry-based quality measures on synthetic landmarks (no models needed).
#include "support/test_support.h"
#include "vision/vision.h"

using namespace veridge::vision;

namespace {
// A frontal face: jaw 0..16 on an arc, nose tip 30 at the centre, open eyes.
Landmarks68 Frontal(float eye_open = 6.f, float nose_x = 100.f) {
  Landmarks68 lm{};
  for (int i = 0; i <= 16; ++i) lm[i] = cv::Point2f(40.f + 7.5f * i, 120.f + std::abs(i - 8) * -3.f);
  lm[30] = cv::Point2f(nose_x, 120.f);
  auto eye = [&](int o, float cx) {
    lm[o + 0] = {cx - 12, 90};
    lm[o + 1] = {cx - 4, 90 - eye_open};
    lm[o + 2] = {cx + 4, 90 - eye_open};
    lm[o + 3] = {cx + 12, 90};
    lm[o + 4] = {cx + 4, 90 + eye_open};
    lm[o + 5] = {cx - 4, 90 + eye_open};
  };
  eye(36, 75);
  eye(42, 125);
  return lm;
}
}  // namespace

TEST_CASE("EyeAspectRatio: open ≈ 0.5 here, closed near 0") {
  CHECK(EyeAspectRatio(Frontal(6.f)) == Approx(0.5));
  CHECK(EyeAspectRatio(Frontal(1.f)) == Approx(1.0 / 12.0));
  CHECK(EyeAspectRatio(Frontal(6.f), true) == Approx(EyeAspectRatio(Frontal(6.f), false)));
}

TEST_CASE("YawRatio: 0 frontal, signed when the nose moves, invariant to roll") {
  CHECK(YawRatio(Frontal()) == Approx(0.0).margin(1e-6));
  CHECK(YawRatio(Frontal(6.f, 130.f)) == Approx(0.25));
  CHECK(YawRatio(Frontal(6.f, 70.f)) == Approx(-0.25));
  // Rotate every point by 30° around (100,100): the ratio must not change.
  Landmarks68 lm = Frontal(6.f, 130.f);
  const double a = 30.0 * CV_PI / 180.0;
  for (auto& p : lm) {
    const double x = p.x - 100, y = p.y - 100;
    p = cv::Point2f(float(100 + x * std::cos(a) - y * std::sin(a)), float(100 + x * std::sin(a) + y * std::cos(a)));
  }
  CHECK(YawRatio(lm) == Approx(0.25).margin(1e-4));
}

TEST_CASE("Distance and Compare") {
  Descriptor a{}, b{};
  a[0] = 1.f;
  b[1] = 1.f;
  CHECK(Distance(a, a) == 0.0);
  CHECK(Distance(a, b) == Approx(std::sqrt(2.0)));
  auto c = Compare(a, b, 0.6);
  CHECK_FALSE(c.match);
  CHECK(c.similarity == 0.0);
  CHECK(Compare(a, a).similarity == 1.0);
  b = a;
  b[2] = 0.59f;
  CHECK(Compare(a, b).match);
  b[2] = 0.6f;
  CHECK_FALSE(Compare(a, b).match);  // threshold is exclusive
}
