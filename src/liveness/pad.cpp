#include "liveness/pad.h"

#include <opencv2/dnn.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

#include "common/files.h"

namespace veridge::liveness {

struct PadModel::Impl {
  cv::dnn::Net v2, v1se;
};

PadModel::PadModel(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PadModel::~PadModel() = default;

namespace {
Status MissingModel(const std::filesystem::path& file) {
  return Status::NotFound("pad_model_missing", "passive PAD model " + file.string() +
                                                   " not found: run tools/fetch-models.sh (it copies ../shared/models/minifasnet/*.onnx into the model directory)");
}
}  // namespace

Status PadModel::CheckFiles(const std::filesystem::path& model_dir) {
  for (const char* f : {kV2File, kV1seFile}) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(model_dir / f, ec)) return MissingModel(model_dir / f);
  }
  return Status::Ok();
}

Result<std::unique_ptr<PadModel>> PadModel::Load(const std::filesystem::path& model_dir, const ModelReader& read) {
  auto impl = std::make_unique<Impl>();
  const char* names[2] = {kV2File, kV1seFile};
  const std::filesystem::path files[2] = {model_dir / kV2File, model_dir / kV1seFile};
  cv::dnn::Net* nets[2] = {&impl->v2, &impl->v1se};
  for (int i = 0; i < 2; ++i) {
    // Read through common/files.h (or the caller's verifying reader) and parsed from memory: a FIFO
    // or device in the model directory is refused (never waited on), and what is parsed is the file
    // that was checked.
    auto bytes = read ? read(model_dir, names[i]) : ReadFileBounded(files[i], kMaxModelBytes);
    if (!bytes.ok()) {
      const std::string& code = bytes.status().code();
      if (code == "file_not_found" || code == "model_missing") return MissingModel(files[i]);
      return bytes.status().WithContext("passive PAD model");
    }
    try {
      *nets[i] = cv::dnn::readNetFromONNX(std::vector<uchar>(bytes->begin(), bytes->end()));
      nets[i]->setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
      nets[i]->setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
    } catch (const cv::Exception& e) {
      return Status::Internal("pad_model_invalid", "cannot load " + files[i].string() + ": " + e.what());
    }
    if (nets[i]->empty()) return Status::Internal("pad_model_invalid", "empty network in " + files[i].string());
  }
  return std::unique_ptr<PadModel>(new PadModel(std::move(impl)));
}

cv::Rect PadModel::CropRect(cv::Size frame, const cv::Rect2f& box, double scale) {
  const double w = std::max(1.0f, box.width), h = std::max(1.0f, box.height);
  scale = std::min({scale, (frame.height - 1) / h, (frame.width - 1) / w});
  const double cw = w * scale, ch = h * scale;
  double x = box.x + w / 2 - cw / 2, y = box.y + h / 2 - ch / 2;
  x = std::clamp(x, 0.0, std::max(0.0, frame.width - cw));
  y = std::clamp(y, 0.0, std::max(0.0, frame.height - ch));
  cv::Rect r(static_cast<int>(std::lround(x)), static_cast<int>(std::lround(y)), std::max(1, static_cast<int>(std::lround(cw))),
             std::max(1, static_cast<int>(std::lround(ch))));
  return r & cv::Rect(0, 0, frame.width, frame.height);
}

namespace {
double RealProbability(cv::dnn::Net& net, const cv::Mat& bgr, const cv::Rect& crop) {
  cv::Mat patch;
  cv::resize(bgr(crop), patch, cv::Size(80, 80), 0, 0, cv::INTER_LINEAR);
  cv::Mat blob = cv::dnn::blobFromImage(patch, 1.0, cv::Size(80, 80), cv::Scalar(), /*swapRB=*/false, /*crop=*/false, CV_32F);
  net.setInput(blob);
  cv::Mat out = net.forward();  // 1×3 logits
  const float* p = out.ptr<float>(0);
  const int n = static_cast<int>(out.total());
  float mx = *std::max_element(p, p + n);
  double sum = 0, real = 0;
  for (int i = 0; i < n; ++i) {
    double e = std::exp(double(p[i] - mx));
    sum += e;
    if (i == 1) real = e;
  }
  return real / sum;
}
}  // namespace

Result<PadScore> PadModel::Score(const cv::Mat& bgr, const cv::Rect2f& box) {
  if (bgr.empty() || bgr.type() != CV_8UC3) return Status::InvalidInput("pad_bad_input", "PAD needs an 8-bit BGR frame");
  const cv::Rect2f frame(0, 0, float(bgr.cols), float(bgr.rows));
  if (box.width < 8 || box.height < 8 || (box & frame).area() < 0.5f * box.area())
    return Status::InvalidInput("pad_bad_input", "face box is too small or mostly outside the frame");
  try {
    PadScore s;
    s.v2 = RealProbability(impl_->v2, bgr, CropRect(bgr.size(), box, 2.7));
    s.v1se = RealProbability(impl_->v1se, bgr, CropRect(bgr.size(), box, 4.0));
    s.fused = 0.5 * (s.v2 + s.v1se);
    return s;
  } catch (const cv::Exception& e) {
    return Status::Internal("pad_failed", std::string("PAD inference failed: ") + e.what());
  }
}

}  // namespace veridge::liveness
