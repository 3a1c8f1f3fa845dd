#include "fraud/fraud.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define VERIDGE_FRAUD_X86 1
#endif

namespace veridge::fraud {

Status CheckTemplate(std::span<const float> tmpl) {
  if (tmpl.size() != kTemplateDims)
    return Status::InvalidInput("bad_template", "a face template has " + std::to_string(kTemplateDims) + " values, this one has " +
                                                    std::to_string(tmpl.size()));
  for (float v : tmpl)
    if (!std::isfinite(v)) return Status::InvalidInput("bad_template", "a face template holds a value that is not a finite number");
  return Status::Ok();
}

namespace detail {

void SquaredDistancesPortable(const float* query, const float* data, std::size_t rows, float* out) {
  // 16 independent lanes: the compiler turns the inner loop into SIMD adds without needing
  // -ffast-math (no reassociation of one sum), and the final fold is fixed, so results are
  // deterministic.
  constexpr std::size_t kLanes = 16;
  for (std::size_t r = 0; r < rows; ++r) {
    const float* row = data + r * kTemplateDims;
    float acc[kLanes] = {};
    for (std::size_t i = 0; i < kTemplateDims; i += kLanes)
      for (std::size_t j = 0; j < kLanes; ++j) {
        const float d = row[i + j] - query[i + j];
        acc[j] += d * d;
      }
    float sum = 0;
    for (std::size_t j = 0; j < kLanes; ++j) sum += acc[j];
    out[r] = sum;
  }
}

#ifdef VERIDGE_FRAUD_X86
__attribute__((target("avx2,fma"))) void SquaredDistancesAvx2(const float* query, const float* data, std::size_t rows,
                                                               float* out) {
  __m256 q[kTemplateDims / 8];
  for (std::size_t i = 0; i < kTemplateDims / 8; ++i) q[i] = _mm256_loadu_ps(query + 8 * i);
  for (std::size_t r = 0; r < rows; ++r) {
    const float* row = data + r * kTemplateDims;
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
    for (std::size_t i = 0; i < kTemplateDims / 8; i += 4) {
      __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(row + 8 * i), q[i]);
      __m256 d1 = _mm256_sub_ps(_mm256_loadu_ps(row + 8 * i + 8), q[i + 1]);
      __m256 d2 = _mm256_sub_ps(_mm256_loadu_ps(row + 8 * i + 16), q[i + 2]);
      __m256 d3 = _mm256_sub_ps(_mm256_loadu_ps(row + 8 * i + 24), q[i + 3]);
      a0 = _mm256_fmadd_ps(d0, d0, a0);
      a1 = _mm256_fmadd_ps(d1, d1, a1);
      a2 = _mm256_fmadd_ps(d2, d2, a2);
      a3 = _mm256_fmadd_ps(d3, d3, a3);
    }
    __m256 s = _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3));
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    h = _mm_add_ss(h, _mm_shuffle_ps(h, h, 1));
    out[r] = _mm_cvtss_f32(h);
  }
}

bool CpuHasAvx2Fma() {
  static const bool has = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return has;
}
#else
void SquaredDistancesAvx2(const float* query, const float* data, std::size_t rows, float* out) {
  SquaredDistancesPortable(query, data, rows, out);
}
bool CpuHasAvx2Fma() { return false; }
#endif

}  // namespace detail

const char* FlatIndex::Kernel() { return detail::CpuHasAvx2Fma() ? "avx2+fma" : "portable"; }

Status FlatIndex::Add(std::int64_t id, std::span<const float> tmpl) {
  VERIDGE_RETURN_IF_ERROR(CheckTemplate(tmpl));
  if (auto it = slot_.find(id); it != slot_.end()) {
    std::copy(tmpl.begin(), tmpl.end(), data_.begin() + static_cast<std::ptrdiff_t>(it->second * kTemplateDims));
    return Status::Ok();
  }
  slot_.emplace(id, ids_.size());
  ids_.push_back(id);
  data_.insert(data_.end(), tmpl.begin(), tmpl.end());
  return Status::Ok();
}

bool FlatIndex::Remove(std::int64_t id) {
  auto it = slot_.find(id);
  if (it == slot_.end()) return false;
  const std::size_t row = it->second, last = ids_.size() - 1;
  if (row != last) {  // move the last row into the hole: O(1), order is irrelevant to an exact scan
    std::copy_n(data_.begin() + static_cast<std::ptrdiff_t>(last * kTemplateDims), kTemplateDims,
                data_.begin() + static_cast<std::ptrdiff_t>(row * kTemplateDims));
    ids_[row] = ids_[last];
    slot_[ids_[row]] = row;
  }
  // Overwrite before shrinking: a forgotten template leaves no copy in the buffer's spare capacity.
  std::fill_n(data_.begin() + static_cast<std::ptrdiff_t>(last * kTemplateDims), kTemplateDims, 0.0f);
  data_.resize(last * kTemplateDims);
  ids_.pop_back();
  slot_.erase(it);
  return true;
}

void FlatIndex::Clear() {
  std::fill(data_.begin(), data_.end(), 0.0f);
  data_.clear();
  ids_.clear();
  slot_.clear();
}

void FlatIndex::Reserve(std::size_t templates) {
  data_.reserve(templates * kTemplateDims);
  ids_.reserve(templates);
  slot_.reserve(templates);
}

Result<std::vector<Hit>> FlatIndex::Search(std::span<const float> query, int k, float max_distance) const {
  VERIDGE_RETURN_IF_ERROR(CheckTemplate(query));
  std::vector<Hit> best;
  if (k <= 0 || ids_.empty()) return best;
  const std::size_t keep = std::min<std::size_t>(static_cast<std::size_t>(k), ids_.size());
  const float limit = max_distance >= 0 ? max_distance * max_distance : -1.0f;  // compare squared distances
  auto worse = [](const Hit& a, const Hit& b) { return a.distance < b.distance || (a.distance == b.distance && a.id < b.id); };
  best.reserve(keep + 1);
  // Distances are computed a block at a time (the block stays in L1) and fed to a max-heap of the
  // k best; for the small k used here the heap is rarely touched after the first rows.
  constexpr std::size_t kBlock = 256;
  float dist[kBlock];
  const bool avx2 = detail::CpuHasAvx2Fma();
  for (std::size_t start = 0; start < ids_.size(); start += kBlock) {
    const std::size_t n = std::min(kBlock, ids_.size() - start);
    const float* rows = data_.data() + start * kTemplateDims;
    if (avx2) detail::SquaredDistancesAvx2(query.data(), rows, n, dist);
    else detail::SquaredDistancesPortable(query.data(), rows, n, dist);
    for (std::size_t i = 0; i < n; ++i) {
      if (!(dist[i] <= limit)) continue;
      Hit h{ids_[start + i], dist[i]};
      if (best.size() < keep) {
        best.push_back(h);
        std::push_heap(best.begin(), best.end(), worse);
      } else if (worse(h, best.front())) {
        std::pop_heap(best.begin(), best.end(), worse);
        best.back() = h;
        std::push_heap(best.begin(), best.end(), worse);
      }
    }
  }
  std::sort_heap(best.begin(), best.end(), worse);
  for (auto& h : best) h.distance = std::sqrt(h.distance);
  return best;
}

std::optional<float> FlatIndex::DistanceTo(std::int64_t id, std::span<const float> query) const {
  auto it = slot_.find(id);
  if (it == slot_.end() || !CheckTemplate(query).ok()) return std::nullopt;
  float d2 = 0;
  if (detail::CpuHasAvx2Fma()) detail::SquaredDistancesAvx2(query.data(), data_.data() + it->second * kTemplateDims, 1, &d2);
  else detail::SquaredDistancesPortable(query.data(), data_.data() + it->second * kTemplateDims, 1, &d2);
  return std::sqrt(d2);
}

namespace detail {

Result<std::int64_t> ReadStoredTemplates(store::Store& store, const std::string& kind, std::int64_t after_id,
                                         const TemplateVisitor& visit) {
  constexpr int kPage = 1000;
  std::int64_t after = after_id;
  float tmpl[kTemplateDims];
  for (;;) {
    auto page = store.ListDescriptors(kind, after, kPage);
    if (!page.ok()) return page.status().WithContext("loading the face templates from the store");
    Status st = Status::Ok();
    for (auto& row : *page) {
      if (st.ok()) {
        Status check = Status::Ok();
        std::span<const float> view;
        if (row.data.size() != sizeof tmpl) {
          check = Status::InvalidInput("bad_template", "stored template " + std::to_string(row.id) + " has " +
                                                           std::to_string(row.data.size()) + " bytes, not " + std::to_string(sizeof tmpl));
        } else {
          std::memcpy(tmpl, row.data.data(), sizeof tmpl);
          view = std::span<const float>(tmpl, kTemplateDims);
          check = CheckTemplate(view);
          if (!check.ok()) {
            check = check.WithContext("stored template " + std::to_string(row.id));
            view = {};
          }
        }
        st = visit(row, view, check);
        if (st.ok()) after = row.id;
      }
      std::fill(row.data.begin(), row.data.end(), '\0');  // no plaintext copy outlives the page
    }
    std::fill(std::begin(tmpl), std::end(tmpl), 0.0f);
    if (!st.ok()) return st;
    if (page->size() < static_cast<std::size_t>(kPage)) break;
  }
  return after;
}

}  // namespace detail

Result<std::size_t> BuildFromStore(store::Store& store, const std::string& kind, FlatIndex& index) {
  std::size_t added = 0;
  auto read = detail::ReadStoredTemplates(store, kind, 0, [&](const store::StoredDescriptor& row, std::span<const float> tmpl,
                                                              const Status& check) -> Status {
    if (!check.ok()) return check;
    VERIDGE_RETURN_IF_ERROR(index.Add(row.id, tmpl));
    ++added;
    return Status::Ok();
  });
  if (!read.ok()) return read.status();
  return added;
}

}  // namespace veridge::fraud
