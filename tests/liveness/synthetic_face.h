// Synthetic 68-point landmark sets for unit tests of the geometry and the challenge state machine:
// a 3D template consistent with FaceModel3D(), posed (yaw/pitch), with eyes closed or mouth open,
// projected by a pinhole camera (f = image width) — no models, no images.
#pragma once

#include <opencv2/calib3d.hpp>

#include <array>
#include <cmath>

#include "liveness/face_geometry.h"

namespace veridge::liveness::testing {

struct FaceParams {
  double yaw_deg = 0, pitch_deg = 0;  // liveness sign conventions (+yaw = subject's left, +pitch = up)
  double eye_open = 1.0;              // 1 open, 0 shut
  double mouth_open = 0.0;            // inner-lip gap in model units
  double jitter = 0.0;                // pixels of deterministic pseudo-noise
  int seed = 0;
};

inline std::array<cv::Point3f, 68> Template3D(const FaceParams& f) {
  std::array<cv::Point3f, 68> p{};
  for (int i = 0; i <= 16; ++i) {  // jaw: a U from ear to ear through the chin (8)
    const double a = CV_PI * (i / 16.0);
    p[static_cast<size_t>(i)] = cv::Point3f(float(-300 * std::cos(a)), float(-100 + 430 * std::sin(a) * 0.98), float(65 + 135 * std::abs(std::cos(a))));
  }
  p[8] = {0, 330, 65};
  for (int i = 0; i < 5; ++i) {  // brows
    p[static_cast<size_t>(17 + i)] = {float(-260 + 40 * i), -230, 120};
    p[static_cast<size_t>(22 + i)] = {float(100 + 40 * i), -230, 120};
  }
  for (int i = 0; i < 4; ++i) p[static_cast<size_t>(27 + i)] = {0, float(-170 + 170 * i / 3.0), float(100 - 100 * i / 3.0)};
  for (int i = 0; i < 5; ++i) p[static_cast<size_t>(31 + i)] = {float(-60 + 30 * i), 40, 60};
  const float lid = float(20 * f.eye_open);
  auto eye = [&](int s, float cx, bool right) {
    const float sgn = right ? -1.0f : 1.0f;  // point order runs outer→inner for the right eye
    (void)sgn;
    p[static_cast<size_t>(s + 0)] = {cx - 65, -170, 135};
    p[static_cast<size_t>(s + 1)] = {cx - 22, -170 - lid, 135};
    p[static_cast<size_t>(s + 2)] = {cx + 22, -170 - lid, 135};
    p[static_cast<size_t>(s + 3)] = {cx + 65, -170, 135};
    p[static_cast<size_t>(s + 4)] = {cx + 22, -170 + lid, 135};
    p[static_cast<size_t>(s + 5)] = {cx - 22, -170 + lid, 135};
  };
  eye(36, -160, true);
  eye(42, 160, false);
  const float g = float(f.mouth_open);
  const float outer[12][2] = {{-150, 150}, {-100, 125}, {-40, 115}, {0, 118}, {40, 115}, {100, 125},
                              {150, 150}, {100, 180}, {40, 195}, {0, 197}, {-40, 195}, {-100, 180}};
  for (int i = 0; i < 12; ++i) p[static_cast<size_t>(48 + i)] = {outer[i][0], outer[i][1] + (i > 6 ? g : 0.0f), 125};
  p[60] = {-100, 150, 125};
  p[61] = {-50, 145 - g / 2, 125};
  p[62] = {0, 145 - g / 2, 125};
  p[63] = {50, 145 - g / 2, 125};
  p[64] = {100, 150, 125};
  p[65] = {50, 155 + g / 2, 125};
  p[66] = {0, 155 + g / 2, 125};
  p[67] = {-50, 155 + g / 2, 125};
  return p;
}

inline Landmarks68 Project(const FaceParams& f, cv::Size image = {640, 480}) {
  const auto pts = Template3D(f);
  // Rotation that produces the requested yaw/pitch in face_geometry's conventions: the model's +z
  // axis n must satisfy yaw = -atan2(n.x, n.z), pitch = atan2(n.y, n.z).
  const double y = -f.yaw_deg * CV_PI / 180, x = -f.pitch_deg * CV_PI / 180;
  cv::Matx33d ry(std::cos(y), 0, std::sin(y), 0, 1, 0, -std::sin(y), 0, std::cos(y));
  cv::Matx33d rx(1, 0, 0, 0, std::cos(x), -std::sin(x), 0, std::sin(x), std::cos(x));
  const cv::Matx33d r = ry * rx;
  const double fpx = image.width, z0 = 2400;
  Landmarks68 out;
  unsigned s = 2166136261u ^ static_cast<unsigned>(f.seed);
  for (size_t i = 0; i < 68; ++i) {
    cv::Vec3d q = r * cv::Vec3d(pts[i].x, pts[i].y, pts[i].z);
    q[2] += z0;
    double u = fpx * q[0] / q[2] + image.width / 2.0, v = fpx * q[1] / q[2] + image.height / 2.0;
    if (f.jitter > 0) {
      s = s * 1664525u + 1013904223u;
      u += f.jitter * ((s >> 8) % 1000 / 500.0 - 1.0);
      s = s * 1664525u + 1013904223u;
      v += f.jitter * ((s >> 8) % 1000 / 500.0 - 1.0);
    }
    out[i] = cv::Point2f(float(u), float(v));
  }
  return out;
}

}  // namespace veridge::liveness::testing
