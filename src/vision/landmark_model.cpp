#include "vision/internal/landmark_model.h"

#include <cstdint>
#include <cstring>
#include <limits>
#include <sstream>
#include <vector>

namespace veridge::vision::internal {

namespace {

constexpr char kMagic[8] = {'V', 'R', 'D', 'G', 'S', 'P', '0', '1'};
// Bounds on the header, far above dlib's 68-point model (136, 15, 500, 15, 500), so a damaged
// header cannot ask for absurd allocations.
constexpr std::uint32_t kMaxCoords = 1024, kMaxCascades = 64, kMaxTrees = 4096, kMaxSplits = 1023,
                        kMaxFeatures = 10000;

using Forests = std::vector<std::vector<dlib::impl::regression_tree>>;
using Points = std::vector<std::vector<dlib::vector<float, 2>>>;

// The parts of a shape_predictor in dlib's serialisation order (its members are private).
struct DlibParts {
  dlib::matrix<float, 0, 1> initial_shape;
  Forests forests;
  std::vector<std::vector<unsigned long>> anchor_idx;
  Points deltas;
};

class Writer {
 public:
  void U32(std::uint32_t v) { Raw(&v, 4); }
  void F32(float v) { Raw(&v, 4); }
  std::string Take() { return std::move(out_); }

 private:
  void Raw(const void* p, size_t n) { out_.append(static_cast<const char*>(p), n); }  // x86-64: little-endian
  std::string out_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool U32(std::uint32_t& v) { return Raw(&v, 4); }
  bool F32(float& v) { return Raw(&v, 4); }
  bool Skip(size_t n) {
    if (in_.size() - pos_ < n) return false;
    pos_ += n;
    return true;
  }
  size_t remaining() const { return in_.size() - pos_; }

 private:
  bool Raw(void* p, size_t n) {
    if (in_.size() - pos_ < n) return false;
    std::memcpy(p, in_.data() + pos_, n);
    pos_ += n;
    return true;
  }
  std::string_view in_;
  size_t pos_ = 0;
};

Status LoadFailed(const std::string& what) {
  return Status::Corruption("model_load_failed", what + ": run tools/fetch-models.sh to rebuild the model directory");
}

dlib::vector<float, 2> Location(const dlib::matrix<float, 0, 1>& shape, unsigned long idx) {
  return dlib::vector<float, 2>(shape(idx * 2), shape(idx * 2 + 1));
}

// A coordinate p with p − anchor == delta exactly in float arithmetic (what dlib's constructor
// computes), found among the floats next to anchor + delta.
bool ExactCoordinate(float anchor, float delta, float& p) {
  p = anchor + delta;
  for (int step = 0; step < 64 && p - anchor != delta; ++step)
    p = std::nextafter(p, (p - anchor < delta) ? std::numeric_limits<float>::max() : -std::numeric_limits<float>::max());
  return p - anchor == delta;
}

Result<std::shared_ptr<const dlib::shape_predictor>> LoadFlat(std::string_view bytes, const std::filesystem::path& origin) {
  Reader r(bytes);
  if (!r.Skip(sizeof kMagic)) return LoadFailed(origin.string() + " is truncated");
  std::uint32_t coords, cascades, trees, splits, features;
  if (!r.U32(coords) || !r.U32(cascades) || !r.U32(trees) || !r.U32(splits) || !r.U32(features))
    return LoadFailed(origin.string() + " is truncated");
  if (coords == 0 || coords % 2 != 0 || coords > kMaxCoords || cascades == 0 || cascades > kMaxCascades || trees == 0 ||
      trees > kMaxTrees || splits == 0 || splits > kMaxSplits || ((splits + 1) & splits) != 0 || features == 0 ||
      features > kMaxFeatures)
    return LoadFailed(origin.string() + " has an impossible header");
  const std::uint64_t expected =
      4ull * (coords + std::uint64_t(cascades) * features * 2 +
              std::uint64_t(cascades) * trees * (3ull * splits + (splits + 1ull) * coords));
  if (r.remaining() != expected) return LoadFailed(origin.string() + " does not have the size its header announces");

  dlib::matrix<float, 0, 1> initial_shape(coords);
  for (std::uint32_t i = 0; i < coords; ++i) r.F32(initial_shape(i));
  Points pixels(cascades, std::vector<dlib::vector<float, 2>>(features));
  for (auto& cascade : pixels)
    for (auto& p : cascade) {
      float x, y;
      r.F32(x), r.F32(y);
      p = dlib::vector<float, 2>(x, y);
    }
  Forests forests(cascades, std::vector<dlib::impl::regression_tree>(trees));
  for (auto& forest : forests)
    for (auto& tree : forest) {
      tree.splits.resize(splits);
      for (auto& s : tree.splits) {
        std::uint32_t a, b;
        r.U32(a), r.U32(b), r.F32(s.thresh);
        if (a >= features || b >= features) return LoadFailed(origin.string() + " has a feature index out of range");
        s.idx1 = a, s.idx2 = b;
      }
      tree.leaf_values.assign(splits + 1, dlib::matrix<float, 0, 1>(coords));
      for (auto& leaf : tree.leaf_values)
        for (std::uint32_t i = 0; i < coords; ++i) r.F32(leaf(i));
    }
  return std::make_shared<const dlib::shape_predictor>(initial_shape, forests, pixels);
}

Result<std::shared_ptr<const dlib::shape_predictor>> LoadDlib(std::string_view bytes, const std::filesystem::path& origin) {
  try {
    auto sp = std::make_shared<dlib::shape_predictor>();
    std::istringstream in{std::string(bytes)};
    dlib::deserialize(*sp, in);
    return std::shared_ptr<const dlib::shape_predictor>(std::move(sp));
  } catch (const std::exception& e) {
    return LoadFailed("landmark model " + origin.string() + " does not load (" + e.what() + ")");
  }
}

}  // namespace

Result<std::string> FlattenShapePredictor(std::string_view dlib_bytes) {
  DlibParts parts;
  try {
    std::istringstream in{std::string(dlib_bytes)};
    int version = 0;
    dlib::deserialize(version, in);
    if (version != 1) return LoadFailed("not a version-1 dlib shape predictor");
    dlib::deserialize(parts.initial_shape, in);
    dlib::deserialize(parts.forests, in);
    dlib::deserialize(parts.anchor_idx, in);
    dlib::deserialize(parts.deltas, in);
  } catch (const std::exception& e) {
    return LoadFailed(std::string("not a dlib shape predictor (") + e.what() + ")");
  }
  const auto cascades = parts.forests.size();
  if (cascades == 0 || parts.anchor_idx.size() != cascades || parts.deltas.size() != cascades ||
      parts.forests[0].empty() || parts.forests[0][0].splits.empty())
    return LoadFailed("shape predictor with no cascades or inconsistent parts");
  const auto coords = static_cast<std::uint32_t>(parts.initial_shape.size());
  const auto trees = static_cast<std::uint32_t>(parts.forests[0].size());
  const auto splits = static_cast<std::uint32_t>(parts.forests[0][0].splits.size());
  const auto features = static_cast<std::uint32_t>(parts.deltas[0].size());

  Writer body;
  for (std::uint32_t v : {coords, std::uint32_t(cascades), trees, splits, features}) body.U32(v);
  for (long i = 0; i < parts.initial_shape.size(); ++i) body.F32(parts.initial_shape(i));
  for (size_t c = 0; c < cascades; ++c) {
    if (parts.deltas[c].size() != features || parts.anchor_idx[c].size() != features)
      return LoadFailed("cascades use different numbers of feature pixels");
    for (size_t i = 0; i < features; ++i) {
      const auto anchor = Location(parts.initial_shape, parts.anchor_idx[c][i]);
      float x, y;
      if (!ExactCoordinate(anchor.x(), parts.deltas[c][i].x(), x) || !ExactCoordinate(anchor.y(), parts.deltas[c][i].y(), y))
        return Status::Internal("conversion_inexact", "a feature pixel has no exact float coordinate");
      body.F32(x), body.F32(y);
    }
  }
  for (const auto& forest : parts.forests) {
    if (forest.size() != trees) return LoadFailed("cascades have different numbers of trees");
    for (const auto& tree : forest) {
      if (tree.splits.size() != splits || tree.leaf_values.size() != splits + 1)
        return LoadFailed("trees of different depths");
      for (const auto& s : tree.splits) body.U32(std::uint32_t(s.idx1)), body.U32(std::uint32_t(s.idx2)), body.F32(s.thresh);
      for (const auto& leaf : tree.leaf_values) {
        if (leaf.size() != coords) return LoadFailed("a leaf of the wrong size");
        for (long i = 0; i < leaf.size(); ++i) body.F32(leaf(i));
      }
    }
  }
  std::string flat = std::string(kMagic, sizeof kMagic) + body.Take();

  // The proof: the flat bytes rebuild a predictor that dlib serialises to exactly the input.
  auto rebuilt = LoadFlat(flat, "the converted landmark model");
  if (!rebuilt.ok()) return rebuilt.status();
  std::ostringstream again;
  dlib::serialize(**rebuilt, again);
  if (again.str() != dlib_bytes)
    return Status::Internal("conversion_inexact",
                            "the flat landmark model does not reproduce dlib's file byte for byte; keep using the .dat");
  return flat;
}

Result<std::shared_ptr<const dlib::shape_predictor>> LoadShapePredictor(std::string_view bytes,
                                                                       const std::filesystem::path& origin) {
  if (bytes.size() >= sizeof kMagic && std::memcmp(bytes.data(), kMagic, sizeof kMagic) == 0) return LoadFlat(bytes, origin);
  return LoadDlib(bytes, origin);
}

}  // namespace veridge::vision::internal
