// vision/internal/landmark_model.h — dlib's 68-point shape predictor in a flat, fast-loading form.
//
// Why: dlib's own file (Debian libdlib-data, 99.7 MB) stores every float in a portable variable-
// length encoding; deserialising it costs ~0.6 s of `veridge face compare`'s cold start here. The
// flat form holds the same numbers as raw little-endian 32-bit values (66.7 MB) and loads in tens
// of milliseconds.
//
// Exactness: the flat form stores the feature pixels as coordinates (what dlib's public
// constructor takes); dlib re-derives its anchor/delta encoding from them. FlattenShapePredictor()
// picks each coordinate so that re-derivation gives back the stored deltas bit for bit, builds the
// predictor from the flat bytes, re-serialises it in dlib's format and refuses to return unless
// that equals the input byte for byte. So a flat file is, provably, the same model.
//
// Layout (all little-endian uint32/float32):
//   "VRDGSP01"  coords cascades trees splits features
//   initial_shape[coords]
//   per cascade: pixel coordinates [features][2]
//   per cascade, per tree: {idx1, idx2, thresh}[splits], leaf values [splits + 1][coords]
#pragma once

#include <dlib/image_processing/shape_predictor.h>

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

namespace veridge::vision::internal {

// dlib's serialised shape_predictor → the flat form. Codes: model_load_failed (not a dlib shape
// predictor, or a layout the flat form cannot hold), conversion_inexact (the round trip differs).
Result<std::string> FlattenShapePredictor(std::string_view dlib_bytes);

// Either form (recognised by its first bytes) → the predictor. origin names the file in messages.
// Code: model_load_failed.
Result<std::shared_ptr<const dlib::shape_predictor>> LoadShapePredictor(std::string_view bytes,
                                                                       const std::filesystem::path& origin);

}  // namespace veridge::vision::internal
