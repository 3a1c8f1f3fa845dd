// Quality measures and comparison: pure functions over landmarks, chips and descriptors.
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>

#include "vision/vision.h"

namespace veridge::vision {

double Distance(const Descriptor& a, const Descriptor& b) {
  double s = 0.0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double d = double(a[i]) - double(b[i]);
    s += d * d;
  }
  return std::sqrt(s);
}

Comparison CompareDistance(double distance, double threshold) {
  Comparison c;
  c.distance = distance;
  c.similarity = threshold > 0 ? std::clamp(1.0 - distance / (2.0 * threshold), 0.0, 1.0) : 0.0;
  c.threshold = threshold;
  c.match = distance < threshold;
  return c;
}

Comparison Compare(const Descriptor& a, const Descriptor& b, double threshold) {
  return CompareDistance(Distance(a, b), threshold);
}

namespace {
double Dist(cv::Point2f a, cv::Point2f b) { return std::hypot(double(a.x - b.x), double(a.y - b.y)); }
}  // namespace

double EyeAspectRatio(const Landmarks68& lm, bool image_left_eye) {
  const int o = image_left_eye ? 36 : 42;
  const double horizontal = Dist(lm[o + 0], lm[o + 3]);
  if (horizontal < 1e-6) return 0.0;
  return (Dist(lm[o + 1], lm[o + 5]) + Dist(lm[o + 2], lm[o + 4])) / (2.0 * horizontal);
}

double EyeAspectRatio(const Landmarks68& lm) { return 0.5 * (EyeAspectRatio(lm, true) + EyeAspectRatio(lm, false)); }

double YawRatio(const Landmarks68& lm) {
  const cv::Point2f a = lm[0], b = lm[16], n = lm[30];
  const double vx = b.x - a.x, vy = b.y - a.y;
  const double len2 = vx * vx + vy * vy;
  if (len2 < 1e-6) return 0.0;
  const double t = ((n.x - a.x) * vx + (n.y - a.y) * vy) / len2;
  return t - 0.5;
}

// Declared as a FaceAnalyzer member (uses only the thresholds), defined here with the measures.
QualityReport ComputeQuality(const QualityThresholds& q, const cv::Rect& box, const Landmarks68& lm,
                             const cv::Mat& chip, int face_count) {
  QualityReport r;
  r.face_px = box.width;
  r.face_count = face_count;
  r.yaw_ratio = YawRatio(lm);
  r.eye_aspect = EyeAspectRatio(lm);
  if (!chip.empty()) {
    // The chip's centre (eyes to mouth, little background): the padding ring is not the face.
    const int m = chip.cols / 5;
    cv::Mat grey;
    cv::cvtColor(chip(cv::Rect(m, m, chip.cols - 2 * m, chip.rows - 2 * m)), grey, cv::COLOR_BGR2GRAY);
    cv::Mat lap;
    cv::Laplacian(grey, lap, CV_64F);
    cv::Scalar mean, stddev;
    cv::meanStdDev(lap, mean, stddev);
    r.sharpness = stddev[0] * stddev[0];
    r.brightness = cv::mean(grey)[0];
  }
  if (r.face_px < q.min_face_px) r.reasons.emplace_back("face_too_small");
  if (!chip.empty() && r.sharpness < q.min_sharpness) r.reasons.emplace_back("blurred");
  if (!chip.empty() && r.brightness < q.min_brightness) r.reasons.emplace_back("too_dark");
  if (!chip.empty() && r.brightness > q.max_brightness) r.reasons.emplace_back("too_bright");
  if (std::abs(r.yaw_ratio) > q.max_yaw_ratio) r.reasons.emplace_back("head_turned");
  if (r.eye_aspect < q.min_eye_aspect) r.reasons.emplace_back("eyes_closed");
  if (face_count > 1) r.reasons.emplace_back("multiple_faces");
  return r;
}

}  // namespace veridge::vision
