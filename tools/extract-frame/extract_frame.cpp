// extract-frame SOURCE INDEX OUT.jpg — writes frame INDEX of a capture source as a JPEG.
// Used by tools/demo.sh to make a reference photo from a sample clip.
#include <cstdlib>
#include <iostream>
#include <opencv2/imgcodecs.hpp>

#include "capture/capture.h"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "usage: extract-frame SOURCE INDEX OUT.jpg\n";
    return 2;
  }
  auto src = veridge::capture::OpenSource(argv[1]);
  if (!src.ok()) {
    std::cerr << "error: " << src.status().ToString() << "\n";
    return 2;
  }
  long want = std::strtol(argv[2], nullptr, 10);
  for (long i = 0;; ++i) {
    auto f = (*src)->Next();
    if (!f.ok()) {
      std::cerr << "error: " << f.status().ToString() << "\n";
      return 2;
    }
    if (!f->has_value()) {
      std::cerr << "error: the source has only " << i << " frames\n";
      return 2;
    }
    if (i == want) return cv::imwrite(argv[3], (*f)->bgr) ? 0 : 3;
  }
}
