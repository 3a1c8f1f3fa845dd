// eval-face: accuracy of the face pipeline on the shared face data.
//
//   eval-face [--data DIR] [--model-dir DIR] [--detector hog|yunet] [--engine onednn|opencv|dlib] [--threads N]
//             [--sets lfw,tv-cast-a,...] [--jitter N] [--hog-threshold T] [--hog-retry T]
//             [--upscale F] [--list-noface yes] [--fpir-sizes N,N,... [--fpir 1e-3]]
//
// --jitter, --hog-threshold, --hog-retry set the VisionOptions of the same names (as [face] in
// veridge.toml does). --upscale is an experiment only: each image is resized (bicubic) before
// detection and landmarks.
//
// LFW View 1 protocol: the threshold is chosen on pairsDevTrain.txt (the value maximising training
// accuracy), accuracy is reported on pairsDevTest.txt at that threshold and at dlib's fixed 0.6.
// Images where the detector finds no face are counted and handled two ways, both reported:
//  * strict: a pair with a no-face image is predicted "different" (so a same pair is an error);
//  * fallback: LFW images are centred crops, so a fixed centred box stands in for the missing
//    detection (landmarks, chip and descriptor as usual). Other sets have no fallback.
// When several faces are found the one nearest the image centre is used (LFW/news photos often
// show bystanders). Other sets: every same-person and different-person pair (deepface: master.csv).
// Prints one table; timings are not measured here (see tools/bench-face).
//
// --fpir-sizes N,N,... (1:N threshold mode, issue 15; docs/fraud.md): additionally collects the
// distance of EVERY pair of the selected sets' images (LFW: all its images, identity = folder) —
// different-person pairs form the impostor distribution, same-person pairs the genuine one — and
// for each list size N picks the largest threshold whose FMR keeps FPIR = 1-(1-FMR)^N <= --fpir
// (default 1e-3), with FMR taken as the 95 % Wilson upper bound of the observed rate (so zero
// observed false matches still count as ~3/M). Prints the FMR/FPIR/FNMR at each chosen threshold,
// and says so when the data holds too few impostor pairs to support a list size.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include <opencv2/imgproc.hpp>

#include "vision/vision.h"

namespace fs = std::filesystem;
using namespace veridge::vision;

namespace {

// Options of this tool beyond VisionOptions.
struct Variant {
  double upscale = 1.0;      // resize the decoded image by this factor (bicubic) before detection
  bool list_noface = false;  // print the images without a detection
};
Variant g_variant;

// All-pairs distances per set for the 1:N threshold mode (empty unless --fpir-sizes is given).
struct PairDistances {
  std::vector<double> impostor, genuine;
};
PairDistances g_pairs;
bool g_collect_pairs = false;

struct Embedding {
  bool found = false;       // detector found a face
  bool have = false;        // a descriptor exists (found, or fallback used)
  Descriptor d{};
  QualityReport q;
  std::string error;
};

struct Pair {
  std::string a, b;
  bool same;
};

cv::Rect CentredBox(const cv::Mat& img) {
  // LFW: the face fills roughly the central 40 % of the (0.6× shrunk) 250×250 frame.
  const int w = int(img.cols * 0.42);
  return {(img.cols - w) / 2, int(img.rows * 0.30), w, w};
}

Embedding EmbedOne(FaceAnalyzer& fa, const fs::path& p, bool allow_fallback) {
  Embedding e;
  auto img = DecodeImageFile(p);
  if (!img.ok()) {
    e.error = img.status().code();
    return e;
  }
  if (g_variant.upscale != 1.0) cv::resize(*img, *img, cv::Size(), g_variant.upscale, g_variant.upscale, cv::INTER_CUBIC);
  auto faces = fa.Detect(*img);
  if (!faces.ok()) {
    e.error = faces.status().code();
    return e;
  }
  cv::Rect box;
  if (!faces->empty()) {
    e.found = true;
    const cv::Point2f c(img->cols / 2.f, img->rows / 2.f);
    auto dist = [&](const cv::Rect& r) { return std::hypot(r.x + r.width / 2.f - c.x, r.y + r.height / 2.f - c.y); };
    box = *std::min_element(faces->begin(), faces->end(), [&](auto& a, auto& b) { return dist(a) < dist(b); });
  } else if (allow_fallback) {
    box = CentredBox(*img);
  } else {
    e.error = "no_face";
    return e;
  }
  auto lm = fa.Landmarks(*img, box);
  if (!lm.ok()) return e;
  auto chip = fa.AlignChip(*img, *lm);
  if (!chip.ok()) return e;
  auto d = fa.Describe(*chip);
  if (!d.ok()) return e;
  e.have = true;
  e.d = *d;
  e.q = fa.Quality(box, *lm, *chip, int(faces->size()));
  return e;
}

// Embeds every path on N threads (one analyzer clone each).
std::map<std::string, Embedding> EmbedAll(FaceAnalyzer& fa, const std::vector<std::string>& paths, int threads,
                                          bool fallback) {
  std::map<std::string, Embedding> out;
  std::mutex mu;
  std::atomic<size_t> next{0};
  std::vector<std::unique_ptr<FaceAnalyzer>> clones;
  for (int t = 1; t < threads; ++t) clones.push_back(fa.Clone());
  auto work = [&](FaceAnalyzer* a) {
    for (size_t i; (i = next++) < paths.size();) {
      Embedding e = EmbedOne(*a, paths[i], fallback);
      std::lock_guard<std::mutex> l(mu);
      out[paths[i]] = std::move(e);
    }
  };
  std::vector<std::thread> pool;
  for (auto& c : clones) pool.emplace_back(work, c.get());
  work(&fa);
  for (auto& t : pool) t.join();
  return out;
}

struct PairStats {
  int same = 0, diff = 0, same_ok = 0, diff_ok = 0, missing = 0;
  double acc() const { return same + diff ? 100.0 * (same_ok + diff_ok) / (same + diff) : 0.0; }
};

PairStats Score(const std::vector<Pair>& pairs, const std::map<std::string, Embedding>& emb, double thr) {
  PairStats s;
  for (const auto& p : pairs) {
    const auto& a = emb.at(p.a);
    const auto& b = emb.at(p.b);
    const bool have = a.have && b.have;
    if (!have) ++s.missing;
    const bool match = have && Distance(a.d, b.d) < thr;
    if (p.same) {
      ++s.same;
      s.same_ok += match;
    } else {
      ++s.diff;
      s.diff_ok += !match;
    }
  }
  return s;
}

double BestThreshold(const std::vector<Pair>& pairs, const std::map<std::string, Embedding>& emb) {
  std::vector<double> cands;
  for (const auto& p : pairs) {
    const auto& a = emb.at(p.a);
    const auto& b = emb.at(p.b);
    if (a.have && b.have) cands.push_back(Distance(a.d, b.d));
  }
  std::sort(cands.begin(), cands.end());
  double best = 0.6, best_acc = -1;
  for (size_t i = 0; i + 1 < cands.size(); ++i) {
    const double t = 0.5 * (cands[i] + cands[i + 1]);
    const double acc = Score(pairs, emb, t).acc();
    if (acc > best_acc + 1e-9 || (std::abs(acc - best_acc) < 1e-9 && std::abs(t - 0.6) < std::abs(best - 0.6))) {
      best_acc = acc;
      best = t;
    }
  }
  return best;
}

std::string LfwPath(const fs::path& root, const std::string& name, int n) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "_%04d.jpg", n);
  return (root / "images" / name / (name + buf)).string();
}

std::vector<Pair> LoadLfwPairs(const fs::path& root, const std::string& file) {
  std::ifstream in(root / file);
  std::vector<Pair> pairs;
  std::string line;
  std::getline(in, line);  // count
  while (std::getline(in, line)) {
    std::istringstream ss(line);
    std::vector<std::string> f;
    for (std::string t; ss >> t;) f.push_back(t);
    if (f.size() == 3) pairs.push_back({LfwPath(root, f[0], std::stoi(f[1])), LfwPath(root, f[0], std::stoi(f[2])), true});
    if (f.size() == 4) pairs.push_back({LfwPath(root, f[0], std::stoi(f[1])), LfwPath(root, f[2], std::stoi(f[3])), false});
  }
  return pairs;
}

// Identity-labelled folder set: identity = a function of the path; all pairs.
std::vector<Pair> AllPairs(const std::vector<std::pair<std::string, std::string>>& items) {
  std::vector<Pair> pairs;
  for (size_t i = 0; i < items.size(); ++i)
    for (size_t j = i + 1; j < items.size(); ++j)
      pairs.push_back({items[i].first, items[j].first, items[i].second == items[j].second});
  return pairs;
}

bool IsImage(const fs::path& p) {
  const auto e = p.extension().string();
  return e == ".jpg" || e == ".jpeg" || e == ".png" || e == ".pgm" || e == ".bmp";
}

std::vector<std::pair<std::string, std::string>> ScanSet(const fs::path& root, const std::string& set) {
  std::vector<std::pair<std::string, std::string>> items;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    if (!e.is_regular_file() || !IsImage(e.path())) continue;
    std::string id;
    if (set == "yale") {
      id = e.path().filename().string().substr(0, e.path().filename().string().find('.'));
    } else if (set == "tv-cast-b") {
      id = e.path().filename().string().substr(0, e.path().filename().string().find('_'));
    } else {
      id = e.path().parent_path().filename().string();
    }
    items.emplace_back(e.path().string(), id);
  }
  std::sort(items.begin(), items.end());
  return items;
}

// Adds the distance of every pair of embedded images (identity labels from `items`) to g_pairs.
void CollectAllPairs(const std::vector<std::pair<std::string, std::string>>& items, const std::map<std::string, Embedding>& emb) {
  std::vector<std::pair<const Descriptor*, const std::string*>> have;
  for (const auto& [path, id] : items)
    if (auto it = emb.find(path); it != emb.end() && it->second.have) have.push_back({&it->second.d, &id});
  for (size_t i = 0; i < have.size(); ++i)
    for (size_t j = i + 1; j < have.size(); ++j)
      (*have[i].second == *have[j].second ? g_pairs.genuine : g_pairs.impostor).push_back(Distance(*have[i].first, *have[j].first));
}

// 95 % Wilson score upper bound of a proportion k/m.
double WilsonUpper(double k, double m) {
  const double z = 1.96, p = k / m, z2 = z * z;
  return (p + z2 / (2 * m) + z * std::sqrt(p * (1 - p) / m + z2 / (4 * m * m))) / (1 + z2 / m);
}

void ReportThresholds(const std::vector<size_t>& sizes, double target_fpir) {
  auto& imp = g_pairs.impostor;
  auto& gen = g_pairs.genuine;
  std::sort(imp.begin(), imp.end());
  std::sort(gen.begin(), gen.end());
  if (imp.empty() || gen.empty()) {
    std::printf("1:N thresholds: no impostor or genuine pairs collected\n");
    return;
  }
  const double m = double(imp.size());
  auto pct = [](const std::vector<double>& v, double p) { return v[size_t(p * double(v.size() - 1))]; };
  std::printf("\n1:N thresholds (docs/fraud.md): %zu impostor pairs, %zu genuine pairs\n", imp.size(), gen.size());
  std::printf("  impostor distance min %.4f p1e-6 %.4f p1e-5 %.4f p1e-4 %.4f p1e-3 %.4f p1 %.4f p50 %.4f\n", imp.front(),
              pct(imp, 1e-6), pct(imp, 1e-5), pct(imp, 1e-4), pct(imp, 1e-3), pct(imp, 0.01), pct(imp, 0.5));
  std::printf("  genuine distance  p50 %.4f p90 %.4f p99 %.4f max %.4f\n", pct(gen, 0.5), pct(gen, 0.9), pct(gen, 0.99), gen.back());
  std::printf("  %-9s %-12s %-10s %-9s %-12s %-12s %-10s %s\n", "N", "FMR needed", "threshold", "false-m", "FMR(95%up)",
              "FPIR(95%up)", "FNMR", "note");
  for (size_t n : sizes) {
    // FPIR = 1-(1-FMR)^N <= target  <=>  FMR <= 1-(1-target)^(1/N)
    const double fmr_needed = -std::expm1(std::log1p(-target_fpir) / double(n));
    // The largest threshold t with WilsonUpper(#impostors < t, M) <= fmr_needed: candidates are
    // the impostor distances themselves (a match is distance < t).
    size_t k = 0;  // impostor pairs strictly below the threshold
    while (k < imp.size() && WilsonUpper(double(k + 1), m) <= fmr_needed) ++k;
    const bool supported = WilsonUpper(0, m) <= fmr_needed;
    const double thr = imp[k];  // distance < imp[k] admits exactly k impostor pairs
    const double fmr_up = WilsonUpper(double(k), m);
    const double fpir_up = -std::expm1(double(n) * std::log1p(-fmr_up));
    const double fnmr = double(gen.end() - std::lower_bound(gen.begin(), gen.end(), thr)) / double(gen.size());
    std::printf("  %-9zu %-12.3g %-10.4f %-9zu %-12.3g %-12.3g %-10.4f %s\n", n, fmr_needed, thr, k, fmr_up, fpir_up, fnmr,
                supported ? "" : "NOT SUPPORTED: too few impostor pairs to show this FMR (even 0 false matches bound it above)");
  }
  std::printf("  (match = distance < threshold; FNMR = genuine pairs at or above it: the 1:N miss rate with one enrolled mate)\n");
}

void Row(const std::string& set, const std::string& what, int images, int noface, const PairStats& s, double thr) {
  std::printf("%-22s %-26s %6d %7d %6d %6d %9.2f%% %9.2f%% %8.2f%%  %.3f\n", set.c_str(), what.c_str(), images, noface,
              s.same, s.diff, s.same ? 100.0 * s.same_ok / s.same : 0.0, s.diff ? 100.0 * s.diff_ok / s.diff : 0.0,
              s.acc(), thr);
}

void QualitySummary(const std::string& set, const std::map<std::string, Embedding>& emb) {
  std::map<std::string, int> reasons;
  std::vector<double> sharp, bright, yaw, ear;
  for (const auto& [k, e] : emb) {
    if (!e.found) continue;
    for (const auto& r : e.q.reasons) ++reasons[r];
    sharp.push_back(e.q.sharpness);
    bright.push_back(e.q.brightness);
    yaw.push_back(std::abs(e.q.yaw_ratio));
    ear.push_back(e.q.eye_aspect);
  }
  auto pct = [](std::vector<double> v, double p) {
    if (v.empty()) return 0.0;
    std::sort(v.begin(), v.end());
    return v[size_t(p * (v.size() - 1))];
  };
  std::printf("  quality %-12s sharpness p5/p50 %.0f/%.0f  brightness p5/p50/p95 %.0f/%.0f/%.0f  |yaw| p50/p95 %.3f/%.3f  "
              "EAR p5/p50 %.3f/%.3f  reasons:",
              set.c_str(), pct(sharp, 0.05), pct(sharp, 0.5), pct(bright, 0.05), pct(bright, 0.5), pct(bright, 0.95),
              pct(yaw, 0.5), pct(yaw, 0.95), pct(ear, 0.05), pct(ear, 0.5));
  for (const auto& [r, n] : reasons) std::printf(" %s=%d", r.c_str(), n);
  std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
  fs::path data = fs::path(VERIDGE_SHARED_DIR) / "data/faces";
  VisionOptions o;
  o.model_dir = VERIDGE_DEV_MODEL_DIR;
  if (const char* env = std::getenv("VERIDGE_MODEL_DIR")) o.model_dir = env;
  int threads = 2;
  std::string sets = "lfw,tv-cast-a,tv-cast-b,johns,orl,yale,deepface";
  std::vector<size_t> fpir_sizes;
  double target_fpir = 1e-3;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--data") data = argv[i + 1];
    else if (a == "--model-dir") o.model_dir = argv[i + 1];
    else if (a == "--detector") o.detector = argv[i + 1];
    else if (a == "--threads") threads = std::max(1, std::atoi(argv[i + 1]));
    else if (a == "--sets") sets = argv[i + 1];
    else if (a == "--engine") o.descriptor_engine = argv[i + 1];
    else if (a == "--jitter") o.jitter = std::atoi(argv[i + 1]);
    else if (a == "--upscale") g_variant.upscale = std::atof(argv[i + 1]);
    else if (a == "--hog-threshold") o.hog_threshold = std::atof(argv[i + 1]);
    else if (a == "--hog-retry") o.hog_retry_threshold = std::atof(argv[i + 1]);
    else if (a == "--list-noface") g_variant.list_noface = std::string(argv[i + 1]) == "yes";
    else if (a == "--fpir") target_fpir = std::atof(argv[i + 1]);
    else if (a == "--fpir-sizes") {
      std::stringstream ss(argv[i + 1]);
      for (std::string t; std::getline(ss, t, ',');) fpir_sizes.push_back(std::stoull(t));
      g_collect_pairs = true;
    }
    else {
      std::cerr << "unknown option " << a << "\n";
      return 2;
    }
  }
  if (!fs::exists(data)) {
    std::cerr << "eval-face: " << data << " not found (shared face data)\n";
    return 2;
  }
  auto fa = FaceAnalyzer::Create(o);
  if (!fa.ok()) {
    std::cerr << "eval-face: " << fa.status().ToString() << "\n";
    return 3;
  }
  std::printf("detector=%s engine=%s jitter=%d hog_threshold=%.2f hog_retry=%.2f upscale=%.2f threads=%d data=%s\n",
              (*fa)->detector_name().c_str(), o.descriptor_engine.c_str(), o.jitter, o.hog_threshold,
              o.hog_retry_threshold, g_variant.upscale, threads, data.c_str());
  std::printf("%-22s %-26s %6s %7s %6s %6s %10s %10s %9s  %s\n", "set", "protocol", "images", "no-face", "same",
              "diff", "same-ok", "diff-ok", "accuracy", "threshold");
  auto want = [&](const std::string& s) { return ("," + sets + ",").find("," + s + ",") != std::string::npos; };

  if (want("lfw")) {
    const fs::path root = data / "lfw-view1";
    const auto train = LoadLfwPairs(root, "pairsDevTrain.txt");
    const auto test = LoadLfwPairs(root, "pairsDevTest.txt");
    std::set<std::string> uniq;
    for (const auto* v : {&train, &test})
      for (const auto& p : *v) uniq.insert(p.a), uniq.insert(p.b);
    const std::vector<std::string> paths(uniq.begin(), uniq.end());
    auto strict = EmbedAll(**fa, paths, threads, false);
    int noface = 0;
    std::vector<std::string> missing;
    for (const auto& [k, e] : strict)
      if (!e.found) ++noface, missing.push_back(k);
    if (g_variant.list_noface)
      for (const auto& m : missing) std::printf("  no face: %s\n", m.c_str());
    // Fallback only re-runs the images without a detection.
    auto fb = strict;
    for (auto& [k, e] : EmbedAll(**fa, missing, threads, true)) fb[k] = e;
    const double t_strict = BestThreshold(train, strict);
    const double t_fb = BestThreshold(train, fb);
    const int n = int(paths.size());
    Row("lfw-view1 DevTrain", "strict, chosen threshold", n, noface, Score(train, strict, t_strict), t_strict);
    Row("lfw-view1 DevTest", "strict, threshold from Train", n, noface, Score(test, strict, t_strict), t_strict);
    Row("lfw-view1 DevTest", "strict, fixed 0.6", n, noface, Score(test, strict, 0.6), 0.6);
    Row("lfw-view1 DevTest", "fallback, thr. from Train", n, noface, Score(test, fb, t_fb), t_fb);
    Row("lfw-view1 DevTest", "fallback, fixed 0.6", n, noface, Score(test, fb, 0.6), 0.6);
    if (g_collect_pairs) {  // every image in the folder, not only the View 1 pairs
      std::vector<std::pair<std::string, std::string>> all;
      for (const auto& e : fs::recursive_directory_iterator(root / "images"))
        if (e.is_regular_file() && IsImage(e.path())) all.emplace_back(e.path().string(), e.path().parent_path().filename().string());
      std::sort(all.begin(), all.end());
      std::vector<std::string> rest;
      for (const auto& it : all)
        if (!strict.count(it.first)) rest.push_back(it.first);
      auto more = EmbedAll(**fa, rest, threads, false);
      more.insert(strict.begin(), strict.end());
      CollectAllPairs(all, more);
      std::printf("  lfw all-pairs images: %zu (of which %zu outside View 1)\n", all.size(), rest.size());
    }
    const auto both = Score(test, strict, 0.6);
    std::printf("  lfw DevTest pairs with a no-face image: %d of %d\n", both.missing, both.same + both.diff);
    QualitySummary("lfw", strict);
  }
  for (const std::string set : {"tv-cast-a", "tv-cast-b", "johns", "orl", "yale"}) {
    if (!want(set) || !fs::exists(data / set)) continue;
    const auto items = ScanSet(data / set, set);
    std::vector<std::string> paths;
    for (const auto& it : items) paths.push_back(it.first);
    auto emb = EmbedAll(**fa, paths, threads, false);
    int noface = 0;
    for (const auto& [k, e] : emb) noface += !e.found;
    Row(set, "all pairs, fixed 0.6", int(paths.size()), noface, Score(AllPairs(items), emb, 0.6), 0.6);
    if (g_collect_pairs) CollectAllPairs(items, emb);
    QualitySummary(set, emb);
  }
  if (want("deepface") && fs::exists(data / "deepface/master.csv")) {
    std::ifstream in(data / "deepface/master.csv");
    std::string line;
    std::getline(in, line);
    std::vector<Pair> pairs;
    std::set<std::string> uniq;
    while (std::getline(in, line)) {
      std::stringstream ss(line);
      std::string a, b, d;
      std::getline(ss, a, ',');
      std::getline(ss, b, ',');
      std::getline(ss, d, ',');
      if (!d.empty() && d.back() == '\r') d.pop_back();
      pairs.push_back({(data / "deepface" / a).string(), (data / "deepface" / b).string(), d == "Yes"});
      uniq.insert(pairs.back().a), uniq.insert(pairs.back().b);
    }
    const std::vector<std::string> paths(uniq.begin(), uniq.end());
    auto emb = EmbedAll(**fa, paths, threads, false);
    int noface = 0;
    for (const auto& [k, e] : emb) noface += !e.found;
    Row("deepface", "master.csv, fixed 0.6", int(paths.size()), noface, Score(pairs, emb, 0.6), 0.6);
    QualitySummary("deepface", emb);
  }
  if (g_collect_pairs) ReportThresholds(fpir_sizes, target_fpir);
  return 0;
}
