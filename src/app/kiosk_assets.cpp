#include "app/kiosk_assets.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <utility>

#include "app/install_layout.h"
#include "common/files.h"

namespace veridge::app {
namespace {

constexpr std::array<std::pair<const char*, const char*>, 11> kTypes{{
    {".js", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".jpg", "image/jpeg"},
    {".webp", "image/webp"},
    {".woff2", "font/woff2"},
    {".json", "application/json"},
    {".ico", "image/x-icon"},
    {".txt", "text/plain; charset=utf-8"},
    {".html", ""},  // never from assets/: the page is /kiosk/ only
}};

const std::vector<std::string> kKnownLocales{"zh-CN", "en"};

void SecurityHeaders(net::Response& r, bool cacheable) {
  r.headers.emplace_back("Content-Security-Policy", kKioskCsp);
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  r.headers.emplace_back("X-Frame-Options", "DENY");
  r.headers.emplace_back("Permissions-Policy", "camera=(), microphone=(), geolocation=(), usb=(), payment=()");
  r.headers.emplace_back("Cross-Origin-Opener-Policy", "same-origin");
  r.headers.emplace_back("Cross-Origin-Resource-Policy", "same-origin");
  r.headers.emplace_back("Cache-Control", cacheable ? "public, max-age=31536000, immutable" : "no-store");
}

net::Response WithHeaders(net::Response r, bool cacheable = false) {
  SecurityHeaders(r, cacheable);
  return r;
}

net::Response Redirect(const std::string& to) {
  net::Response r = net::Response::Text(302, "see " + to + "\n");
  r.headers.emplace_back("Location", to);
  return WithHeaders(std::move(r));
}

net::Response NotFound() { return WithHeaders(net::Response::Error(404, "not_found", "no such resource")); }

net::Response Index(const KioskAssetsOptions& o) {
  auto html = ReadFileBounded(o.dir / "index.html", kMaxAssetBytes);
  if (!html.ok())
    return WithHeaders(net::Response::Text(
        503, "The kiosk page is not built (" + html.status().code() +
                 "). Run `bash tools/build-web.sh`, or point [kiosk] assets_dir at a built web/kiosk/dist.\n"));
  return WithHeaders(net::Response::Text(200, std::move(*html), "text/html; charset=utf-8"));
}

net::Response Asset(const KioskAssetsOptions& o, const std::string& name) {
  const std::string type = SafeAssetName(name) ? AssetContentType(name) : "";
  if (type.empty()) return NotFound();
  auto body = ReadFileBounded(o.dir / "assets" / name, kMaxAssetBytes);
  if (!body.ok()) return NotFound();  // missing, a directory, a FIFO, too large: all "no such asset"
  return WithHeaders(net::Response::Text(200, std::move(*body), type), /*cacheable=*/true);
}

}  // namespace

std::filesystem::path DefaultKioskAssetsDir() {
  if (auto data = InstalledDataDir()) return *data / "kiosk";
  return std::filesystem::path(VERIDGE_SOURCE_DIR) / "web/kiosk/dist";
}

Result<KioskAssetsOptions> BuildKioskAssetsOptions(const config::Config& cfg) {
  KioskAssetsOptions o;
  o.dir = cfg.GetPath("kiosk.assets_dir", DefaultKioskAssetsDir());
  o.locales = cfg.GetStringList("kiosk.locales", o.locales);
  auto invalid = [](const std::string& m) {
    return Status::InvalidInput("config_invalid", m + " (config/veridge.example.toml documents every key)");
  };
  if (o.locales.empty()) return invalid("[kiosk] locales must name at least one of \"zh-CN\", \"en\"");
  for (std::size_t i = 0; i < o.locales.size(); ++i) {
    if (std::find(kKnownLocales.begin(), kKnownLocales.end(), o.locales[i]) == kKnownLocales.end())
      return invalid("[kiosk] locales: \"" + o.locales[i] + "\" is not a locale the kiosk page has (\"zh-CN\", \"en\")");
    if (std::find(o.locales.begin(), o.locales.begin() + static_cast<std::ptrdiff_t>(i), o.locales[i]) !=
        o.locales.begin() + static_cast<std::ptrdiff_t>(i))
      return invalid("[kiosk] locales: \"" + o.locales[i] + "\" is listed twice");
  }
  o.idle_reset = cfg.GetDuration("kiosk.idle_reset", o.idle_reset);
  if (o.idle_reset < std::chrono::seconds(5) || o.idle_reset > std::chrono::hours(1))
    return invalid("[kiosk] idle_reset must be within 5s..1h");
  return o;
}

bool KioskPageBuilt(const KioskAssetsOptions& o) {
  auto f = RegularFileOrAbsent(o.dir / "index.html");
  return f.ok() && *f;
}

bool SafeAssetName(const std::string& name) {
  if (name.empty() || name.size() > 128 || name[0] == '.') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
  });
}

std::string AssetContentType(const std::string& name) {
  for (const auto& [ext, type] : kTypes) {
    const std::string e = ext;
    if (name.size() > e.size() && name.compare(name.size() - e.size(), e.size(), e) == 0) return type;
  }
  return "";
}

Status AddKioskAssetRoutes(net::Router& r, const KioskAssetsOptions& options) {
  const auto o = std::make_shared<const KioskAssetsOptions>(options);
  const std::string config_body =
      nlohmann::json{{"locales", o->locales}, {"idle_reset_ms", o->idle_reset.count()}}.dump();
  const std::vector<net::Route> routes = {
      {net::Method::kGet, "/", "redirects to the kiosk page", [](const net::Request&) { return Redirect("/kiosk/"); }},
      {net::Method::kGet, "/kiosk", "redirects to the kiosk page", [](const net::Request&) { return Redirect("/kiosk/"); }},
      {net::Method::kGet, "/kiosk/", "the kiosk page (web/kiosk, [kiosk] assets_dir)", [o](const net::Request&) { return Index(*o); }},
      {net::Method::kGet, "/kiosk/assets/{file}", "a file of the kiosk page's bundle",
       [o](const net::Request& q) { return Asset(*o, q.params.at("file")); }},
      {net::Method::kGet, "/kiosk/config.json", "the kiosk page's settings ([kiosk] locales, idle_reset)",
       [config_body](const net::Request&) { return WithHeaders(net::Response::Json(200, config_body)); }},
  };
  for (const auto& route : routes) VERIDGE_RETURN_IF_ERROR(r.Add(route));
  return Status::Ok();
}

}  // namespace veridge::app
