// One FaceAnalyzer per test binary (loading checks 120 MB of sha256 and deserialises the models).
#pragma once

#include <memory>

#include "support/test_support.h"
#include "vision/models.h"
#include "vision/vision.h"

namespace veridge::testing {

// nullptr when the dev model dir lacks the models (the caller skips, naming the fix).
inline vision::FaceAnalyzer* SharedAnalyzer() {
  static std::unique_ptr<vision::FaceAnalyzer> analyzer = [] {
    vision::VisionOptions o;
    o.model_dir = DevModelDir();
    auto a = vision::FaceAnalyzer::Create(o);
    return a.ok() ? std::move(*a) : nullptr;
  }();
  return analyzer.get();
}

inline bool DevModelsPresent() {
  return std::filesystem::exists(DevModelDir() / std::string(vision::kDescriptorModelFile)) &&
         std::filesystem::exists(DevModelDir() / std::string(vision::kLandmarkModelFile));
}

}  // namespace veridge::testing

#define VERIDGE_REQUIRE_ANALYZER(var)                                                                       \
  if (!::veridge::testing::DevModelsPresent())                                                              \
    VERIDGE_SKIP("face models not in " << ::veridge::testing::DevModelDir().string()                         \
                                        << ": run tools/fetch-models.sh BUILD_DIR");                       \
  ::veridge::vision::FaceAnalyzer* var = ::veridge::testing::SharedAnalyzer();                             \
  REQUIRE(var != nullptr)
