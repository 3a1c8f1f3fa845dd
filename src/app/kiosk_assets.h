// app/kiosk_assets.h — the kiosk page on the kiosk listener: the built Vite bundle (web/kiosk,
// `[kiosk] assets_dir`) and the page's settings, with the headers of docs/kiosk-protocol.md.
//
// Contract
//  * Routes (GET only; nothing here changes state):
//      /                      302 to /kiosk/
//      /kiosk                 302 to /kiosk/
//      /kiosk/                index.html of assets_dir, text/html; 503 text/plain saying how to
//                             build it when it is missing (the daemon still starts: the API and
//                             delivery do not need the page)
//      /kiosk/assets/{file}   one file of assets_dir/assets/. The name must be 1..128 characters
//                             of [A-Za-z0-9._-], not start with '.', and end in a known type
//                             (.js .css .svg .png .jpg .webp .woff2 .json .ico .txt); anything
//                             else, and any file that is not there or not a regular file, is 404
//                             (no percent-decoding happens, so "%2e%2e" and "..%2f" are just
//                             names that fail the check; '/' cannot be in a segment at all)
//      /kiosk/config.json     {"locales":[...],"idle_reset_ms":N} from [kiosk]
//  * Every response carries the strict CSP (kKioskCsp: no inline script or style, no external
//    origin), Referrer-Policy: no-referrer, X-Frame-Options: DENY, a Permissions-Policy that
//    denies the camera and microphone to the page (it never calls getUserMedia), and the server's
//    nosniff. HTML and config are Cache-Control: no-store; hashed assets are immutable.
//  * Files are read per request through common/files.h (bounded: kMaxAssetBytes), so a rebuilt
//    bundle is served without a restart and a FIFO or directory in the folder cannot block a
//    handler.
//  * Thread-safe: the handlers share only the immutable options.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "common/status.h"
#include "config/config.h"
#include "net/server.h"

namespace veridge::app {

inline constexpr char kKioskCsp[] =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
    "connect-src 'self' ws://127.0.0.1:* ws://localhost:*; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'none'";

inline constexpr std::uint64_t kMaxAssetBytes = 4 << 20;

struct KioskAssetsOptions {
  std::filesystem::path dir;                          // [kiosk] assets_dir
  std::vector<std::string> locales{"zh-CN", "en"};    // [kiosk] locales: the first is the default
  std::chrono::milliseconds idle_reset{60000};        // [kiosk] idle_reset
};

// The default assets_dir: <prefix>/share/veridge/kiosk when this binary is installed
// (app/install_layout.h), else the bundle tools/build-web.sh builds in the source tree of this binary.
std::filesystem::path DefaultKioskAssetsDir();

// Reads [kiosk] assets_dir, locales, idle_reset. Code config_invalid (an unknown or repeated
// locale, an empty list, idle_reset outside 5s..1h).
Result<KioskAssetsOptions> BuildKioskAssetsOptions(const config::Config& cfg);

// True when assets_dir holds an index.html (the command logs a warning when not).
bool KioskPageBuilt(const KioskAssetsOptions& options);

// Adds the routes above. Code route_invalid only if they clash with routes already added.
Status AddKioskAssetRoutes(net::Router& router, const KioskAssetsOptions& options);

// The content type for an asset name, or "" when the type is not served.
std::string AssetContentType(const std::string& name);

// Whether `name` is an asset name that may be served (the rule above).
bool SafeAssetName(const std::string& name);

}  // namespace veridge::app
