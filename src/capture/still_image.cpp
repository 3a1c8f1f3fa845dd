// The bounded still-image decoder (contract in still_image.h).
#include "capture/still_image.h"

// libjpeg is C: its headers need <cstdio> first and carry no extern "C" of their own in some builds.
#include <csetjmp>
#include <cstdio>
extern "C" {
#include <jerror.h>
#include <jpeglib.h>
}

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cstring>
#include <string>

#include "capture/image_probe.h"

namespace veridge::capture {
namespace {

bool StartsWith(std::string_view b, std::string_view magic) { return b.substr(0, magic.size()) == magic; }

// A header we recognise but did not get a size from: the file was cut inside its header.
bool LooksLikeProbedFormat(std::string_view b) {
  return StartsWith(b, std::string_view("\xFF\xD8", 2)) || StartsWith(b, std::string_view("\x89PNG", 4)) ||
         StartsWith(b, "BM") || StartsWith(b, "RIFF") || (b.size() >= 2 && b[0] == 'P' && b[1] >= '1' && b[1] <= '6');
}

// Formats OpenCV can decode but Veridge does not probe: named so the message says what to do.
const char* UnsupportedFormatName(std::string_view b) {
  if (StartsWith(b, std::string_view("II*\0", 4)) || StartsWith(b, std::string_view("MM\0*", 4))) return "TIFF";
  if (StartsWith(b, "GIF8")) return "GIF";
  if (StartsWith(b, std::string_view("\0\0\0\x0CjP  ", 8)) || StartsWith(b, std::string_view("\xFF\x4F\xFF\x51", 4)))
    return "JPEG 2000";
  if (StartsWith(b, std::string_view("\x76\x2F\x31\x01", 4))) return "OpenEXR";
  if (StartsWith(b, "#?RADIANCE") || StartsWith(b, "#?RGBE")) return "Radiance HDR";
  if (StartsWith(b, std::string_view("\x59\xA6\x6A\x95", 4))) return "Sun raster";
  if (StartsWith(b, "P7") || StartsWith(b, "PF") || StartsWith(b, "Pf")) return "PAM/PFM";
  if (b.size() >= 2 && b[0] == 'P' && b[1] >= '1' && b[1] <= '4') return "ASCII or 1-bit PNM";
  return nullptr;
}

// A JPEG whose end-of-image marker is missing was cut short. Entropy-coded data byte-stuffs 0xFF,
// so FF D9 near the end can only be the real EOI (a little trailing junk after it is tolerated,
// as many cameras write some). A cut file with FF D9 appended passes this cheap check; libjpeg's
// "premature end of data segment" warning catches it during the decode.
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

// The EXIF spec's transforms.
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

// Over white, in integers: out = (c·a + 255·(255 − a)) / 255, rounded. The float version this
// replaces made four full-size float copies (a 40 MP RGBA PNG needed ~4 GB and seconds).
cv::Mat CompositeOverWhite(const cv::Mat& bgra) {
  cv::Mat out(bgra.rows, bgra.cols, CV_8UC3);
  for (int y = 0; y < bgra.rows; ++y) {
    const std::uint8_t* s = bgra.ptr<std::uint8_t>(y);
    std::uint8_t* d = out.ptr<std::uint8_t>(y);
    for (int x = 0; x < bgra.cols; ++x, s += 4, d += 3) {
      const unsigned a = s[3], bg = 255u * (255u - a);
      for (int c = 0; c < 3; ++c) d[c] = static_cast<std::uint8_t>((s[c] * a + bg + 127u) / 255u);
    }
  }
  return out;
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
    case 4: out = CompositeOverWhite(m); break;  // transparent pixels often hold black or garbage colour
    default:
      return Status::InvalidInput("decode_failed", "unsupported channel count " + std::to_string(m.channels()));
  }
  return out;
}

// ---- JPEG through libjpeg, every warning an error -----------------------------------------

struct JpegError {
  jpeg_error_mgr mgr;  // first: libjpeg hands us a pointer to it
  std::jmp_buf jump;
  int code = 0;        // libjpeg message code of the error or warning that stopped the decode
  char text[JMSG_LENGTH_MAX] = {};
};

void JpegFail(j_common_ptr cinfo) {
  auto* e = reinterpret_cast<JpegError*>(cinfo->err);
  e->code = e->mgr.msg_code;
  e->mgr.format_message(cinfo, e->text);
  std::longjmp(e->jump, 1);
}

// Level -1 is a warning: libjpeg carries on past corrupt data, filling what it could not decode
// with grey. For a biometric that is a wrong picture, so a warning ends the decode like an error.
// Levels >= 0 are trace messages.
void JpegMessage(j_common_ptr cinfo, int level) {
  if (level < 0) JpegFail(cinfo);
}

void JpegProgress(j_common_ptr cinfo) {
  auto* d = reinterpret_cast<j_decompress_ptr>(cinfo);
  if (d->input_scan_number > kMaxJpegScans) {
    auto* e = reinterpret_cast<JpegError*>(cinfo->err);
    e->code = -1;
    std::snprintf(e->text, sizeof e->text, "more than %d progressive scans", kMaxJpegScans);
    std::longjmp(e->jump, 1);
  }
}

// Adobe CMYK JPEGs store inverted ink values (255 = no ink), so each channel times black is the
// colour: R = C·K / 255.
void CmykRowToBgr(const std::uint8_t* s, std::uint8_t* d, JDIMENSION n, bool inverted) {
  for (JDIMENSION x = 0; x < n; ++x, s += 4, d += 3) {
    unsigned c = s[0], m = s[1], y = s[2], k = s[3];
    if (!inverted) { c = 255 - c; m = 255 - m; y = 255 - y; k = 255 - k; }
    d[0] = static_cast<std::uint8_t>((y * k + 127) / 255);
    d[1] = static_cast<std::uint8_t>((m * k + 127) / 255);
    d[2] = static_cast<std::uint8_t>((c * k + 127) / 255);
  }
}

// Everything between setjmp and the end is C-style: the only C++ objects (out, row) live in the
// caller or are trivially destructible, so a longjmp out of libjpeg skips no destructor.
struct JpegOutcome {
  bool ok = false;
  int code = 0;
  int unread_marker = 0;
  bool too_large = false;
  JDIMENSION width = 0, height = 0;
  char text[JMSG_LENGTH_MAX] = {};
};

void DecodeJpegC(std::string_view bytes, std::uint64_t max_pixels, cv::Mat* out, JpegOutcome* r) {
  jpeg_decompress_struct cinfo;
  JpegError err;
  jpeg_progress_mgr progress{};
  cinfo.err = jpeg_std_error(&err.mgr);
  err.mgr.error_exit = JpegFail;
  err.mgr.emit_message = JpegMessage;
  std::uint8_t* volatile row_buf = nullptr;
  if (setjmp(err.jump)) {
    r->code = err.code;
    r->unread_marker = cinfo.unread_marker;
    std::memcpy(r->text, err.text, sizeof r->text);
    std::free(row_buf);
    jpeg_destroy_decompress(&cinfo);
    return;
  }
  jpeg_create_decompress(&cinfo);
  // A cap on libjpeg's big buffers (progressive coefficients: ~6 bytes per pixel at 40 MP); past
  // it libjpeg would need a backing store, which this build does not have, so it fails.
  cinfo.mem->max_memory_to_use = 512L << 20;
  progress.progress_monitor = JpegProgress;
  cinfo.progress = &progress;
  jpeg_mem_src(&cinfo, reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<unsigned long>(bytes.size()));
  jpeg_read_header(&cinfo, TRUE);
  r->width = cinfo.image_width;
  r->height = cinfo.image_height;
  // The decoder's own view of the size: the probe already checked, but only this one allocates.
  if (std::uint64_t(cinfo.image_width) * cinfo.image_height > max_pixels || cinfo.image_width == 0 || cinfo.image_height == 0) {
    r->too_large = true;
    jpeg_destroy_decompress(&cinfo);
    return;
  }
  const bool cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
  const bool grey = cinfo.jpeg_color_space == JCS_GRAYSCALE;
  cinfo.out_color_space = cmyk ? JCS_CMYK : grey ? JCS_GRAYSCALE : JCS_EXT_BGR;
  jpeg_start_decompress(&cinfo);
  out->create(static_cast<int>(cinfo.output_height), static_cast<int>(cinfo.output_width), grey ? CV_8UC1 : CV_8UC3);
  if (cmyk) row_buf = static_cast<std::uint8_t*>(std::malloc(std::size_t(cinfo.output_width) * 4));
  if (cmyk && !row_buf) {
    r->code = -2;
    std::snprintf(r->text, sizeof r->text, "out of memory");
    jpeg_destroy_decompress(&cinfo);
    return;
  }
  while (cinfo.output_scanline < cinfo.output_height) {
    std::uint8_t* dst = out->ptr<std::uint8_t>(static_cast<int>(cinfo.output_scanline));
    JSAMPROW row = cmyk ? row_buf : dst;
    if (jpeg_read_scanlines(&cinfo, &row, 1) != 1) break;
    if (cmyk) CmykRowToBgr(row_buf, dst, cinfo.output_width, cinfo.saw_Adobe_marker);
  }
  jpeg_finish_decompress(&cinfo);  // reads to EOI: damage after the last row still counts
  std::free(row_buf);
  jpeg_destroy_decompress(&cinfo);
  r->ok = true;
}

Result<cv::Mat> DecodeJpeg(std::string_view bytes, const StillImageLimits& limits) {
  cv::Mat out;
  JpegOutcome r;
  DecodeJpegC(bytes, limits.max_pixels, &out, &r);
  if (r.too_large)
    return Status::InvalidInput("image_too_large", "the JPEG declares " + std::to_string(r.width) + "x" + std::to_string(r.height) +
                                                       " pixels, over the limit of " + std::to_string(limits.max_pixels) +
                                                       ": send a smaller photo");
  if (!r.ok) {
    const std::string why = r.text;
    // Data that stops early (the file was cut, or cut and given a new end marker) is truncated;
    // anything else libjpeg complains about is corruption.
    if (r.code == JWRN_JPEG_EOF || (r.code == JWRN_HIT_MARKER && r.unread_marker == 0xD9))
      return Status::InvalidInput("truncated_image", "the JPEG's image data ends early (" + why +
                                                         "): part of the picture is missing; send the whole file again");
    return Status::InvalidInput("corrupt_image", "the JPEG's image data is damaged (" + why + "): send the photo again");
  }
  if (out.channels() == 1) cv::cvtColor(out, out, cv::COLOR_GRAY2BGR);
  ApplyOrientation(out, JpegExifOrientation(bytes));
  return out;
}

// A binary PNM re-headed as "P5|P6 W H MAX\n" + raster: OpenCV then parses exactly the numbers
// the probe read, whatever comments or white-space tricks the original header held.
Result<std::string> CanonicalPnm(std::string_view bytes, const ImageDimensions& d) {
  const std::uint64_t channels = d.pnm_type == '6' ? 3 : 1;
  const std::uint64_t sample_bytes = d.pnm_max_value > 255 ? 2 : 1;
  const std::uint64_t raster = std::uint64_t(d.width) * std::uint64_t(d.height) * channels * sample_bytes;
  if (bytes.size() < d.pnm_data_offset || bytes.size() - d.pnm_data_offset < raster)
    return Status::InvalidInput("truncated_image", "the PNM file holds less pixel data than its " + std::to_string(d.width) + "x" +
                                                       std::to_string(d.height) + " header declares: send the whole file again");
  std::string out = std::string("P") + d.pnm_type + "\n" + std::to_string(d.width) + " " + std::to_string(d.height) + "\n" +
                    std::to_string(d.pnm_max_value) + "\n";
  out.append(bytes.substr(d.pnm_data_offset, static_cast<size_t>(raster)));
  return out;
}

Result<cv::Mat> DecodeWithOpenCv(std::string_view bytes, const ImageDimensions& dims) {
  const std::string fmt = dims.format;
  cv::Mat raw;
  try {
    // IMREAD_UNCHANGED keeps 16-bit and alpha so they are converted properly (IMREAD_COLOR would
    // drop alpha onto black).
    cv::Mat buf(1, static_cast<int>(bytes.size()), CV_8UC1, const_cast<char*>(bytes.data()));
    raw = cv::imdecode(buf, cv::IMREAD_UNCHANGED);
  } catch (const cv::Exception& e) {
    return Status::InvalidInput("decode_failed", "the " + fmt + " image could not be decoded (" + e.err + "): send a valid JPEG or PNG");
  }
  if (raw.empty())
    return Status::InvalidInput("decode_failed", "the " + fmt + " image could not be decoded (corrupt data): send a valid JPEG or PNG");
  if (raw.cols != dims.width || raw.rows != dims.height)
    return Status::InvalidInput("decode_failed", "decoded size differs from the header's: the file is corrupt");
  // A 32-bit BMP's fourth byte is usually unused (often 0), not alpha: compositing it would
  // turn the picture white.
  if (fmt == "bmp" && raw.channels() == 4) cv::cvtColor(raw, raw, cv::COLOR_BGRA2BGR);
  return ToBgr8(raw);
}

}  // namespace

Result<cv::Mat> DecodeStillImage(std::string_view bytes, const StillImageLimits& limits) {
  if (bytes.empty()) return Status::InvalidInput("empty_file", "the image is empty (0 bytes): send the photo again");
  if (bytes.size() > limits.max_file_bytes)
    return Status::InvalidInput("file_too_large", "the image is " + std::to_string(bytes.size()) + " bytes, over the limit of " +
                                                      std::to_string(limits.max_file_bytes) + ": send a smaller photo");
  if (const char* name = UnsupportedFormatName(bytes))
    return Status::InvalidInput("unsupported_image_format", std::string("the image is ") + name +
                                                                ", which is not accepted (its size cannot be checked before decoding): "
                                                                "send a JPEG or PNG photo");
  const auto dims = ProbeImageDimensions(bytes);
  if (!dims) {
    if (LooksLikeProbedFormat(bytes))
      return Status::InvalidInput("truncated_image", "the image header is incomplete or malformed, so its size cannot be read: "
                                                     "send the whole file again, as a JPEG or PNG");
    return Status::InvalidInput("unknown_image_format",
                                "not a JPEG, PNG, BMP, PNM or WebP image (unrecognised header): send a JPEG or PNG photo");
  }
  const std::string fmt = dims->format;
  if (fmt == "gif")
    return Status::InvalidInput("unsupported_image_format", "the image is GIF, which is not accepted: send a JPEG or PNG photo");
  const std::uint64_t pixels = std::uint64_t(dims->width) * std::uint64_t(dims->height);
  if (pixels > limits.max_pixels)
    return Status::InvalidInput("image_too_large", "the image header declares " + std::to_string(dims->width) + "x" +
                                                       std::to_string(dims->height) + " pixels, over the limit of " +
                                                       std::to_string(limits.max_pixels) + ": send a smaller photo");
  if (pixels == 0) return Status::InvalidInput("decode_failed", "the image header declares no pixels: the file is corrupt");
  if ((fmt == "jpeg" && !JpegComplete(bytes)) || (fmt == "png" && !PngComplete(bytes)))
    return Status::InvalidInput("truncated_image", "the " + fmt + " file ends before its end marker (it was cut short): send the whole file again");

  if (fmt == "jpeg") return DecodeJpeg(bytes, limits);
  if (fmt == "pnm") {
    if (dims->pnm_type != '5' && dims->pnm_type != '6')
      return Status::InvalidInput("unsupported_image_format", "only binary PNM (P5, P6) is accepted: send a JPEG or PNG photo");
    auto canonical = CanonicalPnm(bytes, *dims);
    if (!canonical.ok()) return canonical.status();
    return DecodeWithOpenCv(*canonical, *dims);
  }
  return DecodeWithOpenCv(bytes, *dims);
}

}  // namespace veridge::capture
