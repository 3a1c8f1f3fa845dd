#include "liveness/challenge.h"

#include <sys/random.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <sstream>

namespace veridge::liveness {
namespace {

double Median(std::vector<double> v) {
  if (v.empty()) return 0.0;
  auto mid = v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2);
  std::nth_element(v.begin(), mid, v.end());
  return *mid;
}

constexpr int kMaxChallenges = 10;

}  // namespace

const char* ChallengeName(Challenge c) {
  switch (c) {
    case Challenge::kBlink: return "blink";
    case Challenge::kTurnLeft: return "turn_left";
    case Challenge::kTurnRight: return "turn_right";
    case Challenge::kLookUp: return "look_up";
    case Challenge::kOpenMouth: return "open_mouth";
  }
  return "unknown";
}

const char* ChallengePrompt(Challenge c) {
  switch (c) {
    case Challenge::kBlink: return "Blink your eyes";
    case Challenge::kTurnLeft: return "Turn your head to your left";
    case Challenge::kTurnRight: return "Turn your head to your right";
    case Challenge::kLookUp: return "Look up";
    case Challenge::kOpenMouth: return "Open your mouth";
  }
  return "";
}

const char* ChallengeStateName(ChallengeState s) {
  switch (s) {
    case ChallengeState::kCalibrating: return "calibrating";
    case ChallengeState::kAwaiting: return "awaiting";
    case ChallengeState::kPassed: return "passed";
    case ChallengeState::kFailed: return "failed";
  }
  return "unknown";
}

const char* ChallengeEventName(ChallengeEvent::Type t) {
  switch (t) {
    case ChallengeEvent::Type::kCalibrated: return "calibrated";
    case ChallengeEvent::Type::kPrompt: return "prompt";
    case ChallengeEvent::Type::kChallengePassed: return "challenge_passed";
    case ChallengeEvent::Type::kFailed: return "failed";
    case ChallengeEvent::Type::kCompleted: return "completed";
    case ChallengeEvent::Type::kBlink: return "blink";
  }
  return "unknown";
}

Result<std::vector<Challenge>> ParseChallengeList(const std::string& list) {
  std::vector<Challenge> out;
  std::stringstream ss(list);
  std::string item;
  while (std::getline(ss, item, ',')) {
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (item.empty()) continue;
    if (item == "blink") out.push_back(Challenge::kBlink);
    else if (item == "turn_left") out.push_back(Challenge::kTurnLeft);
    else if (item == "turn_right") out.push_back(Challenge::kTurnRight);
    else if (item == "look_up" || item == "nod") out.push_back(Challenge::kLookUp);
    else if (item == "open_mouth" || item == "smile") out.push_back(Challenge::kOpenMouth);
    else
      return Status::InvalidInput("unknown_challenge", "unknown challenge '" + item.substr(0, 40) +
                                                           "': use blink, turn_left, turn_right, look_up (nod), open_mouth (smile)");
    if (out.size() > kMaxChallenges)
      return Status::InvalidInput("too_many_challenges", "at most 10 challenges per session");
  }
  if (out.empty()) return Status::InvalidInput("empty_challenge_list", "the challenge list is empty: name at least one, e.g. blink,turn_left");
  return out;
}

std::string FormatChallengeList(const std::vector<Challenge>& seq) {
  std::string s;
  for (auto c : seq) s += (s.empty() ? "" : ",") + std::string(ChallengeName(c));
  return s;
}

Result<std::vector<Challenge>> DrawChallenges(int count, const std::vector<Challenge>& allowed_in) {
  std::vector<Challenge> allowed = allowed_in;
  if (allowed.empty())
    allowed = {Challenge::kBlink, Challenge::kTurnLeft, Challenge::kTurnRight, Challenge::kLookUp, Challenge::kOpenMouth};
  if (count < 1 || count > kMaxChallenges)
    return Status::InvalidInput("bad_challenge_count", "challenge count must be 1..10");
  std::vector<Challenge> out;
  while (static_cast<int>(out.size()) < count) {
    std::uint32_t r = 0;
    if (::getrandom(&r, sizeof r, 0) != static_cast<ssize_t>(sizeof r)) {
      if (errno == EINTR) continue;
      return Status::Unavailable("randomness_unavailable", "the kernel CSPRNG (getrandom) failed; cannot draw challenges");
    }
    // Rejection sampling keeps the draw uniform.
    const std::uint32_t n = static_cast<std::uint32_t>(allowed.size());
    if (r >= UINT32_MAX - (UINT32_MAX % n)) continue;
    Challenge c = allowed[r % n];
    if (!out.empty() && out.back() == c && allowed.size() > 1) continue;
    out.push_back(c);
  }
  return out;
}

FaceSignals ComputeSignals(const FaceSample& face) {
  FaceSignals s;
  s.ear = EyeAspectRatio(face.landmarks);
  s.mar = MouthAspectRatio(face.landmarks);
  s.mouth_width = MouthWidthRatio(face.landmarks);
  s.yaw_asymmetry = YawAsymmetry(face.landmarks);
  s.pose = EstimateHeadPose(face.landmarks, face.image_size);
  return s;
}

ChallengeSession::ChallengeSession(std::vector<Challenge> sequence, ChallengeOptions options)
    : sequence_(std::move(sequence)), opt_(options) {}

std::string ChallengeSession::prompt() const {
  switch (state_) {
    case ChallengeState::kCalibrating: return "Look straight at the camera";
    case ChallengeState::kAwaiting: return ChallengePrompt(sequence_[static_cast<size_t>(index_)]);
    case ChallengeState::kPassed: return "Done";
    case ChallengeState::kFailed: return "Liveness check failed (" + failure_ + ")";
  }
  return "";
}

void ChallengeSession::Fail(double ts, const std::string& code, std::vector<ChallengeEvent>& ev) {
  state_ = ChallengeState::kFailed;
  failure_ = code;
  ev.push_back({ChallengeEvent::Type::kFailed, ts, index_, code});
}

void ChallengeSession::Advance(double ts, std::vector<ChallengeEvent>& ev) {
  ev.push_back({ChallengeEvent::Type::kChallengePassed, ts, index_, ChallengeName(sequence_[static_cast<size_t>(index_)])});
  ++index_;
  if (index_ >= static_cast<int>(sequence_.size())) {
    state_ = ChallengeState::kPassed;
    completed_ms_ = ts;
    ev.push_back({ChallengeEvent::Type::kCompleted, ts, -1, ""});
    return;
  }
  prompt_ms_ = ts;
  shown_ = !opt_.wait_for_prompt_shown;
  neutral_yaw_ = neutral_pitch_ = false;
  blink_event_ = false;
  ev.push_back({ChallengeEvent::Type::kPrompt, ts, index_, ChallengeName(sequence_[static_cast<size_t>(index_)])});
}

void ChallengeSession::PromptShown(double shown_ms) {
  if (state_ != ChallengeState::kAwaiting || shown_) return;
  shown_ = true;
  prompt_ms_ = std::max(prompt_ms_, shown_ms);
  neutral_yaw_ = neutral_pitch_ = false;
  blink_event_ = false;
}

void ChallengeSession::Pause(double ts) {
  if (done() || paused_) return;
  paused_ = true;
  (void)ts;
}

std::vector<ChallengeEvent> ChallengeSession::Resume(double ts) {
  std::vector<ChallengeEvent> ev;
  if (!paused_ || done()) return ev;
  paused_ = false;
  last_face_ts_ = ts;
  last_asym_ = std::numeric_limits<double>::quiet_NaN();  // the returning face starts a fresh track
  closed_since_ = -1;
  if (state_ == ChallengeState::kCalibrating) {
    cal_ear_.clear(); cal_mar_.clear(); cal_width_.clear(); cal_asym_.clear(); cal_pitch_.clear();
    calib_start_ms_ = ts;
    return ev;
  }
  // A fresh window for the challenge in progress: re-shown now.
  prompt_ms_ = ts;
  shown_ = !opt_.wait_for_prompt_shown;
  neutral_yaw_ = neutral_pitch_ = false;
  blink_event_ = false;
  ev.push_back({ChallengeEvent::Type::kPrompt, ts, index_, std::string(ChallengeName(sequence_[static_cast<size_t>(index_)])) + " (resumed)"});
  return ev;
}

bool ChallengeSession::Detected(Challenge c, const FaceSignals& s, double /*ts*/) {
  const double dturn = s.yaw_asymmetry - base_asym_;
  const double dpitch = s.pose ? s.pose->pitch_deg - base_pitch_ : 0.0;
  if (std::abs(dturn) < opt_.neutral_asymmetry) {
    neutral_yaw_ = true;
    if (s.pose && std::abs(dpitch) < opt_.neutral_deg) neutral_pitch_ = true;
  }
  switch (c) {
    case Challenge::kBlink: return blink_event_;
    case Challenge::kTurnLeft: return neutral_yaw_ && dturn > opt_.turn_asymmetry;
    case Challenge::kTurnRight: return neutral_yaw_ && dturn < -opt_.turn_asymmetry;
    case Challenge::kLookUp:
      return s.pose && neutral_pitch_ && dpitch > opt_.look_up_deg && std::abs(dturn) < opt_.turn_asymmetry;
    case Challenge::kOpenMouth:
      return s.mar > base_mar_ + opt_.mouth_open_delta ||
             (base_width_ > 0 && s.mouth_width > base_width_ * opt_.smile_width_gain);
  }
  return false;
}

std::vector<ChallengeEvent> ChallengeSession::OnFrame(double ts, const std::optional<FaceSample>& face) {
  std::vector<ChallengeEvent> ev;
  if (done() || !(ts > last_ts_)) return ev;
  last_ts_ = ts;
  if (paused_) return ev;
  if (calib_start_ms_ < 0) calib_start_ms_ = ts;

  if (!face) {
    if (state_ == ChallengeState::kCalibrating) {
      cal_ear_.clear(); cal_mar_.clear(); cal_width_.clear(); cal_asym_.clear(); cal_pitch_.clear();
      if (ts - calib_start_ms_ > opt_.calibration_timeout_ms) Fail(ts, "calibration_failed", ev);
      return ev;
    }
    if (last_face_ts_ >= 0 && ts - last_face_ts_ > opt_.face_lost_ms) Fail(ts, "face_lost", ev);
    return ev;
  }
  const FaceSignals s = ComputeSignals(*face);

  if (state_ == ChallengeState::kCalibrating) {
    last_face_ts_ = ts;
    if (ts - calib_start_ms_ > opt_.calibration_timeout_ms) {
      Fail(ts, "calibration_failed", ev);
      return ev;
    }
    if (!s.pose) return ev;
    if (cal_ear_.empty()) prompt_ms_ = ts;  // start of the current run of usable frames
    cal_ear_.push_back(s.ear);
    cal_mar_.push_back(s.mar);
    cal_width_.push_back(s.mouth_width);
    cal_asym_.push_back(s.yaw_asymmetry);
    cal_pitch_.push_back(s.pose->pitch_deg);
    if (ts - prompt_ms_ >= opt_.calibration_ms && cal_ear_.size() >= 3) {
      base_ear_ = Median(cal_ear_);
      base_mar_ = Median(cal_mar_);
      base_width_ = Median(cal_width_);
      base_asym_ = Median(cal_asym_);
      base_pitch_ = Median(cal_pitch_);
      ev.push_back({ChallengeEvent::Type::kCalibrated, ts, -1, ""});
      if (sequence_.empty()) {
        state_ = ChallengeState::kPassed;
        completed_ms_ = ts;
        ev.push_back({ChallengeEvent::Type::kCompleted, ts, -1, ""});
        return ev;
      }
      state_ = ChallengeState::kAwaiting;
      index_ = 0;
      prompt_ms_ = ts;
      shown_ = !opt_.wait_for_prompt_shown;
      neutral_yaw_ = neutral_pitch_ = false;
      blink_event_ = false;
      ev.push_back({ChallengeEvent::Type::kPrompt, ts, 0, ChallengeName(sequence_[0])});
    }
    return ev;
  }

  // kAwaiting.
  if (ts - last_face_ts_ > opt_.face_lost_ms) {
    Fail(ts, "face_lost", ev);
    return ev;
  }
  last_face_ts_ = ts;

  // Blink: a short closure relative to the person's own open-eye EAR, then reopening.
  if (base_ear_ > 0) {
    if (closed_since_ < 0 && s.ear < opt_.blink_drop * base_ear_) {
      closed_since_ = ts;
    } else if (closed_since_ >= 0 && s.ear > opt_.blink_reopen * base_ear_) {
      if (ts - closed_since_ <= opt_.blink_max_ms) {
        ++blinks_;
        blink_event_ = true;
        ev.push_back({ChallengeEvent::Type::kBlink, ts, index_, ""});
      }
      closed_since_ = -1;
    }
  }

  // The landmark fit broke (a mirrored profile, a swap of tracked faces): neither the asked movement
  // nor a wrong one can be read from it until the head is back near neutral.
  const bool fit_jump = std::isfinite(last_asym_) && std::abs(s.yaw_asymmetry - last_asym_) > opt_.max_asymmetry_jump;
  last_asym_ = s.yaw_asymmetry;
  if (fit_jump) neutral_yaw_ = neutral_pitch_ = false;

  // A prompt not yet on screen: nothing counts and its window has not started.
  if (!shown_) return ev;
  if (fit_jump) {
    if (ts - prompt_ms_ > opt_.window_ms) Fail(ts, "challenge_timeout", ev);
    return ev;
  }

  const Challenge want = sequence_[static_cast<size_t>(index_)];
  if (Detected(want, s, ts)) {
    Advance(ts, ev);
    return ev;
  }
  // Order matters: the opposite turn is a wrong answer (a replayed recording of another sequence).
  if (neutral_yaw_) {
    const double dturn = s.yaw_asymmetry - base_asym_;
    if ((want == Challenge::kTurnLeft && dturn < -opt_.turn_asymmetry) || (want == Challenge::kTurnRight && dturn > opt_.turn_asymmetry)) {
      Fail(ts, "challenge_wrong_action", ev);
      return ev;
    }
  }
  if (ts - prompt_ms_ > opt_.window_ms) Fail(ts, "challenge_timeout", ev);
  return ev;
}

std::vector<ChallengeEvent> ChallengeSession::Finish(double ts) {
  std::vector<ChallengeEvent> ev;
  if (!done()) Fail(ts, paused_ ? "face_lost" : "clip_too_short", ev);
  return ev;
}

}  // namespace veridge::liveness
