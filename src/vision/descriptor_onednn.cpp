// The "onednn" descriptor engine: anet_type (anet.h) as a fixed sequence of oneDNN primitives.
//
// Layout: activations are kept in oneDNN's nChw8c (channels in blocks of 8, the layout its AVX2
// convolutions read and write natively), so no reorder runs between layers. Per residual block:
//   t = relu(conv_a(x))                      one primitive, the affine folded into weights + bias
//   x = relu(conv_b(t) + shortcut)            one primitive: "sum" post-op on a destination that
//                                             already holds the shortcut, then a ReLU post-op
// Plain blocks write conv_b in place over x (x is its own shortcut and is not needed after conv_a).
// Down blocks reproduce dlib's add_prev of unequal shapes (see descriptor.cpp): the destination y
// gets the 2×2 average pool of x in its first channels and zeros in the rest (done here in a small
// loop: at most 64×17×17 values); where y has one more row and column than conv_b's output (the
// two last levels) conv_b runs on a copy of y's top-left corner, which is copied back. The ReLU of
// the uncovered corner is the identity: it holds averages of ReLU outputs.
#include "vision/internal/onednn_resnet.h"

#include <dnnl.hpp>
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

namespace veridge::vision::internal {

namespace {

using Tag = dnnl::memory::format_tag;
using DataType = dnnl::memory::data_type;

// oneDNN here is built on OpenMP and would spread each primitive over every core. The calling
// thread's OpenMP limit is set to 1 while primitives are created (oneDNN picks its blocking for
// the thread count then) and run, and restored afterwards.
class OneThreadScope {
 public:
  OneThreadScope() : previous_(omp_get_max_threads()) { omp_set_num_threads(1); }
  ~OneThreadScope() { omp_set_num_threads(previous_); }
  OneThreadScope(const OneThreadScope&) = delete;
  OneThreadScope& operator=(const OneThreadScope&) = delete;

 private:
  int previous_;
};

// An activation tensor (batch 1) in nChw8c; channels are a multiple of 8 after the input.
struct Activation {
  int c = 0, h = 0, w = 0;
  dnnl::memory mem;
  float* data() const { return static_cast<float*>(mem.get_data_handle()); }
  size_t At(int ch, int row, int col) const {
    return ((static_cast<size_t>(ch / 8) * h + row) * w + col) * 8 + ch % 8;
  }
};

// y ← [2×2/2 average pool of x in channels 0..x.c−1; zeros after]. y.h, y.w ≤ pooled size.
void FillDownShortcut(const Activation& x, const Activation& y) {
  std::memset(y.data(), 0, y.mem.get_desc().get_size());
  const float* in = x.data();
  float* out = y.data();
  for (int c = 0; c < x.c; ++c)
    for (int r = 0; r < y.h; ++r)
      for (int q = 0; q < y.w; ++q)
        out[y.At(c, r, q)] = 0.25f * (in[x.At(c, 2 * r, 2 * q)] + in[x.At(c, 2 * r, 2 * q + 1)] +
                                      in[x.At(c, 2 * r + 1, 2 * q)] + in[x.At(c, 2 * r + 1, 2 * q + 1)]);
}

// Copies the top-left corner the two tensors share (same channels, the smaller one's rows and
// columns) from `from` into `to`: a large tensor's corner into a small one, or back.
void CopyCorner(const Activation& from, const Activation& to) {
  const int rows = std::min(from.h, to.h), cols = std::min(from.w, to.w);
  for (int c = 0; c < from.c; ++c)
    for (int r = 0; r < rows; ++r)
      for (int q = 0; q < cols; ++q) to.data()[to.At(c, r, q)] = from.data()[from.At(c, r, q)];
}

}  // namespace

struct OneDnnResNet::Impl {
  std::shared_ptr<const ResNetWeights> weights;
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  dnnl::memory input;                       // 1×3×150×150, planar R, G, B
  Activation output;                        // 256×2×2 before the global average pool
  std::vector<std::function<void()>> steps;  // the forward pass, in order
  size_t next_conv = 0;

  Activation NewActivation(int c, int h, int w) {
    return {c, h, w, dnnl::memory({{1, c, h, w}, DataType::f32, Tag::nChw8c}, engine)};
  }

  // dst ← relu?(conv(src) [+ dst]) with the next convolution and its affine folded in.
  void Conv(const dnnl::memory& src, const Activation& dst, int kernel, int stride, bool relu, bool add_into_dst) {
    const auto& conv = weights->convs[next_conv];
    const auto& affine = weights->affines[next_conv];
    ++next_conv;
    const int src_channels = static_cast<int>(src.get_desc().dims()[1]);  // CheckResNetShapes: = the filters' depth
    // Folding the affine: gamma·(W∗x + b) + beta = (gamma·W)∗x + (gamma·b + beta), per output channel.
    const size_t per_filter = static_cast<size_t>(src_channels) * kernel * kernel;
    std::vector<float> folded(per_filter * dst.c), bias(dst.c);
    const float* filters = conv.filters.ptr<float>();
    for (int o = 0; o < dst.c; ++o) {
      const float gamma = affine.gamma.at<float>(o);
      for (size_t i = 0; i < per_filter; ++i) folded[o * per_filter + i] = filters[o * per_filter + i] * gamma;
      bias[o] = conv.bias.at<float>(o) * gamma + affine.beta.at<float>(o);
    }
    const int pad = stride == 1 ? kernel / 2 : 0;
    const dnnl::memory::desc any_weights({dst.c, src_channels, kernel, kernel}, DataType::f32, Tag::any);
    const dnnl::memory::desc bias_desc({dst.c}, DataType::f32, Tag::x);
    const dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
                                               src.get_desc(), any_weights, bias_desc, dst.mem.get_desc(),
                                               {stride, stride}, {pad, pad}, {pad, pad});
    dnnl::post_ops post;
    if (add_into_dst) post.append_sum(1.f);
    if (relu) post.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
    dnnl::primitive_attr attr;
    attr.set_post_ops(post);
    const dnnl::convolution_forward::primitive_desc pd(desc, attr, engine);

    dnnl::memory plain_weights({{dst.c, src_channels, kernel, kernel}, DataType::f32, Tag::oihw}, engine, folded.data());
    dnnl::memory packed_weights(pd.weights_desc(), engine);
    dnnl::reorder(plain_weights, packed_weights).execute(stream, plain_weights, packed_weights);
    stream.wait();  // `folded` goes out of scope
    dnnl::memory bias_mem(bias_desc, engine);
    std::memcpy(bias_mem.get_data_handle(), bias.data(), bias.size() * sizeof(float));

    steps.push_back([this, prim = dnnl::convolution_forward(pd), src, packed_weights, bias_mem, out = dst.mem] {
      prim.execute(stream, {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, packed_weights}, {DNNL_ARG_BIAS, bias_mem},
                            {DNNL_ARG_DST, out}});
    });
  }

  void MaxPool(const Activation& src, const Activation& dst, int kernel, int stride) {
    const dnnl::pooling_forward::desc desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::pooling_max,
                                           src.mem.get_desc(), dst.mem.get_desc(), {stride, stride},
                                           {kernel, kernel}, {0, 0}, {0, 0});
    steps.push_back([this, prim = dnnl::pooling_forward({desc, engine}), in = src.mem, out = dst.mem] {
      prim.execute(stream, {{DNNL_ARG_SRC, in}, {DNNL_ARG_DST, out}});
    });
  }

  Status BuildSteps() {
    if (Status s = CheckResNetShapes(*weights); !s.ok()) return s;
    input = dnnl::memory({{1, 3, kResNetInputSize, kResNetInputSize}, DataType::f32, Tag::nchw}, engine);
    const int stem = ConvOutputSize(kResNetInputSize, 7, 2);
    const Activation stem_out = NewActivation(32, stem, stem);
    Conv(input, stem_out, 7, 2, /*relu=*/true, /*add_into_dst=*/false);
    Activation x = NewActivation(32, PoolOutputSize(stem, 3, 2), PoolOutputSize(stem, 3, 2));
    MaxPool(stem_out, x, 3, 2);
    for (const ResNetLevel& level : kResNetLevels) {
      for (int b = 0; b < level.blocks; ++b) {
        if (!(level.down && b == 0)) {
          const Activation t = NewActivation(level.filters, x.h, x.w);
          Conv(x.mem, t, 3, 1, /*relu=*/true, /*add_into_dst=*/false);
          Conv(t.mem, x, 3, 1, /*relu=*/true, /*add_into_dst=*/true);
          continue;
        }
        const int h = ConvOutputSize(x.h, 3, 2), wd = ConvOutputSize(x.w, 3, 2);
        const Activation t = NewActivation(level.filters, h, wd);
        const Activation y = NewActivation(level.filters, PoolOutputSize(x.h, 2, 2), PoolOutputSize(x.w, 2, 2));
        if (y.h < h || y.w < wd || x.c > y.c) return ResNetShapeError("a down block's shortcut is smaller than its branch");
        steps.push_back([x, y] { FillDownShortcut(x, y); });
        Conv(x.mem, t, 3, 2, /*relu=*/true, /*add_into_dst=*/false);
        if (y.h == h && y.w == wd) {
          Conv(t.mem, y, 3, 1, /*relu=*/true, /*add_into_dst=*/true);
        } else {
          const Activation corner = NewActivation(level.filters, h, wd);
          steps.push_back([y, corner] { CopyCorner(y, corner); });
          Conv(t.mem, corner, 3, 1, /*relu=*/true, /*add_into_dst=*/true);
          steps.push_back([y, corner] { CopyCorner(corner, y); });
        }
        x = y;
      }
    }
    if (x.c != 256 || x.h != 2 || x.w != 2) return ResNetShapeError("unexpected feature map before the final pooling");
    output = x;
    return Status::Ok();
  }
};

OneDnnResNet::OneDnnResNet(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
OneDnnResNet::~OneDnnResNet() = default;

Result<std::unique_ptr<OneDnnResNet>> OneDnnResNet::Build(std::shared_ptr<const ResNetWeights> weights) {
  OneThreadScope one_thread;
  auto impl = std::make_unique<Impl>();
  impl->weights = std::move(weights);
  try {
    if (Status s = impl->BuildSteps(); !s.ok()) return s;
  } catch (const dnnl::error& e) {
    return Status::Corruption("model_load_failed", std::string("oneDNN cannot build the descriptor network (") +
                                                       e.what() + "); set [face] descriptor_engine = \"opencv\" to bypass");
  }
  return std::unique_ptr<OneDnnResNet>(new OneDnnResNet(std::move(impl)));
}

Result<Descriptor> OneDnnResNet::Describe(const cv::Mat& chip) {
  OneThreadScope one_thread;
  Impl& m = *impl_;
  float* planes = static_cast<float*>(m.input.get_data_handle());
  const size_t plane = static_cast<size_t>(kResNetInputSize) * kResNetInputSize;
  for (int r = 0; r < kResNetInputSize; ++r) {
    const auto* row = chip.ptr<cv::Vec3b>(r);
    for (int c = 0; c < kResNetInputSize; ++c) {
      const size_t i = static_cast<size_t>(r) * kResNetInputSize + c;
      planes[i] = static_cast<float>((row[c][2] - kMeanRed) * kInputScale);
      planes[plane + i] = static_cast<float>((row[c][1] - kMeanGreen) * kInputScale);
      planes[2 * plane + i] = static_cast<float>((row[c][0] - kMeanBlue) * kInputScale);
    }
  }
  try {
    for (const auto& step : m.steps) step();
    m.stream.wait();
  } catch (const dnnl::error& e) {
    return Status::Internal("descriptor_failed", std::string("descriptor network failed: ") + e.what());
  }
  // Global average pool (2×2) and the 256 → 128 projection: 33 k multiply-adds, done here.
  const Activation& x = m.output;
  float pooled[256];
  for (int c = 0; c < 256; ++c) {
    float sum = 0.f;
    for (int r = 0; r < x.h; ++r)
      for (int q = 0; q < x.w; ++q) sum += x.data()[x.At(c, r, q)];
    pooled[c] = sum / static_cast<float>(x.h * x.w);
  }
  Descriptor d;
  for (int o = 0; o < 128; ++o) {
    const float* row = m.weights->fc.ptr<float>(o);
    float sum = 0.f;
    for (int i = 0; i < 256; ++i) sum += row[i] * pooled[i];
    d[static_cast<size_t>(o)] = sum;
  }
  return d;
}

}  // namespace veridge::vision::internal
