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
  // One non-blocking open checked with fstat (common/files.h): a FIFO, device or directory is
  // refused at once, and ELOOP / ENAMETOOLONG are named as such, not as a missing file.
  auto file = InputFile::Open(path, limits.max_file_bytes);
  if (!file.ok()) {
    const Status& st = file.status();
    if (st.code() == "file_too_large")
      return Status::InvalidInput("file_too_large", "image " + path.string() + " is over the limit of " +
                                                        std::to_string(limits.max_file_bytes) + " bytes: send a smaller photo");
    return st;
  }
  if (file->size() == 0) return Status::InvalidInput("empty_file", "image " + path.string() + " is empty (0 bytes): send the photo again");
  auto data = file->ReadAll();
  if (!data.ok()) return data.status();
  auto img = DecodeImageBytes(*data, limits);
  if (!img.ok()) return img.status().WithContext(path.filename().string());
  return img;
}

}  // namespace veridge::vision
