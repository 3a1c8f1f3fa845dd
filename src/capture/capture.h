// capture/capture.h — frame sources: a video file, a single image, a folder of images, or a V4L2
// camera (/dev/videoN). The only module that talks to OpenCV videoio.
//
// Contract
//  * OpenSource(spec, options) decides the kind from the spec: "/dev/video*" → camera, a directory →
//    image folder (sorted by name), a file whose extension is an image → one image, else a video file.
//  * Every source is bounded: at most options.max_frames frames and options.max_duration_ms of
//    source time; frames larger than options.max_width × max_height are refused (code frame_too_large)
//    — a 4K frame is accepted, an 8K one is not by default. Next() after the bound returns end-of-stream
//    and `truncated()` says it happened, so callers can report it.
//  * Timestamps come from the source (container PTS for video, capture time for cameras, a synthetic
//    1/fps clock for image folders) and are reported as is, even if they go backwards: liveness needs to
//    see non-monotonic timestamps to flag injection.
//  * Frames are decoded one at a time; memory is bounded by one frame whatever the clip length.
//  * Still images (a single image or an image folder) go through the one bounded decoder,
//    capture::DecodeStillImage (still_image.h): allow-listed formats only, the size read from
//    the header before any allocation, damaged data refused (its codes are passed through).
//  * Video files are sniffed before FFmpeg sees them: only MP4/MOV, Matroska/WebM and AVI are
//    accepted (`unsupported_container` otherwise: an HLS playlist, a concat list, an image2
//    pattern, raw streams...). FFmpeg then opens the absolute path with the sniffed demuxer
//    forced and the only one allowed, the `file` protocol only and MOV external references off,
//    so a clip can never pull in another input (file, pipe or URL).
//  * A FrameSource is not thread-safe; use it from one thread. OpenSource may be called from
//    several threads (it serialises the FFmpeg open, whose options travel in an environment
//    variable).
#pragma once

#include <opencv2/core.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "common/status.h"

namespace veridge::capture {

struct Frame {
  cv::Mat bgr;                 // 8-bit BGR
  double timestamp_ms = 0.0;   // source time of this frame
  std::int64_t index = 0;      // 0-based index in the source (counts dropped/unreadable frames)
};

struct SourceInfo {
  std::string kind;            // "video" | "image" | "image_dir" | "device"
  std::string spec;            // what was opened
  double nominal_fps = 0.0;    // container/device frame rate (0 when unknown)
  int width = 0, height = 0;   // first frame size (0 when unknown until read)
  std::int64_t frame_count = -1;  // -1 when unknown (cameras, some containers)
  // Cameras only: the V4L2 driver and card names, and whether they look like a virtual camera
  // (v4l2loopback, OBS, akvcam...) — an injection path.
  std::string driver;
  std::string card;
  bool virtual_device = false;
};

struct CaptureOptions {
  std::int64_t max_frames = 18000;          // 10 minutes at 30 fps
  double max_duration_ms = 10 * 60 * 1000;  // source time
  int max_width = 4096;                     // 4K (3840×2160, 4096×2160) allowed
  int max_height = 4096;
  std::uint64_t max_file_bytes = 512ull << 20;  // video file size limit
  std::uint64_t max_image_bytes = 30ull << 20;  // per image in a folder
  int max_consecutive_read_failures = 30;   // a corrupt stream ends with an error, not a hang
  double image_dir_fps = 30.0;              // synthetic clock for image folders
  // Cameras only: the format asked of the driver (0 = the driver's default). A driver may pick the
  // nearest it supports; SourceInfo and the frames say what it gave.
  int device_width = 0, device_height = 0;
  double device_fps = 0;
};

class FrameSource {
 public:
  virtual ~FrameSource() = default;
  // The next frame; std::nullopt at the end of the stream (or at the bound). Errors: frame_too_large,
  // decode_failed (too many unreadable frames in a row), capture_failed.
  virtual Result<std::optional<Frame>> Next() = 0;
  virtual const SourceInfo& info() const = 0;
  // True when the source was cut at options.max_frames / max_duration_ms.
  virtual bool truncated() const = 0;
};

// Opens a source. Codes: source_not_found, source_too_large, unsupported_container (a video file
// that is not MP4/MOV, Matroska/WebM or AVI), source_unreadable (corrupt video), device_unavailable;
// not_a_file (a FIFO, socket or device other than /dev/video*: refused without ever blocking on it),
// bad_path, permission_denied (common/files.h). Every file is opened through common/files.h's
// InputFile. A still image's decode errors come from Next().
Result<std::unique_ptr<FrameSource>> OpenSource(const std::string& spec, const CaptureOptions& options = {});

// A source over frames already in memory; for tests and synthetic attacks. Timestamps as given.
std::unique_ptr<FrameSource> MemorySource(std::vector<Frame> frames, SourceInfo info);

// True when a file name looks like a still image (by extension).
bool IsImagePath(const std::string& path);

}  // namespace veridge::capture
