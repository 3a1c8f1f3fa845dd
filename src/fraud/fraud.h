// fraud/fraud.h — 1:N face search: the template index that the watchlist, duplicate-identity and
// history-mismatch checks (issue 15) search.
//
// Contract
//  * A template is the vision/ face descriptor: exactly kTemplateDims (128) finite floats, compared
//    by Euclidean (L2) distance, the metric and scale of vision's 1:1 compare (same person ≈ 0.35–
//    0.45, different people ≈ 0.7+). Anything else is refused (bad_template), never indexed.
//  * FlatIndex is an EXACT search: every query is compared with every template (a flat scan), so
//    its top-k is the true top-k (recall 1 by construction). The choice of an exact scan over an
//    approximate index was made by measurement (tools/bench-fraud, docs/fraud.md): at the list
//    sizes one appliance holds it meets the latency target on one core without FAISS.
//  * Results: at most k hits, sorted by ascending distance, ties broken by ascending id;
//    `max_distance` (inclusive) drops hits farther than the threshold before k is applied.
//    Distances are the L2 distance (the square root of the sum of squared differences), in float.
//  * Ids are the caller's (a store row id, a watchlist entry id): unique within an index. Adding an
//    id that is present replaces its template. Remove() forgets it (retention purges call it).
//  * Memory: 512 bytes per template, contiguous; templates live only in memory here. The index is
//    built from, and kept in step with, the encrypted store by its owner; this module never writes
//    a template to disk, to a log or into an error message.
//  * Kernel: AVX2+FMA when the CPU has it (checked at run time: the product is built for baseline
//    x86-64), else portable code the compiler vectorises (SSE2). Both give the same order; distances
//    agree to float rounding (~1e-6). Kernel() names the one in use.
//  * BuildFromStore(): the index at start, from the encrypted store's descriptors of one kind
//    (store::Store::ListDescriptors, pages of 1000; each blob is 128 little-endian floats as
//    verify/ writes them). The index id is the descriptor's row id. A blob of another size or with
//    a non-finite value fails the whole build (bad_template, naming the row id — never its bytes):
//    an index missing templates would silently miss fraud. Page copies are zeroed after use.
//  * Thread-safety: Search is const and may run on many threads at once; Add/Remove/Clear need the
//    caller's exclusive lock (the owner holds a shared_mutex). No I/O, no exceptions escape.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "store/store.h"

namespace veridge::fraud {

inline constexpr std::size_t kTemplateDims = 128;

struct Hit {
  std::int64_t id = 0;
  float distance = 0;  // L2
};

// Checks that `tmpl` can be indexed: 128 finite values. Code bad_template.
Status CheckTemplate(std::span<const float> tmpl);

class FlatIndex {
 public:
  FlatIndex() = default;

  Status Add(std::int64_t id, std::span<const float> tmpl);
  bool Remove(std::int64_t id);  // false when the id is not indexed
  void Clear();
  void Reserve(std::size_t templates);
  std::size_t size() const { return ids_.size(); }
  bool Contains(std::int64_t id) const { return slot_.count(id) != 0; }

  // The k nearest templates to `query` within max_distance. Code bad_template for a bad query;
  // k <= 0 gives no hits.
  Result<std::vector<Hit>> Search(std::span<const float> query, int k,
                                  float max_distance = std::numeric_limits<float>::infinity()) const;

  // "avx2+fma" or "portable".
  static const char* Kernel();

 private:
  std::vector<float> data_;             // size() * kTemplateDims, row i = template of ids_[i]
  std::vector<std::int64_t> ids_;
  std::unordered_map<std::int64_t, std::size_t> slot_;  // id -> row
};

// Adds every stored descriptor of `kind` to `index`; returns how many were added.
Result<std::size_t> BuildFromStore(store::Store& store, const std::string& kind, FlatIndex& index);

namespace detail {
// Squared L2 distances from `query` to each of the `rows` templates at `data` (row-major, 128
// floats each) into out[0..rows). Exposed so tests can check both kernels against each other.
void SquaredDistancesPortable(const float* query, const float* data, std::size_t rows, float* out);
void SquaredDistancesAvx2(const float* query, const float* data, std::size_t rows, float* out);  // only if CPU has AVX2+FMA
bool CpuHasAvx2Fma();
}  // namespace detail

}  // namespace veridge::fraud
