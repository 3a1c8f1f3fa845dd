// vision/models.h — the model files Veridge loads and their checksums.
//
// Contract
//  * The table comes from models/manifest.json, compiled in at configure time, so a model file
//    swapped on disk is detected even when the manifest copy next to it is swapped too.
//  * ResolveModel(dir, file) returns dir/file after checking that it exists ("model_missing",
//    Kind kNotFound) and, when verify is true, that its sha256 matches the manifest
//    ("model_checksum_mismatch", Kind kCorruption; "model_unknown" if the file is not in the
//    manifest). Messages name the file and say to run tools/fetch-models.sh.
//  * Thread-safe (no shared mutable state). Reads the whole file when verifying (bounded by the
//    manifest's size for that file).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace veridge::vision {

struct ModelEntry {
  std::string name;     // "dlib_face_recognition_resnet_model_v1", ...
  std::string file;     // file name inside the model directory
  std::string sha256;   // lower-case hex
  std::string source;   // "npm", "apt", "shared"
  std::string licence;
};

// Every entry of models/manifest.json.
const std::vector<ModelEntry>& ManifestModels();

// No model file is larger than this; a bigger one is not a model (bounds Sha256OfFile's read).
inline constexpr std::uint64_t kMaxModelFileBytes = 1ull << 30;

// Lower-case hex sha256 of a regular file of at most kMaxModelFileBytes, read through InputFile
// (never blocks on a FIFO). Codes: common/files.h (file_not_found, not_a_file, file_too_large, ...).
Result<std::string> Sha256OfFile(const std::filesystem::path& path);

Result<std::filesystem::path> ResolveModel(const std::filesystem::path& dir, std::string_view file,
                                           bool verify = true);

// Reads dir/file whole (at most max_bytes) and checks the sha256 of exactly those bytes, so what
// is parsed is what was verified (no swap between check and load). Same codes as ResolveModel,
// plus model_too_large.
Result<std::string> ReadModel(const std::filesystem::path& dir, std::string_view file, bool verify = true,
                              std::uint64_t max_bytes = 256ull << 20);

// File names used by this module (as in the manifest).
inline constexpr std::string_view kDescriptorModelFile = "dlib_face_recognition_resnet_model_v1.dat";
inline constexpr std::string_view kLandmarkModelFile = "shape_predictor_68_face_landmarks.dat";
// The same model in the flat form (vision/internal/landmark_model.h), made by tools/fetch-models.sh:
// takes ~0.6 s off every cold start (measured on `veridge face compare`). Used when present, else the .dat.
inline constexpr std::string_view kLandmarkFlatModelFile = "shape_predictor_68_face_landmarks.flat";
// dlib's built-in HOG frontal face detector, serialised by tools/fetch-models.sh: dlib builds it
// by decompressing a string compiled into libdlib (~0.4 s per process here); reading this file takes
// ~10 ms. Used when present, else dlib::get_frontal_face_detector().
inline constexpr std::string_view kHogDetectorFile = "dlib_frontal_face_detector.dat";
inline constexpr std::string_view kYunetModelFile = "yunet_task1_e582fab08_fixed1x3x120x160.onnx";

}  // namespace veridge::vision
