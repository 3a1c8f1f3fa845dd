// bench-fraud — what a 1:N face search costs on one core, and which engine to use.
//
//   bench-fraud [--sizes 10000,100000,1000000] [--queries 300] [--k 5] [--seed 15] [--store-templates 100000]
//               [--session-checks 10000,100000]
//
// For each list size N, in the same run and on the same templates:
//   * veridge: fraud::FlatIndex (exact scan, AVX2 or portable kernel; --kernel shown);
//   * faiss-flat: faiss::IndexFlatL2 (exact);
//   * faiss-ivf: faiss::IndexIVFFlat, nlist = sqrt(N), trained on up to 64 points per list (10 k-means iterations),
//     at several nprobe; recall@1 = share of queries whose nearest template is the exact one.
// One query at a time (nq = 1: a session searches its one live template), OpenMP pinned to one
// thread, latency per query from steady_clock; p50/p99 over --queries queries after a warm-up.
// Build time = adding N templates (plus training for IVF). The 100k row answers "index built at
// start from 100k stored templates" for the in-memory part; --store-templates N also writes N
// templates into a real SQLCipher store in a temporary directory (64 per committed session) and
// times fraud::BuildFromStore over it, reopened (decrypting and reading every page).
//
// --session-checks N,...: what the 1:N checks add to one session (issue 15, part 1), through the
// product's own path: N live templates (kind face_live) written into a real SQLCipher store (64 per
// committed session row, each session its own applicant_ref), the store reopened and
// fraud::Screener::Load timed (the gallery at start), then per session: Screener::Screen (reading
// rows committed since, the exact scan, the same-applicant comparison, the store look-up that
// confirms each hit) and Screener::Committed (the gallery update after the commit). Half the
// sessions are a new capture of a stored face under a new applicant_ref (one duplicate hit,
// confirmed in the store), half strangers (no hit). --sizes/--queries apply; with
// --session-checks only this is measured.
//
// Templates are synthetic, shaped like dlib's 128-D descriptors: N identities, each a random
// centre (components N(0, 0.047): different identities ~0.75 apart, as different people are in
// docs/fraud.md) plus a per-capture offset (N(0, 0.018) per component: two captures of one
// identity ~0.4 apart). Each query is a new capture of a random enrolled identity. Isotropic data
// has no cluster structure for IVF to exploit, so its recall here is a pessimistic figure.
#include <faiss/IndexFlat.h>
#include <faiss/IndexIVFFlat.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "audit/audit.h"
#include "fraud/fraud.h"
#include "store/store.h"

using Clock = std::chrono::steady_clock;
using veridge::fraud::kTemplateDims;

namespace {

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

struct Stats {
  double p50 = 0, p99 = 0, mean = 0;
};

Stats Percentiles(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  Stats s;
  auto at = [&](double q) { return v[std::min(v.size() - 1, static_cast<size_t>(q * (v.size() - 1) + 0.5))]; };
  s.p50 = at(0.50);
  s.p99 = at(0.99);
  for (double x : v) s.mean += x;
  s.mean /= static_cast<double>(v.size());
  return s;
}

std::vector<size_t> ParseSizes(const std::string& text) {
  std::vector<size_t> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) out.push_back(std::stoull(item));
  return out;
}

void Row(const char* engine, size_t n, const std::string& setting, double build_ms, const Stats& s, const std::string& recall) {
  std::printf("%-11s %9zu %-12s %10.1f %9.3f %9.3f %9.3f %8s\n", engine, n, setting.c_str(), build_ms, s.p50, s.p99, s.mean,
              recall.c_str());
  std::fflush(stdout);
}

// Latency of each single query (after 3 warm-up queries) and recall@1 against `exact`.
std::pair<std::vector<double>, std::string> MeasureFaiss(const faiss::Index& index, const std::vector<float>& qs, int queries, int k,
                                                         const std::vector<std::int64_t>& exact) {
  std::vector<float> dist(static_cast<size_t>(k));
  std::vector<faiss::Index::idx_t> labels(static_cast<size_t>(k));
  auto at = [&](int q) { return qs.data() + static_cast<size_t>(q) * kTemplateDims; };
  for (int q = 0; q < 3; ++q) index.search(1, at(q), k, dist.data(), labels.data());
  std::vector<double> lat;
  int agree = 0;
  for (int q = 0; q < queries; ++q) {
    auto t = Clock::now();
    index.search(1, at(q), k, dist.data(), labels.data());
    lat.push_back(Ms(Clock::now() - t));
    agree += labels[0] == exact[static_cast<size_t>(q)];
  }
  char r[32];
  std::snprintf(r, sizeof r, "%.4f", static_cast<double>(agree) / queries);
  return {lat, r};
}

// A new SQLCipher store (with its key file) in a temporary directory, removed afterwards.
struct TempStore {
  TempStore() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "bench-fraud-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) return;
    dir = tmpl;
    so.path = dir / "bench.db";
    so.key_file = dir / "store.key";
    so.create_if_missing = true;
    so.audit_hasher = veridge::audit::ChainHasher();
    ok = veridge::store::GenerateKeyFile(so.key_file).ok();
  }
  ~TempStore() {
    std::error_code ec;
    if (!dir.empty()) std::filesystem::remove_all(dir, ec);
  }
  std::filesystem::path dir;
  veridge::store::StoreOptions so;
  bool ok = false;
};

// Writes `n` random templates into a new store in a temp dir, reopens it and times BuildFromStore.
int MeasureStoreBuild(size_t n, unsigned seed) {
  TempStore ts;
  auto& so = ts.so;
  int rc = ts.ok ? 0 : 3;
  double write_ms = 0, build_ms = 0;
  if (rc == 0) {
    auto s = veridge::store::Store::Open(so);
    if (!s.ok()) rc = 3;
    std::mt19937 rng(seed);
    std::normal_distribution<float> v(0.0f, 0.05f);
    auto t0 = Clock::now();
    for (size_t done = 0; rc == 0 && done < n; ) {
      veridge::store::DecisionRecord rec;
      rec.session_id = "bench-" + std::to_string(done);
      rec.created_at = 1;
      rec.decision = "review";
      for (size_t j = 0; j < veridge::store::kMaxEvidenceItems && done < n; ++j, ++done) {
        float t[kTemplateDims];
        for (auto& x : t) x = v(rng);
        std::string blob(sizeof t, '\0');
        std::memcpy(blob.data(), t, sizeof t);
        rec.descriptors.push_back({"face_probe", blob});
      }
      if (!(*s)->CommitDecision(rec).ok()) rc = 3;
    }
    write_ms = Ms(Clock::now() - t0);
  }
  if (rc == 0) {
    so.create_if_missing = false;
    auto t0 = Clock::now();
    auto s = veridge::store::Store::Open(so);
    veridge::fraud::FlatIndex index;
    auto added = s.ok() ? veridge::fraud::BuildFromStore(**s, "face_probe", index) : veridge::Result<size_t>(s.status());
    build_ms = Ms(Clock::now() - t0);
    if (!added.ok() || *added != n) rc = 3;
  }
  if (rc == 0)
    std::printf("store build: %zu templates from SQLCipher (open + BuildFromStore) %.1f ms; writing them took %.1f ms\n", n, build_ms,
                write_ms);
  else
    std::fprintf(stderr, "bench-fraud: the store measurement failed\n");
  return rc;
}

// Templates shaped as in the main measurement: components N(0, 0.05) (~0.8 apart).
std::string RandomBlob(std::mt19937& rng, float* out) {
  std::normal_distribution<float> v(0.0f, 0.05f);
  for (size_t d = 0; d < kTemplateDims; ++d) out[d] = v(rng);
  std::string blob(sizeof(float) * kTemplateDims, '\0');
  std::memcpy(blob.data(), out, blob.size());
  return blob;
}

int MeasureSessionChecks(size_t n, int queries, unsigned seed) {
  TempStore ts;
  auto& so = ts.so;
  if (!ts.ok) return 3;
  std::vector<float> data(n * kTemplateDims);
  std::mt19937 rng(seed);
  double write_ms = 0;
  {
    auto s = veridge::store::Store::Open(so);
    if (!s.ok()) return 3;
    auto t0 = Clock::now();
    for (size_t done = 0, session = 0; done < n; ++session) {
      veridge::store::DecisionRecord rec;
      rec.session_id = "bench-" + std::to_string(session);
      rec.applicant_ref = "ref-" + std::to_string(session);
      rec.created_at = 1000 + static_cast<std::int64_t>(session);
      rec.decision = "approved";
      for (size_t j = 0; j < veridge::store::kMaxEvidenceItems && done < n; ++j, ++done)
        rec.descriptors.push_back({veridge::fraud::kLiveTemplateKind, RandomBlob(rng, data.data() + done * kTemplateDims)});
      if (!(*s)->CommitDecision(rec).ok()) {
        std::fprintf(stderr, "bench-fraud: writing the store failed\n");
        return 3;
      }
    }
    write_ms = Ms(Clock::now() - t0);
  }
  so.create_if_missing = false;
  auto s = veridge::store::Store::Open(so);
  if (!s.ok()) return 3;
  veridge::fraud::ScreenOptions opt;  // list_size 1000: threshold 0.348 (the gallery is larger: see docs/fraud.md)
  auto t0 = Clock::now();
  auto screener = veridge::fraud::Screener::Load(**s, opt);
  const double load_ms = Ms(Clock::now() - t0);
  if (!screener.ok() || (*screener)->size() != n) {
    std::fprintf(stderr, "bench-fraud: Screener::Load failed\n");
    return 3;
  }
  std::normal_distribution<float> capture(0.0f, 0.018f);  // a new capture of the same face: ~0.2 away
  std::uniform_int_distribution<size_t> pick(0, n - 1);
  std::vector<double> dup_lat, clean_lat, add_lat;
  std::int64_t next_id = 1 << 30;
  float q[kTemplateDims];
  for (int i = 0; i < queries + 3; ++i) {
    const bool dup = i % 2 == 0;
    if (dup) {
      const size_t who = pick(rng);
      for (size_t d = 0; d < kTemplateDims; ++d) q[d] = data[who * kTemplateDims + d] + capture(rng);
    } else {
      (void)RandomBlob(rng, q);
    }
    const std::string ref = "new-applicant-" + std::to_string(i);
    auto t = Clock::now();
    auto r = (*screener)->Screen(q, ref);
    const double screen_ms = Ms(Clock::now() - t);
    if (!r.ok() || r->duplicates.size() != (dup ? 1u : 0u)) {
      std::fprintf(stderr, "bench-fraud: unexpected screen result (%s)\n", r.ok() ? "hit count" : r.status().ToString().c_str());
      return 3;
    }
    t = Clock::now();
    if (!(*screener)->Committed(next_id++, "bench-new-" + std::to_string(i), ref, 99999, q).ok()) return 3;
    const double add_ms = Ms(Clock::now() - t);
    if (i < 3) continue;  // warm-up
    (dup ? dup_lat : clean_lat).push_back(screen_ms);
    add_lat.push_back(add_ms);
  }
  std::vector<double> all = dup_lat;
  all.insert(all.end(), clean_lat.begin(), clean_lat.end());
  auto p = [](const char* what, const Stats& st) { std::printf("  %-36s p50 %8.3f ms  p99 %8.3f ms  mean %8.3f ms\n", what, st.p50, st.p99, st.mean); };
  std::printf("session checks at %zu stored live templates (SQLCipher store, %s kernel):\n", n, veridge::fraud::FlatIndex::Kernel());
  std::printf("  gallery at start: Screener::Load %.1f ms (writing the store took %.1f ms)\n", load_ms, write_ms);
  p("Screen, all sessions", Percentiles(all));
  p("Screen, a duplicate (1 hit checked)", Percentiles(dup_lat));
  p("Screen, no hit", Percentiles(clean_lat));
  p("Committed (gallery add)", Percentiles(add_lat));
  std::fflush(stdout);
  screener->reset();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<size_t> sizes = {10000, 100000, 1000000};
  int queries = 300, k = 5;
  unsigned seed = 15;
  size_t store_templates = 0;
  std::vector<size_t> session_checks;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--sizes") sizes = ParseSizes(argv[i + 1]);
    else if (a == "--queries") queries = std::atoi(argv[i + 1]);
    else if (a == "--k") k = std::atoi(argv[i + 1]);
    else if (a == "--seed") seed = static_cast<unsigned>(std::atoi(argv[i + 1]));
    else if (a == "--store-templates") store_templates = std::stoull(argv[i + 1]);
    else if (a == "--session-checks") session_checks = ParseSizes(argv[i + 1]);
    else {
      std::fprintf(stderr, "usage: bench-fraud [--sizes N,N,...] [--queries Q] [--k K] [--seed S] [--store-templates N] [--session-checks N,N,...]\n");
      return 2;
    }
  }
  if (queries < 10 || k < 1) {
    std::fprintf(stderr, "bench-fraud: --queries must be >= 10 and --k >= 1\n");
    return 2;
  }
  omp_set_num_threads(1);  // one core, for FAISS too
  if (!session_checks.empty()) {
    for (size_t n : session_checks)
      if (int rc = MeasureSessionChecks(n, queries, seed); rc != 0) return rc;
    return 0;
  }
  std::printf("bench-fraud: one thread, nq = 1, k = %d, %d queries per row, kernel %s\n", k, queries,
              veridge::fraud::FlatIndex::Kernel());
  std::printf("%-11s %9s %-12s %10s %9s %9s %9s %8s\n", "engine", "N", "setting", "build_ms", "p50_ms", "p99_ms", "mean_ms",
              "recall@1");

  for (size_t n : sizes) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> centre(0.0f, 0.047f), capture(0.0f, 0.018f);
    std::vector<float> centres(n * kTemplateDims), data(n * kTemplateDims);
    for (auto& v : centres) v = centre(rng);
    for (size_t i = 0; i < data.size(); ++i) data[i] = centres[i] + capture(rng);
    std::vector<float> qs(static_cast<size_t>(queries) * kTemplateDims);
    std::uniform_int_distribution<size_t> pick(0, n - 1);
    for (int q = 0; q < queries; ++q) {
      const size_t who = pick(rng);
      for (size_t d = 0; d < kTemplateDims; ++d) qs[q * kTemplateDims + d] = centres[who * kTemplateDims + d] + capture(rng);
    }
    std::vector<float>().swap(centres);
    auto query = [&](int q) { return std::span<const float>(qs.data() + static_cast<size_t>(q) * kTemplateDims, kTemplateDims); };

    // veridge FlatIndex: the reference answers (exact) for recall.
    std::vector<std::int64_t> exact(static_cast<size_t>(queries));
    {
      veridge::fraud::FlatIndex index;
      auto t0 = Clock::now();
      index.Reserve(n);
      for (size_t i = 0; i < n; ++i)
        if (!index.Add(static_cast<std::int64_t>(i), std::span<const float>(data.data() + i * kTemplateDims, kTemplateDims)).ok()) return 3;
      const double build = Ms(Clock::now() - t0);
      for (int q = 0; q < 3; ++q) (void)index.Search(query(q), k);  // warm-up
      std::vector<double> lat;
      for (int q = 0; q < queries; ++q) {
        auto t = Clock::now();
        auto hits = index.Search(query(q), k);
        lat.push_back(Ms(Clock::now() - t));
        if (!hits.ok() || hits->empty()) return 3;
        exact[static_cast<size_t>(q)] = hits->front().id;
      }
      Row("veridge", n, veridge::fraud::FlatIndex::Kernel(), build, Percentiles(lat), "1 (exact)");
    }
    {
      faiss::IndexFlatL2 flat(kTemplateDims);
      auto t0 = Clock::now();
      flat.add(static_cast<faiss::Index::idx_t>(n), data.data());
      const double build = Ms(Clock::now() - t0);
      auto [lat, recall] = MeasureFaiss(flat, qs, queries, k, exact);
      Row("faiss-flat", n, "IndexFlatL2", build, Percentiles(lat), recall);
    }
    {
      const size_t nlist = std::max<size_t>(16, static_cast<size_t>(std::sqrt(static_cast<double>(n))));
      faiss::IndexFlatL2 quantizer(kTemplateDims);
      faiss::IndexIVFFlat ivf(&quantizer, kTemplateDims, nlist);
      ivf.cp.niter = 10;
      ivf.cp.max_points_per_centroid = 64;
      auto t0 = Clock::now();
      ivf.train(static_cast<faiss::Index::idx_t>(n), data.data());
      ivf.add(static_cast<faiss::Index::idx_t>(n), data.data());
      const double build = Ms(Clock::now() - t0);
      for (size_t nprobe : {1, 4, 16, 64}) {
        if (nprobe > nlist) break;
        ivf.nprobe = nprobe;
        auto [lat, recall] = MeasureFaiss(ivf, qs, queries, k, exact);
        char setting[48];
        std::snprintf(setting, sizeof setting, "%zu/%zu", nprobe, nlist);
        Row("faiss-ivf", n, setting, build, Percentiles(lat), recall);
      }
    }
  }
  std::printf("(faiss-ivf setting = nprobe/nlist; build_ms = add, plus k-means training for IVF)\n");
  if (store_templates > 0) return MeasureStoreBuild(store_templates, seed);
  return 0;
}
