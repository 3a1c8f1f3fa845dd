#include "capture/capture.h"

#include <fcntl.h>
#include <linux/videodev2.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cerrno>
#include <filesystem>
#include <mutex>
#include <optional>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>
#include <vector>

#include "capture/image_probe.h"
#include "capture/still_image.h"
#include "common/files.h"

namespace veridge::capture {
namespace fs = std::filesystem;

bool IsImagePath(const std::string& path) {
  std::string ext = fs::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  static const char* kExts[] = {".jpg", ".jpeg", ".png", ".bmp", ".pgm", ".ppm", ".pnm", ".webp", ".tif", ".tiff"};
  return std::any_of(std::begin(kExts), std::end(kExts), [&](const char* e) { return ext == e; });
}

namespace {

Status FrameTooLarge(int w, int h, const CaptureOptions& o) {
  return Status::InvalidInput("frame_too_large", "frame of " + std::to_string(w) + "x" + std::to_string(h) +
                                                     " exceeds the limit of " + std::to_string(o.max_width) + "x" +
                                                     std::to_string(o.max_height) + "; lower the camera or video resolution");
}

// Decodes one still image through the one bounded decoder (still_image.h): the frame-size limit
// is applied from the header first, so a decompression bomb is refused before any allocation, and
// a header that cannot be read, a format outside the allow-list or damaged data is refused.
Result<cv::Mat> DecodeStill(const fs::path& path, const CaptureOptions& o) {
  auto bytes = ReadFileBounded(path, o.max_image_bytes);
  if (!bytes.ok()) return bytes.status();
  auto dims = ProbeImageDimensions(*bytes);
  if (dims && (dims->width > o.max_width || dims->height > o.max_height)) return FrameTooLarge(dims->width, dims->height, o);
  auto img = DecodeStillImage(*bytes, {o.max_image_bytes, std::uint64_t(o.max_width) * std::uint64_t(o.max_height)});
  if (!img.ok()) return img.status().WithContext(path.string());
  if (img->cols > o.max_width || img->rows > o.max_height) return FrameTooLarge(img->cols, img->rows, o);  // EXIF-rotated
  return img;
}

class StillSource final : public FrameSource {
 public:
  StillSource(std::vector<fs::path> files, SourceInfo info, CaptureOptions o)
      : files_(std::move(files)), info_(std::move(info)), o_(o) {}
  Result<std::optional<Frame>> Next() override {
    if (next_ >= files_.size()) return std::optional<Frame>();
    if (static_cast<std::int64_t>(next_) >= o_.max_frames) {
      truncated_ = true;
      return std::optional<Frame>();
    }
    double ts = static_cast<double>(next_) * 1000.0 / o_.image_dir_fps;
    if (ts > o_.max_duration_ms) {
      truncated_ = true;
      return std::optional<Frame>();
    }
    auto img = DecodeStill(files_[next_], o_);
    if (!img.ok()) return img.status();
    Frame f{std::move(*img), ts, static_cast<std::int64_t>(next_)};
    ++next_;
    return std::optional<Frame>(std::move(f));
  }
  const SourceInfo& info() const override { return info_; }
  bool truncated() const override { return truncated_; }

 private:
  std::vector<fs::path> files_;
  SourceInfo info_;
  CaptureOptions o_;
  size_t next_ = 0;
  bool truncated_ = false;
};

class VideoSource final : public FrameSource {
 public:
  VideoSource(std::unique_ptr<cv::VideoCapture> cap, SourceInfo info, CaptureOptions o)
      : cap_(std::move(cap)), info_(std::move(info)), o_(o) {}
  Result<std::optional<Frame>> Next() override {
    if (ended_) return std::optional<Frame>();
    if (produced_ >= o_.max_frames) return Truncate();
    cv::Mat frame;
    int failures = 0;
    while (true) {
      bool ok = false;
      try {
        ok = cap_->read(frame);
      } catch (const cv::Exception&) {
        ok = false;
      }
      if (ok && !frame.empty()) break;
      // Files end with a failed read; a camera that stops delivering is an error after a few tries.
      if (info_.kind == "video") {
        ended_ = true;
        if (produced_ == 0)
          return Status::InvalidInput("source_unreadable", info_.spec + ": no frame could be decoded; the video is corrupt or in an unsupported format");
        return std::optional<Frame>();
      }
      if (++failures >= o_.max_consecutive_read_failures)
        return Status::Unavailable("capture_failed", info_.spec + ": the camera stopped delivering frames; check the cable and that no other program uses it");
    }
    if (frame.cols > o_.max_width || frame.rows > o_.max_height) {
      ended_ = true;
      return FrameTooLarge(frame.cols, frame.rows, o_);
    }
    if (frame.type() != CV_8UC3) {
      cv::Mat bgr;
      if (frame.channels() == 1) cv::cvtColor(frame, bgr, cv::COLOR_GRAY2BGR);
      else if (frame.channels() == 4) cv::cvtColor(frame, bgr, cv::COLOR_BGRA2BGR);
      else bgr = frame;
      frame = bgr;
    }
    double ts = 0;
    if (info_.kind == "device") {
      ts = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start_).count();
    } else {
      ts = cap_->get(cv::CAP_PROP_POS_MSEC);
    }
    if (produced_ == 0) first_ts_ = ts;
    if (ts - first_ts_ > o_.max_duration_ms) return Truncate();
    std::int64_t index = info_.kind == "video" ? static_cast<std::int64_t>(cap_->get(cv::CAP_PROP_POS_FRAMES)) - 1 : produced_;
    if (index < produced_) index = produced_;
    ++produced_;
    if (info_.width == 0) {
      info_.width = frame.cols;
      info_.height = frame.rows;
    }
    return std::optional<Frame>(Frame{std::move(frame), ts, index});
  }
  const SourceInfo& info() const override { return info_; }
  bool truncated() const override { return truncated_; }

 private:
  Result<std::optional<Frame>> Truncate() {
    ended_ = truncated_ = true;
    return std::optional<Frame>();
  }
  std::unique_ptr<cv::VideoCapture> cap_;
  SourceInfo info_;
  CaptureOptions o_;
  std::int64_t produced_ = 0;
  double first_ts_ = 0;
  bool ended_ = false;
  bool truncated_ = false;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

class MemoryFrameSource final : public FrameSource {
 public:
  MemoryFrameSource(std::vector<Frame> frames, SourceInfo info) : frames_(std::move(frames)), info_(std::move(info)) {}
  Result<std::optional<Frame>> Next() override {
    if (next_ >= frames_.size()) return std::optional<Frame>();
    return std::optional<Frame>(frames_[next_++]);
  }
  const SourceInfo& info() const override { return info_; }
  bool truncated() const override { return false; }

 private:
  std::vector<Frame> frames_;
  SourceInfo info_;
  size_t next_ = 0;
};

// Reads the V4L2 driver and card names; virtual cameras name themselves.
void QueryV4l2(const std::string& dev, SourceInfo& info) {
  int fd = ::open(dev.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return;
  v4l2_capability cap{};
  if (::ioctl(fd, VIDIOC_QUERYCAP, &cap) == 0) {
    info.driver = reinterpret_cast<const char*>(cap.driver);
    info.card = reinterpret_cast<const char*>(cap.card);
  }
  ::close(fd);
  std::string both = info.driver + " " + info.card;
  std::transform(both.begin(), both.end(), both.begin(), [](unsigned char c) { return std::tolower(c); });
  for (const char* v : {"loopback", "obs", "virtual", "akvcam", "dummy", "manycam", "snap camera"})
    if (both.find(v) != std::string::npos) info.virtual_device = true;
}

// ---- video containers ----------------------------------------------------------------------
// FFmpeg, left to itself, guesses the container from the bytes and the name, and some of its
// "containers" open other inputs: an HLS playlist or a concat list pulls in other files (a
// 200-byte .mp4 that is a playlist passed liveness with someone else's clip), an image2 pattern
// reads a numbered sequence, "pipe:" reads a descriptor. So a video file is sniffed here and
// handed to FFmpeg with its demuxer FORCED to the one the magic bytes name, only that demuxer
// allowed, only the file protocol allowed, and MOV external references off.

struct Container {
  const char* demuxer;  // FFmpeg demuxer short name
  const char* label;    // for messages
};

// The first n bytes of a regular file (O_NONBLOCK: a FIFO swapped in cannot block the open).
Result<std::string> ReadHead(const std::string& path, size_t n) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return Status::Io("source_unreadable", path + ": " + ErrnoText(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status::InvalidInput("source_unreadable", path + ": not a regular file");
  }
  std::string head(n, '\0');
  ssize_t got = 0;
  do got = ::pread(fd, head.data(), n, 0); while (got < 0 && errno == EINTR);
  const int err = errno;
  ::close(fd);
  if (got < 0) return Status::Io("source_unreadable", path + ": " + ErrnoText(err));
  head.resize(static_cast<size_t>(got));
  return head;
}

std::optional<Container> SniffContainer(const std::string& head) {
  auto at = [&](size_t off, std::string_view magic) { return head.size() >= off + magic.size() && head.compare(off, magic.size(), magic) == 0; };
  // ISO BMFF / QuickTime: the first box is usually ftyp; old QuickTime files start with moov/mdat/wide/free.
  for (std::string_view box : {"ftyp", "moov", "mdat", "wide", "free", "skip"})
    if (at(4, box)) return Container{"mov", "MP4/MOV"};
  if (at(0, std::string_view("\x1A\x45\xDF\xA3", 4))) return Container{"matroska", "Matroska/WebM"};
  if (at(0, "RIFF") && at(8, "AVI ")) return Container{"avi", "AVI"};
  return std::nullopt;
}

// Names what a refused file looks like, so the message can say what was found.
std::string DescribeUnknownContainer(const std::string& head) {
  if (head.rfind("#EXTM3U", 0) == 0 || head.find("#EXT-X-") != std::string::npos) return "an HLS playlist";
  if (head.rfind("ffconcat", 0) == 0 || head.find("file '") != std::string::npos) return "an FFmpeg concat list";
  return "not an MP4/MOV, Matroska/WebM or AVI file";
}

// OpenCV's FFmpeg backend takes avformat_open_input options only from this environment variable
// ("key;value|key;value"), read at each open. It is set for the duration of one open, under a
// lock, and restored, so capture is the only code that decides it.
std::mutex g_ffmpeg_env_mu;

bool OpenVideoLocked(cv::VideoCapture& cap, const std::string& absolute_path, const Container& c) {
  std::lock_guard<std::mutex> lock(g_ffmpeg_env_mu);
  const char* prev = std::getenv("OPENCV_FFMPEG_CAPTURE_OPTIONS");
  const std::string saved = prev ? prev : "";
  std::string options = std::string("input_format;") + c.demuxer + "|format_whitelist;" + c.demuxer +
                        "|protocol_whitelist;file";
  if (std::string_view(c.demuxer) == "mov") options += "|enable_drefs;0";
  ::setenv("OPENCV_FFMPEG_CAPTURE_OPTIONS", options.c_str(), 1);
  bool opened = false;
  try {
    opened = cap.open(absolute_path, cv::CAP_FFMPEG);
  } catch (const cv::Exception&) {
    opened = false;
  }
  if (prev) ::setenv("OPENCV_FFMPEG_CAPTURE_OPTIONS", saved.c_str(), 1);
  else ::unsetenv("OPENCV_FFMPEG_CAPTURE_OPTIONS");
  return opened;
}

}  // namespace

Result<std::unique_ptr<FrameSource>> OpenSource(const std::string& spec, const CaptureOptions& o) {
  SourceInfo info;
  info.spec = spec;
  std::error_code ec;
  if (spec.rfind("/dev/video", 0) == 0) {
    info.kind = "device";
    QueryV4l2(spec, info);
    auto cap = std::make_unique<cv::VideoCapture>();
    bool opened = false;
    try {
      opened = cap->open(spec, cv::CAP_V4L2);
    } catch (const cv::Exception&) {
    }
    if (!opened)
      return Status::Unavailable("device_unavailable", spec + ": cannot open the camera; check it is connected and not in use");
    if (o.device_width > 0 && o.device_height > 0) {
      cap->set(cv::CAP_PROP_FRAME_WIDTH, o.device_width);
      cap->set(cv::CAP_PROP_FRAME_HEIGHT, o.device_height);
    }
    if (o.device_fps > 0) cap->set(cv::CAP_PROP_FPS, o.device_fps);
    info.nominal_fps = cap->get(cv::CAP_PROP_FPS);
    return std::unique_ptr<FrameSource>(std::make_unique<VideoSource>(std::move(cap), info, o));
  }
  // stat, not fs::exists: ELOOP or ENAMETOOLONG must not be reported as "no such file".
  struct stat st {};
  if (::stat(spec.c_str(), &st) != 0) {
    const int e = errno;
    if (e == ENOENT) return Status::NotFound("source_not_found", spec + ": no such file, folder or device");
    return OpenError(spec, e);
  }
  if (S_ISDIR(st.st_mode)) {
    info.kind = "image_dir";
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(spec, ec)) {
      if (entry.is_regular_file() && IsImagePath(entry.path().string())) files.push_back(entry.path());
      if (static_cast<std::int64_t>(files.size()) > 4 * o.max_frames) break;  // bound the listing itself
    }
    std::sort(files.begin(), files.end());
    if (files.empty()) return Status::InvalidInput("source_unreadable", spec + ": the folder holds no images (.jpg, .png, ...)");
    info.nominal_fps = o.image_dir_fps;
    info.frame_count = static_cast<std::int64_t>(files.size());
    return std::unique_ptr<FrameSource>(std::make_unique<StillSource>(std::move(files), info, o));
  }
  // A FIFO, socket or device other than /dev/video* is bad input (exit 2), never handed to a decoder.
  if (!S_ISREG(st.st_mode)) {
    auto regular = RegularFileOrAbsent(spec);
    return regular.ok() ? Status::InvalidInput("not_a_file", spec + " is not a regular file") : regular.status();
  }
  if (IsImagePath(spec)) {
    info.kind = "image";
    info.frame_count = 1;
    info.nominal_fps = 0;
    return std::unique_ptr<FrameSource>(std::make_unique<StillSource>(std::vector<fs::path>{spec}, info, o));
  }
  info.kind = "video";
  // Opened once without blocking and checked with fstat; FFmpeg then opens this very descriptor
  // through /proc/self/fd (an absolute path, so never read as a protocol URL like "pipe:0"), so the
  // file checked and sniffed is the file decoded.
  auto file = InputFile::Open(spec, o.max_file_bytes);
  if (!file.ok()) {
    if (file.status().code() == "file_too_large")
      return Status::InvalidInput("source_too_large", spec + ": over the video size limit of " + std::to_string(o.max_file_bytes) + " bytes");
    return file.status();
  }
  auto head = ReadHead(file->ProcPath(), 64);
  if (!head.ok()) return head.status();
  const auto container = SniffContainer(*head);
  if (!container)
    return Status::InvalidInput("unsupported_container", spec + ": " + DescribeUnknownContainer(*head) +
                                                             "; a capture must be a recorded MP4/MOV, Matroska/WebM or AVI clip");
  auto cap = std::make_unique<cv::VideoCapture>();
  if (!OpenVideoLocked(*cap, file->ProcPath(), *container))
    return Status::InvalidInput("source_unreadable", spec + ": not a readable " + container->label + " video (corrupt or unsupported)");
  info.nominal_fps = cap->get(cv::CAP_PROP_FPS);
  double n = cap->get(cv::CAP_PROP_FRAME_COUNT);
  info.frame_count = n > 0 ? static_cast<std::int64_t>(n) : -1;
  info.width = static_cast<int>(cap->get(cv::CAP_PROP_FRAME_WIDTH));
  info.height = static_cast<int>(cap->get(cv::CAP_PROP_FRAME_HEIGHT));
  if (info.width > o.max_width || info.height > o.max_height) return FrameTooLarge(info.width, info.height, o);
  return std::unique_ptr<FrameSource>(std::make_unique<VideoSource>(std::move(cap), info, o));
}

std::unique_ptr<FrameSource> MemorySource(std::vector<Frame> frames, SourceInfo info) {
  return std::make_unique<MemoryFrameSource>(std::move(frames), std::move(info));
}

}  // namespace veridge::capture
