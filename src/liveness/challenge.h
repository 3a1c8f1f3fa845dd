// liveness/challenge.h — active challenge-response: a random sequence of actions (blink, turn left,
// turn right, look up, open mouth) the applicant performs in order, each within a time window,
// judged from landmarks against the person's own neutral baseline.
//
// ChallengeSession is a small state machine fed one observation per frame (OnFrame). It never owns
// the camera: a kiosk UI calls OnFrame from its capture loop and shows prompt(); offline review feeds
// a recorded clip. Events returned by OnFrame say what changed (for UI feedback and evidence).
//
// States: kCalibrating (≥ options.calibration_ms of a visible, roughly frontal face to learn the
// person's baseline EAR / MAR / yaw / pitch) → kAwaiting (challenge i is shown; it passes when its
// action is seen within options.window_ms of being shown) → … → kPassed, or kFailed with a code:
//   challenge_timeout      the current action was not seen within its window
//   challenge_wrong_action the head turned the opposite way to the one asked for
//   face_lost              no face for longer than options.face_lost_ms after calibration began
//   calibration_failed     no stable frontal face within options.calibration_timeout_ms
//   clip_too_short         Finish() was called (end of a recorded clip) before the sequence completed
// Time windows start when the prompt is *shown*. Offline (a recorded clip) a prompt counts as shown
// at the frame that raised its kPrompt event. A live kiosk sets options.wait_for_prompt_shown and
// calls PromptShown(t) with the source time the prompt appeared on screen: until then the window
// does not run and nothing done counts towards that challenge.
// Pause(t)/Resume(t): the caller's face track is gone or not yet re-verified (continuity.h). While
// paused, frames are ignored; Resume re-shows the current prompt with a fresh window (a challenge
// done before the pause stays done, one half-done restarts); Finish() while paused is face_lost.
// Blinks happen naturally, so a blink is never a wrong action; a pose challenge needs the head back
// near neutral before it counts, so one held turn cannot satisfy two challenges.
// Turns are judged on the contour asymmetry (face_geometry.h YawAsymmetry), at their onset: the
// first frame past turn_asymmetry from the person's baseline, reached from neutral. Past ~60° the
// 68-point landmarks come back mirrored (a full profile to image left reads as a turn to image
// right, measured on subject-c), so a frame-to-frame jump of the asymmetry larger than
// max_asymmetry_jump means the fit broke: until the head is seen near neutral again nothing counts,
// neither as the asked turn nor as a wrong one. look_up is judged on the PnP pitch, with the head
// not turned. Thresholds are from the hand-labelled turns in tests/liveness/data/labelled_spans.json.
//
// DrawChallenges uses the kernel CSPRNG (getrandom(2)); it fails closed (randomness_unavailable).
// Thread-safety: a ChallengeSession is not thread-safe; the free functions are.
#pragma once

#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "liveness/face_geometry.h"

namespace veridge::liveness {

enum class Challenge { kBlink, kTurnLeft, kTurnRight, kLookUp, kOpenMouth };

// "blink", "turn_left", "turn_right", "look_up", "open_mouth".
const char* ChallengeName(Challenge c);
// What the kiosk shows ("Blink", "Turn your head to your left", ...).
const char* ChallengePrompt(Challenge c);
// Parses "blink,turn_left,..." (also accepts "nod" = look_up and "smile" = open_mouth). Codes:
// unknown_challenge, empty_challenge_list, too_many_challenges (> 10).
Result<std::vector<Challenge>> ParseChallengeList(const std::string& list);
std::string FormatChallengeList(const std::vector<Challenge>& seq);
// count challenges drawn uniformly from `allowed` (default: all five), never the same twice in a row.
Result<std::vector<Challenge>> DrawChallenges(int count, const std::vector<Challenge>& allowed = {});

struct ChallengeOptions {
  double calibration_ms = 400;          // neutral face needed before the first prompt
  double calibration_timeout_ms = 5000;
  double window_ms = 5000;              // per challenge, from the moment it is shown
  double face_lost_ms = 1000;           // longer gaps fail the session
  double blink_drop = 0.60;             // a blink: EAR below blink_drop × baseline (subject-a: 0.38;
                                        // landmark noise on still/panned photos: ≥ 0.8) ...
  double blink_reopen = 0.85;           // ... then back above blink_reopen × baseline
  double blink_max_ms = 700;            // a longer closure is not a blink (eyes shut / looking down)
  double turn_asymmetry = 0.30;         // contour asymmetry change from baseline for a turn (~20–25°)
  double neutral_asymmetry = 0.15;      // "back to neutral" band for turns
  double max_asymmetry_jump = 0.5;      // a larger change between two frames: the landmark fit broke
  double look_up_deg = 10;              // pitch change from baseline for look up
  double neutral_deg = 8;               // "back to neutral" pitch band for look up
  double mouth_open_delta = 0.25;       // MAR above baseline for open mouth
  double smile_width_gain = 1.15;       // or mouth width × this over baseline (a smile)
  bool wait_for_prompt_shown = false;   // true: windows start at PromptShown(t), not at the event
};

// One frame's face as the session needs it; std::nullopt = no face in this frame.
struct FaceSample {
  Landmarks68 landmarks;
  cv::Size image_size;
};

enum class ChallengeState { kCalibrating, kAwaiting, kPassed, kFailed };
const char* ChallengeStateName(ChallengeState s);

struct ChallengeEvent {
  enum class Type { kCalibrated, kPrompt, kChallengePassed, kFailed, kCompleted, kBlink };
  Type type;
  double timestamp_ms = 0;
  int challenge_index = -1;     // which challenge the event is about, -1 when none
  std::string detail;           // failure code for kFailed, challenge name otherwise
};
const char* ChallengeEventName(ChallengeEvent::Type t);

// Per-frame signals the session derived (exposed for the UI, evidence and tests).
struct FaceSignals {
  double ear = 0, mar = 0, mouth_width = 0;
  double yaw_asymmetry = 0;             // YawAsymmetry: the turn signal
  std::optional<HeadPose> pose;
};
FaceSignals ComputeSignals(const FaceSample& face);

class ChallengeSession {
 public:
  ChallengeSession(std::vector<Challenge> sequence, ChallengeOptions options = {});

  // Feeds one frame (timestamps must increase; a frame whose timestamp does not is ignored).
  std::vector<ChallengeEvent> OnFrame(double timestamp_ms, const std::optional<FaceSample>& face);
  // The clip/camera ended: a session not yet passed fails with clip_too_short (face_lost if paused).
  std::vector<ChallengeEvent> Finish(double timestamp_ms);
  // The current prompt appeared on screen at shown_ms (source time): its window starts there. Only
  // meaningful with options.wait_for_prompt_shown; a time before the prompt was raised is clamped.
  void PromptShown(double shown_ms);
  // True while a prompt was raised but (wait_for_prompt_shown) not yet shown.
  bool prompt_pending() const { return state_ == ChallengeState::kAwaiting && !shown_; }
  // Source time the current challenge's window started (its prompt was shown).
  double window_start_ms() const { return prompt_ms_; }
  void Pause(double timestamp_ms);
  std::vector<ChallengeEvent> Resume(double timestamp_ms);
  bool paused() const { return paused_; }

  ChallengeState state() const { return state_; }
  bool done() const { return state_ == ChallengeState::kPassed || state_ == ChallengeState::kFailed; }
  // Index of the challenge being awaited (== sequence().size() once passed).
  int current_index() const { return index_; }
  const std::vector<Challenge>& sequence() const { return sequence_; }
  // Text for the kiosk: "Look at the camera", the current challenge's prompt, "Done", or why it failed.
  std::string prompt() const;
  // Failure code when state() == kFailed, else empty.
  const std::string& failure_code() const { return failure_; }
  // Source-time span [start, end] of the challenge phase (calibration start to the last pass).
  double started_ms() const { return calib_start_ms_; }
  double completed_ms() const { return completed_ms_; }
  int blinks_seen() const { return blinks_; }

 private:
  void Fail(double ts, const std::string& code, std::vector<ChallengeEvent>& ev);
  void Advance(double ts, std::vector<ChallengeEvent>& ev);
  bool Detected(Challenge c, const FaceSignals& s, double ts);

  std::vector<Challenge> sequence_;
  ChallengeOptions opt_;
  ChallengeState state_ = ChallengeState::kCalibrating;
  int index_ = 0;
  std::string failure_;
  double last_ts_ = -1e300;
  double last_face_ts_ = -1;
  double calib_start_ms_ = -1;
  double prompt_ms_ = 0;
  double completed_ms_ = -1;
  // Baseline (medians of the calibration frames).
  std::vector<double> cal_ear_, cal_mar_, cal_width_, cal_asym_, cal_pitch_;
  double base_ear_ = 0, base_mar_ = 0, base_width_ = 0, base_asym_ = 0, base_pitch_ = 0;
  // The previous face frame's asymmetry (NaN when none): a jump means the landmark fit broke.
  double last_asym_ = std::numeric_limits<double>::quiet_NaN();
  // Blink detector: time the eyes closed, or < 0 when open.
  double closed_since_ = -1;
  bool blink_event_ = false;
  int blinks_ = 0;
  bool neutral_yaw_ = false;    // head turned back near neutral since the current prompt (turns)
  bool neutral_pitch_ = false;  // head level and facing forward since the current prompt (look_up)
  bool shown_ = true;          // the current prompt is on screen (its window runs)
  bool paused_ = false;
};

}  // namespace veridge::liveness
