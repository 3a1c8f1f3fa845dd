// vision/vision.h — the face pipeline: bounded image decode, face detection, 68 landmarks, chip
// alignment, the 128-D dlib ResNet descriptor, quality measures and 1:1 comparison.
//
// Contract
//  * Stages are separate public calls (Detect → Landmarks → AlignChip → Describe, plus Quality) so a
//    caller can time each one, reuse a stage (liveness needs landmarks without descriptors), or swap
//    the detector. AnalyzeSingleFace() chains them for the common "one face per image" case.
//  * Images are cv::Mat, 8-bit BGR (CV_8UC3), as DecodeImage*() returns them. Any other type is
//    refused with code "bad_image_type" (a programming error on the caller's side, reported, not
//    asserted).
//  * Models are loaded once, by FaceAnalyzer::Create(), from VisionOptions::model_dir. Where
//    tools/fetch-models.sh made fast-loading forms (the flat landmark model, the serialised HOG
//    detector) they are used, else dlib's own files (same results, ~1 s slower to start). Every model
//    file is checked against the sha256 recorded in models/manifest.json (compiled in): a missing
//    file is "model_missing" (Kind kNotFound), a different file "model_checksum_mismatch"
//    (kCorruption); both messages say to run tools/fetch-models.sh.
//  * Errors never throw: dlib and OpenCV exceptions are caught inside this module and translated.
//  * Thread-safety: the free functions are thread-safe (pure). A FaceAnalyzer is NOT safe for
//    concurrent calls (dlib's detector and network keep scratch buffers); use one per thread —
//    Clone() makes another cheaply, sharing the read-only landmark model.
//  * Privacy: descriptors and images are biometric data; this module never logs them.
#pragma once

#include <opencv2/core.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace veridge::vision {

// ---------------------------------------------------------------------------------------------
// Options (defaults documented; app/ fills these from the [models]/[face] config keys).

struct DecodeLimits {
  std::uint64_t max_file_bytes = 30ull << 20;  // 30 MB: refused before reading further
  std::uint64_t max_pixels = 40'000'000;       // 40 MP: refused from the header, before decoding
  int min_side = 16;                           // smaller images cannot hold a usable face
};

struct QualityThresholds {
  int min_face_px = 48;            // face box width below this → "face_too_small" (dlib chips
                                   // upscale such faces >3×, descriptors degrade)
  double min_sharpness = 40.0;     // variance of the Laplacian on the aligned grey chip → "blurred"
  double min_brightness = 50.0;    // mean grey level of the chip's face area (0..255) → "too_dark"
  double max_brightness = 210.0;   // → "too_bright"
  double max_yaw_ratio = 0.35;     // |YawRatio()| above this (about 30° of yaw) → "head_turned"
  double min_eye_aspect = 0.18;    // mean eye aspect ratio (Soukupová & Čech) → "eyes_closed"
};

// The values VisionOptions::descriptor_engine accepts (the CLI's --engine offers the same).
inline constexpr std::array<std::string_view, 3> kDescriptorEngines = {"onednn", "opencv", "dlib"};
inline bool IsDescriptorEngine(std::string_view name) {
  return std::find(kDescriptorEngines.begin(), kDescriptorEngines.end(), name) != kDescriptorEngines.end();
}

struct VisionOptions {
  std::filesystem::path model_dir;   // holds the files named in models/manifest.json
  // "hog": dlib's HOG frontal detector (built in, the default).
  // "yunet": OpenCV FaceDetectorYN with the YuNet model from model_dir (model_missing if absent).
  // "auto": YuNet when its file is in model_dir, else HOG.
  std::string detector = "hog";
  DecodeLimits limits;
  // Detection runs on a resized copy: images whose longer side is below min_detect_side are
  // upsampled ×2 (at most max_upsample times) so small faces (LFW's ~65 px) reach the HOG
  // window (80 px); images whose longer side exceeds max_detect_side are downscaled first, so a
  // 6 MP photo costs what a 1280 px one does. Landmarks always use the full-resolution image.
  int min_detect_side = 300;
  int max_upsample = 2;
  int max_detect_side = 1280;
  double hog_threshold = 0.0;        // dlib's adjust_threshold; higher → fewer, surer detections
  // When no face scores hog_threshold, faces scoring at least this are used instead (same scan,
  // no extra cost): recovers turned or low-contrast faces (LFW: 31 of 4992 images without a face
  // → 5) without adding low-confidence bystanders next to a confident face. Set it equal to
  // hog_threshold to disable.
  double hog_retry_threshold = -0.5;
  float yunet_score_threshold = 0.7f;
  // AnalyzeSingleFace(): a second face at least this fraction of the largest face's width makes
  // the image ambiguous ("multiple_faces" error); a smaller one (a bystander far behind) only adds
  // the "multiple_faces" quality reason and the largest face is used.
  double secondary_face_ratio = 0.5;
  bool load_descriptor = true;       // false: skip the ResNet (landmark-only users, e.g. liveness)
  // Which engine runs the ResNet, all three from the same dlib model file: "onednn" (oneDNN's
  // JIT convolutions, one core per call; ~2.5× dlib's speed), "opencv" (a cv::dnn graph, ~1.5×)
  // or "dlib" (dlib's own forward pass, the reference). They give the same descriptor within
  // 1e-3 per component (tests/vision).
  std::string descriptor_engine = "onednn";  // one of kDescriptorEngines
  // Describe() averages the descriptors of this many passes: the chip itself, then copies jittered
  // the way dlib's jitter_image() does (rotation ±3°, zoom 0–3 %, shift ±2 %, mirrored half the
  // time; a fixed seed, so the same chip always gives the same descriptor). 1 = one pass. dlib
  // reports +0.25 % LFW accuracy from jittering; it costs one descriptor time per pass (0..100).
  int jitter = 1;
  bool verify_checksums = true;      // sha256 of each model file at load (~0.1 s for the ~90 MB loaded)
  QualityThresholds quality;
};

// ---------------------------------------------------------------------------------------------
// Decode: capture::DecodeStillImage (capture/still_image.h: the format allow-list, sizes from the
// header before any allocation, every libjpeg warning an error) plus the minimum side.
// Codes: file_not_found, empty_file, file_too_large, unknown_image_format, unsupported_image_format
// (TIFF, GIF, ...), image_too_large (header dims > max_pixels), image_too_small, truncated_image
// (cut short, or cut and given a new end marker), corrupt_image (damaged JPEG data), decode_failed.
// Output: CV_8UC3 BGR. EXIF orientation (JPEG) is applied; grey is expanded; alpha is composited
// over white; 16-bit is scaled to 8-bit.

Result<cv::Mat> DecodeImageFile(const std::filesystem::path& path, const DecodeLimits& limits = {});
Result<cv::Mat> DecodeImageBytes(std::string_view bytes, const DecodeLimits& limits = {});

// ---------------------------------------------------------------------------------------------
// Results of the stages.

using Landmarks68 = std::array<cv::Point2f, 68>;     // iBUG 300-W order (0–16 jaw, 36–47 eyes ...)
using Descriptor = std::array<float, 128>;

struct QualityReport {
  int face_px = 0;              // face box width in pixels
  double sharpness = 0.0;       // variance of the Laplacian on the aligned chip
  double brightness = 0.0;      // mean grey level of the chip's centre
  double yaw_ratio = 0.0;       // signed; 0 = frontal
  double eye_aspect = 0.0;      // mean of both eyes
  int face_count = 1;           // faces the detector found in the image
  // Reason codes, in this order when present: face_too_small, blurred, too_dark, too_bright,
  // head_turned, eyes_closed, multiple_faces. Empty = good. Policy (not vision) decides which
  // are fatal.
  std::vector<std::string> reasons;
  bool ok() const { return reasons.empty(); }
};

struct FaceAnalysis {
  cv::Rect box;                 // in image coordinates
  Landmarks68 landmarks{};
  cv::Mat chip;                 // 150×150 BGR aligned chip
  Descriptor descriptor{};      // valid when the analyzer loaded the descriptor model
  QualityReport quality;
};

struct Comparison {
  double distance = 0.0;        // L2 between descriptors
  double similarity = 0.0;      // 1 − distance/(2·threshold) clamped to [0,1]: 1 identical,
                                // 0.5 at the threshold, 0 at twice it. Presentation only;
                                // decisions use distance.
  double threshold = 0.6;
  bool match = false;           // distance < threshold
};

// ---------------------------------------------------------------------------------------------

class FaceAnalyzer {
 public:
  // Loads the detector, the landmark model and (unless options.load_descriptor is false) the
  // descriptor network. Codes: model_missing, model_checksum_mismatch, model_load_failed,
  // bad_option.
  static Result<std::unique_ptr<FaceAnalyzer>> Create(const VisionOptions& options);
  ~FaceAnalyzer();
  FaceAnalyzer(const FaceAnalyzer&) = delete;
  FaceAnalyzer& operator=(const FaceAnalyzer&) = delete;

  // Another analyzer for another thread (shares the read-only models; no file I/O).
  std::unique_ptr<FaceAnalyzer> Clone() const;

  const VisionOptions& options() const;
  std::string detector_name() const;   // "hog" or "yunet" (what "auto" resolved to)

  // Faces in the image, largest first. Empty vector = no face (not an error).
  Result<std::vector<cv::Rect>> Detect(const cv::Mat& bgr);
  // The 68 landmarks of the face in `box` (a Detect() result, or any box around a face).
  Result<Landmarks68> Landmarks(const cv::Mat& bgr, const cv::Rect& box);
  // The 150×150 aligned chip (dlib get_face_chip_details(shape, 150, 0.25)).
  Result<cv::Mat> AlignChip(const cv::Mat& bgr, const Landmarks68& landmarks);
  // The 128-D descriptor of an aligned chip. Code: descriptor_not_loaded if disabled.
  Result<Descriptor> Describe(const cv::Mat& chip);

  // Quality of one face: box and landmarks from the stages above, the chip from AlignChip(),
  // face_count from Detect(). Pure computation; thread-safe in itself.
  QualityReport Quality(const cv::Rect& box, const Landmarks68& landmarks, const cv::Mat& chip,
                        int face_count) const;

  // Detect → exactly one face (codes no_face, multiple_faces) → landmarks → chip → descriptor
  // (when loaded) → quality.
  Result<FaceAnalysis> AnalyzeSingleFace(const cv::Mat& bgr);

 private:
  struct Impl;
  explicit FaceAnalyzer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// ---------------------------------------------------------------------------------------------
// Pure helpers (thread-safe).

double Distance(const Descriptor& a, const Descriptor& b);
Comparison Compare(const Descriptor& a, const Descriptor& b, double threshold = 0.6);
// The same rules for a distance already computed (e.g. the median over several frames), so every
// command reports similarity and match alike.
Comparison CompareDistance(double distance, double threshold = 0.6);

// Eye aspect ratio of one eye (6 landmarks): image_left_eye → points 36–41 (the subject's right eye),
// else 42–47. ≈0.3 open, < 0.2 closed. Exposed for blink detection.
double EyeAspectRatio(const Landmarks68& lm, bool image_left_eye);
// Mean of both eyes.
double EyeAspectRatio(const Landmarks68& lm);
// Signed position of the nose tip (30) along the jaw line 0→16, relative to its midpoint, over its
// length: 0 frontal, positive when the nose moves towards point 16 (image right). Roll-invariant.
// Exposed for turn challenges.
double YawRatio(const Landmarks68& lm);

}  // namespace veridge::vision
