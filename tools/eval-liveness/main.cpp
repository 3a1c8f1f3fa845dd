// eval-liveness: ISO/IEC 30107-3 metrics of the liveness check on ../shared/data/liveness plus
// synthetic photo attacks made from the real clips.
//   eval-liveness [--model-dir DIR] [--data DIR] [--challenge LIST] [--labels FILE]
// Sessions: bona fide = subject-*/real.*; attacks: replay (subject-*/replay.*), still_photo and
// panned_photo (a middle frame of each real clip, repeated with sensor noise / moved by an affine path).
// Prints one line per session (verdict, session PAD score and the range of its frame-level PAD
// scores, failed checks, face_motion / static figures, the largest identity-continuity distance
// among comparable frames, the second-face ratio, the timestamp frame rate, quality notes), then
// APCER per attack type and BPCER at session level and, for the PAD model alone, at frame level
// (frame decision: fused P(real) ≥ the session threshold), with counts.
// Then active mode, challenge by challenge, on the clips whose hand-labelled spans allow it
// (--labels, default tests/liveness/data/labelled_spans.json): each labelled turn / nod is asked as a
// one-challenge session whose prompt is shown 1 s before the movement, with the windows a kiosk uses
// (they run from PromptShown); a row says whether the session was live, when the challenge passed
// and whether that lies inside the labelled span. Blinks are not labelled: the blink challenge is run
// on every clip with its prompt shown after calibration (natural blinks), and reported as such.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "capture/capture.h"
#include "common/log.h"
#include "liveness/labelled_spans.h"
#include "liveness/liveness.h"
#include "liveness/synthetic.h"

namespace fs = std::filesystem;
using namespace veridge;

namespace {

// Active mode on the labelled spans (see the header comment). Returns the process exit status.
int EvalActive(liveness::LivenessOptions lo, const fs::path& data, const fs::path& label_file) {
  auto clips = liveness::labels::LoadLabelledClips(label_file);
  if (!clips.ok()) { std::cerr << clips.status().ToString() << "\n"; return 3; }
  lo.challenge.wait_for_prompt_shown = true;  // windows run from the moment the prompt is on screen
  auto checker = liveness::LivenessChecker::Create(lo);
  if (!checker.ok()) { std::cerr << checker.status().ToString() << "\n"; return 3; }
  constexpr double kLeadMs = 1000;
  struct Tally { int bona = 0, bona_rejected = 0, attacks = 0, attacks_accepted = 0, in_span = 0; };
  std::map<std::string, Tally> tally;
  auto run = [&](const std::string& clip, bool bona_fide, const std::string& action, double show_at, const liveness::labels::Span* span) {
    auto src = capture::OpenSource((data / clip).string());
    if (!src.ok()) { std::printf("open %s: %s\n", clip.c_str(), src.status().ToString().c_str()); return; }
    auto seq = liveness::ParseChallengeList(action);
    if (!seq.ok()) return;
    auto r = liveness::labels::RunWithPrompts(**checker, **src, *seq, {show_at});
    if (!r.ok()) { std::printf("%-22s %-10s ERROR %s\n", clip.c_str(), action.c_str(), r.status().ToString().c_str()); return; }
    const double at = liveness::labels::PassedAt(*r, 0);
    const bool inside = span != nullptr && at >= span->start_ms && at <= span->end_ms;
    Tally& t = tally[action];
    if (bona_fide) { ++t.bona; t.bona_rejected += r->live ? 0 : 1; }
    else { ++t.attacks; t.attacks_accepted += r->live ? 1 : 0; }
    t.in_span += inside ? 1 : 0;
    std::string reasons;
    for (const auto& code : r->reasons) reasons += (reasons.empty() ? "" : ",") + code;
    std::string where = "unlabelled";
    if (span != nullptr) where = "span " + std::to_string(int(span->start_ms)) + ".." + std::to_string(int(span->end_ms)) + (inside ? " inside" : " OUTSIDE");
    std::printf("%-9s %-22s %-10s shown=%6.0f passed_at=%7.0f %-24s live=%d continuity=%.3f reasons=[%s]\n", bona_fide ? "bona_fide" : "attack",
                clip.c_str(), action.c_str(), show_at, at, where.c_str(), r->live ? 1 : 0, r->continuity_distance, reasons.c_str());
  };
  std::printf("\nactive mode: one challenge per session, prompt shown %.0f ms before the labelled movement (%s)\n", kLeadMs, label_file.c_str());
  for (const auto& clip : *clips)
    for (const auto& span : clip.spans)
      if (span.action != "look_down" && span.action != "blink") run(clip.clip, clip.bona_fide, span.action, span.start_ms - kLeadMs, &span);
  // Blink: unlabelled (see labelled_spans.json), asked as soon as calibration ends.
  std::vector<fs::path> subjects;
  for (const auto& e : fs::directory_iterator(data)) if (e.is_directory()) subjects.push_back(e.path());
  std::sort(subjects.begin(), subjects.end());
  for (const auto& dir : subjects)
    for (const auto& e : fs::directory_iterator(dir)) {
      const std::string stem = e.path().stem().string();
      if (stem == "real" || stem == "replay") run(dir.filename().string() + "/" + e.path().filename().string(), stem == "real", "blink", 0, nullptr);
    }
  std::printf("\nactive mode, ISO/IEC 30107-3 per challenge (session level; labelled spans where the challenge has them)\n");
  std::printf("%-10s %22s %22s %16s\n", "challenge", "bona fide BPCER", "attack APCER", "passed in span");
  for (const auto& [action, t] : tally) {
    char bp[64], ap[64];
    std::snprintf(bp, sizeof bp, "%5.1f%% (%d/%d)", t.bona ? 100.0 * t.bona_rejected / t.bona : 0.0, t.bona_rejected, t.bona);
    std::snprintf(ap, sizeof ap, "%5.1f%% (%d/%d)", t.attacks ? 100.0 * t.attacks_accepted / t.attacks : 0.0, t.attacks_accepted, t.attacks);
    const std::string span = action == "blink" ? "unlabelled" : std::to_string(t.in_span) + "/" + std::to_string(t.bona + t.attacks);
    std::printf("%-10s %22s %22s %16s\n", action.c_str(), bp, ap, span.c_str());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  InitLogging();
  fs::path model_dir = VERIDGE_DEV_MODEL_DIR, data = fs::path(VERIDGE_SHARED_DIR) / "data/liveness";
  std::string challenge;
  fs::path label_file = liveness::labels::DefaultLabelFile();
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--model-dir") model_dir = argv[i + 1];
    else if (a == "--data") data = argv[i + 1];
    else if (a == "--challenge") challenge = argv[i + 1];
    else if (a == "--labels") label_file = argv[i + 1];
    else { std::cerr << "usage: eval-liveness [--model-dir DIR] [--data DIR] [--challenge LIST] [--labels FILE]\n"; return 2; }
  }
  liveness::LivenessOptions lo;
  lo.model_dir = model_dir;
  auto checker = liveness::LivenessChecker::Create(lo);
  if (!checker.ok()) { std::cerr << checker.status().ToString() << "\n"; return 3; }
  liveness::CheckRequest req;
  if (!challenge.empty()) {
    auto seq = liveness::ParseChallengeList(challenge);
    if (!seq.ok()) { std::cerr << seq.status().ToString() << "\n"; return 2; }
    req.challenges = *seq;
  }
  const double thr = lo.pad_threshold;

  struct Tally { int sessions = 0, accepted = 0; long frames = 0, frames_accepted = 0; };
  std::map<std::string, Tally> tally;  // "bona_fide" or the attack type

  auto run = [&](const std::string& type, const std::string& name, capture::FrameSource& src) {
    auto r = (*checker)->Check(src, req);
    if (!r.ok()) { std::printf("%-14s %-28s ERROR %s\n", type.c_str(), name.c_str(), r.status().ToString().c_str()); return; }
    Tally& t = tally[type];
    ++t.sessions;
    t.accepted += r->live ? 1 : 0;
    for (const auto& f : r->frame_pad) { ++t.frames; t.frames_accepted += f.score >= thr ? 1 : 0; }
    std::string failed;
    for (const auto& c : r->checks) if (!c.passed) failed += (failed.empty() ? "" : ",") + c.name;
    const auto* motion = r->Find("face_motion");
    const auto* stat = r->Find("static_frames");
    const auto* single = r->Find("single_face");
    const auto* fr = r->Find("frame_rate");

    double pmin = 1, pmax = 0;
    for (const auto& f : r->frame_pad) { pmin = std::min(pmin, f.score); pmax = std::max(pmax, f.score); }
    std::printf("%-14s %-28s live=%d pad=%.4f (frames %.3f..%.3f) motion95=%.4f static=%.2f continuity=%.3f second_face=%.2f fps=%.1f frames=%lld face=%lld failed=[%s]%s\n",
                type.c_str(), name.c_str(), r->live ? 1 : 0, r->score, pmin, pmax, motion ? motion->score : -1, stat ? stat->score : -1,
                r->continuity_distance, single ? single->score : -1, fr ? fr->score : -1, (long long)r->frames, (long long)r->face_frames, failed.c_str(),
                r->notes.empty() ? "" : (" notes=[" + r->notes[0] + "]").c_str());
  };

  std::vector<fs::path> subjects;
  for (const auto& e : fs::directory_iterator(data)) if (e.is_directory()) subjects.push_back(e.path());
  std::sort(subjects.begin(), subjects.end());
  for (const auto& dir : subjects) {
    for (const auto& e : fs::directory_iterator(dir)) {
      const std::string stem = e.path().stem().string();
      if (stem != "real" && stem != "replay") continue;
      const std::string name = dir.filename().string() + "/" + e.path().filename().string();
      auto src = capture::OpenSource(e.path().string());
      if (!src.ok()) { std::printf("open %s: %s\n", name.c_str(), src.status().ToString().c_str()); continue; }
      run(stem == "real" ? "bona_fide" : "replay", name, **src);
      if (stem != "real") continue;
      // A middle frame of the real clip becomes the photo for the synthetic attacks.
      auto again = capture::OpenSource(e.path().string());
      if (!again.ok()) continue;
      std::vector<cv::Mat> frames;
      while (true) { auto f = (*again)->Next(); if (!f.ok() || !f->has_value()) break; frames.push_back((**f).bgr); }
      if (frames.empty()) continue;
      cv::Mat photo = frames[frames.size() / 2];
      frames.clear();
      liveness::SyntheticOptions so;
      so.frames = 90;
      auto still = liveness::StillPhotoSource(photo, so);
      run("still_photo", name + "#still", *still);
      auto panned = liveness::PannedPhotoSource(photo, so);
      run("panned_photo", name + "#panned", *panned);
    }
  }
  std::printf("\nmode: %s\n", challenge.empty() ? "passive" : ("active (" + challenge + ")").c_str());
  std::printf("ISO/IEC 30107-3 at the operating threshold (PAD %.2f; session = every check passes)\n", thr);
  std::printf("%-14s %9s %22s %22s\n", "type", "sessions", "session APCER/BPCER", "frame (PAD) APCER/BPCER");
  for (const auto& [type, t] : tally) {
    const bool bona = type == "bona_fide";
    const int wrong = bona ? t.sessions - t.accepted : t.accepted;
    const long fwrong = bona ? t.frames - t.frames_accepted : t.frames_accepted;
    std::printf("%-14s %9d %8s %5.1f%% (%d/%d) %8s %5.1f%% (%ld/%ld)\n", type.c_str(), t.sessions, bona ? "BPCER" : "APCER",
                t.sessions ? 100.0 * wrong / t.sessions : 0.0, wrong, t.sessions, bona ? "BPCER" : "APCER",
                t.frames ? 100.0 * fwrong / t.frames : 0.0, fwrong, t.frames);
  }
  return EvalActive(lo, data, label_file);
}
