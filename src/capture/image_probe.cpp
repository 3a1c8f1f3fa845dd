#include "capture/image_probe.h"

#include <cctype>
#include <cstdint>
#include <cstdlib>

namespace veridge::capture {
namespace {

std::uint32_t Be16(std::string_view b, size_t i) {
  return (std::uint32_t(std::uint8_t(b[i])) << 8) | std::uint8_t(b[i + 1]);
}
std::uint32_t Be32(std::string_view b, size_t i) { return (Be16(b, i) << 16) | Be16(b, i + 2); }
std::uint32_t Le16(std::string_view b, size_t i) {
  return std::uint8_t(b[i]) | (std::uint32_t(std::uint8_t(b[i + 1])) << 8);
}
std::uint32_t Le24(std::string_view b, size_t i) { return Le16(b, i) | (std::uint32_t(std::uint8_t(b[i + 2])) << 16); }
std::uint32_t Le32(std::string_view b, size_t i) { return Le16(b, i) | (Le16(b, i + 2) << 16); }

// Magnitude first, then the cap: negating after the cap turned INT32_MIN (a BMP "top-down" height
// of -2^31) into -2147483648 again, printed as a negative size.
int Clamp(std::int64_t v) {
  const std::int64_t magnitude = v < 0 ? -v : v;
  return magnitude > 1'000'000'000 ? 1'000'000'000 : static_cast<int>(magnitude);
}

std::optional<ImageDimensions> Jpeg(std::string_view b) {
  size_t i = 2;
  while (i + 9 < b.size()) {
    if (std::uint8_t(b[i]) != 0xFF) return std::nullopt;
    std::uint8_t marker = std::uint8_t(b[i + 1]);
    if (marker == 0xFF) {  // fill byte
      ++i;
      continue;
    }
    if (marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7) || marker == 0x01) {
      i += 2;
      continue;
    }
    std::uint32_t len = Be16(b, i + 2);
    bool sof = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
    if (sof) return ImageDimensions{Clamp(Be16(b, i + 7)), Clamp(Be16(b, i + 5)), "jpeg"};
    if (len < 2) return std::nullopt;
    i += 2 + len;
  }
  return std::nullopt;
}

// One header number, read as OpenCV's PxM decoder reads it: white space and comments are skipped,
// and a comment runs to the next '\n' OR '\r' (reading only '\n' here once let the probe see
// 100x100 where the decoder saw 32000x32000). The byte that ends the digits is consumed, exactly
// as the decoder consumes it, so `i` ends on the first raster byte after the last number.
std::optional<std::int64_t> PnmNumber(std::string_view b, size_t& i) {
  while (i < b.size() && !std::isdigit(std::uint8_t(b[i]))) {
    if (b[i] == '#') {
      while (i < b.size() && b[i] != '\n' && b[i] != '\r') ++i;
      if (i < b.size()) ++i;
    } else if (std::isspace(std::uint8_t(b[i]))) {
      ++i;
    } else {
      return std::nullopt;  // the decoder refuses any other byte here
    }
  }
  if (i >= b.size()) return std::nullopt;
  std::int64_t v = 0;
  while (i < b.size() && std::isdigit(std::uint8_t(b[i]))) {
    v = v * 10 + (b[i++] - '0');
    if (v > 0x7FFFFFFF) return std::nullopt;  // the decoder refuses it too
  }
  if (i >= b.size()) return std::nullopt;  // no terminating byte: truncated header
  ++i;
  return v;
}

std::optional<ImageDimensions> Pnm(std::string_view b) {
  // The decoder recognises "P1".."P6" followed by white space only.
  if (b.size() < 3 || !std::isspace(std::uint8_t(b[2]))) return std::nullopt;
  size_t i = 2;
  auto w = PnmNumber(b, i);
  if (!w) return std::nullopt;
  auto h = PnmNumber(b, i);
  if (!h) return std::nullopt;
  const char type = b[1];
  std::int64_t maxval = 1;
  if (type != '1' && type != '4') {
    auto m = PnmNumber(b, i);
    if (!m || *m < 1 || *m > 65535) return std::nullopt;
    maxval = *m;
  }
  ImageDimensions d{Clamp(*w), Clamp(*h), "pnm"};
  d.pnm_type = type;
  d.pnm_max_value = static_cast<int>(maxval);
  d.pnm_data_offset = i;
  return d;
}

// BMP as OpenCV reads it: the info-header size decides the layout. 40+ bytes (Windows): signed
// 32-bit width and height (a negative height means top-down rows); 12 bytes (OS/2): unsigned
// 16-bit width and height. Other sizes, a width <= 0 or a height of 0 are refused by the decoder.
std::optional<ImageDimensions> Bmp(std::string_view b) {
  const std::uint32_t header = Le32(b, 14);
  std::int64_t w = 0, h = 0;
  if (header >= 36 && header < 0x7FFFFFFF) {
    w = static_cast<std::int32_t>(Le32(b, 18));
    h = static_cast<std::int32_t>(Le32(b, 22));
  } else if (header == 12) {
    w = Le16(b, 18);
    h = Le16(b, 20);
  } else {
    return std::nullopt;
  }
  if (w <= 0 || h == 0) return std::nullopt;
  return ImageDimensions{Clamp(w), Clamp(h), "bmp"};
}

}  // namespace

std::optional<ImageDimensions> ProbeImageDimensions(std::string_view b) {
  if (b.size() >= 24 && b.substr(0, 8) == std::string_view("\x89PNG\r\n\x1a\n", 8) && b.substr(12, 4) == "IHDR")
    return ImageDimensions{Clamp(Be32(b, 16)), Clamp(Be32(b, 20)), "png"};
  if (b.size() >= 4 && std::uint8_t(b[0]) == 0xFF && std::uint8_t(b[1]) == 0xD8) return Jpeg(b);
  if (b.size() >= 26 && b[0] == 'B' && b[1] == 'M') return Bmp(b);
  if (b.size() >= 3 && b[0] == 'P' && b[1] >= '1' && b[1] <= '6') return Pnm(b);
  if (b.size() >= 10 && (b.substr(0, 6) == "GIF87a" || b.substr(0, 6) == "GIF89a"))
    return ImageDimensions{Clamp(Le16(b, 6)), Clamp(Le16(b, 8)), "gif"};
  if (b.size() >= 30 && b.substr(0, 4) == "RIFF" && b.substr(8, 4) == "WEBP") {
    auto chunk = b.substr(12, 4);
    if (chunk == "VP8X") return ImageDimensions{Clamp(Le24(b, 24) + 1), Clamp(Le24(b, 27) + 1), "webp"};
    if (chunk == "VP8 ") return ImageDimensions{Clamp(Le16(b, 26) & 0x3FFF), Clamp(Le16(b, 28) & 0x3FFF), "webp"};
    if (chunk == "VP8L") {
      std::uint32_t bits = Le32(b, 21);
      return ImageDimensions{Clamp((bits & 0x3FFF) + 1), Clamp(((bits >> 14) & 0x3FFF) + 1), "webp"};
    }
  }
  return std::nullopt;
}

}  // namespace veridge::capture
