// api/kiosk.cpp — the kiosk page's session routes of /kiosk/v1: code entry with its brute-force
// lock, the claimed session's state, and consent (contract in api/api.h, "Kiosk routes", and
// docs/kiosk-protocol.md).
#include <nlohmann/json.hpp>

#include <time.h>

#include <algorithm>
#include <ctime>
#include <deque>
#include <mutex>
#include <optional>
#include <set>
#include <variant>

#include "api/api.h"
#include "api/internal.h"
#include "common/log.h"
#include "common/sha256.h"
#include "net/http_fields.h"

namespace veridge::api {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxKioskBody = 1024;
constexpr std::string_view kKioskTokenPrefix = "vks_";
constexpr std::size_t kKioskTokenBytes = 4 + 64;
constexpr const char* kActor = "kiosk";

std::string Rfc3339(std::int64_t unix_seconds) {
  const time_t t = static_cast<time_t>(unix_seconds);
  tm utc{};
  gmtime_r(&t, &utc);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buf;
}

// The store's states as the page knows them: a decided session is "result" there.
std::string KioskState(const std::string& state) { return state == "completed" ? "result" : state; }

// The refused-code counter of one kiosk listener. Its mutex is held across a whole claim.
class CodeLock {
 public:
  CodeLock(const KioskApiOptions& o, const Clock& clock) : options_(o), clock_(clock) {}
  std::mutex& mu() { return mu_; }
  // Seconds until code entry opens again (>= 1), or 0 when open. Call with mu() held.
  std::int64_t LockedFor() const {
    const auto now = clock_.Monotonic();
    if (now >= locked_until_) return 0;
    return std::max<std::int64_t>(1, std::chrono::ceil<std::chrono::seconds>(locked_until_ - now).count());
  }
  // A refused code. Call with mu() held.
  void Refused() {
    const auto now = clock_.Monotonic();
    while (!failures_.empty() && now - failures_.front() >= options_.code_window) failures_.pop_front();
    failures_.push_back(now);
    if (static_cast<int>(failures_.size()) >= options_.max_code_failures) {
      locked_until_ = now + options_.code_lock;
      failures_.clear();
      spdlog::warn("kiosk: {} refused codes within {} s: code entry locked for {} s", options_.max_code_failures,
                   options_.code_window.count(), options_.code_lock.count());
    }
  }

 private:
  const KioskApiOptions& options_;
  const Clock& clock_;
  std::mutex mu_;
  std::deque<std::chrono::steady_clock::time_point> failures_;
  std::chrono::steady_clock::time_point locked_until_{};
};

struct Kiosk {
  Kiosk(store::Store& s, KioskApiOptions o)
      : store(s), options(std::move(o)), lock(options, options.clock ? *options.clock : SystemClock::Instance()) {}
  store::Store& store;
  const KioskApiOptions options;
  CodeLock lock;
  const Clock& clock() const { return options.clock ? *options.clock : SystemClock::Instance(); }

  json SessionJson(const store::SessionRequestRecord& r) const {
    auto factors = json::parse(r.factors_json, nullptr, false);
    return {{"id", r.id},
            {"state", KioskState(r.state)},
            {"locale", r.locale},
            {"factors", factors.is_array() ? factors : json::array()},
            {"expires_at", Rfc3339(r.expires_at)},
            {"attempt", r.attempt},
            {"max_attempts", options.max_attempts}};
  }

  // The checks every kiosk POST passes first, then its JSON object body with only `fields`.
  std::optional<net::Response> PostBody(const net::Request& req, const std::set<std::string>& fields, json* body) const {
    if (auto origin = req.Header("Origin"); origin && *origin != "http://" + req.Header("Host").value_or(""))
      return Err(403, "forbidden_origin", "kiosk requests come from the kiosk page itself");
    if (!net::IsJsonContentType(req)) return Err(415, "unsupported_media_type", "send Content-Type: application/json");
    if (req.body.size() > kMaxKioskBody) return Err(413, "body_too_large", "a kiosk request body is at most 1 KiB");
    *body = json::parse(req.body, nullptr, false);
    if (body->is_discarded() || !body->is_object()) return Err(400, "bad_request", "the body must be one JSON object");
    for (auto it = body->begin(); it != body->end(); ++it)
      if (!fields.count(it.key())) return Err(400, "unknown_field", "unknown field '" + it.key().substr(0, 32) + "'");
    return std::nullopt;
  }

  net::Response Claim(const net::Request& req) {
    json body;
    if (auto refused = PostBody(req, {"code"}, &body)) return *refused;
    const auto& code = body.value("code", json());
    if (!code.is_string() || code.get<std::string>().size() != 6 ||
        !std::all_of(code.get_ref<const std::string&>().begin(), code.get_ref<const std::string&>().end(),
                     [](char c) { return c >= '0' && c <= '9'; }))
      return Err(400, "bad_request", "a kiosk code is exactly 6 digits");

    std::lock_guard guard(lock.mu());
    if (const auto wait = lock.LockedFor(); wait > 0) {
      auto r = Err(429, "too_many_attempts", "too many wrong codes; code entry is locked for a while");
      r.headers.emplace_back("Retry-After", std::to_string(wait));
      return r;
    }
    auto secret = RandomHex(32);
    if (!secret.ok()) return StoreTrouble("making a kiosk token", secret.status());
    std::string token = std::string(kKioskTokenPrefix) + *secret;
    std::fill(secret->begin(), secret->end(), '\0');
    const std::int64_t now = clock().NowUnixSeconds();
    auto claimed = store.ClaimSessionByCode(code.get<std::string>(), Sha256Hex(token), now, kActor);
    if (!claimed.ok()) {
      const std::string& c = claimed.status().code();
      const int status = c == "unknown_code" ? 404 : c == "already_claimed" ? 409 : (c == "session_expired" || c == "session_closed") ? 410 : 0;
      if (status == 0) return StoreTrouble("claiming a session by kiosk code", claimed.status());
      lock.Refused();
      return Err(status, c, claimed.status().message());
    }
    json j = {{"session", SessionJson(*claimed)}, {"kiosk_token", token}};
    auto r = net::Response::Json(200, j.dump());
    r.headers.emplace_back("Set-Cookie", std::string(kKioskCookie) + "=" + token + "; Path=/kiosk; HttpOnly; SameSite=Strict; Max-Age=" +
                                             std::to_string(std::max<std::int64_t>(1, claimed->expires_at - now)));
    std::fill(token.begin(), token.end(), '\0');
    return r;
  }

  // The session of `id` when `token` is the kiosk token bound to it; else the 401 (or 503).
  std::variant<store::SessionRequestRecord, net::Response> Bound(const std::string& id, const std::string& token) const {
    const auto unauthorized = Err(401, "unauthorized", "this kiosk session needs the token its code gave");
    if (token.size() != kKioskTokenBytes || token.compare(0, kKioskTokenPrefix.size(), kKioskTokenPrefix) != 0 || !SafeId(id, 128))
      return unauthorized;
    auto s = store.GetSessionRequest(id, clock().NowUnixSeconds());
    if (!s.ok() && s.status().code() == "not_found") return unauthorized;
    if (!s.ok()) return StoreTrouble("reading session " + id, s.status());
    // Both sides are SHA-256 digests: comparing them leaks nothing about the token.
    if (s->kiosk_token_sha256.empty() || s->kiosk_token_sha256 != Sha256Hex(token)) return unauthorized;
    return *s;
  }

  static std::string BearerToken(const net::Request& req) {
    auto h = req.Header("Authorization");
    if (!h || h->size() < 7 || h->size() > 7 + kKioskTokenBytes) return "";
    std::string scheme = h->substr(0, 7);
    std::transform(scheme.begin(), scheme.end(), scheme.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return scheme == "bearer " ? h->substr(7) : "";
  }

  net::Response Get(const net::Request& req) const {
    std::string token = BearerToken(req);
    if (token.empty()) token = net::CookieValue(req, kKioskCookie);
    auto bound = Bound(req.params.at("id"), token);
    if (auto* r = std::get_if<net::Response>(&bound)) return *r;
    return net::Response::Json(200, SessionJson(std::get<store::SessionRequestRecord>(bound)).dump());
  }

  net::Response Consent(const net::Request& req) const {
    json body;
    if (auto refused = PostBody(req, {"accepted", "locale", "consent_version"}, &body)) return *refused;
    auto bound = Bound(req.params.at("id"), BearerToken(req));
    if (auto* r = std::get_if<net::Response>(&bound)) return *r;
    const auto& accepted = body.value("accepted", json());
    const auto& locale = body.value("locale", json());
    const auto& version = body.value("consent_version", json());
    auto listed = [](const std::vector<std::string>& list, const json& v) {
      return v.is_string() && std::find(list.begin(), list.end(), v.get<std::string>()) != list.end();
    };
    if (!accepted.is_boolean()) return Err(400, "bad_request", "accepted: true or false is required");
    if (!listed(options.locales, locale)) return Err(400, "bad_request", "locale: one of this kiosk's locales is required");
    if (!listed(options.consent_versions, version)) return Err(400, "bad_request", "consent_version: not a consent text this kiosk shows");
    const std::int64_t now = clock().NowUnixSeconds();
    const json record = {{"accepted", accepted}, {"locale", locale}, {"version", version}, {"at", now}};
    const std::string& id = std::get<store::SessionRequestRecord>(bound).id;
    auto s = store.RecordConsent(id, accepted.get<bool>(), record.dump(), now, kActor);
    if (s.ok()) return net::Response::Json(200, SessionJson(*s).dump());
    const std::string& c = s.status().code();
    if (c == "session_expired") return Err(410, c, s.status().message());
    if (c == "invalid_state") {
      auto now_row = store.GetSessionRequest(id, now);
      if (now_row.ok() && store::IsTerminalSessionState(now_row->state))
        return Err(410, "session_closed", "this session is " + now_row->state + "; the lender can create a new one");
      return Err(409, c, s.status().message());
    }
    return StoreTrouble("recording consent for " + id, s.status());
  }
};

}  // namespace

Status AddKioskRoutes(net::Router& router, store::Store& store, KioskApiOptions options) {
  auto kiosk = std::make_shared<Kiosk>(store, std::move(options));
  VERIDGE_RETURN_IF_ERROR(router.Add({net::Method::kPost, "/kiosk/v1/code", "claim a session by its 6-digit kiosk code: session + kiosk token (kiosk only)",
                                      [kiosk](const net::Request& r) { return kiosk->Claim(r); }, true}));
  VERIDGE_RETURN_IF_ERROR(router.Add({net::Method::kGet, "/kiosk/v1/sessions/{id}", "the claimed session's state for the page (kiosk token)",
                                      [kiosk](const net::Request& r) { return kiosk->Get(r); }}));
  return router.Add({net::Method::kPost, "/kiosk/v1/sessions/{id}/consent", "the applicant's consent answer (kiosk token as bearer)",
                     [kiosk](const net::Request& r) { return kiosk->Consent(r); }, true});
}

}  // namespace veridge::api
