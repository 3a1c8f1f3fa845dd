// FaceAnalyzer: detection (dlib HOG or OpenCV YuNet), dlib 68-point landmarks, dlib chip alignment,
// and the descriptor network (internal/descriptor_net.h). Vendor exceptions stop here.
#include <opencv2/imgproc.hpp>
#include <opencv2/objdetect/face.hpp>

#include <dlib/image_processing.h>
#include <dlib/image_processing/frontal_face_detector.h>
#include <dlib/opencv/cv_image.h>

#include <algorithm>
#include <cmath>
#include <future>
#include <sstream>

#include "common/log.h"
#include "vision/internal/descriptor_net.h"
#include "vision/internal/landmark_model.h"
#include "vision/models.h"
#include "vision/vision.h"

namespace veridge::vision {

QualityReport ComputeQuality(const QualityThresholds& q, const cv::Rect& box, const Landmarks68& lm,
                             const cv::Mat& chip, int face_count);

namespace {
constexpr int kChip = 150;
constexpr double kChipPadding = 0.25;
// YuNet files in the model dir take a fixed 160×120 input (OpenCV 4.6 cannot reshape them).
constexpr int kYunetW = 160, kYunetH = 120;

Status CheckImage(const cv::Mat& bgr) {
  if (bgr.empty() || bgr.type() != CV_8UC3)
    return Status::InvalidInput("bad_image_type", "expected a non-empty 8-bit BGR image (use DecodeImageFile)");
  return Status::Ok();
}
}  // namespace

struct FaceAnalyzer::Impl {
  VisionOptions options;
  std::string detector_name;
  dlib::frontal_face_detector hog;
  cv::Ptr<cv::FaceDetectorYN> yunet;
  std::filesystem::path yunet_file;
  std::shared_ptr<const dlib::shape_predictor> landmarks;
  std::unique_ptr<internal::DescriptorNet> descriptor;

  Result<std::vector<cv::Rect>> DetectHog(const cv::Mat& bgr);
  Result<std::vector<cv::Rect>> DetectYunet(const cv::Mat& bgr);
};

FaceAnalyzer::FaceAnalyzer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
FaceAnalyzer::~FaceAnalyzer() = default;

Result<std::unique_ptr<FaceAnalyzer>> FaceAnalyzer::Create(const VisionOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  const auto& dir = options.model_dir;
  const bool verify = options.verify_checksums;
  if (options.detector != "hog" && options.detector != "yunet" && options.detector != "auto")
    return Status::InvalidInput("bad_option", "detector must be hog, yunet or auto, not '" + options.detector + "'");
  if (!IsDescriptorEngine(options.descriptor_engine))
    return Status::InvalidInput("bad_option", "descriptor_engine must be onednn, opencv or dlib, not '" +
                                                  options.descriptor_engine + "'");
  if (options.jitter < 1 || options.jitter > 100)
    return Status::InvalidInput("bad_option", "jitter must be 1..100 descriptor passes, not " + std::to_string(options.jitter));
  if (options.min_detect_side < 0 || options.max_upsample < 0 || options.max_upsample > 3 || options.max_detect_side < 160)
    return Status::InvalidInput("bad_option", "detection sizes out of range (max_upsample 0..3, max_detect_side >= 160)");

  std::string detector = options.detector;
  if (detector == "auto") {
    std::error_code ec;
    detector = std::filesystem::is_regular_file(dir / std::string(kYunetModelFile), ec) ? "yunet" : "hog";
  }
  impl->detector_name = detector;
  try {
    if (detector == "yunet") {
      auto file = ResolveModel(dir, kYunetModelFile, verify);
      if (!file.ok()) return file.status();
      impl->yunet_file = *file;
      impl->yunet = cv::FaceDetectorYN::create(file->string(), "", cv::Size(kYunetW, kYunetH),
                                               options.yunet_score_threshold, 0.3f, 100);
    } else if (std::error_code ec; std::filesystem::is_regular_file(dir / std::string(kHogDetectorFile), ec)) {
      auto bytes = ReadModel(dir, kHogDetectorFile, verify, 16u << 20);
      if (!bytes.ok()) return bytes.status();
      std::istringstream in(std::move(*bytes));
      dlib::deserialize(impl->hog, in);
    } else {
      impl->hog = dlib::get_frontal_face_detector();
    }
  } catch (const std::exception& e) {
    return Status::Corruption("model_load_failed", "the " + detector + " face detector does not load (" + e.what() +
                                                       "): run tools/fetch-models.sh");
  }

  // Each model is read once, its sha256 checked on exactly the bytes that are then parsed. The
  // descriptor loads on a second thread while the (larger) landmark model loads here: cold start.
  using NetResult = Result<std::unique_ptr<internal::DescriptorNet>>;
  std::future<NetResult> net;
  if (options.load_descriptor) {
    net = std::async(std::launch::async, [dir, verify, engine = options.descriptor_engine]() -> NetResult {
      auto bytes = ReadModel(dir, kDescriptorModelFile, verify);
      if (!bytes.ok()) return bytes.status();
      return internal::DescriptorNet::Load(std::move(*bytes), dir / std::string(kDescriptorModelFile), engine);
    });
  }
  // The flat form of the landmark model when fetch-models.sh made it (same model, ~0.6 s faster to load).
  std::error_code ec;
  const std::string_view lm_name =
      std::filesystem::is_regular_file(dir / std::string(kLandmarkFlatModelFile), ec) ? kLandmarkFlatModelFile : kLandmarkModelFile;
  auto lm_bytes = ReadModel(dir, lm_name, verify);
  if (!lm_bytes.ok()) return lm_bytes.status();
  auto sp = internal::LoadShapePredictor(*lm_bytes, dir / std::string(lm_name));
  if (!sp.ok()) return sp.status();
  if ((*sp)->num_parts() != 68)
    return Status::Corruption("model_load_failed", (dir / std::string(lm_name)).string() + " is not a 68-point landmark model");
  impl->landmarks = std::move(*sp);
  if (net.valid()) {
    auto loaded = net.get();
    if (!loaded.ok()) return loaded.status();
    impl->descriptor = std::move(*loaded);
  }
  return std::unique_ptr<FaceAnalyzer>(new FaceAnalyzer(std::move(impl)));
}

std::unique_ptr<FaceAnalyzer> FaceAnalyzer::Clone() const {
  auto impl = std::make_unique<Impl>();
  impl->options = impl_->options;
  impl->detector_name = impl_->detector_name;
  impl->hog = impl_->hog;
  impl->yunet_file = impl_->yunet_file;
  if (impl_->yunet)
    impl->yunet = cv::FaceDetectorYN::create(impl_->yunet_file.string(), "", cv::Size(kYunetW, kYunetH),
                                             impl_->options.yunet_score_threshold, 0.3f, 100);
  impl->landmarks = impl_->landmarks;
  if (impl_->descriptor) impl->descriptor = impl_->descriptor->Clone();
  return std::unique_ptr<FaceAnalyzer>(new FaceAnalyzer(std::move(impl)));
}

const VisionOptions& FaceAnalyzer::options() const { return impl_->options; }
std::string FaceAnalyzer::detector_name() const { return impl_->detector_name; }

Result<std::vector<cv::Rect>> FaceAnalyzer::Impl::DetectHog(const cv::Mat& bgr) {
  const int longer = std::max(bgr.cols, bgr.rows);
  double scale = 1.0;
  if (longer > options.max_detect_side) {
    scale = double(options.max_detect_side) / longer;
  } else {
    for (int up = 0; up < options.max_upsample && longer * scale < options.min_detect_side; ++up) scale *= 2.0;
  }
  cv::Mat work = bgr;
  if (scale != 1.0) cv::resize(bgr, work, cv::Size(), scale, scale, scale < 1.0 ? cv::INTER_AREA : cv::INTER_LINEAR);
  // One scan at the lower of the two thresholds. Non-maximum suppression keeps boxes in score
  // order, so the boxes scoring hog_threshold are exactly those a scan at hog_threshold returns.
  std::vector<dlib::rect_detection> found;
  dlib::cv_image<dlib::bgr_pixel> img(work);
  hog(img, found, std::min(options.hog_threshold, options.hog_retry_threshold));
  const bool confident = std::any_of(found.begin(), found.end(),
                                     [&](const dlib::rect_detection& d) { return d.detection_confidence >= options.hog_threshold; });
  const double keep = confident ? options.hog_threshold : options.hog_retry_threshold;
  std::vector<cv::Rect> out;
  for (const auto& d : found) {
    if (d.detection_confidence < keep) continue;
    const auto& r = d.rect;
    cv::Rect box(int(std::lround(r.left() / scale)), int(std::lround(r.top() / scale)),
                 int(std::lround(r.width() / scale)), int(std::lround(r.height() / scale)));
    box &= cv::Rect(0, 0, bgr.cols, bgr.rows);
    if (box.area() > 0) out.push_back(box);
  }
  return out;
}

Result<std::vector<cv::Rect>> FaceAnalyzer::Impl::DetectYunet(const cv::Mat& bgr) {
  // Letterbox into the model's fixed input.
  const double scale = std::min(double(kYunetW) / bgr.cols, double(kYunetH) / bgr.rows);
  cv::Mat resized;
  cv::resize(bgr, resized, cv::Size(std::max(1, int(bgr.cols * scale)), std::max(1, int(bgr.rows * scale))), 0, 0,
             scale < 1.0 ? cv::INTER_AREA : cv::INTER_LINEAR);
  cv::Mat canvas(kYunetH, kYunetW, CV_8UC3, cv::Scalar(0, 0, 0));
  resized.copyTo(canvas(cv::Rect(0, 0, resized.cols, resized.rows)));
  cv::Mat faces;
  yunet->detect(canvas, faces);
  std::vector<cv::Rect> out;
  for (int i = 0; i < faces.rows; ++i) {
    const float* f = faces.ptr<float>(i);
    cv::Rect box(int(std::lround(f[0] / scale)), int(std::lround(f[1] / scale)), int(std::lround(f[2] / scale)),
                 int(std::lround(f[3] / scale)));
    box &= cv::Rect(0, 0, bgr.cols, bgr.rows);
    if (box.area() > 0) out.push_back(box);
  }
  return out;
}

Result<std::vector<cv::Rect>> FaceAnalyzer::Detect(const cv::Mat& bgr) {
  VERIDGE_RETURN_IF_ERROR(CheckImage(bgr));
  Result<std::vector<cv::Rect>> faces = std::vector<cv::Rect>{};
  try {
    faces = impl_->yunet ? impl_->DetectYunet(bgr) : impl_->DetectHog(bgr);
  } catch (const std::exception& e) {
    return Status::Internal("detect_failed", std::string("face detector failed: ") + e.what());
  }
  if (faces.ok())
    std::stable_sort(faces->begin(), faces->end(), [](const cv::Rect& a, const cv::Rect& b) { return a.area() > b.area(); });
  return faces;
}

Result<Landmarks68> FaceAnalyzer::Landmarks(const cv::Mat& bgr, const cv::Rect& box) {
  VERIDGE_RETURN_IF_ERROR(CheckImage(bgr));
  if (box.width <= 0 || box.height <= 0)
    return Status::InvalidInput("bad_box", "face box is empty");
  try {
    dlib::cv_image<dlib::bgr_pixel> img(bgr);
    const dlib::rectangle r(box.x, box.y, box.x + box.width - 1, box.y + box.height - 1);
    const dlib::full_object_detection shape = (*impl_->landmarks)(img, r);
    if (shape.num_parts() != 68) return Status::Internal("landmarks_failed", "landmark model returned the wrong count");
    Landmarks68 lm;
    for (unsigned long i = 0; i < 68; ++i) lm[i] = cv::Point2f(float(shape.part(i).x()), float(shape.part(i).y()));
    return lm;
  } catch (const std::exception& e) {
    return Status::Internal("landmarks_failed", std::string("landmark model failed: ") + e.what());
  }
}

Result<cv::Mat> FaceAnalyzer::AlignChip(const cv::Mat& bgr, const Landmarks68& landmarks) {
  VERIDGE_RETURN_IF_ERROR(CheckImage(bgr));
  try {
    std::vector<dlib::point> parts;
    parts.reserve(68);
    for (const auto& p : landmarks) parts.emplace_back(long(std::lround(p.x)), long(std::lround(p.y)));
    cv::Rect2f bounds = cv::boundingRect(std::vector<cv::Point2f>(landmarks.begin(), landmarks.end()));
    const dlib::rectangle r(long(bounds.x), long(bounds.y), long(bounds.x + bounds.width), long(bounds.y + bounds.height));
    const dlib::full_object_detection shape(r, parts);
    dlib::cv_image<dlib::bgr_pixel> img(bgr);
    dlib::matrix<dlib::bgr_pixel> chip;
    dlib::extract_image_chip(img, dlib::get_face_chip_details(shape, kChip, kChipPadding), chip);
    cv::Mat out(kChip, kChip, CV_8UC3);
    for (int y = 0; y < kChip; ++y) {
      auto* row = out.ptr<cv::Vec3b>(y);
      for (int x = 0; x < kChip; ++x) row[x] = cv::Vec3b(chip(y, x).blue, chip(y, x).green, chip(y, x).red);
    }
    return out;
  } catch (const std::exception& e) {
    return Status::Internal("align_failed", std::string("chip alignment failed: ") + e.what());
  }
}

namespace {
// dlib's jitter_image() recipe on a 150×150 chip, drawn from rng.
cv::Mat JitterChip(const cv::Mat& chip, cv::RNG& rng) {
  const double angle = rng.uniform(-3.0, 3.0);
  const double zoom = 1.0 / rng.uniform(0.97, 1.0);
  const double dx = rng.uniform(-0.02, 0.02) * chip.cols, dy = rng.uniform(-0.02, 0.02) * chip.rows;
  cv::Mat m = cv::getRotationMatrix2D(cv::Point2f(chip.cols / 2.f, chip.rows / 2.f), angle, zoom);
  m.at<double>(0, 2) += dx;
  m.at<double>(1, 2) += dy;
  cv::Mat out;
  cv::warpAffine(chip, out, m, chip.size(), cv::INTER_LINEAR, cv::BORDER_REFLECT);
  if (rng.uniform(0, 2) == 1) cv::flip(out, out, 1);
  return out;
}
}  // namespace

Result<Descriptor> FaceAnalyzer::Describe(const cv::Mat& chip) {
  if (!impl_->descriptor)
    return Status::InvalidInput("descriptor_not_loaded", "this analyzer was created with load_descriptor = false");
  auto first = impl_->descriptor->Describe(chip);
  if (!first.ok() || impl_->options.jitter <= 1) return first;
  Descriptor mean = *first;
  cv::RNG rng(0x5EED);  // fixed: the same chip always gives the same descriptor
  for (int i = 1; i < impl_->options.jitter; ++i) {
    auto d = impl_->descriptor->Describe(JitterChip(chip, rng));
    if (!d.ok()) return d.status();
    for (size_t k = 0; k < mean.size(); ++k) mean[k] += (*d)[k];
  }
  for (auto& v : mean) v /= float(impl_->options.jitter);
  return mean;
}

QualityReport FaceAnalyzer::Quality(const cv::Rect& box, const Landmarks68& landmarks, const cv::Mat& chip,
                                    int face_count) const {
  return ComputeQuality(impl_->options.quality, box, landmarks, chip, face_count);
}

Result<FaceAnalysis> FaceAnalyzer::AnalyzeSingleFace(const cv::Mat& bgr) {
  auto faces = Detect(bgr);
  if (!faces.ok()) return faces.status();
  if (faces->empty())
    return Status::InvalidInput("no_face", "no face found in the image: use a well-lit, frontal photo of one face");
  if (faces->size() > 1 && (*faces)[1].width >= impl_->options.secondary_face_ratio * (*faces)[0].width)
    return Status::InvalidInput("multiple_faces", std::to_string(faces->size()) +
                                                      " faces found: the photo must show only the applicant");
  FaceAnalysis a;
  a.box = (*faces)[0];
  auto lm = Landmarks(bgr, a.box);
  if (!lm.ok()) return lm.status();
  a.landmarks = *lm;
  auto chip = AlignChip(bgr, a.landmarks);
  if (!chip.ok()) return chip.status();
  a.chip = *chip;
  if (impl_->descriptor) {
    auto d = Describe(a.chip);
    if (!d.ok()) return d.status();
    a.descriptor = *d;
  }
  a.quality = Quality(a.box, a.landmarks, a.chip, static_cast<int>(faces->size()));
  return a;
}

}  // namespace veridge::vision
