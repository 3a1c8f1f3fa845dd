// eval-liveness: ISO/IEC 30107-3 metrics of the liveness check on ../shared/data/liveness plus
// synthetic photo attacks made from the real clips.
//   eval-liveness [--model-dir DIR] [--data DIR] [--challenge LIST]
// Sessions: bona fide = subject-*/real.*; attacks: replay (subject-*/replay.*), still_photo and
// panned_photo (a middle frame of each real clip, repeated with sensor noise / moved by an affine path).
// Prints one line per session (verdict, session PAD score and the range of its frame-level PAD
// scores, failed checks, face_motion / static figures, the largest identity-continuity distance
// among comparable frames, the second-face ratio, the timestamp frame rate, quality notes), then
// APCER per attack type and BPCER at session level and, for the PAD model alone, at frame level
// (frame decision: fused P(real) ≥ the session threshold), with counts.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "capture/capture.h"
#include "common/log.h"
#include "liveness/liveness.h"
#include "liveness/synthetic.h"

namespace fs = std::filesystem;
using namespace veridge;

int main(int argc, char** argv) {
  InitLogging();
  fs::path model_dir = VERIDGE_DEV_MODEL_DIR, data = fs::path(VERIDGE_SHARED_DIR) / "data/liveness";
  std::string challenge;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--model-dir") model_dir = argv[i + 1];
    else if (a == "--data") data = argv[i + 1];
    else if (a == "--challenge") challenge = argv[i + 1];
    else { std::cerr << "usage: eval-liveness [--model-dir DIR] [--data DIR] [--challenge LIST]\n"; return 2; }
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
  return 0;
}
