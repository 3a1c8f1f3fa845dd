// app/serve.h — the pieces of `veridge serve` that are not process plumbing: [serve] options, the
// readiness checks and the routes of both listeners (/healthz, /readyz, /metrics). The command
// itself (signals, sd_notify, threads) is in commands_serve.cpp.
//
// Contract
//  * BuildServeOptions reads [serve] with documented defaults and ranges
//    (config/veridge.example.toml); anything out of range or of the wrong type is config_invalid.
//    kiosk_listen must be a loopback address; api_listen needs tls_cert and tls_key.
//  * Kiosk listener: the kiosk page (/, /kiosk/, /kiosk/assets/*, /kiosk/config.json; see
//    app/kiosk_assets.h), the camera preview (/kiosk/v1/preview.mjpg; app/preview.h) and, with a
//    store, the applicant's session routes (/kiosk/v1/code, /kiosk/v1/sessions/{id}[/consent];
//    api/api.h) besides /healthz and /readyz. Those are on the kiosk listener only.
//  * [camera]: source (a /dev/video* device or a video file played in a loop; unset = no camera,
//    and /readyz says camera:false), width, height, fps, ring_frames, frozen_after.
//  * /healthz: 200 {"status":"alive"} while the process serves HTTP at all.
//  * /readyz: 200 {"ready":true,"checks":{...}} or 503 {"ready":false,"checks":{...}} with one
//    boolean per check (models, store, keys, clock, camera) and nothing else: no paths, versions or
//    messages (both listeners answer it without credentials).
//  * /metrics (API listener only): Prometheus text format 0.0.4.
//  * /v1/... (API listener only): the lender API (api/api.h), bearer token on every route.
//  * /console/api/... (API listener only): the staff console's JSON API (console/console.h):
//    session cookie, roles from console::RouteTable(), CSRF token on every state change.
//  * Handlers are thread-safe (they run on the I/O threads): ServeState is immutable after
//    construction except for the store, which serialises its own calls.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "api/api.h"
#include "app/kiosk_assets.h"
#include "app/preview.h"
#include "capture/camera_thread.h"
#include "config/config.h"
#include "console/console.h"
#include "net/server.h"
#include "store/store.h"

namespace veridge::app {

struct ServeOptions {
  net::ListenerOptions kiosk;  // [serve].kiosk_listen etc.
  net::ListenerOptions api;    // [serve].api_listen, tls_cert, tls_key etc.
  int threads = 2;
  std::chrono::milliseconds drain_timeout{10000};
  KioskAssetsOptions kiosk_page;  // [kiosk] assets_dir, locales, idle_reset (app/kiosk_assets.h)
  api::SessionApiOptions sessions;  // [sessions] expiry bounds and max_attempts (no check_reference yet)
  std::optional<capture::CameraOptions> camera;  // [camera]; unset when [camera] source is not set
  PreviewOptions preview;                         // [camera] preview_* (app/preview.h)
  console::ConsoleOptions console;  // [console] (BuildConsoleOptions)
};

// [console]: argon2id parameters, lockout, session timeouts (ranges in config::Schema()).
// Code config_invalid (lockout_base > lockout_max).
Result<console::ConsoleOptions> BuildConsoleOptions(const config::Config& cfg);

// Codes: config_invalid (message names the key and its allowed range).
Result<ServeOptions> BuildServeOptions(const config::Config& cfg);

// "127.0.0.1:8080", "[::1]:8080" → address and port. Code config_invalid.
Status ParseListenAddress(const std::string& key, const std::string& text, net::ListenerOptions* out);

struct ReadyChecks {
  bool models = false;
  bool store = false;
  bool keys = false;
  bool clock = false;
  bool camera = false;  // a camera is configured and delivering frames (capture::CameraState::kOk)
  bool ready() const { return models && store && keys && clock && camera; }
};

// What the handlers read. The store is opened by the command and outlives the server.
struct ServeState {
  store::Store* store = nullptr;
  std::filesystem::path model_dir;
  bool liveness_enabled = true;
  bool keys_loaded = false;  // device key + chain and webhook secret loaded at start-up
  std::int64_t started_at = 0;
  KioskAssetsOptions kiosk_page;  // the kiosk listener serves the page from here
  // The lender session API's options, with the reference-photo check (MakeReferenceCheck).
  api::SessionApiOptions sessions;
  console::ConsoleOptions console;  // the staff console's API (/console/api/, console/console.h)
  // Per-listener HTTP counters for /metrics (the server's Stats); may be empty.
  std::function<std::vector<net::ListenerStats>()> http_stats;
  // The camera service and the preview (app/preview.h); unset when no camera is configured.
  std::function<capture::CameraStatus()> camera_status;
  std::function<PreviewStats()> preview_stats;
  net::Handler preview;  // GET /kiosk/v1/preview.mjpg
};

// The arrival check of a reference photo: bounded decode, exactly one face, and none of the
// [face].fatal_quality reasons, with the vision codes (no_face, multiple_faces, decode_failed,
// corrupt_image, face_too_small, ...). One FaceAnalyzer without the descriptor network, used
// under a mutex (it is not thread-safe; a check takes tens of ms). Codes of the analyzer's
// creation (model_missing, ...) when the models are absent.
Result<api::ReferenceCheck> MakeReferenceCheck(const config::Config& cfg);

// Runs the checks now (cheap: file presence, one store query, the clock).
ReadyChecks CheckReady(const ServeState& state);

// True for a loopback client address as net::Request::remote_address gives it: 127.0.0.0/8, ::1,
// or an IPv4-mapped 127.x (::ffff:127.0.0.1, from a dual-stack listener).
bool IsLoopbackAddress(const std::string& address);

// The route tables. The API router gets /metrics as well, answered only to loopback clients
// (403 metrics_local_only otherwise).
std::shared_ptr<net::Router> KioskRoutes(std::shared_ptr<const ServeState> state);
std::shared_ptr<net::Router> ApiRoutes(std::shared_ptr<const ServeState> state);

// The Prometheus text of /metrics.
std::string MetricsText(const ServeState& state);

}  // namespace veridge::app
