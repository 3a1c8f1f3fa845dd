// bench-liveness: speed of the liveness per-frame path at 640×480 and 1280×720.
//   bench-liveness [--model-dir DIR] [--clip FILE] [--frames N]
// Frames: the clip (default ../shared/data/liveness/subject-a/real.webm) resized to each size,
// decoded once into memory before timing. Prints per-stage ms (median of N calls: detection,
// landmarks, PAD with both models, descriptor) and the full LivenessChecker::Check throughput in
// frames/s with the default options (detect every 5th frame, PAD every 3rd), and the average
// per-frame cost of identity continuity (tracking signals + the descriptors it asks for).
// Threads: OpenCV's default (all cores); run with OPENCV_FOR_THREADS_NUM=1 for one core.
#include <opencv2/core/utility.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "capture/capture.h"
#include "liveness/liveness.h"
#include "liveness/pad.h"
#include "vision/vision.h"

namespace fs = std::filesystem;
using namespace veridge;
using Clock = std::chrono::steady_clock;

static double Ms(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double, std::milli>(b - a).count(); }
static double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

int main(int argc, char** argv) {
  fs::path model_dir = VERIDGE_DEV_MODEL_DIR, clip = fs::path(VERIDGE_SHARED_DIR) / "data/liveness/subject-a/real.webm";
  int max_frames = 150;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--model-dir") model_dir = argv[i + 1];
    else if (a == "--clip") clip = argv[i + 1];
    else if (a == "--frames") max_frames = std::stoi(argv[i + 1]);
    else { std::fprintf(stderr, "usage: bench-liveness [--model-dir DIR] [--clip FILE] [--frames N]\n"); return 2; }
  }
  std::vector<capture::Frame> original;
  {
    auto src = capture::OpenSource(clip.string());
    if (!src.ok()) { std::fprintf(stderr, "%s\n", src.status().ToString().c_str()); return 2; }
    while (static_cast<int>(original.size()) < max_frames) {
      auto f = (*src)->Next();
      if (!f.ok() || !f->has_value()) break;
      original.push_back(std::move(**f));
    }
  }
  vision::VisionOptions vo;
  vo.model_dir = model_dir;
  vo.detector = "yunet";
  auto va = vision::FaceAnalyzer::Create(vo);
  auto pad = liveness::PadModel::Load(model_dir);
  liveness::LivenessOptions lo;
  lo.model_dir = model_dir;
  auto checker = liveness::LivenessChecker::Create(lo);
  if (!va.ok() || !pad.ok() || !checker.ok()) { std::fprintf(stderr, "cannot load models from %s\n", model_dir.c_str()); return 3; }
  std::printf("clip %s, %zu frames, OpenCV threads %d, cores %d\n", clip.filename().c_str(), original.size(), cv::getNumThreads(), cv::getNumberOfCPUs());
  for (cv::Size size : {cv::Size(640, 480), cv::Size(1280, 720)}) {
    std::vector<capture::Frame> frames;
    for (const auto& f : original) {
      capture::Frame g{cv::Mat(), f.timestamp_ms, f.index};
      cv::resize(f.bgr, g.bgr, size, 0, 0, cv::INTER_LINEAR);
      frames.push_back(std::move(g));
    }
    std::vector<double> det, lmk, padms, desc;
    // Identity continuity as the session runs it: tracking signals on every face frame, a
    // descriptor only when IdentityContinuity asks (comparable frames, template fill / 1 per s).
    liveness::IdentityContinuity continuity(lo.continuity);
    double continuity_ms = 0;
    int continuity_frames = 0, continuity_descriptors = 0;
    for (size_t i = 0; i < frames.size(); ++i) {
      const cv::Mat& m = frames[i].bgr;
      auto t0 = Clock::now();
      auto faces = (*va)->Detect(m);
      auto t1 = Clock::now();
      det.push_back(Ms(t0, t1));
      if (!faces.ok() || faces->empty()) continue;
      auto lm = (*va)->Landmarks(m, (*faces)[0]);
      auto t2 = Clock::now();
      lmk.push_back(Ms(t1, t2));
      if (i % 3 == 0) {
        (void)(*pad)->Score(m, cv::Rect2f((*faces)[0]));
        padms.push_back(Ms(t2, Clock::now()));
      }
      if (lm.ok()) {
        auto c0 = Clock::now();
        liveness::TrackObservation obs{frames[i].timestamp_ms, (*faces)[0], (*faces)[0], *lm,
                                       liveness::EstimateHeadPose(*lm, m.size()), liveness::FaceSharpness(m, (*faces)[0]),
                                       liveness::AppearancePatch(m, (*faces)[0])};
        auto step = continuity.OnFace(obs);
        if (step.want_descriptor) {
          auto chip = (*va)->AlignChip(m, *lm);
          if (chip.ok()) {
            auto d = (*va)->Describe(*chip);
            if (d.ok()) continuity.AddDescriptor(frames[i].timestamp_ms, *d);
          }
          ++continuity_descriptors;
        }
        continuity_ms += Ms(c0, Clock::now());
        ++continuity_frames;
      }
      if (i % 15 == 0 && lm.ok()) {
        auto t3 = Clock::now();
        auto chip = (*va)->AlignChip(m, *lm);
        if (chip.ok()) (void)(*va)->Describe(*chip);
        desc.push_back(Ms(t3, Clock::now()));
      }
    }
    capture::SourceInfo info;
    info.kind = "video";
    info.spec = "bench";
    info.nominal_fps = 30;
    auto src = capture::MemorySource(frames, info);
    auto t0 = Clock::now();
    auto r = (*checker)->Check(*src);
    const double total = Ms(t0, Clock::now());
    std::printf("%dx%d: detect %.1f ms, landmarks %.1f ms, PAD (V2+V1SE) %.1f ms, descriptor %.1f ms (medians)\n", size.width, size.height,
                Median(det), Median(lmk), Median(padms), Median(desc));
    std::printf("%dx%d: identity continuity: %.2f ms/frame average over %d face frames (%d descriptors; target <= 3 ms at 640x480)\n",
                size.width, size.height, continuity_frames ? continuity_ms / continuity_frames : 0.0, continuity_frames, continuity_descriptors);
    std::printf("%dx%d: full Check: %zu frames in %.0f ms = %.1f frames/s (%.1f ms/frame), live=%d\n", size.width, size.height, frames.size(), total,
                1000.0 * frames.size() / total, total / frames.size(), r.ok() && r->live ? 1 : 0);
  }
  return 0;
}
