// tests/liveness/labelled_spans.h — the hand-labelled head movements of the shared liveness clips
// (tests/liveness/data/labelled_spans.json, issue 12) and a driver that runs an active liveness
// session over a clip the way the kiosk runs one live: each challenge's prompt is shown on screen
// (ChallengeSession::PromptShown) a lead time before the labelled span of the movement it asks for,
// so the person in the recording "obeys" it. Shared by tests/liveness/checker_test.cpp and
// tools/eval-liveness; Catch2-free, header-only.
//
// Contract
//  * LoadLabelledClips parses and checks the file: every span has a known action, 0 <= start < end,
//    and spans of a clip do not overlap. A file that breaks this is an error, never half-read.
//  * RunWithPrompts needs a checker whose options set challenge.wait_for_prompt_shown: the prompt of
//    challenge i is shown at the first frame at or after show_at_ms[i], and never before it is raised
//    (the previous challenge passed). It returns the session's verdict; its events carry the times.
#pragma once

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "capture/capture.h"
#include "common/status.h"
#include "liveness/liveness.h"

namespace veridge::liveness::labels {

struct Span {
  std::string action;   // a challenge name (turn_left, turn_right, look_up, blink) or look_down
  double start_ms = 0;  // first frame out of the frontal pose
  double end_ms = 0;    // first frame back at frontal
  std::string image_direction;
};

struct LabelledClip {
  std::string clip;     // relative to ../shared/data/liveness
  bool bona_fide = true;
  std::vector<Span> spans;
  // The spans of one action, in time order.
  std::vector<Span> Of(const std::string& action) const {
    std::vector<Span> out;
    for (const auto& s : spans)
      if (s.action == action) out.push_back(s);
    return out;
  }
};

inline std::filesystem::path DefaultLabelFile() {
  return std::filesystem::path(VERIDGE_SOURCE_DIR) / "tests/liveness/data/labelled_spans.json";
}

inline Result<std::vector<LabelledClip>> LoadLabelledClips(const std::filesystem::path& file = DefaultLabelFile()) {
  std::ifstream in(file);
  if (!in) return Status::NotFound("labels_missing", "cannot read " + file.string());
  const auto j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("clips") || !j["clips"].is_array())
    return Status::InvalidInput("labels_malformed", file.string() + ": expected {\"clips\": [...]}");
  static const std::vector<std::string> kActions = {"turn_left", "turn_right", "look_up", "look_down", "blink"};
  std::vector<LabelledClip> out;
  try {
    for (const auto& c : j["clips"]) {
      LabelledClip lc;
      lc.clip = c.at("clip").get<std::string>();
      lc.bona_fide = c.at("bona_fide").get<bool>();
      for (const auto& s : c.at("spans")) {
        Span span{s.at("action").get<std::string>(), s.at("start_ms").get<double>(), s.at("end_ms").get<double>(),
                  s.value("image_direction", "")};
        if (std::find(kActions.begin(), kActions.end(), span.action) == kActions.end())
          return Status::InvalidInput("labels_malformed", lc.clip + ": unknown action '" + span.action + "'");
        if (!(span.start_ms >= 0 && span.start_ms < span.end_ms))
          return Status::InvalidInput("labels_malformed", lc.clip + ": span " + span.action + " does not end after it starts");
        if (!lc.spans.empty() && span.start_ms < lc.spans.back().end_ms)
          return Status::InvalidInput("labels_malformed", lc.clip + ": spans overlap or are out of order at " + span.action);
        lc.spans.push_back(std::move(span));
      }
      out.push_back(std::move(lc));
    }
  } catch (const nlohmann::json::exception& e) {
    return Status::InvalidInput("labels_malformed", file.string() + ": " + e.what());
  }
  return out;
}

// Runs one active session over `source`: challenge i's prompt is shown at the first frame whose
// timestamp reaches show_at_ms[i] (or at once when show_at_ms has no entry for it).
inline Result<LivenessResult> RunWithPrompts(LivenessChecker& checker, capture::FrameSource& source, const std::vector<Challenge>& sequence,
                                             const std::vector<double>& show_at_ms) {
  CheckRequest request;
  request.challenges = sequence;
  auto session = checker.Begin(request, source.info());
  while (!session->done()) {
    auto frame = source.Next();
    if (!frame.ok()) return frame.status();
    if (!frame->has_value()) break;
    const double t = (**frame).timestamp_ms;
    auto st = session->OnFrame(**frame);
    if (!st.ok()) return st;
    ChallengeSession* ch = session->challenge();
    if (ch != nullptr && ch->prompt_pending()) {
      const auto i = static_cast<size_t>(ch->current_index());
      if (i >= show_at_ms.size() || t >= show_at_ms[i]) ch->PromptShown(t);
    }
  }
  return session->Finish(source.truncated());
}

// The source time a challenge passed, from a result's events (-1 when it did not).
inline double PassedAt(const LivenessResult& r, int challenge_index) {
  for (const auto& e : r.events)
    if (e.type == ChallengeEvent::Type::kChallengePassed && e.challenge_index == challenge_index) return e.timestamp_ms;
  return -1;
}

}  // namespace veridge::liveness::labels
