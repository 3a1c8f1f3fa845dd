// bench-face — speed of the face pipeline, stage by stage (not a test: it prints figures).
//
//   bench-face prepare OUT_DIR IMAGE...      writes each image centre-cropped and resized to 640x480
//                                            and 1280x720 (OUT_DIR/640x480/*.jpg, OUT_DIR/1280x720/*.jpg)
//   bench-face run MODEL_DIR LIST [REPEATS]  per-stage median ms on one thread, then images/s on
//                                            1 and 2 threads (one FaceAnalyzer per thread); one JSON line
//
// tools/bench-face.sh runs both and the face-api.js peer on the same files, and prints the ratios.
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <thread>

#include "vision/vision.h"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using veridge::vision::FaceAnalyzer;

namespace {

double Ms(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double, std::milli>(b - a).count(); }

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

int Prepare(const fs::path& out, const std::vector<std::string>& images) {
  for (cv::Size size : {cv::Size(640, 480), cv::Size(1280, 720)}) {
    fs::path dir = out / (std::to_string(size.width) + "x" + std::to_string(size.height));
    fs::create_directories(dir);
    for (const auto& path : images) {
      cv::Mat img = cv::imread(path, cv::IMREAD_COLOR);
      if (img.empty()) continue;
      double target = static_cast<double>(size.width) / size.height;
      cv::Rect crop(0, 0, img.cols, img.rows);
      if (static_cast<double>(img.cols) / img.rows > target) {
        crop.width = static_cast<int>(img.rows * target);
        crop.x = (img.cols - crop.width) / 2;
      } else {
        crop.height = static_cast<int>(img.cols / target);
        crop.y = (img.rows - crop.height) / 2;
      }
      cv::Mat resized;
      cv::resize(img(crop), resized, size, 0, 0, cv::INTER_AREA);
      cv::imwrite((dir / fs::path(path).filename()).replace_extension(".jpg").string(), resized, {cv::IMWRITE_JPEG_QUALITY, 92});
    }
  }
  return 0;
}

struct Stages {
  std::vector<double> decode, detect, landmarks, chip, descriptor, total;
  std::vector<cv::Mat> chips;  // for timing the other descriptor engine on the same faces
  int no_face = 0;
};

// One pass of the full pipeline over an image: the stages a verification runs per frame.
bool RunOnce(FaceAnalyzer& fa, const std::string& path, Stages* st) {
  auto t0 = Clock::now();
  auto img = veridge::vision::DecodeImageFile(path);
  auto t1 = Clock::now();
  if (!img.ok()) return false;
  auto boxes = fa.Detect(*img);
  auto t2 = Clock::now();
  if (!boxes.ok() || boxes->empty()) {
    if (st) st->no_face++;
    return false;
  }
  auto lm = fa.Landmarks(*img, boxes->front());
  auto t3 = Clock::now();
  auto chip = fa.AlignChip(*img, *lm);
  auto t4 = Clock::now();
  auto d = fa.Describe(*chip);
  auto t5 = Clock::now();
  if (!d.ok()) return false;
  if (st) {
    st->decode.push_back(Ms(t0, t1));
    st->detect.push_back(Ms(t1, t2));
    st->landmarks.push_back(Ms(t2, t3));
    st->chip.push_back(Ms(t3, t4));
    st->descriptor.push_back(Ms(t4, t5));
    st->total.push_back(Ms(t0, t5));
    st->chips.push_back(*chip);
  }
  return true;
}

double Throughput(FaceAnalyzer& base, const std::vector<std::string>& list, int repeats, int threads) {
  std::vector<std::unique_ptr<FaceAnalyzer>> analyzers;
  for (int i = 0; i < threads; ++i) analyzers.push_back(base.Clone());
  std::atomic<size_t> next{0};
  size_t total = list.size() * repeats;
  auto t0 = Clock::now();
  std::vector<std::thread> pool;
  for (int i = 0; i < threads; ++i)
    pool.emplace_back([&, i] {
      for (size_t k; (k = next++) < total;) RunOnce(*analyzers[i], list[k % list.size()], nullptr);
    });
  for (auto& t : pool) t.join();
  return total / (Ms(t0, Clock::now()) / 1000.0);
}

int Run(const fs::path& model_dir, const fs::path& list_file, int repeats) {
  std::vector<std::string> list;
  std::ifstream in(list_file);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) list.push_back(line);
  if (list.empty()) {
    std::cerr << "bench-face: empty image list\n";
    return 2;
  }
  // One core per pipeline: OpenCV would otherwise spread a descriptor over both cores (the oneDNN
  // engine runs on the calling thread only), and the
  // 2-thread figure comes from two pipelines side by side.
  cv::setNumThreads(1);
  veridge::vision::VisionOptions o;
  o.model_dir = model_dir;
  auto t0 = Clock::now();
  auto fa = FaceAnalyzer::Create(o);
  double load_ms = Ms(t0, Clock::now());
  if (!fa.ok()) {
    std::cerr << "bench-face: " << fa.status().ToString() << "\n";
    return 3;
  }
  RunOnce(**fa, list[0], nullptr);  // warm-up
  Stages st;
  for (int r = 0; r < repeats; ++r)
    for (const auto& p : list) RunOnce(**fa, p, &st);
  double ips1 = Throughput(**fa, list, repeats, 1);
  double ips2 = Throughput(**fa, list, repeats, 2);
  // The three descriptor engines on the same chips, interleaved so that load on the (shared)
  // machine hits them alike: oneDNN (what `veridge` runs by default), OpenCV, and dlib's forward pass.
  std::vector<double> onednn_ms, cv_ms, dlib_ms;
  o.descriptor_engine = "opencv";
  auto opencv = FaceAnalyzer::Create(o);
  o.descriptor_engine = "dlib";
  auto dlib = FaceAnalyzer::Create(o);
  if (opencv.ok() && dlib.ok() && !st.chips.empty()) {
    (*opencv)->Describe(st.chips[0]);  // warm-up
    (*dlib)->Describe(st.chips[0]);
    for (int r = 0; r < 5; ++r)
      for (const auto& chip : st.chips) {
        auto a = Clock::now();
        (**fa).Describe(chip);
        auto b = Clock::now();
        (*opencv)->Describe(chip);
        auto c = Clock::now();
        (*dlib)->Describe(chip);
        onednn_ms.push_back(Ms(a, b));
        cv_ms.push_back(Ms(b, c));
        dlib_ms.push_back(Ms(c, Clock::now()));
      }
  }
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  nlohmann::json j = {{"images", list.size() * repeats}, {"no_face", st.no_face / std::max(repeats, 1)},
                      {"model_load_ms", load_ms},
                      {"decode_ms", Median(st.decode)},       {"detect_ms", Median(st.detect)},
                      {"landmarks_ms", Median(st.landmarks)}, {"chip_ms", Median(st.chip)},
                      {"descriptor_ms", Median(st.descriptor)}, {"descriptor_loop_onednn_ms", Median(onednn_ms)},
                      {"descriptor_loop_opencv_ms", Median(cv_ms)},
                      {"descriptor_loop_dlib_ms", Median(dlib_ms)},
                      {"total_ms", Median(st.total)},
                      {"images_per_s_1thread", ips1},         {"images_per_s_2threads", ips2},
                      {"peak_rss_mb", ru.ru_maxrss / 1024.0}};
  std::cout << j.dump() << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "prepare" && argc >= 4) return Prepare(argv[2], std::vector<std::string>(argv + 3, argv + argc));
  if (mode == "run" && argc >= 4) return Run(argv[2], argv[3], argc > 4 ? std::atoi(argv[4]) : 1);
  std::cerr << "usage: bench-face prepare OUT_DIR IMAGE... | bench-face run MODEL_DIR LIST [REPEATS]\n";
  return 2;
}
