// liveness/continuity.h — identity continuity over one liveness session: is the face at the end the
// same person as the face at the start, whatever the head does in between?
//
// Two independent pieces of evidence, both fed one frame at a time (the kiosk daemon runs it live;
// the CLI over a file runs the same code):
//  * Tracking between neighbouring face frames: box overlap on detector frames, landmark motion
//    (mean displacement over the face box width) and a cheap appearance check (zero-mean
//    32×32 grey patch correlation). A jump in any of them is a *cut* (a splice, a swap, a face that
//    vanished and a new one). A face absent for longer than `lost_ms` ends the track too.
//    Either way the session *pauses*: the new track is unverified until it re-matches the template.
//  * Descriptors, only on *comparable* frames (frontal: the nose-tip offset (≈ yaw) and the pose's
//    |pitch| within limits, sharp enough, large enough: profile frames of a head turn are never compared), against a
//    reference template: the mean descriptor of the `template_size` best-quality comparable frames
//    seen so far in verified tracks (the session's best frontal frames, not "the first sample").
//    A comparable frame at `threshold` or more from the template is `identity_changed` (sticky).
//    Descriptors are requested only when needed (want_descriptor): at once after a cut, every
//    `fill_every_ms` while the template fills, then every `sample_every_ms`.
//  * Finish() re-measures every stored sample against the final template, so the reported largest
//    distance is against the session's best frontal frames.
// The first track is the reference (verified from its start). A later track is unverified until
// a comparable frame of it re-matches the template; a miss is identity_changed. If a cut comes
// before any template exists, the new track becomes the reference and the earlier tracks' face
// time counts as unverified. More than `max_unverified_ms` of unverified face time fails the
// check (a returning face that never showed itself frontal cannot be vouched for); the checker
// feeds no challenge and takes no evidence from unverified frames, so leaving the frame is never
// a way around a challenge.
// Pure computation (no models); not thread-safe (one per session).
#pragma once

#include <opencv2/core.hpp>

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "liveness/face_geometry.h"

namespace veridge::liveness {

struct ContinuityOptions {
  // Comparable frames. Measured on the shared real clips (tools/eval-liveness, see the issue-12 note).
  double max_nose_offset = 0.15;                // |NoseOffset| (≈ yaw; 0.15 ≈ 15–20°)
  double max_yaw_deg = 40;                      // |yaw| from EstimateHeadPose (biased: frontal reads up to ~37)
  double max_pitch_deg = 25;                    // |pitch| from EstimateHeadPose
  double min_sharpness = 4.0;                   // Laplacian σ of the face box scaled to 128 px wide
  int min_face_px = 64;                         // face box width in the analysed image
  // Tracking between neighbouring face frames.
  double min_box_iou = 0.3;                     // detector box vs the tracked box
  double max_landmark_jump = 0.5;               // mean landmark displacement / face box width
  double min_appearance_corr = 0.35;            // 32×32 patch correlation with the previous face frame
  double lost_ms = 500;                         // no face for longer ends the track
  // Descriptors.
  double threshold = 0.6;                       // L2 distance (vision's same-person threshold)
  int template_size = 3;
  double fill_every_ms = 250;
  double sample_every_ms = 1000;
  int max_samples = 120;                        // bounded memory; later samples replace the oldest non-members
  double max_unverified_ms = 1000;
};

// One frame's tracked face as the checker saw it.
struct TrackObservation {
  double timestamp_ms = 0;
  cv::Rect box;                         // the tracked face box
  std::optional<cv::Rect> detected;     // the detector's box, on frames where the detector ran
  Landmarks68 landmarks{};
  std::optional<HeadPose> pose;
  double sharpness = 0;
  cv::Mat appearance;                   // AppearancePatch() of the box (may be empty)
};

// A zero-mean, unit-norm 32×32 grey patch of the box (empty when the box is tiny or flat).
cv::Mat AppearancePatch(const cv::Mat& bgr, const cv::Rect& box);
// Laplacian σ of the grey face box scaled to 128 px wide (resolution-independent sharpness).
double FaceSharpness(const cv::Mat& bgr, const cv::Rect& box);
double BoxIoU(const cv::Rect& a, const cv::Rect& b);
// Nose tip offset from the eye-corner midpoint along the eye axis, in inter-ocular distances
// (0 frontal; sign follows the image x axis). The yaw measure used for "comparable".
double NoseOffset(const Landmarks68& p);

struct ContinuityStep {
  bool cut = false;              // this frame starts a new track (cut or return after lost_ms)
  std::string cut_reason;        // box_jump, landmark_jump, appearance_change, face_returned
  bool comparable = false;
  bool want_descriptor = false;  // call AddDescriptor for this frame
};

class IdentityContinuity {
 public:
  explicit IdentityContinuity(ContinuityOptions o = {});

  ContinuityStep OnFace(const TrackObservation& obs);
  void OnNoFace(double timestamp_ms);
  // The descriptor of the frame OnFace just asked for (want_descriptor).
  void AddDescriptor(double timestamp_ms, const std::array<float, 128>& d);

  // The current track is verified (the reference, or re-matched the template) and nothing failed.
  bool verified() const { return !failed_ && present_ && track_verified_; }
  // The face is gone or its track is not verified yet: challenges and evidence wait.
  bool paused() const { return !verified(); }
  bool failed() const { return failed_; }
  bool seen_face() const { return track_ >= 0; }

  struct Summary {
    bool passed = false;
    double max_distance = 0;     // largest template distance among comparable frames (final template)
    double max_live_distance = 0;  // largest distance measured live (template at that time)
    int samples = 0, template_members = 0, comparable_frames = 0, face_frames = 0;
    int cuts = 0, rematches = 0;
    double unverified_ms = 0;
    // Tracking statistics over neighbouring face frames (for threshold review).
    double min_iou = 1, max_jump = 0, min_corr = 1;
    std::string detail;
  };
  Summary Finish() const;

 private:
  struct Sample {
    double ts;
    std::array<float, 128> d;
    double quality;
    int track;
  };
  void RebuildTemplate();
  double TemplateDistance(const std::array<float, 128>& d) const;

  ContinuityOptions o_;
  // Track state.
  bool present_ = false, have_prev_ = false;
  double last_face_ts_ = -1e300;
  TrackObservation prev_;
  int track_ = -1;
  bool track_verified_ = false;
  bool pending_match_ = false;
  double track_start_ts_ = 0, unverified_since_ = -1, unverified_total_ = 0;
  double prev_track_face_ms_ = 0;   // face time of the current track so far
  // Descriptors.
  std::vector<Sample> samples_;
  std::vector<size_t> members_;   // indexes into samples_
  std::array<float, 128> template_{};
  bool have_template_ = false;
  double last_desc_ts_ = -1e300;
  double pending_quality_ = 0;
  bool failed_ = false;
  std::string fail_detail_;
  // Stats.
  int comparable_ = 0, face_frames_ = 0, cuts_ = 0, rematches_ = 0;
  double min_iou_ = 1, max_jump_ = 0, min_corr_ = 1, max_live_ = 0, max_offset_seen_ = 0;
};

}  // namespace veridge::liveness
