// vision/internal/descriptor_net.h — the face-recognition ResNet behind a pimpl, so only
// descriptor.cpp pulls in dlib's dnn headers.
//
// The model file is dlib's serialised anet_type (see anet.h). Three engines run it:
//  * "onednn" (default): the layers rebuilt as oneDNN primitives (onednn_resnet.h), batch-norm
//    folded into the convolutions, the residual sum and ReLU fused into them; one core per call.
//    About 2.8× faster than dlib and 1.8× faster than "opencv" on one core of the target machine.
//  * "opencv": the same layers rebuilt as a cv::dnn graph (convolution + frozen batch-norm + ReLU
//    fuse into one pass). About 1.5× faster than dlib.
//  * "dlib": dlib's own forward pass, the reference. tests/vision checks that the two rebuilt
//    engines agree with it within 1e-3 per component on real faces.
// Not thread-safe (every engine keeps forward-pass buffers); Clone() for another thread.
#pragma once

#include <opencv2/core.hpp>

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"
#include "vision/vision.h"

namespace veridge::vision::internal {

class DescriptorNet {
 public:
  // bytes: the whole (already verified) model file; origin names it in messages. engine: "onednn",
  // "opencv" or "dlib". Codes: model_load_failed (the bytes do not deserialise as anet_type, or its layers
  // are not the expected shapes), bad_option (unknown engine).
  static Result<std::unique_ptr<DescriptorNet>> Load(std::string bytes, const std::filesystem::path& origin,
                                                     std::string_view engine = "onednn");
  ~DescriptorNet();
  std::unique_ptr<DescriptorNet> Clone() const;
  // chip: 150×150 CV_8UC3 BGR.
  Result<Descriptor> Describe(const cv::Mat& chip);

 private:
  struct Impl;
  explicit DescriptorNet(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace veridge::vision::internal
