// Bounded image decode for the face pipeline: capture::DecodeStillImage (one decoder for every
// still-image path: allow-listed formats, sizes from the header before any allocation, damaged
// data refused) plus the face-specific minimum size.
#include <cstdint>

#include "capture/still_image.h"
#include "common/files.h"
#include "vision/vision.h"

namespace veridge::vision {

Result<cv::Mat> DecodeImageBytes(std::string_view bytes, const DecodeLimits& limits) {
  auto img = capture::DecodeStillImage(bytes, {limits.max_file_bytes, limits.max_pixels});
  if (!img.ok()) return img;
  // Checked after the (bounded) decode: a picture this small costs nothing to decode.
  if (img->cols < limits.min_side || img->rows < limits.min_side)
    return Status::InvalidInput("image_too_small", "the image is " + std::to_string(img->cols) + "x" + std::to_string(img->rows) +
                                                       " pixels, too small to hold a usable face (minimum side " +
                                                       std::to_string(limits.min_side) + ")");
  return img;
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
