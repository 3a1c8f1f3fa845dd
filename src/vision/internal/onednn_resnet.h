// vision/internal/onednn_resnet.h — dlib's face-recognition ResNet run by oneDNN (Debian
// libdnnl-dev), the "onednn" descriptor engine.
//
// Why: oneDNN's JIT convolutions (AVX2 on the target machine) with the frozen batch-norm folded
// into the weights and the residual sum + ReLU fused into the second convolution of each block
// take about 8 ms per face on one core, against ~13 ms for cv::dnn and ~20 ms for dlib
// (tools/bench-face.sh). tests/vision checks the descriptors against dlib's forward pass.
//
// Contract: Build() prepares every primitive for one 150×150 chip; Describe() runs them on the
// calling thread only (one core per pipeline: the appliance gets its throughput from pipelines
// side by side, not from splitting one descriptor). Not thread-safe: the activations live in the
// object; build one per thread (they share the read-only weights).
#pragma once

#include <memory>

#include "common/status.h"
#include "vision/internal/resnet_weights.h"
#include "vision/vision.h"

namespace veridge::vision::internal {

class OneDnnResNet {
 public:
  // Codes: model_load_failed (the weights do not have anet_type's shapes, or oneDNN refuses a
  // layer).
  static Result<std::unique_ptr<OneDnnResNet>> Build(std::shared_ptr<const ResNetWeights> weights);
  ~OneDnnResNet();
  // chip: 150×150 CV_8UC3 BGR (checked by the caller). Code: descriptor_failed.
  Result<Descriptor> Describe(const cv::Mat& chip);

 private:
  struct Impl;
  explicit OneDnnResNet(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace veridge::vision::internal
