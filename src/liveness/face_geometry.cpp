#include "liveness/face_geometry.h"

#include <opencv2/calib3d.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

namespace veridge::liveness {
namespace {

double Dist(const cv::Point2f& a, const cv::Point2f& b) { return std::hypot(double(a.x - b.x), double(a.y - b.y)); }

double OneEar(const Landmarks68& p, int s) {
  // p1..p6 = s..s+5: corners s and s+3, upper lid s+1,s+2, lower lid s+5,s+4.
  double horizontal = Dist(p[s], p[s + 3]);
  if (horizontal < 1e-3) return 0.0;
  return (Dist(p[s + 1], p[s + 5]) + Dist(p[s + 2], p[s + 4])) / (2.0 * horizontal);
}

constexpr double kRadToDeg = 180.0 / CV_PI;

}  // namespace

double EyeAspectRatio(const Landmarks68& p) { return 0.5 * (OneEar(p, 36) + OneEar(p, 42)); }

double MouthAspectRatio(const Landmarks68& p) {
  double width = Dist(p[60], p[64]);
  if (width < 1e-3) return 0.0;
  return (Dist(p[61], p[67]) + Dist(p[62], p[66]) + Dist(p[63], p[65])) / (3.0 * width);
}

double InterOcularDistance(const Landmarks68& p) { return Dist(p[36], p[45]); }

double YawAsymmetry(const Landmarks68& p) {
  const cv::Point2d eye_axis(p[45].x - p[36].x, p[45].y - p[36].y);
  const double len = std::hypot(eye_axis.x, eye_axis.y);
  if (len < 1e-3) return 0.0;
  const auto along = [&](int i) { return (p[i].x * eye_axis.x + p[i].y * eye_axis.y) / len; };
  const double nose = along(30);
  const double a = nose - (along(1) + along(2) + along(3)) / 3.0;
  const double b = (along(13) + along(14) + along(15)) / 3.0 - nose;
  if (a + b < 1e-3) return 0.0;  // a degenerate contour (collapsed fit)
  return std::clamp((a - b) / (a + b), -1.0, 1.0);
}

double MouthWidthRatio(const Landmarks68& p) {
  double iod = InterOcularDistance(p);
  return iod < 1e-3 ? 0.0 : Dist(p[48], p[54]) / iod;
}

const std::array<ModelPoint, 6>& FaceModel3D() {
  // A generic adult head (values widely used for 6-point head pose), re-expressed in camera-aligned
  // axes so that a frontal face gives an identity rotation: the eyes and mouth lie behind the nose tip.
  static const std::array<ModelPoint, 6> kModel = {{
      {30, {0.0f, 0.0f, 0.0f}},          // nose tip
      {8, {0.0f, 330.0f, 65.0f}},        // chin
      {36, {-225.0f, -170.0f, 135.0f}},  // subject's right eye, outer corner (image left)
      {45, {225.0f, -170.0f, 135.0f}},   // subject's left eye, outer corner
      {48, {-150.0f, 150.0f, 125.0f}},   // mouth corner (image left)
      {54, {150.0f, 150.0f, 125.0f}},    // mouth corner (image right)
  }};
  return kModel;
}

std::optional<HeadPose> EstimateHeadPose(const Landmarks68& p, cv::Size image_size) {
  if (image_size.width <= 0 || image_size.height <= 0 || InterOcularDistance(p) < 2.0) return std::nullopt;
  std::vector<cv::Point3f> object;
  std::vector<cv::Point2f> image;
  for (const auto& m : FaceModel3D()) {
    object.push_back(m.xyz);
    image.push_back(p[m.landmark]);
  }
  const double f = image_size.width;
  cv::Matx33d camera(f, 0, image_size.width / 2.0, 0, f, image_size.height / 2.0, 0, 0, 1);
  cv::Vec3d rvec, tvec;
  bool ok = false;
  try {
    // Start from a frontal pose in front of the camera so the iterative solver does not flip behind it.
    double scale = f * 450.0 / std::max(1.0, InterOcularDistance(p));
    tvec = cv::Vec3d(0, 0, scale);
    rvec = cv::Vec3d(0, 0, 0);
    ok = cv::solvePnP(object, image, camera, cv::noArray(), rvec, tvec, true, cv::SOLVEPNP_ITERATIVE);
  } catch (const cv::Exception&) {
    return std::nullopt;
  }
  if (!ok || tvec[2] <= 0) return std::nullopt;
  cv::Matx33d r;
  cv::Rodrigues(rvec, r);
  // n: the model's +z axis (from the nose tip into the head) in camera coordinates.
  cv::Vec3d n(r(0, 2), r(1, 2), r(2, 2));
  HeadPose pose;
  // Turning to the subject's left swings the back of the head towards image left (n.x < 0).
  pose.yaw_deg = -std::atan2(n[0], n[2]) * kRadToDeg;
  // Looking up swings the back of the head downwards in the image (n.y > 0).
  pose.pitch_deg = std::atan2(n[1], n[2]) * kRadToDeg;
  pose.roll_deg = std::atan2(r(1, 0), r(0, 0)) * kRadToDeg;
  if (!std::isfinite(pose.yaw_deg) || !std::isfinite(pose.pitch_deg)) return std::nullopt;
  return pose;
}

}  // namespace veridge::liveness
