// liveness/synthetic.h — generated frame sources that imitate attacks and awkward inputs, for tests,
// tools/eval-liveness and tools/bench-liveness. Frames are produced one at a time on Next(), so a
// "10-minute clip" costs no memory. Deterministic for a given seed.
//
//  * StillPhotoSource: one picture held in front of the camera — the same frame repeated with fresh
//    Gaussian sensor noise each frame (sigma grey levels).
//  * PannedPhotoSource: the picture moved and scaled by a smooth affine path (pan ±pan_px, scale
//    1 ± scale_amp, small rotation), as a hand moving a printed photo, plus sensor noise.
//  * Timestamps: index × 1000 / fps; info.kind = "video", nominal_fps = fps.
// Not thread-safe (one source, one reader).
#pragma once

#include <cstdint>
#include <memory>

#include "capture/capture.h"

namespace veridge::liveness {

struct SyntheticOptions {
  std::int64_t frames = 90;
  double fps = 30;
  double noise_sigma = 3.0;
  std::uint64_t seed = 1;
  double pan_px = 40;        // PannedPhotoSource only
  double scale_amp = 0.10;
  double rotate_deg = 4;
};

std::unique_ptr<capture::FrameSource> StillPhotoSource(const cv::Mat& photo, const SyntheticOptions& o = {});
std::unique_ptr<capture::FrameSource> PannedPhotoSource(const cv::Mat& photo, const SyntheticOptions& o = {});

}  // namespace veridge::liveness
