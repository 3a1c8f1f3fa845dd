#include "app/preview.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <iterator>

#include "common/log.h"

namespace veridge::app {
// What the encoder and the streams share. Everything under `mu`.
struct PreviewStreamer::Hub {
  struct Waiter {
    const void* owner;                // the stream, for Cancel
    std::uint64_t* last_sequence;     // the stream's, updated when it is handed a part
    net::BodyStream::Deliver deliver;
  };
  std::mutex mu;
  std::condition_variable cv;  // a client came, or stopping
  bool stopped = false;
  int max_clients = 2;
  int clients = 0;
  std::shared_ptr<const std::string> part;  // the newest encoded part
  std::uint64_t part_sequence = 0;          // its camera frame
  std::vector<Waiter> waiting;              // clients ready for the next part
  PreviewStats stats;
};

namespace {

class PreviewStream final : public net::BodyStream {
 public:
  explicit PreviewStream(std::shared_ptr<PreviewStreamer::Hub> hub) : hub_(std::move(hub)) {}
  ~PreviewStream() override {
    std::vector<PreviewStreamer::Hub::Waiter> gone;
    std::lock_guard<std::mutex> lock(hub_->mu);
    Forget(&gone);
    --hub_->clients;
  }

  void Pull(Deliver deliver) override {
    std::shared_ptr<const std::string> now;
    {
      std::lock_guard<std::mutex> lock(hub_->mu);
      if (!hub_->stopped) {
        if (hub_->part && hub_->part_sequence > last_sequence) {
          now = hub_->part;  // a part this client has not had yet: at once
          last_sequence = hub_->part_sequence;
          ++hub_->stats.frames_sent;
        } else {
          hub_->waiting.push_back({this, &last_sequence, std::move(deliver)});
          return;
        }
      }
    }
    deliver(std::move(now));  // null when stopped: the end of the body
  }

  void Cancel() override {
    std::vector<PreviewStreamer::Hub::Waiter> gone;  // destroyed after the lock: each holds a connection
    std::lock_guard<std::mutex> lock(hub_->mu);
    Forget(&gone);
  }

  std::uint64_t last_sequence = 0;  // under hub->mu

 private:
  void Forget(std::vector<PreviewStreamer::Hub::Waiter>* gone) {
    auto& w = hub_->waiting;
    auto mine = std::stable_partition(w.begin(), w.end(), [this](const auto& x) { return x.owner != this; });
    std::move(mine, w.end(), std::back_inserter(*gone));
    w.erase(mine, w.end());
  }
  std::shared_ptr<PreviewStreamer::Hub> hub_;
};

Status Invalid(const std::string& msg) {
  return Status::InvalidInput("config_invalid", msg + " (config/veridge.example.toml documents every key)");
}

}  // namespace

Result<PreviewOptions> BuildPreviewOptions(const config::Config& cfg) {
  PreviewOptions o;
  auto in = [&](const char* key, int lo, int hi, int def, int* out) -> Status {
    const auto v = cfg.GetInt(key, def);
    if (v < lo || v > hi) return Invalid(std::string("[") + key + "] must be within " + std::to_string(lo) + ".." + std::to_string(hi));
    *out = static_cast<int>(v);
    return Status::Ok();
  };
  VERIDGE_RETURN_IF_ERROR(in("camera.preview_max_width", 160, 1920, 640, &o.max_width));
  VERIDGE_RETURN_IF_ERROR(in("camera.preview_max_height", 120, 1080, 480, &o.max_height));
  VERIDGE_RETURN_IF_ERROR(in("camera.preview_quality", 30, 95, 70, &o.jpeg_quality));
  VERIDGE_RETURN_IF_ERROR(in("camera.preview_max_clients", 1, 8, 2, &o.max_clients));
  return o;
}

PreviewStreamer::PreviewStreamer(capture::CameraService& camera, PreviewOptions options)
    : camera_(camera), options_(options), hub_(std::make_shared<Hub>()) {
  hub_->max_clients = options_.max_clients;
  encoder_ = std::thread([this] { Run(); });
}

PreviewStreamer::~PreviewStreamer() { Stop(); }

void PreviewStreamer::Stop() {
  std::vector<Hub::Waiter> ending;
  {
    std::lock_guard<std::mutex> lock(hub_->mu);
    hub_->stopped = true;
    ending.swap(hub_->waiting);
  }
  hub_->cv.notify_all();
  for (auto& w : ending) w.deliver(nullptr);
  if (encoder_.joinable()) encoder_.join();
}

net::Response PreviewStreamer::Handle(const net::Request&) {
  const auto cam = camera_.Status();
  std::unique_lock<std::mutex> lock(hub_->mu);
  if (hub_->stopped || !cam.up()) {
    ++hub_->stats.refused;
    net::Response r = net::Response::Error(503, "camera_unavailable",
                                           std::string("the camera is ") + capture::ToString(cam.state) + "; the preview starts when it delivers frames");
    r.headers.emplace_back("Retry-After", "1");
    return r;
  }
  if (hub_->clients >= hub_->max_clients) {
    ++hub_->stats.refused;
    net::Response r = net::Response::Error(503, "preview_busy",
                                           "the preview already has " + std::to_string(hub_->clients) + " viewers (the most allowed); close one");
    r.headers.emplace_back("Retry-After", "1");
    return r;
  }
  ++hub_->clients;
  lock.unlock();
  hub_->cv.notify_all();
  net::Response r = net::Response::Streamed(kPreviewContentType, std::make_shared<PreviewStream>(hub_));
  r.headers.emplace_back("Pragma", "no-cache");
  return r;
}

PreviewStats PreviewStreamer::Stats() const {
  std::lock_guard<std::mutex> lock(hub_->mu);
  PreviewStats s = hub_->stats;
  s.clients = hub_->clients;
  return s;
}

void PreviewStreamer::Run() {
  std::uint64_t last = 0;
  std::vector<unsigned char> jpeg;
  const std::vector<int> params{cv::IMWRITE_JPEG_QUALITY, options_.jpeg_quality};
  cv::Mat scaled;
  while (true) {
    {
      std::unique_lock<std::mutex> lock(hub_->mu);
      hub_->cv.wait(lock, [&] { return hub_->stopped || hub_->clients > 0; });
      if (hub_->stopped) return;
    }
    auto frame = camera_.WaitNewer(last, std::chrono::milliseconds(200));
    if (!frame) {
      // A stopped camera answers at once: do not spin until Stop() comes.
      if (camera_.Status().state == capture::CameraState::kStopped) std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    last = frame->sequence;
    const cv::Mat& src = frame->bgr;
    const double scale = std::min({1.0, static_cast<double>(options_.max_width) / src.cols,
                                   static_cast<double>(options_.max_height) / src.rows});
    const cv::Mat* img = &src;
    if (scale < 1.0) {
      cv::resize(src, scaled, cv::Size(), scale, scale, cv::INTER_AREA);
      img = &scaled;
    }
    if (!cv::imencode(".jpg", *img, jpeg, params)) {
      spdlog::warn("preview: a camera frame could not be encoded as JPEG; skipped");
      continue;
    }
    std::string part = "--frame\r\nContent-Type: image/jpeg\r\nContent-Length: " + std::to_string(jpeg.size()) + "\r\n\r\n";
    part.append(reinterpret_cast<const char*>(jpeg.data()), jpeg.size());
    part += "\r\n";
    auto shared = std::make_shared<const std::string>(std::move(part));
    std::vector<Hub::Waiter> ready;
    {
      std::lock_guard<std::mutex> lock(hub_->mu);
      if (hub_->stopped) return;
      hub_->part = shared;
      hub_->part_sequence = frame->sequence;
      ++hub_->stats.frames_encoded;
      ready.swap(hub_->waiting);
      hub_->stats.frames_skipped += static_cast<std::uint64_t>(std::max<int>(0, hub_->clients - static_cast<int>(ready.size())));
      hub_->stats.frames_sent += ready.size();
      for (auto& w : ready) *w.last_sequence = frame->sequence;
    }
    for (auto& w : ready) w.deliver(shared);
  }
}

}  // namespace veridge::app
