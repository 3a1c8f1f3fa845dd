// vision/internal/descriptor_net.h — the dlib ResNet behind a pimpl, so only descriptor.cpp pulls in
// dlib's dnn headers. Not thread-safe (dlib keeps forward-pass buffers in the network).
#pragma once

#include <opencv2/core.hpp>

#include <filesystem>
#include <memory>
#include <string>

#include "common/status.h"
#include "vision/vision.h"

namespace veridge::vision::internal {

class DescriptorNet {
 public:
  // bytes: the whole (already verified) model file; origin names it in messages.
  // Codes: model_load_failed (the bytes do not deserialise as anet_type).
  static Result<std::unique_ptr<DescriptorNet>> Load(std::string bytes, const std::filesystem::path& origin);
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
