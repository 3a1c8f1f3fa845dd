// capture/image_probe.h — reads an image's dimensions from its header, without decoding it, so a
// decompression bomb (a small PNG claiming 30000×30000) is refused before any pixel is allocated.
// Knows PNG, JPEG (SOFn markers), BMP, PNM (P1–P6), GIF and WebP (VP8/VP8L/VP8X). Pure function.
#pragma once

#include <optional>
#include <string_view>

namespace veridge::capture {

struct ImageDimensions {
  int width = 0;
  int height = 0;
  const char* format = "";  // "png", "jpeg", "bmp", "pnm", "gif", "webp"
};

// The dimensions declared in the header; std::nullopt when the format is unknown or the header is
// truncated (the caller then lets the decoder fail with its own error).
std::optional<ImageDimensions> ProbeImageDimensions(std::string_view bytes);

}  // namespace veridge::capture
