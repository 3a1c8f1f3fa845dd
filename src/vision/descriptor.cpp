// The only translation unit that includes dlib's dnn headers (they take ~30 s to compile).
//
// Three engines (descriptor_net.h); the "onednn" one is in descriptor_onednn.cpp.
//
// The "opencv" engine rebuilds anet_type (anet.h) as a cv::dnn graph. Two dlib behaviours have
// to be reproduced exactly for the outputs to agree:
//  * convolutions and poolings with stride 2 have no padding, and output sizes round down
//    (OpenCV pooling rounds up unless ceil_mode is false);
//  * add_prev (the residual sum) of two tensors of different shapes yields the larger shape, with
//    the smaller one zero-extended (channels at the end, rows and columns at the bottom/right). It
//    happens in every "down" block: the shortcut (2×2 average pool of the block input) has half
//    the channels, and at the two last levels one more row and column than the strided branch
//    (8 → 3 vs 4, 4 → 1 vs 2). Here: the branch is zero-padded to the shortcut's rows/columns,
//    then an Eltwise sum in "input_0" channel mode adds the shortcut into its first channels.
#include "vision/internal/descriptor_net.h"

#include <opencv2/dnn.hpp>

#include <sstream>
#include <vector>

#include "vision/internal/anet.h"
#include "vision/internal/onednn_resnet.h"
#include "vision/internal/resnet_weights.h"

namespace veridge::vision::internal {

static_assert(kChipSize == kResNetInputSize);

namespace {

namespace dnn = cv::dnn;

cv::Mat RowOf(const float* data, long n) {
  cv::Mat m(1, static_cast<int>(n), CV_32F);
  std::memcpy(m.ptr<float>(), data, static_cast<size_t>(n) * sizeof(float));
  return m;
}

ResNetWeights ExtractWeights(anet_type& net) {
  ResNetWeights w;
  // visit_computational_layers walks from the output towards the input.
  dlib::visit_computational_layers(net, [&w](auto& layer) {
    if constexpr (requires { layer.num_filters(); layer.nr(); layer.nc(); }) {
      const auto& p = layer.get_layer_params();
      const long nf = layer.num_filters(), nr = layer.nr(), nc = layer.nc();
      const long k = (static_cast<long>(p.size()) - nf) / (nf * nr * nc);
      const int dims[4] = {int(nf), int(k), int(nr), int(nc)};
      ResNetWeights::Conv c;
      c.filters.create(4, dims, CV_32F);
      std::memcpy(c.filters.ptr<float>(), p.host(), static_cast<size_t>(nf * k * nr * nc) * sizeof(float));
      c.bias = RowOf(p.host() + nf * k * nr * nc, nf);
      w.convs.push_back(std::move(c));
    } else if constexpr (requires { layer.get_gamma(); layer.get_beta(); }) {
      w.affines.push_back({RowOf(layer.get_gamma().host(), long(layer.get_gamma().size())),
                           RowOf(layer.get_beta().host(), long(layer.get_beta().size()))});
    } else if constexpr (requires { layer.get_num_outputs(); }) {
      const auto& p = layer.get_layer_params();
      const int outputs = int(layer.get_num_outputs());
      const int inputs = int(p.size()) / outputs;
      cv::Mat m(inputs, outputs, CV_32F);
      std::memcpy(m.ptr<float>(), p.host(), p.size() * sizeof(float));
      w.fc = m.t();
    }
  });
  std::reverse(w.convs.begin(), w.convs.end());
  std::reverse(w.affines.begin(), w.affines.end());
  return w;
}

// Builds the graph; fails (with a reason) when the weights do not have anet_type's shapes.
class GraphBuilder {
 public:
  explicit GraphBuilder(const ResNetWeights& w) : w_(w) {}

  Result<dnn::Net> Build() {
    if (Status s = CheckResNetShapes(w_); !s.ok()) return s;
    Node x{0, 3, 150, 150};  // layer 0 is the network input
    x = ConvAffine(x, 32, 7, 2, /*relu=*/true);
    x = Pool(x, "max", 3, 2);
    // alevel4 … alevel0 (anet.h), input side first.
    for (const ResNetLevel& l : kResNetLevels) {
      for (int b = 0; b < l.blocks; ++b) {
        const bool down = l.down && b == 0;
        Node branch = ConvAffine(x, l.filters, 3, down ? 2 : 1, /*relu=*/true);
        branch = ConvAffine(branch, l.filters, 3, 1, /*relu=*/false);
        const Node shortcut = down ? Pool(x, "ave", 2, 2) : x;
        x = Relu(AddPrev(branch, shortcut));
      }
    }
    if (x.h != 2 || x.w != 2 || x.c != 256) return ResNetShapeError("unexpected feature map before the final pooling");
    dnn::LayerParams gap;
    gap.set("pool", "ave");
    gap.set("global_pooling", true);
    x = Add("Pooling", gap, {x.id}, {x.c, 1, 1});
    dnn::LayerParams fc;
    fc.set("num_output", 128);
    fc.set("bias_term", false);
    fc.blobs = {w_.fc};
    Add("InnerProduct", fc, {x.id}, {128, 1, 1});
    net_.setPreferableBackend(dnn::DNN_BACKEND_OPENCV);
    net_.setPreferableTarget(dnn::DNN_TARGET_CPU);
    return net_;
  }

 private:
  struct Node {
    int id = 0, c = 0, h = 0, w = 0;
  };

  Node Add(const std::string& type, dnn::LayerParams lp, const std::vector<int>& inputs, Node shape) {
    const int id = net_.addLayer(type + std::to_string(++count_), type, lp);
    for (size_t i = 0; i < inputs.size(); ++i) net_.connect(inputs[i], 0, id, static_cast<int>(i));
    shape.id = id;
    return shape;
  }

  // dlib: padding k/2 at stride 1, none at stride 2; sizes round down (ConvOutputSize).
  Node ConvAffine(const Node& in, int filters, int k, int stride, bool relu) {
    const auto& conv = w_.convs[next_];
    const auto& affine = w_.affines[next_];
    ++next_;
    const int pad = stride == 1 ? k / 2 : 0;
    dnn::LayerParams c;
    c.set("num_output", filters);
    c.set("kernel_size", k);
    c.set("stride", stride);
    c.set("pad", pad);
    c.set("bias_term", true);
    c.blobs = {conv.filters, conv.bias};
    Node x = Add("Convolution", c, {in.id},
                 {0, filters, ConvOutputSize(in.h, k, stride), ConvOutputSize(in.w, k, stride)});
    dnn::LayerParams s;
    s.set("bias_term", true);
    s.blobs = {affine.gamma, affine.beta};
    x = Add("Scale", s, {x.id}, x);
    return relu ? Relu(x) : x;
  }

  Node Relu(const Node& in) { return Add("ReLU", dnn::LayerParams(), {in.id}, in); }

  Node Pool(const Node& in, const char* kind, int k, int stride) {
    dnn::LayerParams p;
    p.set("pool", kind);
    p.set("kernel_size", k);
    p.set("stride", stride);
    p.set("ceil_mode", false);
    return Add("Pooling", p, {in.id}, {0, in.c, PoolOutputSize(in.h, k, stride), PoolOutputSize(in.w, k, stride)});
  }

  Node AddPrev(Node branch, const Node& shortcut) {
    if (shortcut.h > branch.h || shortcut.w > branch.w) {
      std::vector<int> pads = {0, 0, 0, 0, 0, shortcut.h - branch.h, 0, shortcut.w - branch.w};
      dnn::LayerParams p;
      p.set("paddings", dnn::DictValue::arrayInt(pads.data(), static_cast<int>(pads.size())));
      branch = Add("Padding", p, {branch.id}, {0, branch.c, shortcut.h, shortcut.w});
    }
    dnn::LayerParams e;
    e.set("operation", "sum");
    e.set("output_channels_mode", "input_0");  // the branch has at least the shortcut's channels
    return Add("Eltwise", e, {branch.id, shortcut.id}, branch);
  }

  const ResNetWeights& w_;
  dnn::Net net_;
  size_t next_ = 0;
  int count_ = 0;
};

}  // namespace

struct DescriptorNet::Impl {
  std::string engine;
  std::shared_ptr<const ResNetWeights> weights;  // "onednn", "opencv": shared by clones, read-only
  std::unique_ptr<OneDnnResNet> onednn;          // "onednn"
  dnn::Net cv_net;                               // "opencv"
  std::unique_ptr<anet_type> dlib_net;           // "dlib"

  // Builds the engine's network from `weights` (for "onednn" and "opencv").
  Status BuildFromWeights() {
    if (engine == "onednn") {
      auto net = OneDnnResNet::Build(weights);
      if (!net.ok()) return net.status();
      onednn = std::move(*net);
      return Status::Ok();
    }
    auto graph = GraphBuilder(*weights).Build();
    if (!graph.ok()) return graph.status();
    cv_net = *graph;
    return Status::Ok();
  }
};

DescriptorNet::DescriptorNet(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DescriptorNet::~DescriptorNet() = default;

Result<std::unique_ptr<DescriptorNet>> DescriptorNet::Load(std::string bytes, const std::filesystem::path& model_file,
                                                           std::string_view engine) {
  if (!IsDescriptorEngine(engine))
    return Status::InvalidInput("bad_option",
                                "descriptor engine must be onednn, opencv or dlib, not '" + std::string(engine) + "'");
  auto net = std::make_unique<anet_type>();
  try {
    std::istringstream in(std::move(bytes));
    dlib::deserialize(*net, in);
  } catch (const std::exception& e) {
    return Status::Corruption("model_load_failed", "descriptor model " + model_file.string() +
                                                       " does not load as dlib's face-recognition ResNet (" + e.what() +
                                                       "): run tools/fetch-models.sh to rebuild it");
  }
  auto impl = std::make_unique<Impl>();
  impl->engine = std::string(engine);
  if (engine == "dlib") {
    impl->dlib_net = std::move(net);
  } else {
    try {
      impl->weights = std::make_shared<const ResNetWeights>(ExtractWeights(*net));
      if (Status s = impl->BuildFromWeights(); !s.ok()) return s.WithContext(model_file.string());
    } catch (const std::exception& e) {
      return Status::Corruption("model_load_failed", "descriptor model " + model_file.string() + " does not build for the " +
                                                         impl->engine + " engine (" + e.what() +
                                                         "); set [face] descriptor_engine = \"dlib\" to bypass");
    }
  }
  return std::unique_ptr<DescriptorNet>(new DescriptorNet(std::move(impl)));
}

std::unique_ptr<DescriptorNet> DescriptorNet::Clone() const {
  auto impl = std::make_unique<Impl>();
  impl->engine = impl_->engine;
  if (impl_->dlib_net) impl->dlib_net = std::make_unique<anet_type>(*impl_->dlib_net);
  if (impl_->weights) {
    impl->weights = impl_->weights;
    // Load() built the same network from these weights already; it cannot fail the second time.
    (void)impl->BuildFromWeights();
  }
  return std::unique_ptr<DescriptorNet>(new DescriptorNet(std::move(impl)));
}

Result<Descriptor> DescriptorNet::Describe(const cv::Mat& chip) {
  if (chip.type() != CV_8UC3 || chip.rows != kChipSize || chip.cols != kChipSize)
    return Status::InvalidInput("bad_chip", "Describe() needs a 150x150 8-bit BGR chip from AlignChip()");
  Descriptor d;
  try {
    if (impl_->dlib_net) {
      dlib::matrix<dlib::rgb_pixel> rgb(kChipSize, kChipSize);
      for (int r = 0; r < kChipSize; ++r) {
        const auto* row = chip.ptr<cv::Vec3b>(r);
        for (int c = 0; c < kChipSize; ++c) rgb(r, c) = dlib::rgb_pixel(row[c][2], row[c][1], row[c][0]);
      }
      const dlib::matrix<float, 0, 1> v = (*impl_->dlib_net)(rgb);
      if (v.size() != 128) return Status::Internal("descriptor_failed", "the network returned a descriptor of the wrong size");
      for (long i = 0; i < 128; ++i) d[static_cast<size_t>(i)] = v(i);
    } else if (impl_->onednn) {
      return impl_->onednn->Describe(chip);
    } else {
      // swapRB: BGR chip → R, G, B planes; the mean is given in that (swapped) order.
      impl_->cv_net.setInput(dnn::blobFromImage(chip, kInputScale, cv::Size(), cv::Scalar(kMeanRed, kMeanGreen, kMeanBlue),
                                                /*swapRB=*/true, /*crop=*/false));
      const cv::Mat out = impl_->cv_net.forward();
      if (out.total() != 128) return Status::Internal("descriptor_failed", "the network returned a descriptor of the wrong size");
      std::memcpy(d.data(), out.ptr<float>(), 128 * sizeof(float));
    }
  } catch (const std::exception& e) {
    return Status::Internal("descriptor_failed", std::string("descriptor network failed: ") + e.what());
  }
  return d;
}

}  // namespace veridge::vision::internal
