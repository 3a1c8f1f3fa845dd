// Bounded image decode: size and pixel-count limits are enforced from the file size and the format
// header *before* OpenCV allocates anything, so a decompression bomb costs nothing.
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <cstdint>

#include "capture/image_probe.h"
#include "common/files.h"
#include "vision/vision.h"

namespace veridge::vision {
namespace {

bool StartsWith(std::string_view b, std::string_view magic) { return b.substr(0, magic.size()) == magic; }

bool LooksLikeKnownFormat(std::string_view b) {
  return StartsWith(b, std::string_view("\xFF\xD8", 2)) || StartsWith(b, std::string_view("\x89PNG", 4)) ||
         StartsWith(b, "BM") || StartsWith(b, "GIF8") || StartsWith(b, "RIFF") ||
         (b.size() >= 2 && b[0] == 'P' && b[1] >= '1' && b[1] <= '6');
}

// A JPEG whose end-of-image marker is missing was cut short: libjpeg would "decode" it, padding
// the missing rows with grey, and a half-grey face must not reach the matcher. Entropy-coded data
// byte-stuffs 0xFF, so FF D9 near the end can only be the real EOI (a little trailing junk after it
// is tolerated, as many cameras write some).
bool JpegComplete(std::string_view b) {
  const size_t tail = std::min<size_t>(b.size(), 1024);
  for (size_t i = b.size() - tail; i + 1 < b.size(); ++i)
    if (std::uint8_t(b[i]) == 0xFF && std::uint8_t(b[i + 1]) == 0xD9) return true;
  return false;
}

bool PngComplete(std::string_view b) {
  const size_t tail = std::min<size_t>(b.size(), 256);
  return b.substr(b.size() - tail).find("IEND") != std::string_view::npos;
}

std::uint32_t Rd16(std::string_view b, size_t i, bool le) {
  const auto a = std::uint8_t(b[i]), c = std::uint8_t(b[i + 1]);
  return le ? (a | (c << 8)) : ((a << 8) | c);
}
std::uint32_t Rd32(std::string_view b, size_t i, bool le) {
  return le ? (Rd16(b, i, le) | (Rd16(b, i + 2, le) << 16)) : ((Rd16(b, i, le) << 16) | Rd16(b, i + 2, le));
}

// EXIF orientation tag (1..8) of a JPEG, 1 when absent or unreadable. Every offset is bounds-checked:
// the EXIF block comes from outside.
int JpegExifOrientation(std::string_view b) {
  size_t i = 2;
  while (i + 4 <= b.size()) {
    if (std::uint8_t(b[i]) != 0xFF) return 1;
    const std::uint8_t marker = std::uint8_t(b[i + 1]);
    if (marker == 0xFF) { ++i; continue; }
    if (marker == 0xDA || marker == 0xD9) return 1;  // start of scan: no EXIF before the pixels
    const size_t len = Rd16(b, i + 2, false);
    if (len < 2 || i + 2 + len > b.size()) return 1;
    if (marker == 0xE1 && len >= 8 + 6 && b.substr(i + 4, 6) == std::string_view("Exif\0\0", 6)) {
      const std::string_view tiff = b.substr(i + 10, len - 8);
      if (tiff.size() < 8) return 1;
      const bool le = tiff[0] == 'I';
      if (!(le || tiff[0] == 'M') || Rd16(tiff, 2, le) != 42) return 1;
      const size_t ifd = Rd32(tiff, 4, le);
      if (ifd + 2 > tiff.size()) return 1;
      const size_t count = Rd16(tiff, ifd, le);
      for (size_t e = 0; e < count && e < 512; ++e) {
        const size_t off = ifd + 2 + 12 * e;
        if (off + 12 > tiff.size()) return 1;
        if (Rd16(tiff, off, le) == 0x0112) {
          const int o = static_cast<int>(Rd16(tiff, off + 8, le));
          return (o >= 1 && o <= 8) ? o : 1;
        }
      }
      return 1;
    }
    i += 2 + len;
  }
  return 1;
}

// Same transforms as the EXIF spec (and OpenCV's own IMREAD_COLOR path, which we cannot use
// because it drops alpha and 16-bit).
void ApplyOrientation(cv::Mat& m, int o) {
  switch (o) {
    case 2: cv::flip(m, m, 1); break;
    case 3: cv::flip(m, m, -1); break;
    case 4: cv::flip(m, m, 0); break;
    case 5: cv::transpose(m, m); break;
    case 6: cv::transpose(m, m); cv::flip(m, m, 1); break;
    case 7: cv::transpose(m, m); cv::flip(m, m, -1); break;
    case 8: cv::transpose(m, m); cv::flip(m, m, 0); break;
    default: break;
  }
}

Result<cv::Mat> ToBgr8(cv::Mat m) {
  if (m.depth() == CV_16U) {
    m.convertTo(m, CV_8U, 1.0 / 257.0);
  } else if (m.depth() != CV_8U) {
    return Status::InvalidInput("decode_failed", "unsupported pixel depth (only 8- and 16-bit images): convert it to an 8-bit JPEG or PNG");
  }
  cv::Mat out;
  switch (m.channels()) {
    case 1: cv::cvtColor(m, out, cv::COLOR_GRAY2BGR); break;
    case 3: out = m; break;
    case 4: {
      // Composite over white: transparent pixels often hold black or garbage colour values.
      std::vector<cv::Mat> ch;
      cv::split(m, ch);
      cv::Mat alpha;
      ch[3].convertTo(alpha, CV_32F, 1.0 / 255.0);
      cv::Mat bgr;
      cv::merge(std::vector<cv::Mat>{ch[0], ch[1], ch[2]}, bgr);
      bgr.convertTo(bgr, CV_32FC3);
      cv::Mat a3;
      cv::merge(std::vector<cv::Mat>{alpha, alpha, alpha}, a3);
      cv::Mat white(bgr.size(), CV_32FC3, cv::Scalar(255, 255, 255));
      cv::Mat blended = bgr.mul(a3) + white.mul(cv::Scalar(1, 1, 1) - a3);
      blended.convertTo(out, CV_8UC3);
      break;
    }
    default:
      return Status::InvalidInput("decode_failed", "unsupported channel count " + std::to_string(m.channels()));
  }
  return out;
}

}  // namespace

Result<cv::Mat> DecodeImageBytes(std::string_view bytes, const DecodeLimits& limits) {
  if (bytes.empty()) return Status::InvalidInput("empty_file", "the image is empty (0 bytes): send the photo again");
  if (bytes.size() > limits.max_file_bytes)
    return Status::InvalidInput("file_too_large", "the image is " + std::to_string(bytes.size()) +
                                                      " bytes, over the limit of " +
                                                      std::to_string(limits.max_file_bytes) + ": send a smaller photo");
  const auto dims = capture::ProbeImageDimensions(bytes);
  if (!dims) {
    if (LooksLikeKnownFormat(bytes))
      return Status::InvalidInput("truncated_image", "the image header is incomplete (the file was cut short): send the whole file again");
    return Status::InvalidInput("unknown_image_format",
                                "not a JPEG, PNG, BMP, PNM or WebP image (unrecognised header): send a JPEG or PNG photo");
  }
  const std::uint64_t pixels = std::uint64_t(dims->width) * std::uint64_t(dims->height);
  if (pixels > limits.max_pixels)
    return Status::InvalidInput("image_too_large", "the image header declares " + std::to_string(dims->width) + "x" +
                                                       std::to_string(dims->height) + " pixels, over the limit of " +
                                                       std::to_string(limits.max_pixels) + ": send a smaller photo");
  if (dims->width < limits.min_side || dims->height < limits.min_side)
    return Status::InvalidInput("image_too_small", "the image is " + std::to_string(dims->width) + "x" +
                                                       std::to_string(dims->height) + " pixels, too small to hold a usable face (minimum side " +
                                                       std::to_string(limits.min_side) + ")");
  const std::string_view fmt = dims->format;
  if ((fmt == "jpeg" && !JpegComplete(bytes)) || (fmt == "png" && !PngComplete(bytes)))
    return Status::InvalidInput("truncated_image", "the " + std::string(fmt) + " file ends before its end marker (it was cut short): send the whole file again");

  cv::Mat raw;
  try {
    // IMREAD_UNCHANGED keeps 16-bit and alpha so we can convert them properly; EXIF is ours to apply.
    cv::Mat buf(1, static_cast<int>(bytes.size()), CV_8UC1, const_cast<char*>(bytes.data()));
    raw = cv::imdecode(buf, cv::IMREAD_UNCHANGED);
  } catch (const cv::Exception& e) {
    return Status::InvalidInput("decode_failed", "the " + std::string(fmt) + " image could not be decoded (" + e.err + "): send a valid JPEG or PNG");
  }
  if (raw.empty())
    return Status::InvalidInput("decode_failed", "the " + std::string(fmt) + " image could not be decoded (corrupt data): send a valid JPEG or PNG");
  if (raw.cols != dims->width || raw.rows != dims->height)
    return Status::InvalidInput("decode_failed", "decoded size differs from the header's: the file is corrupt");
  auto bgr = ToBgr8(raw);
  if (!bgr.ok()) return bgr;
  if (fmt == "jpeg") ApplyOrientation(*bgr, JpegExifOrientation(bytes));
  return bgr;
}

Result<cv::Mat> DecodeImageFile(const std::filesystem::path& path, const DecodeLimits& limits) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec))
    return Status::NotFound("file_not_found", "image " + path.string() + " does not exist: check the path");
  if (!std::filesystem::is_regular_file(path, ec))
    return Status::InvalidInput("not_a_file", path.string() + " is not a regular file");
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return Status::Io("read_failed", "cannot stat " + path.string() + ": " + ec.message());
  if (size == 0) return Status::InvalidInput("empty_file", "image " + path.string() + " is empty (0 bytes): send the photo again");
  if (size > limits.max_file_bytes)
    return Status::InvalidInput("file_too_large", "image " + path.string() + " is " + std::to_string(size) +
                                                      " bytes, over the limit of " + std::to_string(limits.max_file_bytes) +
                                                      ": send a smaller photo");
  auto data = ReadFileBounded(path, limits.max_file_bytes);
  if (!data.ok()) return data.status();
  auto img = DecodeImageBytes(*data, limits);
  if (!img.ok()) return img.status().WithContext(path.filename().string());
  return img;
}

}  // namespace veridge::vision
