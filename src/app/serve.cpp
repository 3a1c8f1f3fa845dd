#include "app/serve.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <sstream>

#include "api/api.h"
#include "app/delivery.h"
#include "app/options.h"
#include "common/clock.h"
#include "liveness/pad.h"
#include "vision/models.h"
#include "vision/vision.h"

#include <mutex>

namespace veridge::app {
namespace {

// No appliance runs before this moment (2026-01-01T00:00:00Z): a clock behind it is an unset RTC
// (1970 after a flat battery), which would date results wrongly and break certificate checks.
constexpr std::int64_t kEarliestPlausibleUnix = 1767225600;

Status Invalid(const std::string& msg) {
  return Status::InvalidInput("config_invalid", msg + " (config/veridge.example.toml documents every key)");
}

// Reads an integer key and checks it against [lo, hi].
Status IntIn(const config::Config& cfg, const std::string& key, std::int64_t lo, std::int64_t hi, std::int64_t def,
             std::int64_t* out) {
  *out = cfg.GetInt(key, def);
  if (*out < lo || *out > hi) return Invalid("[" + key + "] must be within " + std::to_string(lo) + ".." + std::to_string(hi));
  return Status::Ok();
}

Status DurationIn(const config::Config& cfg, const std::string& key, std::chrono::milliseconds lo, std::chrono::milliseconds hi,
                  std::chrono::milliseconds def, std::chrono::milliseconds* out) {
  *out = cfg.GetDuration(key, def);
  if (*out < lo || *out > hi)
    return Invalid("[" + key + "] must be within " + std::to_string(lo.count()) + "ms.." + std::to_string(hi.count() / 1000) + "s");
  return Status::Ok();
}

std::string Label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') { out += "\\n"; continue; }
    out += c;
  }
  return out;
}

}  // namespace

Status ParseListenAddress(const std::string& key, const std::string& text, net::ListenerOptions* out) {
  std::string host, port;
  if (!text.empty() && text[0] == '[') {
    auto close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return Invalid("[" + key + "] \"" + text + "\" must be \"[IPv6]:port\"");
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string::npos) return Invalid("[" + key + "] \"" + text + "\" must be \"IP:port\", e.g. \"127.0.0.1:8080\"");
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  unsigned value = 0;
  auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || p != port.data() + port.size() || value > 65535)
    return Invalid("[" + key + "] \"" + text + "\": the port must be 0..65535 (0 = any free port)");
  if (host.empty()) return Invalid("[" + key + "] \"" + text + "\": no address");
  out->address = host;
  out->port = static_cast<std::uint16_t>(value);
  return Status::Ok();
}

Result<ServeOptions> BuildServeOptions(const config::Config& cfg) {
  ServeOptions o;
  o.kiosk.name = "kiosk";
  o.kiosk.loopback_only = true;
  o.api.name = "api";
  VERIDGE_RETURN_IF_ERROR(ParseListenAddress("serve.kiosk_listen", cfg.GetString("serve.kiosk_listen", "127.0.0.1:8080"), &o.kiosk));
  VERIDGE_RETURN_IF_ERROR(ParseListenAddress("serve.api_listen", cfg.GetString("serve.api_listen", "0.0.0.0:8443"), &o.api));
  pki::ServerTlsOptions tls{cfg.GetPath("serve.tls_cert"), cfg.GetPath("serve.tls_key")};
  if (tls.cert_chain.empty() || tls.key_file.empty())
    return Invalid("[serve].tls_cert and [serve].tls_key are required: the lender/staff API is served over TLS only");
  o.api.tls = tls;

  std::int64_t v = 0;
  VERIDGE_RETURN_IF_ERROR(IntIn(cfg, "serve.threads", 1, 16, 2, &v));
  o.threads = static_cast<int>(v);
  VERIDGE_RETURN_IF_ERROR(IntIn(cfg, "serve.max_connections", 1, 10000, 256, &v));
  o.kiosk.max_connections = o.api.max_connections = static_cast<int>(v);
  VERIDGE_RETURN_IF_ERROR(IntIn(cfg, "serve.max_header_bytes", 1024, 65536, 16384, &v));
  o.kiosk.max_header_bytes = o.api.max_header_bytes = static_cast<std::size_t>(v);
  VERIDGE_RETURN_IF_ERROR(IntIn(cfg, "serve.api_max_body_bytes", 1024, 32 << 20, 8 << 20, &v));
  o.api.max_body_bytes = static_cast<std::size_t>(v);
  VERIDGE_RETURN_IF_ERROR(IntIn(cfg, "serve.kiosk_max_body_bytes", 1024, 1 << 20, 64 << 10, &v));
  o.kiosk.max_body_bytes = static_cast<std::size_t>(v);
  VERIDGE_RETURN_IF_ERROR(IntIn(cfg, "serve.rate_per_second", 0, 100000, 20, &v));
  o.api.rate.per_second = static_cast<double>(v);
  VERIDGE_RETURN_IF_ERROR(IntIn(cfg, "serve.rate_burst", 1, 100000, 40, &v));
  o.api.rate.burst = static_cast<double>(v);
  // The kiosk has one client (the local browser); its limit only stops a runaway page.
  VERIDGE_RETURN_IF_ERROR(IntIn(cfg, "serve.kiosk_rate_per_second", 0, 100000, 200, &v));
  o.kiosk.rate.per_second = static_cast<double>(v);
  o.kiosk.rate.burst = std::max(1.0, o.kiosk.rate.per_second * 2);

  using std::chrono::milliseconds;
  using std::chrono::seconds;
  milliseconds d{};
  VERIDGE_RETURN_IF_ERROR(DurationIn(cfg, "serve.idle_timeout", milliseconds(100), seconds(3600), seconds(30), &d));
  o.kiosk.idle_timeout = o.api.idle_timeout = d;
  VERIDGE_RETURN_IF_ERROR(DurationIn(cfg, "serve.header_timeout", milliseconds(100), seconds(300), seconds(10), &d));
  o.kiosk.header_timeout = o.api.header_timeout = o.api.handshake_timeout = d;
  VERIDGE_RETURN_IF_ERROR(DurationIn(cfg, "serve.body_timeout", milliseconds(100), seconds(600), seconds(30), &d));
  o.kiosk.body_timeout = o.api.body_timeout = o.kiosk.write_timeout = o.api.write_timeout = d;
  VERIDGE_RETURN_IF_ERROR(DurationIn(cfg, "serve.drain_timeout", milliseconds(0), seconds(300), seconds(10), &o.drain_timeout));
  VERIDGE_RETURN_IF_ERROR(IntIn(cfg, "sessions.min_expires_in", 1, 86400, 60, &o.sessions.min_expires_in));
  VERIDGE_RETURN_IF_ERROR(IntIn(cfg, "sessions.max_expires_in", 1, 30 * 86400, 86400, &o.sessions.max_expires_in));
  VERIDGE_RETURN_IF_ERROR(IntIn(cfg, "sessions.default_expires_in", 1, 30 * 86400, 900, &o.sessions.default_expires_in));
  if (o.sessions.min_expires_in > o.sessions.default_expires_in || o.sessions.default_expires_in > o.sessions.max_expires_in)
    return Invalid("[sessions] needs min_expires_in <= default_expires_in <= max_expires_in");
  VERIDGE_RETURN_IF_ERROR(IntIn(cfg, "sessions.max_attempts", 1, 10, 3, &v));
  o.sessions.max_attempts = static_cast<int>(v);
  if (const std::string source = cfg.GetPath("camera.source").string(); !source.empty()) {
    capture::CameraOptions cam;
    cam.source = source;
    VERIDGE_RETURN_IF_ERROR(IntIn(cfg, "camera.width", 160, 4096, 640, &v));
    cam.width = static_cast<int>(v);
    VERIDGE_RETURN_IF_ERROR(IntIn(cfg, "camera.height", 120, 4096, 480, &v));
    cam.height = static_cast<int>(v);
    VERIDGE_RETURN_IF_ERROR(IntIn(cfg, "camera.fps", 1, 120, 30, &v));
    cam.fps = static_cast<double>(v);
    VERIDGE_RETURN_IF_ERROR(IntIn(cfg, "camera.ring_frames", 2, 64, 4, &v));
    cam.ring_capacity = static_cast<std::size_t>(v);
    VERIDGE_RETURN_IF_ERROR(DurationIn(cfg, "camera.frozen_after", milliseconds(100), seconds(60), seconds(1), &cam.frozen_after));
    o.camera = cam;
  }
  auto preview = BuildPreviewOptions(cfg);
  if (!preview.ok()) return preview.status();
  o.preview = *preview;
  auto console = BuildConsoleOptions(cfg);
  if (!console.ok()) return console.status();
  o.console = *console;
  auto page = BuildKioskAssetsOptions(cfg);
  if (!page.ok()) return page.status();
  o.kiosk_page = std::move(*page);
  VERIDGE_RETURN_IF_ERROR(ConfigProblems(cfg));
  return o;
}

Result<console::ConsoleOptions> BuildConsoleOptions(const config::Config& cfg) {
  console::ConsoleOptions o;
  std::int64_t v = 0;
  // Defaults measured on the reference box (docs/security/console.md): ~250 ms per verification.
  VERIDGE_RETURN_IF_ERROR(IntIn(cfg, "console.argon2_memory_kib", 19456, 4 * 1024 * 1024, 65536, &v));
  o.argon2.memory_kib = static_cast<std::uint32_t>(v);
  VERIDGE_RETURN_IF_ERROR(IntIn(cfg, "console.argon2_time_cost", 1, 20, 1, &v));
  o.argon2.time_cost = static_cast<std::uint32_t>(v);
  VERIDGE_RETURN_IF_ERROR(IntIn(cfg, "console.argon2_parallelism", 1, 16, 1, &v));
  o.argon2.parallelism = static_cast<std::uint32_t>(v);
  VERIDGE_RETURN_IF_ERROR(IntIn(cfg, "console.max_concurrent_logins", 1, 16, 2, &v));
  o.max_concurrent_hashes = static_cast<int>(v);
  VERIDGE_RETURN_IF_ERROR(IntIn(cfg, "console.lockout_threshold", 3, 20, 5, &v));
  o.lockout.threshold = static_cast<int>(v);
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  using std::chrono::seconds;
  using std::chrono::hours;
  using std::chrono::minutes;
  milliseconds d{};
  VERIDGE_RETURN_IF_ERROR(DurationIn(cfg, "console.lockout_base", seconds(1), hours(1), minutes(1), &d));
  o.lockout.base_seconds = duration_cast<seconds>(d).count();
  VERIDGE_RETURN_IF_ERROR(DurationIn(cfg, "console.lockout_max", seconds(1), hours(24), hours(1), &d));
  o.lockout.max_seconds = duration_cast<seconds>(d).count();
  if (o.lockout.base_seconds > o.lockout.max_seconds) return Invalid("[console] needs lockout_base <= lockout_max");
  VERIDGE_RETURN_IF_ERROR(DurationIn(cfg, "console.idle_timeout", minutes(1), minutes(30), minutes(15), &d));
  o.idle_timeout_s = duration_cast<seconds>(d).count();
  VERIDGE_RETURN_IF_ERROR(DurationIn(cfg, "console.absolute_timeout", minutes(15), hours(12), hours(8), &d));
  o.absolute_timeout_s = duration_cast<seconds>(d).count();
  o.totp_issuer = cfg.GetString("console.totp_issuer", "Veridge");
  if (o.totp_issuer.empty() || o.totp_issuer.size() > 64) return Invalid("[console].totp_issuer must be 1..64 characters");
  return o;
}

Result<api::ReferenceCheck> MakeReferenceCheck(const config::Config& cfg) {
  auto vo = BuildVerifyOptions(cfg);
  vo.vision.load_descriptor = false;  // arrival check only: detection, landmarks, quality
  auto analyzer = vision::FaceAnalyzer::Create(vo.vision);
  if (!analyzer.ok()) return analyzer.status();
  struct Shared {
    std::mutex mu;
    std::unique_ptr<vision::FaceAnalyzer> analyzer;
  };
  auto shared = std::make_shared<Shared>();
  shared->analyzer = std::move(*analyzer);
  const auto limits = vo.vision.limits;
  const auto fatal = vo.face.fatal_quality;
  return api::ReferenceCheck([shared, limits, fatal](const std::string& bytes) -> Status {
    auto img = vision::DecodeImageBytes(bytes, limits);
    if (!img.ok()) return img.status();
    std::lock_guard lock(shared->mu);
    auto face = shared->analyzer->AnalyzeSingleFace(*img);
    if (!face.ok()) return face.status();
    for (const auto& r : face->quality.reasons)
      if (std::find(fatal.begin(), fatal.end(), r) != fatal.end())
        return Status::InvalidInput(r, "the reference photo fails the quality check (" + r + "); send a sharper, frontal photo of one face");
    return Status::Ok();
  });
}

ReadyChecks CheckReady(const ServeState& s) {
  ReadyChecks c;
  c.models = true;
  for (const auto& m : vision::ManifestModels())
    if (!IsOptionalModel(m.name) && !vision::ResolveModel(s.model_dir, m.file, /*verify=*/false).ok()) c.models = false;
  if (s.liveness_enabled && !liveness::PadModel::CheckFiles(s.model_dir).ok()) c.models = false;
  c.store = s.store && s.store->SchemaVersion().ok();
  c.keys = s.keys_loaded;
  c.clock = SystemClock::Instance().NowUnixSeconds() >= kEarliestPlausibleUnix;
  c.camera = s.camera_status && s.camera_status().up();
  return c;
}

namespace {

net::Response Healthz(const net::Request&) { return net::Response::Json(200, R"({"status":"alive"})"); }

net::Response Readyz(const ServeState& s) {
  const auto c = CheckReady(s);
  nlohmann::json j = {{"ready", c.ready()},
                      {"checks", {{"models", c.models}, {"store", c.store}, {"keys", c.keys}, {"clock", c.clock}, {"camera", c.camera}}}};
  return net::Response::Json(c.ready() ? 200 : 503, j.dump());
}

void AddHealth(net::Router& r, const std::shared_ptr<const ServeState>& state) {
  Status a = r.Add({net::Method::kGet, "/healthz", "200 while the process serves HTTP (no credentials)", Healthz});
  Status b = r.Add({net::Method::kGet, "/readyz", "200 when models, store, keys, clock and camera are ready, else 503 (no credentials)",
                    [state](const net::Request&) { return Readyz(*state); }});
  // Fixed, distinct patterns: a failure here is a programming error caught by every test run.
  if (!a.ok() || !b.ok()) throw std::logic_error("health routes: " + a.ToString() + " " + b.ToString());
}

}  // namespace

std::shared_ptr<net::Router> KioskRoutes(std::shared_ptr<const ServeState> state) {
  auto r = std::make_shared<net::Router>();
  AddHealth(*r, state);
  Status page = AddKioskAssetRoutes(*r, state->kiosk_page);
  if (!page.ok()) throw std::logic_error("kiosk page routes: " + page.ToString());
  net::Handler preview = state->preview ? state->preview : [](const net::Request&) {
    return net::Response::Error(503, "camera_unavailable", "no camera is configured: set [camera] source");
  };
  Status p = r->Add({net::Method::kGet, "/kiosk/v1/preview.mjpg", "the camera preview, multipart/x-mixed-replace JPEG (kiosk only)", preview});
  if (!p.ok()) throw std::logic_error("preview route: " + p.ToString());
  // The applicant's session: code entry, the claimed session, consent (api/api.h, kiosk routes).
  if (state->store) {
    api::KioskApiOptions k;
    k.max_attempts = state->sessions.max_attempts;
    k.locales = state->kiosk_page.locales;
    k.clock = state->sessions.clock;
    Status ks = api::AddKioskRoutes(*r, *state->store, k);
    if (!ks.ok()) throw std::logic_error("kiosk session routes: " + ks.ToString());
  }
  return r;
}

bool IsLoopbackAddress(const std::string& address) {
  in_addr v4{};
  if (inet_pton(AF_INET, address.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, address.c_str(), &v6) != 1) return false;
  if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
  return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
}

std::shared_ptr<net::Router> ApiRoutes(std::shared_ptr<const ServeState> state) {
  auto r = std::make_shared<net::Router>();
  AddHealth(*r, state);
  // Only to a client on this host (threat model G9): the counters say how busy the branch is and
  // whether delivery fails, which is not for anyone who can reach the API port. A local agent
  // scrapes it; a lender token is not asked for, as it would also open /v1 to the scraper.
  Status m = r->Add({net::Method::kGet, "/metrics", "Prometheus text: build, readiness, outbox, HTTP counters (loopback clients only)",
                     [state](const net::Request& req) {
                       if (!IsLoopbackAddress(req.remote_address))
                         return net::Response::Error(403, "metrics_local_only",
                                                     "/metrics answers only clients on this host (127.0.0.1, ::1); scrape it with a local agent");
                       return net::Response::Text(200, MetricsText(*state), "text/plain; version=0.0.4; charset=utf-8");
                     }});
  if (!m.ok()) throw std::logic_error("metrics route: " + m.ToString());
  // The lender API: every /v1 route needs a bearer token (api/api.h).
  if (state->store) {
    Status v1 = api::AddV1Routes(*r, *state->store, state->sessions);
    if (!v1.ok()) throw std::logic_error("v1 routes: " + v1.ToString());
    // The staff console's JSON API: session cookie, role per route, CSRF (console/console.h).
    Status con = console::AddConsoleRoutes(*r, *state->store, state->console);
    if (!con.ok()) throw std::logic_error("console routes: " + con.ToString());
  }
  return r;
}

std::string MetricsText(const ServeState& s) {
  std::ostringstream out;
  auto family = [&out](const char* name, const char* type, const char* help) {
    out << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n";
  };
  family("veridge_build_info", "gauge", "Build of the running binary (always 1).");
  out << "veridge_build_info{version=\"" << Label(VERIDGE_VERSION) << "\"} 1\n";
  family("veridge_process_start_time_seconds", "gauge", "Start time of the process, unix seconds.");
  out << "veridge_process_start_time_seconds " << s.started_at << "\n";
  const auto c = CheckReady(s);
  family("veridge_ready", "gauge", "1 when /readyz reports ready.");
  out << "veridge_ready " << (c.ready() ? 1 : 0) << "\n";
  family("veridge_ready_check", "gauge", "Each readiness check (1 ok, 0 failing).");
  out << "veridge_ready_check{check=\"models\"} " << c.models << "\nveridge_ready_check{check=\"store\"} " << c.store
      << "\nveridge_ready_check{check=\"keys\"} " << c.keys << "\nveridge_ready_check{check=\"clock\"} " << c.clock
      << "\nveridge_ready_check{check=\"camera\"} " << c.camera << "\n";

  if (s.camera_status) {
    const auto cam = s.camera_status();
    family("veridge_camera_fps", "gauge", "Frames per second the camera delivers (0 when frozen or lost).");
    out << "veridge_camera_fps " << cam.fps << "\n";
    family("veridge_camera_state", "gauge", "The camera's state (1 for the current one).");
    for (auto st : {capture::CameraState::kStarting, capture::CameraState::kOk, capture::CameraState::kFrozen,
                    capture::CameraState::kLost, capture::CameraState::kStopped})
      out << "veridge_camera_state{state=\"" << capture::ToString(st) << "\"} " << (cam.state == st ? 1 : 0) << "\n";
    family("veridge_camera_frames_total", "counter", "Frames grabbed from the camera.");
    out << "veridge_camera_frames_total " << cam.frames << "\n";
    family("veridge_camera_frames_dropped_total", "counter", "Frames that left the camera ring before the analysis consumer took them.");
    out << "veridge_camera_frames_dropped_total " << cam.dropped << "\n";
  }
  if (s.preview_stats) {
    const auto p = s.preview_stats();
    family("veridge_preview_clients", "gauge", "Open kiosk preview streams.");
    out << "veridge_preview_clients " << p.clients << "\n";
    family("veridge_preview_frames_sent_total", "counter", "Preview JPEG parts handed to clients.");
    out << "veridge_preview_frames_sent_total " << p.frames_sent << "\n";
    family("veridge_preview_frames_dropped_total", "counter", "Preview parts a slow client skipped.");
    out << "veridge_preview_frames_dropped_total " << p.frames_skipped << "\n";
  }

  const std::int64_t now = SystemClock::Instance().NowUnixSeconds();
  if (s.store) {
    auto counts = s.store->CountOutbox(now);
    if (counts.ok()) {
      family("veridge_outbox_messages", "gauge", "Signed results in the outbox, by state (dead = dead letters).");
      out << "veridge_outbox_messages{state=\"pending\"} " << counts->pending << "\n"
          << "veridge_outbox_messages{state=\"delivered\"} " << counts->delivered << "\n"
          << "veridge_outbox_messages{state=\"dead\"} " << counts->dead << "\n";
      family("veridge_outbox_due", "gauge", "Pending results due for an attempt now.");
      out << "veridge_outbox_due " << counts->due << "\n";
      family("veridge_outbox_dead_letters", "gauge", "Results that exhausted their retries (replay with veridge outbox replay).");
      out << "veridge_outbox_dead_letters " << counts->dead << "\n";
      // ListOutbox is newest first: the oldest pending row is the last one.
      std::int64_t oldest_age = 0;
      if (counts->pending > 0) {
        auto rows = s.store->ListOutbox(store::OutboxState::kPending, 1, static_cast<int>(counts->pending - 1));
        if (rows.ok() && !rows->empty()) oldest_age = std::max<std::int64_t>(0, now - rows->front().created_at);
      }
      family("veridge_outbox_oldest_pending_age_seconds", "gauge", "Age of the oldest undelivered result (0 when none).");
      out << "veridge_outbox_oldest_pending_age_seconds " << oldest_age << "\n";
    }
  }

  if (s.http_stats) {
    const auto stats = s.http_stats();
    auto per_listener = [&](const char* name, const char* type, const char* help, auto field) {
      family(name, type, help);
      for (const auto& l : stats) out << name << "{listener=\"" << Label(l.name) << "\"} " << field(l) << "\n";
    };
    per_listener("veridge_http_connections_open", "gauge", "Open connections.", [](const auto& l) { return l.open_connections; });
    per_listener("veridge_http_requests_total", "counter", "Requests answered.", [](const auto& l) { return l.requests; });
    per_listener("veridge_http_connections_rejected_total", "counter", "Connections refused over max_connections.",
                 [](const auto& l) { return l.rejected_connections; });
    per_listener("veridge_http_rate_limited_total", "counter", "Requests answered 429.", [](const auto& l) { return l.rate_limited; });
    per_listener("veridge_http_too_large_total", "counter", "Requests answered 413 or 431.", [](const auto& l) { return l.too_large; });
    per_listener("veridge_http_timeouts_total", "counter", "Connections cut by a timeout.", [](const auto& l) { return l.timeouts; });
    per_listener("veridge_http_tls_failures_total", "counter", "Failed TLS handshakes.", [](const auto& l) { return l.tls_failures; });
    per_listener("veridge_http_server_errors_total", "counter", "Responses with a 5xx status.", [](const auto& l) { return l.server_errors; });
  }
  return out.str();
}

}  // namespace veridge::app
