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

int Clamp(std::int64_t v) { return v > 1'000'000'000 ? 1'000'000'000 : static_cast<int>(v < 0 ? -v : v); }

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

std::optional<ImageDimensions> Pnm(std::string_view b) {
  // "P5 <ws> width <ws> height": skip comments.
  size_t i = 2;
  std::int64_t nums[2] = {0, 0};
  for (int k = 0; k < 2; ++k) {
    while (i < b.size() && (std::isspace(std::uint8_t(b[i])) || b[i] == '#')) {
      if (b[i] == '#')
        while (i < b.size() && b[i] != '\n') ++i;
      else
        ++i;
    }
    if (i >= b.size() || !std::isdigit(std::uint8_t(b[i]))) return std::nullopt;
    while (i < b.size() && std::isdigit(std::uint8_t(b[i])) && nums[k] < 1'000'000'000) nums[k] = nums[k] * 10 + (b[i++] - '0');
  }
  return ImageDimensions{Clamp(nums[0]), Clamp(nums[1]), "pnm"};
}

}  // namespace

std::optional<ImageDimensions> ProbeImageDimensions(std::string_view b) {
  if (b.size() >= 24 && b.substr(0, 8) == std::string_view("\x89PNG\r\n\x1a\n", 8) && b.substr(12, 4) == "IHDR")
    return ImageDimensions{Clamp(Be32(b, 16)), Clamp(Be32(b, 20)), "png"};
  if (b.size() >= 4 && std::uint8_t(b[0]) == 0xFF && std::uint8_t(b[1]) == 0xD8) return Jpeg(b);
  if (b.size() >= 26 && b[0] == 'B' && b[1] == 'M')
    return ImageDimensions{Clamp(static_cast<std::int32_t>(Le32(b, 18))), Clamp(static_cast<std::int32_t>(Le32(b, 22))), "bmp"};
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
