// liveness/pad.h — passive presentation-attack detection with MiniFASNetV2 and MiniFASNetV1SE
// (Silent-Face-Anti-Spoofing, Apache-2.0) through OpenCV cv::dnn.
//
// Contract
//  * PadModel::Load(model_dir) reads <model_dir>/MiniFASNetV2.onnx and
//    <model_dir>/MiniFASNetV1SE.onnx (the flat layout of models/manifest.json; codes: pad_model_missing → kNotFound, pad_model_invalid → kInternal).
//  * Score(frame, face_box): each model sees an 80×80 BGR float crop (0–255, no normalisation) of the
//    face box scaled ×2.7 (V2) / ×4.0 (V1SE) around its centre. As in the models' training code, the
//    scale is reduced when the crop would not fit in the frame and the crop is shifted inside the
//    frame rather than padded — zero padding drops real faces to ~0.3 here. Output: the softmax
//    probability of class 1 ("real") per model and their mean (`fused`).
//  * Failure: a box outside the frame or an empty frame → pad_bad_input; an OpenCV error → pad_failed.
//  * Not thread-safe (cv::dnn::Net keeps state); one PadModel per thread. Owns its networks.
#pragma once

#include <opencv2/core.hpp>

#include <filesystem>
#include <memory>

#include "common/status.h"

namespace veridge::liveness {

struct PadScore {
  double v2 = 0;     // P(real) from MiniFASNetV2
  double v1se = 0;   // P(real) from MiniFASNetV1SE
  double fused = 0;  // mean of the two
};

class PadModel {
 public:
  static Result<std::unique_ptr<PadModel>> Load(const std::filesystem::path& model_dir);
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
