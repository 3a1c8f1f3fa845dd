// The only translation unit that includes dlib's dnn headers (they take ~30 s to compile).
#include "vision/internal/descriptor_net.h"

#include <sstream>

#include "vision/internal/anet.h"

namespace veridge::vision::internal {

struct DescriptorNet::Impl {
  anet_type net;
};

DescriptorNet::DescriptorNet(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DescriptorNet::~DescriptorNet() = default;

Result<std::unique_ptr<DescriptorNet>> DescriptorNet::Load(std::string bytes, const std::filesystem::path& model_file) {
  auto impl = std::make_unique<Impl>();
  try {
    std::istringstream in(std::move(bytes));
    dlib::deserialize(impl->net, in);
  } catch (const std::exception& e) {
    return Status::Corruption("model_load_failed", "descriptor model " + model_file.string() +
                                                       " does not load as dlib's face-recognition ResNet (" + e.what() +
                                                       "): run tools/fetch-models.sh to rebuild it");
  }
  return std::unique_ptr<DescriptorNet>(new DescriptorNet(std::move(impl)));
}

std::unique_ptr<DescriptorNet> DescriptorNet::Clone() const {
  auto impl = std::make_unique<Impl>();
  impl->net = impl_->net;
  return std::unique_ptr<DescriptorNet>(new DescriptorNet(std::move(impl)));
}

Result<Descriptor> DescriptorNet::Describe(const cv::Mat& chip) {
  if (chip.type() != CV_8UC3 || chip.rows != kChipSize || chip.cols != kChipSize)
    return Status::InvalidInput("bad_chip", "Describe() needs a 150x150 8-bit BGR chip from AlignChip()");
  dlib::matrix<dlib::rgb_pixel> rgb(kChipSize, kChipSize);
  for (int r = 0; r < kChipSize; ++r) {
    const auto* row = chip.ptr<cv::Vec3b>(r);
    for (int c = 0; c < kChipSize; ++c) rgb(r, c) = dlib::rgb_pixel(row[c][2], row[c][1], row[c][0]);
  }
  try {
    const dlib::matrix<float, 0, 1> v = impl_->net(rgb);
    if (v.size() != 128) return Status::Internal("descriptor_failed", "the network returned a descriptor of the wrong size");
    Descriptor d;
    for (long i = 0; i < 128; ++i) d[static_cast<size_t>(i)] = v(i);
    return d;
  } catch (const std::exception& e) {
    return Status::Internal("descriptor_failed", std::string("descriptor network failed: ") + e.what());
  }
}

}  // namespace veridge::vision::internal
