// fuzz/image_fuzz.cpp — libFuzzer target: capture::ProbeImageDimensions and the bounded decode
// (vision::DecodeImageBytes -> capture::DecodeStillImage) on arbitrary bytes.
//
// What must hold, whatever the bytes: no crash, no sanitizer report, and the decode is bounded —
// a decoded image never has more pixels than the limit given, and a probe that says "no size"
// means the decode refuses too (a size that cannot be bounded must never be decoded), and what
// is decoded has exactly the probed size.
// Small limits (2 MiB, 4 Mpx) keep each run fast and make the bomb checks reachable.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "capture/image_probe.h"
#include "vision/vision.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto dims = veridge::capture::ProbeImageDimensions(bytes);

  veridge::vision::DecodeLimits limits;
  limits.max_file_bytes = 2 * 1024 * 1024;
  limits.max_pixels = 4'000'000;
  auto img = veridge::vision::DecodeImageBytes(bytes, limits);
  if (img.ok()) {
    if (img->empty()) std::abort();  // ok means pixels
    if (static_cast<std::int64_t>(img->cols) * img->rows > static_cast<std::int64_t>(limits.max_pixels)) std::abort();
    // Decoded something the probe could not bound, or of another size than it read (a probe may
    // report a zero side for formats whose decoder refuses one, but never a decoded image's).
    if (!dims || dims->width != img->cols || dims->height != img->rows) std::abort();
  }
  return 0;
}
