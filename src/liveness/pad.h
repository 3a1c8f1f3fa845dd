// liveness/pad.h — passive presentation-attack detection with MiniFASNetV2 and MiniFASNetV1SE
// (Silent-Face-Anti-Spoofing, Apache-2.0) through OpenCV cv::dnn.
//
// Contract
//  * PadModel::Load(model_dir) reads <model_dir>/MiniFASNetV2.onnx and
//    <model_dir>/MiniFASNetV1SE.onnx (the flat layout of models/manifest.json; codes: pad_model_missing → kNotFound, pad_model_invalid → kInternal).
//    The bytes come from `read` and are parsed from memory, so what is parsed is what `read` checked.
//    The default reader only bounds the size: it does NOT check a checksum, because this file builds
//    without vision/ (which holds the manifest table). Production callers (LivenessChecker::Create,
//    so `verify`, `liveness check` and `serve`) pass a reader that checks the manifest's sha256
//    (vision::ReadModel): a swapped PAD model is refused with model_checksum_mismatch, never loaded.
//  * Score(frame, face_box): each model sees an 80×80 BGR float crop (0–255, no normalisation) of the
//    face box scaled ×2.7 (V2) / ×4.0 (V1SE) around its centre. As in the models' training code, the
//    scale is reduced when the crop would not fit in the frame and the crop is shifted inside the
//    frame rather than padded — zero padding drops real faces to ~0.3 here. Output: the softmax
//    probability of class 1 ("real") per model and their mean (`fused`).
//  * Failure: a box outside the frame or an empty frame → pad_bad_input; an OpenCV error → pad_failed.
//  * Not thread-safe (cv::dnn::Net keeps state); one PadModel per thread. Owns its networks.
#pragma once

#include <opencv2/core.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

namespace veridge::liveness {

struct PadScore {
  double v2 = 0;     // P(real) from MiniFASNetV2
  double v1se = 0;   // P(real) from MiniFASNetV1SE
  double fused = 0;  // mean of the two
};

class PadModel {
 public:
  // Returns the whole content of model_dir/file, or why it cannot (a missing file must keep the
  // code file_not_found or model_missing so that Load reports pad_model_missing).
  using ModelReader = std::function<Result<std::string>(const std::filesystem::path& model_dir, std::string_view file)>;
  // At most this many bytes per network file (MiniFASNet files are ~1.7 MB).
  static constexpr std::uint64_t kMaxModelBytes = 64ull << 20;

  static Result<std::unique_ptr<PadModel>> Load(const std::filesystem::path& model_dir, const ModelReader& read = {});
  // Cheap presence check for `veridge doctor`: ok, or pad_model_missing naming the file and the fix.
  static Status CheckFiles(const std::filesystem::path& model_dir);
  ~PadModel();
  PadModel(const PadModel&) = delete;
  PadModel& operator=(const PadModel&) = delete;

  Result<PadScore> Score(const cv::Mat& bgr, const cv::Rect2f& face_box);

  // The crop rectangle used for a given scale (exposed for tests and evidence).
  static cv::Rect CropRect(cv::Size frame, const cv::Rect2f& box, double scale);
  // Paths Load expects, relative to the model directory.
  static constexpr const char* kV2File = "MiniFASNetV2.onnx";
  static constexpr const char* kV1seFile = "MiniFASNetV1SE.onnx";

 private:
  struct Impl;
  explicit PadModel(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace veridge::liveness
