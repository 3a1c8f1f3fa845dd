// bench-decode — what the worst ACCEPTED still image costs to decode (issue 13, item 6).
//
// For each case it writes an image at the limit of what the decoder accepts (40 MP for the face
// path: 16-bit RGBA PNG, 8-bit RGBA PNG, baseline and progressive JPEG, an RLE8 BMP of a few KB;
// the 30 MB file limit for uncompressed PNM and BMP; 4096x4096 for the capture path), then decodes
// it in a fresh child process and reports the child's peak RSS (getrusage via wait4) and wall
// time. Every image is made in its own child too, so no parent page is counted. The last line
// says whether the worst peak is within the target.
//
// Usage: bench-decode [--dir DIR=/var/tmp] [--target-mib N=1024]
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <opencv2/imgcodecs.hpp>
#include <string>
#include <vector>

#include "capture/still_image.h"
#include "vision/vision.h"

namespace {

struct Child {
  int exit_code = -1;
  long peak_kib = 0;
  double ms = 0;
};

Child InChild(const std::function<int()>& fn) {
  const auto t0 = std::chrono::steady_clock::now();
  const pid_t pid = ::fork();
  if (pid == 0) ::_exit(fn());
  int status = 0;
  rusage ru{};
  ::wait4(pid, &status, 0, &ru);
  Child c;
  c.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  c.peak_kib = ru.ru_maxrss;
  c.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  return c;
}

void WriteFile(const std::filesystem::path& p, const std::vector<uchar>& b) {
  std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
}

// An RLE8 BMP of w x h that is one colour: a few bytes per row, whatever the width.
std::vector<uchar> RleBmp(int w, int h) {
  std::vector<uchar> rows;
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; x += 255) {
      rows.push_back(static_cast<uchar>(std::min(255, w - x)));
      rows.push_back(1);
    }
    rows.push_back(0);
    rows.push_back(0);  // end of line
  }
  rows.push_back(0);
  rows.push_back(1);  // end of bitmap
  const std::uint32_t palette = 256 * 4, offset = 14 + 40 + palette, size = offset + static_cast<std::uint32_t>(rows.size());
  std::vector<uchar> b;
  auto put = [&](std::uint32_t v, int n) { for (int i = 0; i < n; ++i) b.push_back(static_cast<uchar>(v >> (8 * i))); };
  b.push_back('B'); b.push_back('M');
  put(size, 4); put(0, 4); put(offset, 4);
  put(40, 4); put(static_cast<std::uint32_t>(w), 4); put(static_cast<std::uint32_t>(h), 4); put(1, 2); put(8, 2);
  put(1, 4);  // BI_RLE8
  put(static_cast<std::uint32_t>(rows.size()), 4); put(2835, 4); put(2835, 4); put(256, 4); put(0, 4);
  for (int i = 0; i < 256; ++i) put(static_cast<std::uint32_t>(i * 0x010101), 4);
  b.insert(b.end(), rows.begin(), rows.end());
  return b;
}

struct Case {
  std::string name;
  std::string file;
  std::function<std::vector<uchar>()> make;
  bool capture_path = false;  // decode with the capture limits (4096x4096) instead of the face path's
};

}  // namespace

int main(int argc, char** argv) {
  std::filesystem::path dir = "/var/tmp";
  long target_mib = 1024;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--dir")) dir = argv[i + 1];
    else if (!std::strcmp(argv[i], "--target-mib")) target_mib = std::atol(argv[i + 1]);
  }
  dir /= "veridge-bench-decode-" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  const int side = 6324;  // 6324^2 = 39.99 MP, just under the 40 MP limit
  auto encode = [](const cv::Mat& m, const std::string& ext, std::vector<int> params = {}) {
    std::vector<uchar> b;
    cv::imencode(ext, m, b, params);
    return b;
  };
  auto noisy = [](int w, int h) {
    cv::Mat m(h, w, CV_8UC3);
    cv::randu(m, cv::Scalar::all(0), cv::Scalar::all(255));
    return m;
  };
  const std::vector<Case> cases = {
      {"tiny PNG (baseline: libraries only)", "tiny.png", [&] { return encode(cv::Mat(32, 32, CV_8UC3, cv::Scalar(1, 2, 3)), ".png"); }},
      {"PNG 16-bit RGBA 40 MP", "rgba16.png",
       [&] { return encode(cv::Mat(side, side, CV_16UC4, cv::Scalar(0, 0, 65535, 30000)), ".png", {cv::IMWRITE_PNG_COMPRESSION, 1}); }},
      {"PNG 8-bit RGBA 40 MP", "rgba8.png",
       [&] { return encode(cv::Mat(side, side, CV_8UC4, cv::Scalar(0, 0, 255, 128)), ".png", {cv::IMWRITE_PNG_COMPRESSION, 1}); }},
      {"JPEG baseline 40 MP", "base.jpg", [&] { return encode(cv::Mat(side, side, CV_8UC3, cv::Scalar(90, 120, 200)), ".jpg"); }},
      {"JPEG progressive 40 MP", "prog.jpg",
       [&] { return encode(cv::Mat(side, side, CV_8UC3, cv::Scalar(90, 120, 200)), ".jpg", {cv::IMWRITE_JPEG_PROGRESSIVE, 1}); }},
      {"BMP RLE8 40 MP (a few KB)", "rle.bmp", [&] { return RleBmp(side, side); }},
      {"PNM P6 at the 30 MB file limit", "big.ppm", [&] { return encode(noisy(3000, 3333), ".ppm"); }},
      {"capture path: PNG 8-bit RGBA 4096x4096", "cap.png",
       [&] { return encode(cv::Mat(4096, 4096, CV_8UC4, cv::Scalar(0, 0, 255, 128)), ".png", {cv::IMWRITE_PNG_COMPRESSION, 1}); }, true},
  };
  long worst_kib = 0;
  std::string worst;
  bool all_decoded = true;
  for (const auto& c : cases) {
    const auto path = dir / c.file;
    InChild([&] {
      WriteFile(path, c.make());
      return 0;
    });
    const auto bytes = std::filesystem::exists(path) ? std::filesystem::file_size(path) : 0;
    auto r = InChild([&] {
      if (c.capture_path) {
        std::ifstream in(path, std::ios::binary);
        std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        auto img = veridge::capture::DecodeStillImage(data, {30u << 20, 4096u * 4096u});
        if (!img.ok()) std::fprintf(stderr, "  %s\n", img.status().ToString().c_str());
        return img.ok() ? 0 : 1;
      }
      auto img = veridge::vision::DecodeImageFile(path);
      if (!img.ok()) std::fprintf(stderr, "  %s\n", img.status().ToString().c_str());
      return img.ok() ? 0 : 1;
    });
    std::printf("bench-decode: %-40s %10llu bytes: %s, peak RSS %6.1f MiB, %7.0f ms\n", c.name.c_str(),
                static_cast<unsigned long long>(bytes), r.exit_code == 0 ? "accepted" : "REFUSED ", r.peak_kib / 1024.0, r.ms);
    if (r.exit_code != 0) all_decoded = false;
    if (r.exit_code == 0 && r.peak_kib > worst_kib) {
      worst_kib = r.peak_kib;
      worst = c.name;
    }
    std::filesystem::remove(path);
  }
  std::filesystem::remove_all(dir);
  const bool pass = all_decoded && worst_kib <= target_mib * 1024;
  std::printf("bench-decode: worst accepted image: %s, peak RSS %.1f MiB (target <= %ld MiB): %s\n", worst.c_str(), worst_kib / 1024.0,
              target_mib, pass ? "PASS" : "FAIL");
  return pass ? 0 : 1;
}
