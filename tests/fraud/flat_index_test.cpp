// fraud/FlatIndex: the exact scan against a double-precision brute force on seeded random
// templates, both kernels against each other, and the index's bookkeeping (replace, remove, bounds).
#include <algorithm>
#include <cmath>
#include <random>

#include "fraud/fraud.h"
#include "support/test_support.h"

using namespace veridge;
using fraud::kTemplateDims;

namespace {

std::vector<float> RandomTemplate(std::mt19937& rng) {
  std::normal_distribution<float> n(0.0f, 0.09f);  // the spread of dlib descriptor components
  std::vector<float> t(kTemplateDims);
  for (auto& v : t) v = n(rng);
  return t;
}

double RefDistance(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0;
  for (size_t i = 0; i < kTemplateDims; ++i) s += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
  return std::sqrt(s);
}

}  // namespace

TEST_CASE("Flat index: the top-k equals a double-precision brute force, nearest first") {
  std::mt19937 rng(15);
  std::vector<std::vector<float>> all;
  fraud::FlatIndex index;
  for (int i = 0; i < 3000; ++i) {  // > one 256-row block, not a multiple of it
    all.push_back(RandomTemplate(rng));
    REQUIRE(index.Add(1000 + i, all.back()).ok());
  }
  REQUIRE(index.size() == 3000);
  for (int q = 0; q < 20; ++q) {
    auto query = RandomTemplate(rng);
    std::vector<std::pair<double, std::int64_t>> ref;
    for (size_t i = 0; i < all.size(); ++i) ref.push_back({RefDistance(query, all[i]), 1000 + std::int64_t(i)});
    std::sort(ref.begin(), ref.end());
    auto hits = index.Search(query, 5);
    REQUIRE(hits.ok());
    REQUIRE(hits->size() == 5);
    for (size_t k = 0; k < 5; ++k) {
      CHECK(hits->at(k).id == ref[k].second);
      CHECK(std::abs(hits->at(k).distance - ref[k].first) < 1e-5);
    }
  }
}

TEST_CASE("Flat index: both kernels give the same distances") {
  if (!fraud::detail::CpuHasAvx2Fma()) VERIDGE_SKIP("this CPU has no AVX2+FMA; only the portable kernel runs");
  std::mt19937 rng(7);
  std::vector<float> data;
  for (int i = 0; i < 300; ++i) {
    auto t = RandomTemplate(rng);
    data.insert(data.end(), t.begin(), t.end());
  }
  auto query = RandomTemplate(rng);
  std::vector<float> a(300), b(300);
  fraud::detail::SquaredDistancesPortable(query.data(), data.data(), 300, a.data());
  fraud::detail::SquaredDistancesAvx2(query.data(), data.data(), 300, b.data());
  for (int i = 0; i < 300; ++i) CHECK(std::abs(a[i] - b[i]) < 1e-5f * std::max(1.0f, a[i]));
  CHECK(std::string(fraud::FlatIndex::Kernel()) == "avx2+fma");
}

TEST_CASE("Flat index: max_distance drops far templates, ties go to the lower id, k is clamped") {
  fraud::FlatIndex index;
  std::vector<float> zero(kTemplateDims, 0.0f), near(kTemplateDims, 0.0f), far(kTemplateDims, 0.0f);
  near[0] = 0.3f;  // distance 0.3
  far[0] = 0.9f;   // distance 0.9
  REQUIRE(index.Add(9, near).ok());
  REQUIRE(index.Add(4, near).ok());
  REQUIRE(index.Add(5, far).ok());
  auto within = index.Search(zero, 10, 0.6f);
  REQUIRE(within.ok());
  REQUIRE(within->size() == 2);
  CHECK(within->at(0).id == 4);  // same distance as 9: the lower id first
  CHECK(within->at(1).id == 9);
  CHECK(std::abs(within->at(0).distance - 0.3f) < 1e-6f);
  CHECK(index.Search(zero, 10)->size() == 3);
  CHECK(index.Search(zero, 0)->empty());
  CHECK(index.Search(zero, 1, 0.9f)->size() == 1);  // inclusive bound
  CHECK(fraud::FlatIndex().Search(zero, 3)->empty());
}

TEST_CASE("Flat index: adding an id again replaces it, removing forgets it") {
  std::mt19937 rng(3);
  fraud::FlatIndex index;
  std::vector<std::vector<float>> t;
  for (int i = 0; i < 10; ++i) {
    t.push_back(RandomTemplate(rng));
    REQUIRE(index.Add(i, t.back()).ok());
  }
  REQUIRE(index.Add(3, t[7]).ok());  // id 3 now holds 7's template
  CHECK(index.size() == 10);
  auto hits = index.Search(t[7], 2);
  REQUIRE(hits->size() == 2);
  CHECK(hits->at(0).distance == 0.0f);
  CHECK(hits->at(1).distance == 0.0f);
  CHECK(index.Remove(7));
  CHECK_FALSE(index.Remove(7));
  CHECK_FALSE(index.Contains(7));
  CHECK(index.size() == 9);
  hits = index.Search(t[7], 1);
  CHECK(hits->at(0).id == 3);
  // The row moved into the hole (the last one, id 9) is still found as itself.
  CHECK(index.Search(t[9], 1)->at(0).id == 9);
  CHECK(index.Search(t[9], 1)->at(0).distance == 0.0f);
  index.Clear();
  CHECK(index.size() == 0);
}

TEST_CASE("Flat index: a template that is not 128 finite numbers is refused") {
  fraud::FlatIndex index;
  std::vector<float> short_one(127, 0.0f), nan_one(kTemplateDims, 0.0f);
  nan_one[5] = std::nanf("");
  CHECK(index.Add(1, short_one).code() == "bad_template");
  CHECK(index.Add(1, nan_one).code() == "bad_template");
  CHECK(index.size() == 0);
  CHECK(index.Search(nan_one, 1).status().code() == "bad_template");
}
