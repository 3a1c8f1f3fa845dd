// capture/image_probe.h — reads an image's dimensions from its header, without decoding it, so a
// decompression bomb (a small PNG claiming 30000×30000) is refused before any pixel is allocated.
// Knows PNG, JPEG (SOFn markers), BMP, PNM (P1–P6), GIF and WebP (VP8/VP8L/VP8X). Pure function.
//
// The probe reads each header the way OpenCV's decoder for that format does (BMP: the 12-byte OS/2
// header has 16-bit sizes; PNM: a comment ends at '\n' or '\r'), because a probe that sees a
// smaller image than the decoder lets a decompression bomb through. Headers that the decoder
// would refuse or read differently (a BMP of another header size, a width <= 0) give nullopt.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace veridge::capture {

struct ImageDimensions {
  int width = 0;
  int height = 0;
  const char* format = "";  // "png", "jpeg", "bmp", "pnm", "gif", "webp"
  // PNM only: the type digit ('1'..'6'), the maximum sample value (1 for P1/P4) and the offset of
  // the first raster byte (just after the single white-space character that ends the header).
  char pnm_type = 0;
  int pnm_max_value = 0;
  std::size_t pnm_data_offset = 0;
};

// The dimensions declared in the header; std::nullopt when the format is unknown or the header is
// truncated. A caller must then refuse the file: without a size it cannot be bounded.
std::optional<ImageDimensions> ProbeImageDimensions(std::string_view bytes);

}  // namespace veridge::capture
