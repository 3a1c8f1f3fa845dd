// vision/internal/anet.h — dlib's face-recognition ResNet ("anet_type", dlib_face_recognition_resnet_
// model_v1, 29 conv layers, 128-D output). Private to vision/ and tools/convert-face-model: it pulls
// in dlib's dnn headers, which take long to compile, so include it from as few .cpp files as possible.
//
// The definition must match the layer structure of dlib's examples/dnn_face_recognition_ex.cpp
// exactly, otherwise a serialised model fails to deserialise (and the converted weights would land
// in the wrong layers). Written from that structure: residual blocks of two 3×3 convolutions, each
// followed by an affine (frozen batch-norm) layer; "down" blocks use stride 2 with a 2×2 average-
// pooled shortcut.
#pragma once

#include <dlib/dnn.h>

namespace veridge::vision::internal {

template <template <int, template <typename> class, int, typename> class Block, int N,
          template <typename> class BN, typename Subnet>
using residual = dlib::add_prev1<Block<N, BN, 1, dlib::tag1<Subnet>>>;

template <template <int, template <typename> class, int, typename> class Block, int N,
          template <typename> class BN, typename Subnet>
using residual_down =
    dlib::add_prev2<dlib::avg_pool<2, 2, 2, 2, dlib::skip1<dlib::tag2<Block<N, BN, 2, dlib::tag1<Subnet>>>>>>;

template <int N, template <typename> class BN, int Stride, typename Subnet>
using block = BN<dlib::con<N, 3, 3, 1, 1, dlib::relu<BN<dlib::con<N, 3, 3, Stride, Stride, Subnet>>>>>;

template <int N, typename Subnet>
using ares = dlib::relu<residual<block, N, dlib::affine, Subnet>>;
template <int N, typename Subnet>
using ares_down = dlib::relu<residual_down<block, N, dlib::affine, Subnet>>;

template <typename Subnet> using alevel0 = ares_down<256, Subnet>;
template <typename Subnet> using alevel1 = ares<256, ares<256, ares_down<256, Subnet>>>;
template <typename Subnet> using alevel2 = ares<128, ares<128, ares_down<128, Subnet>>>;
template <typename Subnet> using alevel3 = ares<64, ares<64, ares<64, ares_down<64, Subnet>>>>;
template <typename Subnet> using alevel4 = ares<32, ares<32, ares<32, Subnet>>>;

using anet_type = dlib::loss_metric<dlib::fc_no_bias<128, dlib::avg_pool_everything<
    alevel0<alevel1<alevel2<alevel3<alevel4<
    dlib::max_pool<3, 3, 2, 2, dlib::relu<dlib::affine<dlib::con<32, 7, 7, 2, 2,
    dlib::input_rgb_image_sized<150>>>>>>>>>>>>>;

inline constexpr int kChipSize = 150;
inline constexpr double kChipPadding = 0.25;

}  // namespace veridge::vision::internal
