// vision/internal/resnet_weights.h — the weights and layer plan of dlib's face-recognition ResNet
// (anet.h) in plain arrays, for the engines that rebuild the network outside dlib (cv::dnn in
// descriptor.cpp, oneDNN in descriptor_onednn.cpp). Extracted once from the deserialised dlib
// model by descriptor.cpp; read-only afterwards, so clones on other threads share one copy.
#pragma once

#include <opencv2/core.hpp>

#include <string>
#include <vector>

#include "common/status.h"

namespace veridge::vision::internal {

// dlib's input_rgb_image_sized<150>: (pixel − mean) / 256, planes in R, G, B order.
inline constexpr double kMeanRed = 122.782, kMeanGreen = 117.001, kMeanBlue = 104.298;
inline constexpr double kInputScale = 1.0 / 256;
inline constexpr int kResNetInputSize = 150;  // the chip: 150×150

struct ResNetWeights {
  struct Conv {
    cv::Mat filters;  // num_filters × channels × rows × cols (OIHW, cross-correlation)
    cv::Mat bias;     // 1 × num_filters
  };
  struct Affine {
    cv::Mat gamma, beta;  // 1 × channels: frozen batch-norm, y = gamma·x + beta
  };
  std::vector<Conv> convs;      // 29, input → output; convs[i] is followed by affines[i]
  std::vector<Affine> affines;  // 29
  cv::Mat fc;                   // 128 × 256 (dlib keeps it 256 × 128)
};

// The residual levels after the stem (7×7/2 convolution, affine, ReLU, 3×3/2 max pool), input
// side first (alevel4 … alevel0 in anet.h). The first block of a "down" level has stride 2 and a
// 2×2/2 average-pooled shortcut; every block is conv 3×3 → affine → ReLU → conv 3×3 → affine,
// summed with the shortcut, then ReLU.
struct ResNetLevel {
  int filters, blocks;
  bool down;
};
inline constexpr ResNetLevel kResNetLevels[] = {{32, 3, false}, {64, 4, true}, {128, 3, true}, {256, 3, true}, {256, 1, true}};

// dlib's output size: padding k/2 at stride 1, none at stride 2, and rounding down.
constexpr int ConvOutputSize(int in, int kernel, int stride) {
  const int pad = stride == 1 ? kernel / 2 : 0;
  return 1 + (in + 2 * pad - kernel) / stride;
}
constexpr int PoolOutputSize(int in, int kernel, int stride) { return 1 + (in - kernel) / stride; }

// The error of an engine that finds weights of other shapes than anet_type's.
inline Status ResNetShapeError(const std::string& why) {
  return Status::Corruption("model_load_failed", "the descriptor model does not have the layers of dlib's "
                                                 "face-recognition ResNet (" + why + "): run tools/fetch-models.sh");
}

// Checks every blob against the layer plan (stem, then kResNetLevels), so that the engines can
// index the weights without checking again. Code model_load_failed.
inline Status CheckResNetShapes(const ResNetWeights& w) {
  if (w.convs.size() != 29 || w.affines.size() != 29 || w.fc.rows != 128 || w.fc.cols != 256 || w.fc.type() != CV_32F)
    return ResNetShapeError("expected 29 convolutions, 29 affine layers and a 256→128 projection");
  size_t i = 0;
  auto check = [&](int filters, int channels, int kernel) {
    const auto& conv = w.convs[i];
    const auto& affine = w.affines[i];
    ++i;
    const bool ok = conv.filters.dims == 4 && conv.filters.type() == CV_32F && conv.filters.size[0] == filters &&
                    conv.filters.size[1] == channels && conv.filters.size[2] == kernel && conv.filters.size[3] == kernel &&
                    conv.bias.cols == filters && affine.gamma.cols == filters && affine.beta.cols == filters;
    return ok ? Status::Ok() : ResNetShapeError("convolution " + std::to_string(i) + " has unexpected dimensions");
  };
  if (Status s = check(32, 3, 7); !s.ok()) return s;
  int channels = 32;
  for (const ResNetLevel& level : kResNetLevels)
    for (int b = 0; b < level.blocks; ++b) {
      if (Status s = check(level.filters, channels, 3); !s.ok()) return s;
      if (Status s = check(level.filters, level.filters, 3); !s.ok()) return s;
      channels = level.filters;
    }
  return Status::Ok();
}

}  // namespace veridge::vision::internal
