// tests/liveness/liveness_test_support.h — what the liveness pipeline tests share: whether the dev
// model directory holds the models a LivenessChecker loads, and the skip-or-run guard for tests that
// need the shared clips and those models (a missing one is a clear VERIDGE-SKIP, not a failure).
#pragma once

#include <filesystem>

#include "support/test_support.h"

namespace veridge::testing {

inline bool HaveLivenessModels() {
  const auto d = DevModelDir();
  return std::filesystem::exists(d / "MiniFASNetV2.onnx") && std::filesystem::exists(d / "shape_predictor_68_face_landmarks.dat") &&
         std::filesystem::exists(d / "dlib_face_recognition_resnet_model_v1.dat");
}

}  // namespace veridge::testing

#define REQUIRE_LIVENESS_DATA()                                                                                 \
  do {                                                                                                          \
    VERIDGE_REQUIRE_PATH(::veridge::testing::SharedData("liveness/subject-a/real.webm"), "liveness clips");     \
    if (!::veridge::testing::HaveLivenessModels())                                                              \
      VERIDGE_SKIP("models not in " << ::veridge::testing::DevModelDir() << ": run tools/fetch-models.sh");     \
  } while (0)
