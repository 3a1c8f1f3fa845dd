#include "liveness/continuity.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

namespace veridge::liveness {
namespace {

std::string Fmt(double v, int prec = 3) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.*f", prec, v);
  return buf;
}

double L2(const std::array<float, 128>& a, const std::array<float, 128>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double d = double(a[i]) - double(b[i]);
    s += d * d;
  }
  return std::sqrt(s);
}


}  // namespace

double NoseOffset(const Landmarks68& p) {
  // The nose tip's offset from the midpoint of the outer eye corners, along the eye axis, in
  // inter-ocular distances: ~0 frontal, growing with yaw. Unlike solvePnP's yaw (which flips sign
  // and carries the generic model's bias near profile), it degrades gracefully.
  const cv::Point2f mid = (p[36] + p[45]) * 0.5f, axis = p[45] - p[36];
  const double len = std::max(1.0, double(cv::norm(axis)));
  return double((p[30] - mid).dot(axis)) / (len * len);
}

namespace {

}  // namespace

cv::Mat AppearancePatch(const cv::Mat& bgr, const cv::Rect& box) {
  const cv::Rect r = box & cv::Rect(0, 0, bgr.cols, bgr.rows);
  if (r.area() < 64) return {};
  cv::Mat grey, small, f;
  cv::cvtColor(bgr(r), grey, cv::COLOR_BGR2GRAY);
  cv::resize(grey, small, cv::Size(32, 32), 0, 0, cv::INTER_AREA);
  small.convertTo(f, CV_32F);
  f -= cv::mean(f)[0];
  const double n = cv::norm(f);
  if (n < 1e-3) return {};
  return f / n;
}

double FaceSharpness(const cv::Mat& bgr, const cv::Rect& box) {
  const cv::Rect r = box & cv::Rect(0, 0, bgr.cols, bgr.rows);
  if (r.width < 8 || r.height < 8) return 0;
  cv::Mat grey, scaled, lap;
  cv::cvtColor(bgr(r), grey, cv::COLOR_BGR2GRAY);
  const double s = 128.0 / r.width;
  cv::resize(grey, scaled, cv::Size(), s, s, s < 1 ? cv::INTER_AREA : cv::INTER_LINEAR);
  cv::Laplacian(scaled, lap, CV_32F);
  cv::Scalar mu, sd;
  cv::meanStdDev(lap, mu, sd);
  return sd[0];
}

double BoxIoU(const cv::Rect& a, const cv::Rect& b) {
  const double inter = (a & b).area();
  const double uni = double(a.area()) + double(b.area()) - inter;
  return uni > 0 ? inter / uni : 0.0;
}

IdentityContinuity::IdentityContinuity(ContinuityOptions o) : o_(o) {}

void IdentityContinuity::OnNoFace(double ts) {
  if (present_ && ts - last_face_ts_ > o_.lost_ms) {
    present_ = false;
    have_prev_ = false;
    if (unverified_since_ >= 0) {
      unverified_total_ += last_face_ts_ - unverified_since_;
      unverified_since_ = -1;
    }
  }
}

ContinuityStep IdentityContinuity::OnFace(const TrackObservation& obs) {
  ContinuityStep step;
  ++face_frames_;
  const double ts = obs.timestamp_ms;
  // Cut detection against the previous face frame, when it is recent enough to be a neighbour.
  if (present_ && have_prev_ && ts - last_face_ts_ <= o_.lost_ms) {
    if (obs.detected) {
      const double iou = BoxIoU(*obs.detected, prev_.box);
      min_iou_ = std::min(min_iou_, iou);
      if (iou < o_.min_box_iou) step.cut_reason = "box_jump";
    }
    // In box widths, not inter-ocular distances: the eyes' distance shrinks in profile, the box
    // hardly does, and dlib's points snap to a new shape as the head reaches profile.
    double jump = 0;
    for (size_t i = 0; i < 68; ++i) jump += cv::norm(obs.landmarks[i] - prev_.landmarks[i]);
    jump /= 68.0 * std::max(1, prev_.box.width);
    max_jump_ = std::max(max_jump_, jump);
    if (step.cut_reason.empty() && jump > o_.max_landmark_jump) step.cut_reason = "landmark_jump";
    if (!obs.appearance.empty() && !prev_.appearance.empty()) {
      const double corr = obs.appearance.dot(prev_.appearance);
      min_corr_ = std::min(min_corr_, corr);
      if (step.cut_reason.empty() && corr < o_.min_appearance_corr) step.cut_reason = "appearance_change";
    }
  } else if (track_ >= 0) {
    step.cut_reason = "face_returned";
  }
  if (track_ < 0 || !step.cut_reason.empty()) {
    step.cut = track_ >= 0;
    if (step.cut) {
      ++cuts_;
      if (unverified_since_ >= 0) unverified_total_ += last_face_ts_ - unverified_since_;
      unverified_since_ = -1;
    }
    ++track_;
    track_start_ts_ = ts;
    if (track_ == 0) {
      track_verified_ = true;  // the reference track
    } else if (!have_template_) {
      // Nothing to re-match against: the new track becomes the reference, and the face time before
      // it could not be vouched for.
      track_verified_ = true;
      unverified_total_ += prev_track_face_ms_;
    } else {
      track_verified_ = false;
      pending_match_ = true;
      unverified_since_ = ts;
    }
    prev_track_face_ms_ = 0;
  } else {
    prev_track_face_ms_ += ts - last_face_ts_;
  }
  present_ = true;
  have_prev_ = true;
  last_face_ts_ = ts;
  prev_ = obs;

  // Comparable: frontal, sharp and large enough for the descriptor to mean something.
  const double offset = NoseOffset(obs.landmarks);
  max_offset_seen_ = std::max(max_offset_seen_, std::abs(offset));
  // Both yaw measures: near profile dlib's points fall back to a frontal-looking shape (a small
  // nose offset) while solvePnP still reads 40–60°; at moderate turns the offset is the steadier.
  const bool frontal = obs.pose && std::abs(offset) <= o_.max_nose_offset && std::abs(obs.pose->yaw_deg) <= o_.max_yaw_deg &&
                       std::abs(obs.pose->pitch_deg) <= o_.max_pitch_deg;
  step.comparable = frontal && obs.sharpness >= o_.min_sharpness && obs.box.width >= o_.min_face_px;
  if (!step.comparable || failed_) return step;
  ++comparable_;
  const double since = ts - last_desc_ts_;
  step.want_descriptor = pending_match_ || (int(members_.size()) < o_.template_size && since >= o_.fill_every_ms) ||
                         since >= o_.sample_every_ms;
  if (step.want_descriptor) {
    // Frontal and sharp frames make the better template members.
    pending_quality_ = std::min(obs.sharpness, 30.0) / (1.0 + std::abs(offset) / 0.05 + std::abs(obs.pose->pitch_deg) / 10.0);
  }
  return step;
}

double IdentityContinuity::TemplateDistance(const std::array<float, 128>& d) const { return L2(d, template_); }

void IdentityContinuity::RebuildTemplate() {
  std::vector<size_t> idx;
  for (size_t i = 0; i < samples_.size(); ++i) idx.push_back(i);
  std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return samples_[a].quality > samples_[b].quality; });
  if (idx.size() > size_t(o_.template_size)) idx.resize(size_t(o_.template_size));
  members_ = idx;
  template_.fill(0);
  for (size_t i : members_)
    for (size_t k = 0; k < 128; ++k) template_[k] += samples_[i].d[k] / float(members_.size());
  have_template_ = !members_.empty();
}

void IdentityContinuity::AddDescriptor(double ts, const std::array<float, 128>& d) {
  last_desc_ts_ = ts;
  if (failed_) return;
  if (have_template_) {
    const double dist = TemplateDistance(d);
    max_live_ = std::max(max_live_, dist);
    if (dist >= o_.threshold) {
      failed_ = true;
      fail_detail_ = (pending_match_ ? "the face that came back after a cut is " : "a comparable frame is ") + Fmt(dist) +
                     " from the template at " + Fmt(ts, 0) + " ms";
      return;
    }
  }
  if (pending_match_) {
    pending_match_ = false;
    track_verified_ = true;
    ++rematches_;
    if (unverified_since_ >= 0) unverified_total_ += ts - unverified_since_;
    unverified_since_ = -1;
  }
  if (!track_verified_) return;
  if (int(samples_.size()) >= o_.max_samples) {
    // Keep the template members; drop the oldest other sample.
    for (size_t i = 0; i < samples_.size(); ++i) {
      if (std::find(members_.begin(), members_.end(), i) == members_.end()) {
        samples_.erase(samples_.begin() + std::ptrdiff_t(i));
        break;
      }
    }
  }
  samples_.push_back({ts, d, pending_quality_, track_});
  RebuildTemplate();
}

IdentityContinuity::Summary IdentityContinuity::Finish() const {
  Summary s;
  s.samples = int(samples_.size());
  s.template_members = int(members_.size());
  s.comparable_frames = comparable_;
  s.face_frames = face_frames_;
  s.cuts = cuts_;
  s.rematches = rematches_;
  s.min_iou = min_iou_;
  s.max_jump = max_jump_;
  s.min_corr = min_corr_;
  s.max_live_distance = max_live_;
  s.unverified_ms = unverified_total_ + (unverified_since_ >= 0 ? last_face_ts_ - unverified_since_ : 0.0);
  for (const auto& smp : samples_) s.max_distance = std::max(s.max_distance, TemplateDistance(smp.d));
  const double worst = std::max(s.max_distance, s.max_live_distance);
  s.passed = !failed_ && s.samples >= 1 && worst < o_.threshold && s.unverified_ms <= o_.max_unverified_ms;
  std::string d = std::to_string(s.samples) + " descriptors on " + std::to_string(comparable_) + " comparable of " +
                  std::to_string(face_frames_) + " face frames; largest distance to the template of the " +
                  std::to_string(s.template_members) + " best frontal frames " + Fmt(s.max_distance) + " (live " + Fmt(s.max_live_distance) +
                  ", threshold " + Fmt(o_.threshold, 2) + "); " + std::to_string(cuts_) + " track cuts, " + std::to_string(rematches_) +
                  " re-matched";
  if (s.unverified_ms > 0) d += ", " + Fmt(s.unverified_ms, 0) + " ms of unverified face time";
  if (failed_) d += "; " + fail_detail_;
  else if (s.samples == 0) d += "; no comparable (frontal, sharp, large) frame: identity could not be followed";
  else if (s.unverified_ms > o_.max_unverified_ms) d += "; a face came back and never re-matched the template";
  s.detail = d;
  return s;
}

}  // namespace veridge::liveness
