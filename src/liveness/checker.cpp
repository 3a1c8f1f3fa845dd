#include <opencv2/imgproc.hpp>
#include <opencv2/video/tracking.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <deque>
#include <optional>
#include <sstream>
#include <utility>

#include <spdlog/spdlog.h>

#include "liveness/liveness.h"
#include "liveness/pad.h"
#include "vision/models.h"
#include "vision/vision.h"

namespace veridge::liveness {
namespace {

constexpr size_t kMaxFramePad = 2000;

double Percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0.0;
  size_t k = static_cast<size_t>(std::clamp(q, 0.0, 1.0) * double(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

std::string Fmt(double v, int prec = 3) {
  std::ostringstream o;
  o.setf(std::ios::fixed);
  o.precision(prec);
  o << v;
  return o.str();
}

// 2×3 least-squares affine map taking landmark set a onto b.
cv::Mat AffineFit(const Landmarks68& a, const Landmarks68& b) {
  cv::Mat A(68, 3, CV_64F), B(68, 2, CV_64F);
  for (int i = 0; i < 68; ++i) {
    const auto& p = a[static_cast<size_t>(i)];
    const auto& q = b[static_cast<size_t>(i)];
    A.at<double>(i, 0) = p.x; A.at<double>(i, 1) = p.y; A.at<double>(i, 2) = 1.0;
    B.at<double>(i, 0) = q.x; B.at<double>(i, 1) = q.y;
  }
  cv::Mat X;
  cv::solve(A, B, X, cv::DECOMP_SVD);
  return X.t();  // 2×3
}

cv::Rect LandmarkBox(const Landmarks68& lm, cv::Size frame) {
  float x0 = 1e9f, y0 = 1e9f, x1 = -1e9f, y1 = -1e9f;
  for (const auto& p : lm) {
    x0 = std::min(x0, p.x); y0 = std::min(y0, p.y);
    x1 = std::max(x1, p.x); y1 = std::max(y1, p.y);
  }
  // The 68 points span brows to chin; a detector box is a little larger and starts above the brows.
  const float w = x1 - x0, h = y1 - y0;
  cv::Rect r(cv::Point(int(x0 - 0.08f * w), int(y0 - 0.2f * h)), cv::Point(int(x1 + 0.08f * w), int(y1 + 0.05f * h)));
  return r & cv::Rect(0, 0, frame.width, frame.height);
}

// Photometric non-rigidity of the face between two frames (grey images, landmarks in their
// coordinates): both faces are warped onto a 64×64 patch (the older one through the landmark affine
// fit, refined by ECC), and the residual is the mean absolute grey difference of the blurred centre.
// A flat photo, however it is moved, scaled or rotated, leaves only sensor noise; a live face
// leaves eyelid, mouth, parallax and shading changes. Returns < 0 when the pair cannot be aligned.
double PhotometricResidual(const cv::Mat& prev, const Landmarks68& lp, const cv::Mat& cur, const Landmarks68& lc) {
  constexpr int kPatch = 64;
  cv::Rect box = LandmarkBox(lc, cur.size());
  if (box.width < 16 || box.height < 16) return -1;
  cv::Matx33d mcur(kPatch / double(box.width), 0, -box.x * kPatch / double(box.width), 0, kPatch / double(box.height),
                   -box.y * kPatch / double(box.height), 0, 0, 1);
  cv::Mat a = AffineFit(lp, lc);
  cv::Matx33d ma(a.at<double>(0, 0), a.at<double>(0, 1), a.at<double>(0, 2), a.at<double>(1, 0), a.at<double>(1, 1), a.at<double>(1, 2), 0, 0, 1);
  cv::Matx33d mprev = mcur * ma;
  cv::Mat pc, pp;
  cv::warpAffine(cur, pc, cv::Mat(mcur).rowRange(0, 2), cv::Size(kPatch, kPatch), cv::INTER_AREA, cv::BORDER_REPLICATE);
  cv::warpAffine(prev, pp, cv::Mat(mprev).rowRange(0, 2), cv::Size(kPatch, kPatch), cv::INTER_AREA, cv::BORDER_REPLICATE);
  cv::GaussianBlur(pc, pc, cv::Size(5, 5), 0);
  cv::GaussianBlur(pp, pp, cv::Size(5, 5), 0);
  cv::Mat warp = cv::Mat::eye(2, 3, CV_32F);
  try {
    cv::findTransformECC(pc, pp, warp, cv::MOTION_AFFINE, cv::TermCriteria(cv::TermCriteria::COUNT + cv::TermCriteria::EPS, 30, 1e-4), cv::noArray(), 1);
    cv::Mat aligned;
    cv::warpAffine(pp, aligned, warp, pp.size(), cv::INTER_LINEAR | cv::WARP_INVERSE_MAP, cv::BORDER_REPLICATE);
    pp = aligned;
  } catch (const cv::Exception&) {
    // ECC did not converge: keep the landmark alignment.
  }
  const cv::Rect centre(8, 8, kPatch - 16, kPatch - 16);
  cv::Mat d;
  cv::absdiff(pc(centre), pp(centre), d);
  return cv::mean(d)[0];
}

}  // namespace

const Check* LivenessResult::Find(const std::string& name) const {
  for (const auto& c : checks)
    if (c.name == name) return &c;
  return nullptr;
}

nlohmann::json ToJson(const LivenessResult& r) {
  nlohmann::json checks = nlohmann::json::array();
  for (const auto& c : r.checks)
    checks.push_back({{"name", c.name}, {"passed", c.passed}, {"score", c.score}, {"detail", c.detail}});
  nlohmann::json events = nlohmann::json::array();
  for (const auto& e : r.events) {
    nlohmann::json j = {{"type", ChallengeEventName(e.type)}, {"t_ms", e.timestamp_ms}};
    if (e.challenge_index >= 0) j["challenge"] = e.challenge_index;
    if (!e.detail.empty()) j["detail"] = e.detail;
    events.push_back(std::move(j));
  }
  nlohmann::json j = {{"live", r.live}, {"score", r.score}, {"checks", checks}, {"reasons", r.reasons},
                      {"frames", r.frames}, {"face_frames", r.face_frames}, {"best_frame_ms", r.best_frame_ms}};
  if (!r.events.empty()) j["events"] = events;
  if (!r.notes.empty()) j["notes"] = r.notes;
  j["continuity_distance"] = r.continuity_distance;
  if (!r.best_frame.empty()) j["best_box"] = {r.best_box.x, r.best_box.y, r.best_box.width, r.best_box.height};
  return j;
}

struct LivenessChecker::Impl {
  LivenessOptions opt;
  std::unique_ptr<vision::FaceAnalyzer> vision;
  std::unique_ptr<PadModel> pad;
};

LivenessChecker::LivenessChecker(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LivenessChecker::~LivenessChecker() = default;
const LivenessOptions& LivenessChecker::options() const { return impl_->opt; }

Result<std::unique_ptr<LivenessChecker>> LivenessChecker::Create(const LivenessOptions& options) {
  if (options.detect_every < 1 || options.pad_every < 1 || options.max_work_width < 160 || options.max_session_ms <= 0)
    return Status::InvalidInput("bad_option", "liveness options: detect_every, pad_every ≥ 1, max_work_width ≥ 160, max_session_ms > 0");
  auto impl = std::make_unique<Impl>();
  impl->opt = options;
  impl->opt.continuity.threshold = options.identity_threshold;
  vision::VisionOptions vo;
  vo.model_dir = options.model_dir;
  vo.detector = options.detector;
  vo.load_descriptor = true;
  auto va = vision::FaceAnalyzer::Create(vo);
  if (!va.ok()) return va.status().WithContext("liveness: loading the face models");
  impl->vision = std::move(va).value();
  // The PAD networks are checked against the manifest's sha256 like the face models: a swapped
  // model that passes replays must never be loaded (threat model G4).
  auto pad = PadModel::Load(options.model_dir, [](const std::filesystem::path& dir, std::string_view file) {
    return vision::ReadModel(dir, file, /*verify=*/true, PadModel::kMaxModelBytes);
  });
  if (!pad.ok()) return pad.status();
  impl->pad = std::move(pad).value();
  return std::unique_ptr<LivenessChecker>(new LivenessChecker(std::move(impl)));
}

// Everything one session keeps between frames.
struct LivenessSession::State {
  const LivenessOptions& o;
  vision::FaceAnalyzer& va;
  PadModel& pad;
  capture::SourceInfo info;
  LivenessResult res;
  std::optional<ChallengeSession> session;
  IdentityContinuity continuity;
  std::vector<ChallengeEvent> new_events;
  bool done = false;

  State(const LivenessOptions& opt, vision::FaceAnalyzer& v, PadModel& p, capture::SourceInfo i)
      : o(opt), va(v), pad(p), info(std::move(i)), continuity(opt.continuity) {}

  // Track state.
  std::optional<cv::Rect> track;          // detector-style box, work-image coordinates
  int since_detect = 1 << 30;
  cv::Point2f prev_centroid;
  bool have_prev_centroid = false;
  cv::Mat ref_patch;
  double max_second_ratio = 0;
  // Stream statistics.
  double first_ts = 0, prev_ts = 0;
  bool have_prev_ts = false;
  int non_monotonic = 0, big_gaps = 0;
  double max_gap = 0;
  int pending_zero = 0;
  std::int64_t timed_frames = 0;
  std::vector<double> intervals;          // positive frame intervals (bounded)
  bool truncated_by_session = false;
  cv::Mat prev_thumb;
  int static_pairs = 0, pairs = 0;
  std::vector<double> diffs;
  struct MotionSample { double ts; cv::Mat grey; Landmarks68 lm; };
  std::deque<MotionSample> motion;        // last ~motion_pair_ms of small grey frames
  std::vector<double> photometric;
  // PAD.
  std::vector<double> pad_scores;
  int tracked = 0;
  // Best frame.
  double best_quality = -1;

  void Emit(std::vector<ChallengeEvent> ev) {
    for (auto& e : ev) {
      res.events.push_back(e);
      new_events.push_back(std::move(e));
    }
  }
  Status Frame(const capture::Frame& f);
  Result<LivenessResult> Finish(bool source_truncated);
};

LivenessSession::LivenessSession(std::unique_ptr<State> s) : s_(std::move(s)) {}
LivenessSession::~LivenessSession() = default;
Status LivenessSession::OnFrame(const capture::Frame& frame) { return s_->Frame(frame); }
bool LivenessSession::done() const { return s_->done; }
bool LivenessSession::paused() const { return s_->continuity.paused(); }
ChallengeSession* LivenessSession::challenge() { return s_->session ? &*s_->session : nullptr; }
std::vector<ChallengeEvent> LivenessSession::TakeEvents() { return std::exchange(s_->new_events, {}); }
Result<LivenessResult> LivenessSession::Finish(bool source_truncated) { return s_->Finish(source_truncated); }

std::unique_ptr<LivenessSession> LivenessChecker::Begin(const CheckRequest& request, const capture::SourceInfo& info) {
  auto st = std::make_unique<LivenessSession::State>(impl_->opt, *impl_->vision, *impl_->pad, info);
  if (!request.challenges.empty()) st->session.emplace(request.challenges, impl_->opt.challenge);
  return std::unique_ptr<LivenessSession>(new LivenessSession(std::move(st)));
}

Status LivenessSession::State::Frame(const capture::Frame& f) {
  if (done) return Status::Ok();
  if (res.frames == 0) first_ts = f.timestamp_ms;
  if (f.timestamp_ms - first_ts > o.max_session_ms) {
    truncated_by_session = true;
    done = true;
    return Status::Ok();
  }
  ++res.frames;

  // Timestamps: reported as the source gives them (capture.h). OpenCV/FFmpeg reports time 0 for the
  // last frames of some MP4 files (B-frame flush at end of stream); such frames are held back and only
  // count as non-monotonic if a later frame shows they were not at the end.
  if (have_prev_ts && f.timestamp_ms == 0.0 && prev_ts > 0.0) {
    ++pending_zero;
  } else {
    non_monotonic += pending_zero;
    pending_zero = 0;
    if (have_prev_ts) {
      const double gap = f.timestamp_ms - prev_ts;
      if (gap <= 0) {
        ++non_monotonic;
      } else {
        max_gap = std::max(max_gap, gap);
        if (gap > o.max_frame_gap_ms) ++big_gaps;
        if (intervals.size() < 20000) intervals.push_back(gap);
      }
    }
    have_prev_ts = true;
    prev_ts = f.timestamp_ms;
    ++timed_frames;
  }

  cv::Mat work = f.bgr;
  if (work.cols > o.max_work_width) {
    const double s = double(o.max_work_width) / work.cols;
    cv::resize(f.bgr, work, cv::Size(), s, s, cv::INTER_AREA);
  }

  // Detection every N frames (or when the track is lost); landmarks track in between.
  std::optional<Landmarks68> lm;
  std::optional<cv::Rect> detected;
  bool redetect = !track || ++since_detect >= o.detect_every;
  if (!redetect) {
    // Between detections, make sure a face is still where the track says: the landmark model
    // always returns 68 points, even on a wall, and those could "turn the head".
    cv::Mat now = AppearancePatch(work, *track);
    redetect = now.empty() || ref_patch.empty() || now.dot(ref_patch) < 0.6;
  }
  if (redetect) {
    since_detect = 0;
    auto faces = va.Detect(work);
    if (!faces.ok()) return faces.status();
    if (faces->size() >= 2 && (*faces)[0].width > 0)
      max_second_ratio = std::max(max_second_ratio, double((*faces)[1].width) / (*faces)[0].width);
    if (faces->empty()) track.reset();
    else track = (*faces)[0];
    if (track) detected = *track;
    ref_patch = track ? AppearancePatch(work, *track) : cv::Mat();
  }
  if (track) {
    auto l = va.Landmarks(work, *track);
    if (!l.ok()) return l.status();
    if (InterOcularDistance(*l) < 0.15 * track->width) {
      track.reset();  // the landmarks collapsed: no face there any more
    } else {
      lm = *l;
      // Follow the face between detections by the landmarks' mean displacement since the last
      // frame, not by re-deriving a box from them: dlib's predictor depends on its input box, so
      // a box recomputed every frame makes the landmarks (and EAR / pose) flicker on a still face.
      cv::Point2f c(0, 0);
      for (const auto& p : *lm) c += p;
      c *= 1.0f / 68.0f;
      if (since_detect > 0 && have_prev_centroid) {
        const cv::Point2f d = c - prev_centroid;
        track->x += int(std::lround(d.x));
        track->y += int(std::lround(d.y));
      }
      prev_centroid = c;
      have_prev_centroid = true;
    }
  }
  if (!lm) have_prev_centroid = false;

  // Near-identical consecutive frames, on a small grey thumbnail of the face region (or the whole
  // frame when there is no face), blurred so sensor noise does not hide a repeated picture.
  {
    cv::Rect region = track ? (*track & cv::Rect(0, 0, work.cols, work.rows)) : cv::Rect(0, 0, work.cols, work.rows);
    if (region.area() < 64) region = cv::Rect(0, 0, work.cols, work.rows);
    cv::Mat grey, thumb;
    cv::cvtColor(work(region), grey, cv::COLOR_BGR2GRAY);
    cv::resize(grey, thumb, cv::Size(64, 64), 0, 0, cv::INTER_AREA);
    cv::GaussianBlur(thumb, thumb, cv::Size(3, 3), 0);
    if (!prev_thumb.empty()) {
      cv::Mat d;
      cv::absdiff(thumb, prev_thumb, d);
      const double md = cv::mean(d)[0];
      diffs.push_back(md);
      ++pairs;
      if (md < o.static_diff) ++static_pairs;
    }
    prev_thumb = thumb;
  }

  std::optional<FaceSample> sample;
  std::optional<FaceSignals> sig;
  double sharpness = 0;
  if (lm) {
    ++tracked;
    sample = FaceSample{*lm, work.size()};
    sig = ComputeSignals(*sample);
    sharpness = FaceSharpness(work, *track);
    // Photometric non-rigidity on a ≤ 320 px grey copy (bounded: a few frames of ~77 kB).
    {
      const double ms = std::min(1.0, 320.0 / work.cols);
      MotionSample cur{f.timestamp_ms, {}, *lm};
      cv::Mat grey;
      cv::cvtColor(work, grey, cv::COLOR_BGR2GRAY);
      if (ms < 1.0) cv::resize(grey, cur.grey, cv::Size(), ms, ms, cv::INTER_AREA);
      else cur.grey = grey;
      for (auto& p : cur.lm) p *= float(ms);
      while (!motion.empty() && f.timestamp_ms - motion.front().ts > o.motion_pair_ms * 1.5) motion.pop_front();
      if (!motion.empty() && f.timestamp_ms - motion.front().ts >= o.motion_pair_ms * 0.5) {
        const double r = PhotometricResidual(motion.front().grey, motion.front().lm, cur.grey, cur.lm);
        if (r >= 0) photometric.push_back(r);
      }
      motion.push_back(std::move(cur));
    }

    // Passive PAD on a subset of frames.
    if ((tracked - 1) % o.pad_every == 0) {
      auto ps = pad.Score(work, cv::Rect2f(*track));
      if (ps.ok()) {
        pad_scores.push_back(ps->fused);
        if (res.frame_pad.size() < kMaxFramePad) res.frame_pad.push_back({f.index, f.timestamp_ms, ps->fused});
      } else if (ps.status().kind() != Status::Kind::kInvalidInput) {
        return ps.status();
      }
    }
    // Identity continuity: tracking on every face frame, a descriptor only when it asks.
    TrackObservation obs{f.timestamp_ms, *track, detected, *lm, sig->pose, sharpness, AppearancePatch(work, *track)};
    const ContinuityStep step = continuity.OnFace(obs);
    if (step.cut) spdlog::debug("liveness: track cut at {:.0f} ms ({})", f.timestamp_ms, step.cut_reason);
    if (step.want_descriptor) {
      auto chip = va.AlignChip(work, *lm);
      if (!chip.ok()) return chip.status();
      auto d = va.Describe(*chip);
      if (!d.ok()) return d.status();
      continuity.AddDescriptor(f.timestamp_ms, *d);
    }
  } else {
    motion.clear();
    continuity.OnNoFace(f.timestamp_ms);
  }

  if (spdlog::should_log(spdlog::level::trace) && sig) {
    spdlog::trace("liveness frame {} t={:.1f} box={}x{}+{}+{} ear={:.3f} mar={:.3f} yaw={:.1f} asym={:.3f} pitch={:.1f} nose={:.3f} sharp={:.1f} verified={}",
                  f.index, f.timestamp_ms, track->width, track->height, track->x, track->y, sig->ear, sig->mar, sig->pose ? sig->pose->yaw_deg : 0.0,
                  sig->yaw_asymmetry,
                  sig->pose ? sig->pose->pitch_deg : 0.0, NoseOffset(*lm), sharpness, continuity.verified() ? 1 : 0);
  }
  // Active challenges, only on frames whose identity is verified: a face that left (or a new one)
  // pauses them until it re-matches the template.
  const bool verified = continuity.verified();
  bool in_live_segment = !session.has_value() && verified;
  if (session) {
    if (session->paused() && verified) Emit(session->Resume(f.timestamp_ms));
    else if (!session->paused() && !verified && continuity.seen_face()) session->Pause(f.timestamp_ms);
    if (!session->paused()) {
      const bool was_awaiting = session->state() == ChallengeState::kAwaiting;
      Emit(session->OnFrame(f.timestamp_ms, sample));
      in_live_segment = verified && (was_awaiting || session->state() == ChallengeState::kAwaiting);
    }
  }

  // Best frame for the face match: frontal, eyes open, sharp, inside the live segment.
  if (lm && in_live_segment) {
    const double yaw = sig->pose ? std::abs(sig->pose->yaw_deg) : 45.0;
    const double pitch = sig->pose ? std::abs(sig->pose->pitch_deg) : 45.0;
    const double q = std::min(sharpness, 30.0) * std::min(1.0, sig->ear / 0.25) / (1.0 + yaw / 10.0 + pitch / 10.0);
    if (q > best_quality) {
      best_quality = q;
      res.best_frame = work.clone();
      res.best_box = *track;
      res.best_frame_ms = f.timestamp_ms;
    }
  }
  return Status::Ok();
}

Result<LivenessResult> LivenessSession::State::Finish(bool source_truncated) {
  if (session) Emit(session->Finish(prev_ts));
  res.face_frames = tracked;
  if (info.kind != "video") non_monotonic += pending_zero;  // only video files have the end-of-stream quirk

  auto add = [this](std::string name, bool passed, double score, std::string detail, const std::string& reason) {
    res.checks.push_back({std::move(name), passed, score, std::move(detail)});
    if (!passed && !reason.empty()) res.reasons.push_back(reason);
  };
  const bool has_face = tracked >= o.min_face_frames;
  add("face_present", has_face, double(tracked), std::to_string(tracked) + " of " + std::to_string(res.frames) + " frames had a tracked face", "no_face");
  const bool single = max_second_ratio < o.secondary_face_ratio;
  add("single_face", single, max_second_ratio,
      single ? "one face (largest other face " + Fmt(max_second_ratio, 2) + "× the main one; from " + Fmt(o.secondary_face_ratio, 2) +
                   "× a second face is a second person)"
             : "a second face " + Fmt(max_second_ratio, 2) + "× the size of the applicant's was seen: only the applicant may be in view",
      "multiple_faces");
  const IdentityContinuity::Summary cs = continuity.Finish();
  res.continuity_distance = cs.max_distance;
  add("identity_continuity", cs.passed, std::max(cs.max_distance, cs.max_live_distance),
      cs.detail + " [tracking: min box IoU " + Fmt(cs.min_iou, 2) + ", max landmark jump " + Fmt(cs.max_jump, 2) + " box widths, min appearance corr " +
          Fmt(cs.min_corr, 2) + "]",
      cs.samples >= 1 || cs.cuts > 0 ? "identity_changed" : "");
  res.score = Percentile(pad_scores, 0.5);
  const bool pad_ok = !pad_scores.empty() && res.score >= o.pad_threshold;
  add("pad", pad_ok, res.score,
      "median fused P(real) over " + std::to_string(pad_scores.size()) + " frames (threshold " + Fmt(o.pad_threshold, 2) + ")",
      pad_scores.empty() ? "" : "presentation_attack");
  const double nonrigid = Percentile(photometric, 0.95);
  const bool moving = photometric.size() >= 3 && nonrigid >= o.min_nonrigid_motion;
  add("face_motion", moving, nonrigid,
      "95th percentile non-rigid face change " + Fmt(nonrigid, 2) + " grey levels over " + std::to_string(photometric.size()) +
          " frame pairs " + Fmt(o.motion_pair_ms, 0) + " ms apart (needs " + Fmt(o.min_nonrigid_motion, 2) + "); a flat picture only moves rigidly",
      photometric.empty() ? "" : "frozen_face");
  const double static_frac = pairs ? double(static_pairs) / pairs : 0.0;
  add("static_frames", pairs > 0 && static_frac <= o.max_static_fraction, static_frac,
      std::to_string(static_pairs) + " of " + std::to_string(pairs) + " consecutive frame pairs near-identical (median difference " + Fmt(Percentile(diffs, 0.5), 2) + ")",
      pairs > 0 ? "static_stream" : "");

  // Timestamps and frame rate. A camera device: its nominal rate is a property of the driver and
  // a measured rate far from it means frames are not coming from the sensor as configured. A file:
  // only its timestamps are evidence (the container's fps field is often a timebase, e.g. 1000 for
  // WebM), so they must be monotonic, without gaps and regular.
  const bool is_device = info.kind == "device";
  const double median_interval = Percentile(intervals, 0.5);
  int irregular = 0;
  for (double iv : intervals)
    if (median_interval > 0 && iv > o.irregular_factor * median_interval) ++irregular;
  const double irregular_frac = intervals.empty() ? 0.0 : double(irregular) / double(intervals.size());
  const bool regular = is_device || irregular_frac <= o.max_irregular_fraction;
  std::string ts_detail = std::to_string(non_monotonic) + " non-increasing timestamps, " + std::to_string(big_gaps) + " gaps over " +
                          Fmt(o.max_frame_gap_ms, 0) + " ms (largest " + Fmt(max_gap, 0) + " ms), " + std::to_string(irregular) + " of " +
                          std::to_string(intervals.size()) + " intervals over " + Fmt(o.irregular_factor, 1) + "× the median " +
                          Fmt(median_interval, 1) + " ms";
  if (truncated_by_session || source_truncated) ts_detail += "; analysis cut at " + Fmt(std::min(o.max_session_ms, prev_ts - first_ts), 0) + " ms of source time";
  add("timestamps", non_monotonic == 0 && big_gaps == 0 && regular, double(non_monotonic + big_gaps + (regular ? 0 : irregular)), ts_detail,
      "bad_timestamps");
  const double duration = prev_ts - first_ts;
  const double measured_fps = duration > 0 && timed_frames > 1 ? double(timed_frames - 1) * 1000.0 / duration : 0.0;
  if (is_device) {
    if (info.nominal_fps > 0 && measured_fps > 0) {
      const double ratio = measured_fps / info.nominal_fps;
      add("frame_rate", ratio >= o.min_fps_ratio && ratio <= o.max_fps_ratio, ratio,
          "camera: measured " + Fmt(measured_fps, 1) + " fps vs nominal " + Fmt(info.nominal_fps, 1), "frame_rate_mismatch");
    } else {
      add("frame_rate", true, 1.0, "camera nominal frame rate unknown: measured " + Fmt(measured_fps, 1) + " fps", "");
    }
  } else if (measured_fps > 0) {
    std::string detail = info.kind + ": " + Fmt(measured_fps, 1) + " fps from the timestamps (needs " + Fmt(o.min_file_fps, 1) + ")";
    if (info.nominal_fps > 0 && std::abs(info.nominal_fps / measured_fps - 1.0) > o.fps_claim_tolerance) {
      const std::string note = "the container claims " + Fmt(info.nominal_fps, 1) + " fps but its timestamps say " + Fmt(measured_fps, 1) +
                               " fps: the claim is ignored";
      res.notes.push_back(note);
      detail += "; " + note;
    } else if (info.nominal_fps > 0) {
      detail += ", container claim " + Fmt(info.nominal_fps, 1) + " fps agrees";
    }
    add("frame_rate", measured_fps >= o.min_file_fps, measured_fps, detail, "frame_rate_mismatch");
  } else {
    add("frame_rate", true, 0.0, "too few timed frames to measure a rate: not checked", "");
  }
  add("virtual_camera", !info.virtual_device, info.virtual_device ? 1.0 : 0.0,
      is_device ? "driver '" + info.driver + "', card '" + info.card + "'" : "not a camera device (" + info.kind + ")", "virtual_camera");
  if (session) {
    const bool passed = session->state() == ChallengeState::kPassed;
    add("challenge", passed, double(session->current_index()) / double(session->sequence().size()),
        FormatChallengeList(session->sequence()) + ": " + std::to_string(session->current_index()) + " done" +
            (passed ? "" : ", failed: " + session->failure_code()) + " (" + std::to_string(session->blinks_seen()) + " blinks)",
        session->failure_code());
  }
  res.live = true;
  for (const auto& c : res.checks) res.live = res.live && c.passed;
  if (!res.live && res.reasons.empty()) res.reasons.push_back("liveness_undetermined");
  return std::move(res);
}

Result<LivenessResult> LivenessChecker::Check(capture::FrameSource& source, const CheckRequest& request) {
  auto s = Begin(request, source.info());
  while (!s->done()) {
    auto next = source.Next();
    if (!next.ok()) return next.status();
    if (!next->has_value()) break;
    Status st = s->OnFrame(**next);
    if (!st.ok()) return st;
  }
  return s->Finish(source.truncated());
}

}  // namespace veridge::liveness
