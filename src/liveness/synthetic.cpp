#include "liveness/synthetic.h"

#include <opencv2/imgproc.hpp>

#include <cmath>

namespace veridge::liveness {
namespace {

class GeneratedSource final : public capture::FrameSource {
 public:
  GeneratedSource(cv::Mat photo, SyntheticOptions o, bool panned) : photo_(std::move(photo)), o_(o), panned_(panned), rng_(o.seed) {
    info_.kind = "video";
    info_.spec = panned ? "synthetic:panned-photo" : "synthetic:still-photo";
    info_.nominal_fps = o.fps;
    info_.width = photo_.cols;
    info_.height = photo_.rows;
    info_.frame_count = o.frames;
  }
  Result<std::optional<capture::Frame>> Next() override {
    if (i_ >= o_.frames) return std::optional<capture::Frame>();
    cv::Mat frame;
    if (panned_) {
      const double t = double(i_) / o_.fps;
      // Slow, smooth, non-periodic-looking motion (two incommensurate frequencies).
      const double dx = o_.pan_px * std::sin(2 * CV_PI * 0.37 * t);
      const double dy = 0.5 * o_.pan_px * std::sin(2 * CV_PI * 0.23 * t + 1.0);
      const double s = 1.0 + o_.scale_amp * std::sin(2 * CV_PI * 0.29 * t);
      const double a = o_.rotate_deg * std::sin(2 * CV_PI * 0.17 * t);
      cv::Mat m = cv::getRotationMatrix2D(cv::Point2f(photo_.cols / 2.0f, photo_.rows / 2.0f), a, s);
      m.at<double>(0, 2) += dx;
      m.at<double>(1, 2) += dy;
      cv::warpAffine(photo_, frame, m, photo_.size(), cv::INTER_LINEAR, cv::BORDER_REFLECT);
    } else {
      frame = photo_.clone();
    }
    if (o_.noise_sigma > 0) {
      cv::Mat noise(frame.size(), CV_16SC3);
      rng_.fill(noise, cv::RNG::NORMAL, cv::Scalar::all(0), cv::Scalar::all(o_.noise_sigma));
      cv::Mat f16;
      frame.convertTo(f16, CV_16SC3);
      f16 += noise;
      f16.convertTo(frame, CV_8UC3);  // saturates
    }
    capture::Frame f{std::move(frame), double(i_) * 1000.0 / o_.fps, i_};
    ++i_;
    return std::optional<capture::Frame>(std::move(f));
  }
  const capture::SourceInfo& info() const override { return info_; }
  bool truncated() const override { return false; }

 private:
  cv::Mat photo_;
  SyntheticOptions o_;
  bool panned_;
  cv::RNG rng_;
  capture::SourceInfo info_;
  std::int64_t i_ = 0;
};

}  // namespace

std::unique_ptr<capture::FrameSource> StillPhotoSource(const cv::Mat& photo, const SyntheticOptions& o) {
  return std::make_unique<GeneratedSource>(photo.clone(), o, false);
}
std::unique_ptr<capture::FrameSource> PannedPhotoSource(const cv::Mat& photo, const SyntheticOptions& o) {
  return std::make_unique<GeneratedSource>(photo.clone(), o, true);
}

}  // namespace veridge::liveness
