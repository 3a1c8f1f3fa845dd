// capture/still_image.h — the one bounded decoder for still images from outside (a reference
// photo, a capture given as an image, a frame of an image folder). vision::DecodeImage* and the
// capture sources both call it, so every still-image path has the same limits.
//
// Contract
//  * Allow-list: JPEG, PNG, WebP, BMP and binary PNM (P5 grey, P6 colour). Anything else —
//    TIFF, GIF, JPEG 2000, OpenEXR, HDR, Sun raster, PAM/PFM, ASCII PNM, unknown bytes — is
//    refused before any decoder runs: those headers are not probed, so their size is not known.
//  * Size first: the pixel count comes from the header (capture::ProbeImageDimensions) and is
//    checked against limits.max_pixels BEFORE the decoder allocates anything. A header the probe
//    cannot read is refused (it is never "decoded to see"). For JPEG the decoder's own header
//    read (libjpeg) is checked again, so the probe and the decoder cannot disagree; a PNM is
//    re-headed canonically before OpenCV sees it, for the same reason; a binary PNM must hold
//    the whole raster its header declares.
//  * Damaged data is refused, never padded: a JPEG is decoded by libjpeg directly with every
//    libjpeg warning (premature end of data, bad Huffman code, extraneous bytes...) treated as an
//    error, so a cut or corrupted scan never reaches the matcher as a half-grey picture. JPEG and
//    PNG without their end marker are refused before decoding.
//  * Memory: peak use is bounded by the pixel limit — about 8 bytes per pixel for the worst
//    accepted input (16-bit RGBA PNG); alpha is composited over white in 8-bit integer arithmetic
//    (no float copies). libjpeg's own buffers are capped (max_memory_to_use) and a progressive
//    JPEG may have at most kMaxJpegScans scans (bounded time).
//  * Output: 8-bit BGR (CV_8UC3), the right way up (JPEG EXIF orientation applied); 16-bit input
//    is scaled to 8 bits; grey becomes BGR.
//  * Codes (all kInvalidInput): empty_file, file_too_large, unknown_image_format,
//    unsupported_image_format (a known format outside the allow-list, named in the message),
//    image_too_large, truncated_image, corrupt_image, decode_failed.
//  * Pure function of its input; thread-safe.
#pragma once

#include <opencv2/core.hpp>

#include <cstdint>
#include <string_view>

#include "common/status.h"

namespace veridge::capture {

struct StillImageLimits {
  std::uint64_t max_file_bytes = 30ull << 20;  // 30 MB
  std::uint64_t max_pixels = 40'000'000;       // 40 MP, from the header, before decoding
};

// More scans than this in one progressive JPEG is refused (corrupt_image): each scan re-walks the
// whole coefficient buffer, so scan count is decode time. Real encoders write about 10.
inline constexpr int kMaxJpegScans = 100;

Result<cv::Mat> DecodeStillImage(std::string_view bytes, const StillImageLimits& limits = {});

}  // namespace veridge::capture
