// app/preview.h — the kiosk's live preview: GET /kiosk/v1/preview.mjpg on the kiosk listener
// (docs/kiosk-protocol.md, item 4), a multipart/x-mixed-replace; boundary=frame stream of JPEGs
// of the daemon's camera. The page never opens the camera itself.
//
// Contract
//  * One encoder thread, off the I/O threads, takes the camera's newest frame (WaitNewer: it never
//    touches the grab thread's pace), scales it to fit max_width × max_height (never up), encodes
//    it once at `jpeg_quality`, and offers that one part to every client. It runs only while a
//    client is connected, so an unwatched camera costs no encoding.
//  * Paced to the camera: a client gets at most one part per camera frame. A client still writing
//    the previous part skips the new one (counted in frames_skipped): per connection at most one
//    part is in flight, so a slow client costs neither memory nor the camera, and a client that
//    stops reading is cut by the listener's write timeout.
//  * At most max_clients streams at once; one more gets 503 preview_busy. While the camera is not
//    up (starting, lost, frozen) a new request gets 503 camera_unavailable; an open stream just
//    waits for frames (the page shows the camera screen from the events socket).
//  * Gating: the contract serves the preview only while a session is capturing or in a challenge.
//    Sessions are not driven by the daemon yet, so the stream is served whenever the camera is up;
//    the session machine adds the check (a 409 invalid_state) when it lands.
//  * Thread-safety: Handle and Stats from any thread; Stop ends every stream and joins the encoder.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "capture/camera_thread.h"
#include "config/config.h"
#include "net/server.h"

namespace veridge::app {

struct PreviewOptions {
  int max_width = 640, max_height = 480;  // [camera] preview_max_width / preview_max_height
  int jpeg_quality = 70;                  // [camera] preview_quality, 30..95
  int max_clients = 2;                    // [camera] preview_max_clients, 1..8
};

// Codes: config_invalid.
Result<PreviewOptions> BuildPreviewOptions(const config::Config& cfg);

struct PreviewStats {
  int clients = 0;
  std::uint64_t frames_encoded = 0;
  std::uint64_t frames_sent = 0;     // parts handed to clients
  std::uint64_t frames_skipped = 0;  // parts a client missed because it was still writing
  std::uint64_t refused = 0;         // 503s (busy or camera down)
};

class PreviewStreamer {
 public:
  PreviewStreamer(capture::CameraService& camera, PreviewOptions options);
  ~PreviewStreamer();  // Stop()
  PreviewStreamer(const PreviewStreamer&) = delete;
  PreviewStreamer& operator=(const PreviewStreamer&) = delete;

  // The route handler (GET /kiosk/v1/preview.mjpg).
  net::Response Handle(const net::Request& request);
  PreviewStats Stats() const;
  void Stop();

  struct Hub;  // shared with the streams (preview.cpp)

 private:
  void Run();
  capture::CameraService& camera_;
  PreviewOptions options_;
  std::shared_ptr<Hub> hub_;
  std::thread encoder_;
};

// The content type of the stream and the head of one part (tests parse with these).
inline constexpr const char* kPreviewContentType = "multipart/x-mixed-replace; boundary=frame";

}  // namespace veridge::app
