// liveness/liveness.h — the liveness factor: is the face in front of the camera a live person, not
// a photo, a screen replay or an injected stream? Public entry point for verify/ and the CLI.
//
// A LivenessSession (LivenessChecker::Begin) is fed one frame at a time (OnFrame), so the kiosk
// daemon can run it live; Check() over a capture::FrameSource (a file, the CLI) is Begin + OnFrame
// for each frame + Finish: the same code. Bounded memory: one best frame, the last landmark sets
// of a short window, a bounded set of descriptors and per-frame scalars, never the clip.
// What the session does per frame:
//   * face track: detection (vision, YuNet/HOG) every `detect_every` frames and landmarks on every
//     frame from the tracked box; frames wider than `max_work_width` are downscaled first (4K input
//     costs what 1280 px does);
//   * passive PAD (MiniFASNetV2 + V1SE, see pad.h) every `pad_every` frames, median over the session;
//   * injection / static-stream checks (see the check names below);
//   * identity continuity (continuity.h): frame-to-frame tracking catches cuts; descriptors only on
//     comparable (frontal, sharp, large) frames, against a template of the session's best frontal
//     frames; a face that leaves pauses the session (challenges wait) until it re-matches;
//   * a second face at least `secondary_face_ratio` × the applicant's width fails the session
//     (a small face far in the background, a poster or a passer-by, does not);
//   * active challenges when the request names them (challenge.h), judged on the same frames, only
//     on frames whose identity is verified;
//   * timestamps and frame rate fitting the source: for a file (kind video / image_dir) the
//     timestamps are the evidence (monotonic, no gaps, regular) and the container's fps claim is
//     not: a claim that disagrees with them is a quality note (`notes`), not a rejection; for a
//     camera device the nominal and measured rates must agree, and virtual cameras are rejected.
// Checks, each reported with {name, passed, score, detail}:
//   face_present, single_face, identity_continuity, pad, face_motion, static_frames, timestamps,
//   frame_rate, virtual_camera, challenge (only when challenges were requested).
// A failed check adds its reason code to `reasons`: no_face, multiple_faces, identity_changed,
// presentation_attack, frozen_face, static_stream, bad_timestamps, frame_rate_mismatch,
// virtual_camera, and for challenges the ChallengeSession failure code (challenge_timeout,
// challenge_wrong_action, face_lost, calibration_failed, clip_too_short).
// `live` is true only when every check passed (fail closed). Source errors (corrupt video,
// frame_too_large) are returned as a Status, not a verdict.
//
// Time bound: at most `max_session_ms` of source time is analysed (a 10-minute clip is cut, and the
// cut is reported in the timestamps check's detail); capture::CaptureOptions bounds frames and size.
// Thread-safety: a LivenessChecker is not thread-safe (it owns one vision analyzer and the PAD
// networks); use one per thread.
#pragma once

#include <opencv2/core.hpp>

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "capture/capture.h"
#include "common/status.h"
#include "liveness/challenge.h"
#include "liveness/continuity.h"

namespace veridge::liveness {

struct LivenessOptions {
  std::filesystem::path model_dir;       // vision models + MiniFASNet*.onnx (models/manifest.json)
  std::string detector = "yunet";        // vision detector: "yunet" (fast) | "hog" | "auto"
  int detect_every = 5;                  // re-detect every N frames; landmarks track in between
  int pad_every = 3;                     // PAD on every Nth tracked frame
  double descriptor_every_ms = 1000;     // identity samples
  int max_work_width = 1280;             // larger frames are downscaled before any analysis
  double max_session_ms = 30'000;        // source time analysed at most
  int min_face_frames = 5;               // fewer tracked frames → no_face
  double secondary_face_ratio = 0.3;     // a 2nd face this big (width ratio) → multiple_faces; smaller is
                                         // the background (a poster, a passer-by far behind)
  double pad_threshold = 0.5;            // session median of fused P(real) must reach this
  double identity_threshold = 0.6;       // descriptor L2 distance (copied into continuity.threshold)
  ContinuityOptions continuity;          // tracking cuts, comparable frames, template (continuity.h)
  // face_motion: the face must change in ways a flat picture cannot. Frames motion_pair_ms apart are
  // aligned on a 64×64 face patch (landmark affine fit + ECC refinement) and the mean absolute grey
  // residual of the blurred centre is taken; its 95th percentile over the session must reach this.
  // Measured (tools/eval-liveness): real clips 23.8 and 2.9, replays 18.8 and 2.3, still and panned
  // photos with σ=3 sensor noise 0.39–0.77. A real person holding perfectly still for the whole clip
  // would fail it (a kiosk asks them to blink).
  double min_nonrigid_motion = 1.5;
  double motion_pair_ms = 200;           // residual between landmark sets this far apart
  // static_frames: consecutive frames whose face-region thumbnails (64×64, blurred, in the tracked
  // box) differ by less than this mean grey level are "near-identical"; more than
  // max_static_fraction of pairs fails. Aimed at injected repeated frames (difference 0); sensor
  // noise of a held photo (σ=3) already exceeds it, which face_motion catches instead.
  double static_diff = 0.3;
  double max_static_fraction = 0.5;
  double max_frame_gap_ms = 1000;        // a larger gap between frames is implausible
  double min_fps_ratio = 0.5, max_fps_ratio = 1.6;  // devices: measured / nominal frame rate
  // Files: frame intervals over irregular_factor × the median interval count as irregular; more than
  // max_irregular_fraction of them fails `timestamps`. Fewer than min_file_fps frames per second of
  // timestamps fails `frame_rate` (too sparse to judge motion).
  double irregular_factor = 3.0, max_irregular_fraction = 0.2;
  double min_file_fps = 5.0;
  double fps_claim_tolerance = 0.25;     // |claim/measured − 1| above this: a quality note
  ChallengeOptions challenge;
};

struct CheckRequest {
  std::vector<Challenge> challenges;     // empty: passive and injection checks only
};

struct Check {
  std::string name;
  bool passed = false;
  double score = 0;                      // check-specific, documented in detail
  std::string detail;
};

struct FramePad {                        // frame-level PAD result (for ISO 30107-3 frame metrics)
  std::int64_t index = 0;
  double timestamp_ms = 0;
  double score = 0;                      // fused P(real)
};

struct LivenessResult {
  bool live = false;
  double score = 0;                      // session PAD score (median fused P(real)), 0..1
  std::vector<Check> checks;
  std::vector<std::string> reasons;      // reason codes of the failed checks, in check order
  cv::Mat best_frame;                    // for the face match: from inside the live segment; may be empty
  cv::Rect best_box;                     // face box in best_frame
  double best_frame_ms = -1;
  std::int64_t frames = 0, face_frames = 0;
  std::vector<ChallengeEvent> events;    // challenge events (active mode)
  std::vector<FramePad> frame_pad;       // at most 2000 entries
  std::vector<std::string> notes;        // quality notes (not rejections), e.g. an fps claim that lies
  double continuity_distance = 0;        // largest template distance among comparable frames
  const Check* Find(const std::string& name) const;
};

// {"live","score","checks":[{"name","passed","score","detail"}],"reasons":[...],"frames",...}
nlohmann::json ToJson(const LivenessResult& r);

class LivenessChecker;

// One session fed frame by frame. Borrows its checker (which must outlive it and must not run
// another session at the same time). Not thread-safe.
class LivenessSession {
 public:
  ~LivenessSession();
  LivenessSession(const LivenessSession&) = delete;
  LivenessSession& operator=(const LivenessSession&) = delete;

  // Analyses one frame (timestamps in source time). Frames beyond max_session_ms are not analysed
  // and make done() true. Errors are model/runtime failures (the session is then unusable).
  Status OnFrame(const capture::Frame& frame);
  bool done() const;
  // The face is gone or its identity is not re-verified yet: challenges and evidence wait.
  bool paused() const;
  // Active mode only (else nullptr): the UI shows prompt() and reports PromptShown(t).
  ChallengeSession* challenge();
  // Challenge events raised since the last call (they are also kept for the result).
  std::vector<ChallengeEvent> TakeEvents();
  // The verdict. source_truncated: the source was cut at its own bound (reported).
  Result<LivenessResult> Finish(bool source_truncated = false);

 private:
  friend class LivenessChecker;
  struct State;
  explicit LivenessSession(std::unique_ptr<State> s);
  std::unique_ptr<State> s_;
};

class LivenessChecker {
 public:
  // Loads the vision analyzer (detector, landmarks, descriptor) and the PAD models. Codes from
  // vision (model_missing, ...) and pad.h (pad_model_missing, ...).
  static Result<std::unique_ptr<LivenessChecker>> Create(const LivenessOptions& options);
  ~LivenessChecker();
  LivenessChecker(const LivenessChecker&) = delete;
  LivenessChecker& operator=(const LivenessChecker&) = delete;

  // Runs the whole check over the source (reads it to the end or to max_session_ms).
  Result<LivenessResult> Check(capture::FrameSource& source, const CheckRequest& request = {});
  // Starts a session for frames from a source described by `info` (kind decides the frame-rate rules).
  std::unique_ptr<LivenessSession> Begin(const CheckRequest& request, const capture::SourceInfo& info);
  const LivenessOptions& options() const;

 private:
  struct Impl;
  explicit LivenessChecker(std::unique_ptr<Impl> impl);
  friend class LivenessSession;
  std::unique_ptr<Impl> impl_;
};

}  // namespace veridge::liveness
