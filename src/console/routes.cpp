// console/routes.cpp — the console's route table, the guard in front of every route (session,
// enrolment state, role, CSRF), and the handlers (console/console.h says what each promises).
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <memory>
#include <variant>

#include "common/hex.h"
#include "common/log.h"
#include "common/sha256.h"
#include "console/console.h"
#include "console/internal.h"
#include "net/http_fields.h"

namespace veridge::console {

struct Context {
  Context(store::Store& s, ConsoleOptions o) : store(s), options(std::move(o)) {}
  store::Store& store;
  ConsoleOptions options;
  std::atomic<int> hashing{0};
  // Verified against for an unknown name, so it costs what a real account costs.
  std::string dummy_hash;
  std::int64_t Now() const { return options.clock->NowUnixSeconds(); }
};

namespace {

using nlohmann::json;
using net::CookieValue;
using net::IsJsonContentType;
using net::Response;

constexpr std::size_t kMaxNameBytes = 128;
constexpr int kRecoveryCodes = 10;
constexpr std::size_t kTotpKeyBytes = 20;  // 160 bits, RFC 4226's recommended HMAC-SHA1 key length

Response Error(int status, const std::string& code, const std::string& message) { return Response::Error(status, code, message); }

Response StoreUnavailable(const Status& st) {
  spdlog::error("console: store failure: {}", st.ToString());
  return Error(503, "unavailable", "the appliance cannot reach its store right now; retry later");
}

std::string ActorOf(const store::StaffRecord& s) { return "staff:" + s.id + "/" + s.role; }

json StaffJson(const store::StaffRecord& s) {
  json j = {{"id", s.id}, {"name", s.name}, {"role", s.role}, {"created_at", s.created_at},
            {"totp_enrolled", !s.totp_secret.empty()}, {"disabled", s.disabled_at.has_value()},
            {"locked_until", s.locked_until}, {"failed_logins", s.failed_logins}};
  return j;
}

std::string SessionCookie(const std::string& token) {
  return std::string(kSessionCookie) + "=" + token + "; Path=/; Secure; HttpOnly; SameSite=Strict";
}
std::string ClearedCookie() { return std::string(kSessionCookie) + "=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0"; }

// The JSON object body of a POST, or an error response.
std::optional<Response> ParseBody(const net::Request& req, json* out) {
  if (req.body.empty()) {
    *out = json::object();
    return std::nullopt;
  }
  *out = json::parse(req.body, nullptr, false);
  if (out->is_discarded() || !out->is_object()) return Error(400, "invalid_json", "the body must be one JSON object");
  return std::nullopt;
}

// A string field of at most `max` bytes ("" when absent); false when present with another type.
bool StringField(const json& body, const char* key, std::size_t max, std::string* out) {
  out->clear();
  if (!body.contains(key)) return true;
  if (!body[key].is_string()) return false;
  *out = body[key].get<std::string>();
  return out->size() <= max;
}

std::int64_t QueryInt(const std::string& query, const std::string& key, std::int64_t def) {
  std::string_view q(query);
  while (!q.empty()) {
    auto amp = q.find('&');
    std::string_view part = q.substr(0, amp);
    if (part.size() > key.size() && part.substr(0, key.size()) == key && part[key.size()] == '=') {
      std::int64_t v = 0;
      auto val = part.substr(key.size() + 1);
      auto [p, ec] = std::from_chars(val.data(), val.data() + val.size(), v);
      if (ec == std::errc() && p == val.data() + val.size()) return v;
      return def;
    }
    if (amp == std::string_view::npos) break;
    q.remove_prefix(amp + 1);
  }
  return def;
}

// ---- login ------------------------------------------------------------------------------------

const Response kInvalidCredentials =
    Error(401, "invalid_credentials", "the name, password or one-time code is wrong (supervisors and admins also give their one-time code)");

// Frees a slot of the argon2id limit when the login handler returns.
struct HashSlot {
  std::atomic<int>& n;
  ~HashSlot() { --n; }
};

Response Login(Context& ctx, const net::Request& req, const Caller*) {
  json body;
  if (auto bad = ParseBody(req, &body)) return *bad;
  std::string name, password, totp, recovery;
  if (!StringField(body, "name", kMaxNameBytes, &name) || !StringField(body, "password", kMaxPasswordBytes, &password) ||
      !StringField(body, "totp", 16, &totp) || !StringField(body, "recovery_code", 64, &recovery) || name.empty() || password.empty())
    return Error(400, "invalid_field", "send {\"name\",\"password\"} as strings (and \"totp\" or \"recovery_code\" for supervisors and admins)");
  const std::int64_t now = ctx.Now();

  if (++ctx.hashing > ctx.options.max_concurrent_hashes) {
    --ctx.hashing;
    Response r = Error(503, "busy", "too many logins at once; retry in a second");
    r.headers.emplace_back("Retry-After", "1");
    return r;
  }
  HashSlot slot{ctx.hashing};

  auto found = ctx.store.FindStaffByName(name);
  if (!found.ok()) return StoreUnavailable(found.status());
  if (!found->has_value()) {
    VerifyPassword(password, ctx.dummy_hash);  // same cost as a real account: no timing oracle for names
    auto ev = ctx.store.AppendAudit({0, now, "anonymous", "staff.login_failed", "-", json{{"reason", "unknown_account"}}.dump(), "", ""});
    if (!ev.ok()) return StoreUnavailable(ev.status());
    return kInvalidCredentials;
  }
  const store::StaffRecord staff = **found;
  if (staff.locked_until > now) {
    auto ev = ctx.store.AppendAudit({0, now, "anonymous", "staff.login_failed", staff.id,
                                     json{{"reason", "locked"}, {"locked_until", staff.locked_until}}.dump(), "", ""});
    if (!ev.ok()) return StoreUnavailable(ev.status());
    Response r = Error(429, "account_locked", "too many failed logins: this account is locked for a while; ask an admin if it persists");
    r.headers.emplace_back("Retry-After", std::to_string(staff.locked_until - now));
    return r;
  }

  auto fail = [&](const std::string& reason) -> Response {
    auto out = ctx.store.RecordFailedLogin(staff.id, now, ctx.options.lockout, reason);
    if (!out.ok()) return StoreUnavailable(out.status());
    if (out->locked_now) {
      spdlog::warn("console: account {} locked after {} failed logins", staff.id, out->failed_logins);
      Response r = Error(429, "account_locked", "too many failed logins: this account is locked for a while; ask an admin if it persists");
      r.headers.emplace_back("Retry-After", std::to_string(out->locked_until - now));
      return r;
    }
    return kInvalidCredentials;
  };
  const bool password_ok = VerifyPassword(password, staff.password_hash);
  std::fill(password.begin(), password.end(), '\0');
  if (!password_ok) return fail("bad_password");
  if (staff.disabled_at) return fail("account_disabled");

  store::LoginProof proof;
  std::string mfa = "verified";
  if (!staff.totp_secret.empty() && (RoleNeedsTotp(staff.role) || !totp.empty() || !recovery.empty())) {
    if (!totp.empty()) {
      auto step = MatchTotp(staff.totp_secret, totp, now);
      if (!step) return fail("bad_totp");
      proof.totp_step = *step;
    } else if (!recovery.empty()) {
      proof.recovery_code_sha256 = Sha256Hex(recovery);
    } else {
      return fail("totp_missing");
    }
  } else if (RoleNeedsTotp(staff.role)) {
    mfa = "enrolment_required";
  }

  auto raw = RandomBytes(32);
  if (!raw.ok()) return Error(503, "unavailable", raw.status().message());
  const std::string token = "vcs_" + ToHex(raw->data(), raw->size());
  store::ConsoleSessionRecord s;
  s.token_sha256 = Sha256Hex(token);
  s.staff_id = staff.id;
  s.created_at = s.last_seen_at = now;
  s.expires_at = now + ctx.options.absolute_timeout_s;
  s.mfa = mfa;
  Status st = ctx.store.CreateConsoleSession(s, proof, ActorOf(staff));
  if (st.code() == "totp_replayed" || st.code() == "recovery_code_invalid" || st.code() == "account_disabled") return fail(st.code());
  if (!st.ok()) return StoreUnavailable(st);
  json j = {{"staff", StaffJson(staff)}, {"mfa", mfa}, {"csrf_token", CsrfToken(token)},
            {"expires_at", s.expires_at}, {"idle_timeout", ctx.options.idle_timeout_s}};
  Response r = Response::Json(200, j.dump());
  r.headers.emplace_back("Set-Cookie", SessionCookie(token));
  return r;
}

// ---- session routes ---------------------------------------------------------------------------

Response Me(Context& ctx, const net::Request&, const Caller* c) {
  json j = {{"staff", StaffJson(c->staff)}, {"mfa", c->session.mfa}, {"csrf_token", CsrfToken(c->token)},
            {"expires_at", c->session.expires_at}, {"idle_timeout", ctx.options.idle_timeout_s},
            {"totp_required", RoleNeedsTotp(c->staff.role)}};
  return Response::Json(200, j.dump());
}

Response Logout(Context& ctx, const net::Request&, const Caller* c) {
  Status st = ctx.store.EndConsoleSession(c->session.token_sha256, ctx.Now(), "logout", c->actor);
  if (!st.ok()) return StoreUnavailable(st);
  Response r = Response::Json(200, R"({"logged_out":true})");
  r.headers.emplace_back("Set-Cookie", ClearedCookie());
  return r;
}

Response LogoutEverywhere(Context& ctx, const net::Request& req, const Caller* c) {
  json body;
  if (auto bad = ParseBody(req, &body)) return *bad;
  std::string staff_id;
  if (!StringField(body, "staff_id", kMaxNameBytes, &staff_id))
    return Error(400, "invalid_field", "staff_id is a staff id (stf_...); leave it out to end every console session");
  auto n = ctx.store.EndAllConsoleSessions(staff_id, ctx.Now(), c->actor);
  if (n.status().code() == "not_found") return Error(404, "staff_not_found", "no such staff account");
  if (!n.ok()) return StoreUnavailable(n.status());
  Response r = Response::Json(200, json{{"sessions_ended", *n}}.dump());
  if (staff_id.empty() || staff_id == c->staff.id) r.headers.emplace_back("Set-Cookie", ClearedCookie());
  return r;
}

Response TotpEnrol(Context& ctx, const net::Request&, const Caller* c) {
  if (!c->staff.totp_secret.empty())
    return Error(409, "totp_already_enrolled", "a one-time code app is enrolled already; an admin resets it with veridge staff passwd");
  auto key = RandomBytes(kTotpKeyBytes);
  if (!key.ok()) return Error(503, "unavailable", key.status().message());
  Status st = ctx.store.StartTotpEnrolment(c->staff.id, *key, ctx.Now(), c->actor);
  if (!st.ok()) return StoreUnavailable(st);
  // The one response that carries the key: the staff member's app must learn it (shown as a QR code).
  json j = {{"otpauth_uri", OtpauthUri(ctx.options.totp_issuer, c->staff.name, *key)}, {"secret", Base32Encode(*key)},
            {"digits", 6}, {"period", kTotpStepSeconds}, {"algorithm", "SHA1"}};
  return Response::Json(200, j.dump());
}

Response TotpConfirm(Context& ctx, const net::Request& req, const Caller* c) {
  json body;
  if (auto bad = ParseBody(req, &body)) return *bad;
  std::string code;
  if (!StringField(body, "code", 16, &code) || code.empty()) return Error(400, "invalid_field", "send {\"code\":\"123456\"} from the app");
  auto fresh = ctx.store.GetStaff(c->staff.id);
  if (!fresh.ok()) return StoreUnavailable(fresh.status());
  if (fresh->totp_pending_secret.empty())
    return Error(409, "totp_not_pending", "start with POST /console/api/totp/enrol, then confirm a code from the app");
  const std::int64_t now = ctx.Now();
  auto step = MatchTotp(fresh->totp_pending_secret, code, now);
  if (!step) return Error(422, "totp_wrong", "that code does not match; check the phone's clock and type the current code");
  std::vector<std::string> codes, hashes;
  for (int i = 0; i < kRecoveryCodes; ++i) {
    // 120 bits each (ASVS 2.6.2 asks for 112 when a lookup secret is kept as an unsalted hash).
    auto raw = RandomBytes(15);
    if (!raw.ok()) return Error(503, "unavailable", raw.status().message());
    const std::string b32 = Base32Encode(*raw);  // 24 characters, shown in groups of 4
    std::string grouped;
    for (std::size_t g = 0; g < b32.size(); g += 4) grouped += (g ? "-" : "") + b32.substr(g, 4);
    codes.push_back(grouped);
    hashes.push_back(Sha256Hex(codes.back()));
  }
  Status st = ctx.store.ConfirmTotpEnrolment(c->staff.id, *step, hashes, c->session.token_sha256, now, c->actor);
  if (st.code() == "totp_replayed") return Error(422, "totp_wrong", "that code was used already; wait for the next one");
  if (!st.ok()) return StoreUnavailable(st);
  return Response::Json(200, json{{"enrolled", true}, {"recovery_codes", codes}}.dump());
}

// ---- data routes ------------------------------------------------------------------------------

Response TodaySessions(Context& ctx, const net::Request&, const Caller*) {
  const std::int64_t now = ctx.Now();
  const std::int64_t day_start = now - (now % 86400);  // UTC day
  json rows = json::array();
  json counts = {{"approved", 0}, {"rejected", 0}, {"review", 0}};
  constexpr int kPage = 200, kMaxRows = 2000;
  for (int offset = 0; offset < kMaxRows; offset += kPage) {
    auto page = ctx.store.ListSessions(kPage, offset);
    if (!page.ok()) return StoreUnavailable(page.status());
    bool older = false;
    for (const auto& s : *page) {
      if (s.created_at < day_start) {
        older = true;
        break;
      }
      counts[s.decision] = counts.value(s.decision, 0) + 1;
      rows.push_back({{"session_id", s.session_id}, {"applicant_ref", s.applicant_ref}, {"created_at", s.created_at},
                      {"decision", s.decision}, {"reasons", json::parse(s.reasons_json, nullptr, false)}});
    }
    if (older || static_cast<int>(page->size()) < kPage) break;
  }
  return Response::Json(200, json{{"day_start", day_start}, {"counts", counts}, {"sessions", rows}}.dump());
}

Response AuditLog(Context& ctx, const net::Request& req, const Caller*) {
  const std::int64_t after = std::max<std::int64_t>(0, QueryInt(req.query, "after", 0));
  const std::int64_t limit = std::clamp<std::int64_t>(QueryInt(req.query, "limit", 100), 1, 1000);
  auto events = ctx.store.ListAudit(after, static_cast<int>(limit));
  if (!events.ok()) return StoreUnavailable(events.status());
  json rows = json::array();
  for (const auto& e : *events)
    rows.push_back({{"seq", e.seq}, {"at", e.at}, {"actor", e.actor}, {"action", e.action}, {"subject", e.subject},
                    {"detail", json::parse(e.detail_json, nullptr, false)}, {"hash", e.hash}});
  auto head = ctx.store.AuditHead();
  if (!head.ok()) return StoreUnavailable(head.status());
  return Response::Json(200, json{{"events", rows}, {"head", {{"seq", head->seq}, {"hash", head->hash}}}}.dump());
}

Response StaffList(Context& ctx, const net::Request&, const Caller*) {
  auto all = ctx.store.ListStaff();
  if (!all.ok()) return StoreUnavailable(all.status());
  json rows = json::array();
  for (const auto& s : *all) rows.push_back(StaffJson(s));
  return Response::Json(200, json{{"staff", rows}}.dump());
}

Response StaffDisable(Context& ctx, const net::Request& req, const Caller* c) {
  const std::string id = req.params.at("id");
  if (id == c->staff.id) return Error(409, "cannot_disable_self", "an admin cannot disable their own account; ask another admin");
  Status st = ctx.store.DisableStaff(id, ctx.Now(), c->actor);
  if (st.code() == "not_found") return Error(404, "staff_not_found", "no such staff account");
  if (!st.ok()) return StoreUnavailable(st);
  return Response::Json(200, json{{"id", id}, {"disabled", true}}.dump());
}

// ---- the guard --------------------------------------------------------------------------------

// The caller behind the session cookie, or the 401 to answer.
std::variant<Caller, Response> Authenticate(Context& ctx, const net::Request& req) {
  const std::string token = CookieValue(req, kSessionCookie);
  if (token.empty()) return Error(401, "unauthenticated", "log in first: POST /console/api/login");
  auto found = ctx.store.FindConsoleSession(Sha256Hex(token));
  if (!found.ok()) return StoreUnavailable(found.status());
  const Response invalid = Error(401, "session_invalid", "this session has ended; log in again");
  if (!found->has_value() || (*found)->ended_at) return invalid;
  const store::ConsoleSessionRecord s = **found;
  const std::int64_t now = ctx.Now();
  const bool absolute = now >= s.expires_at;
  const bool idle = now - s.last_seen_at >= ctx.options.idle_timeout_s;
  if (absolute || idle) {
    Status st = ctx.store.EndConsoleSession(s.token_sha256, now, absolute ? "absolute_timeout" : "idle_timeout", "system");
    if (!st.ok()) return StoreUnavailable(st);
    return Error(401, "session_expired", absolute ? "the session reached its 8-hour limit; log in again"
                                                  : "the session was idle too long; log in again");
  }
  auto staff = ctx.store.GetStaff(s.staff_id);
  if (!staff.ok()) return StoreUnavailable(staff.status());
  if (staff->disabled_at) return invalid;
  return Caller{*staff, s, token, ActorOf(*staff)};
}

net::Handler Guard(std::shared_ptr<Context> ctx, const RouteSpec& spec) {
  return [ctx, spec](const net::Request& req) -> Response {
    if (req.method == net::Method::kPost && !IsJsonContentType(req))
      return Error(415, "unsupported_media_type", "console requests are sent as Content-Type: application/json");
    if (spec.public_route) return spec.handler(*ctx, req, nullptr);
    auto who = Authenticate(*ctx, req);
    if (auto* r = std::get_if<Response>(&who)) return *r;
    const Caller& c = std::get<Caller>(who);
    if (c.session.mfa != "verified" && !spec.before_mfa)
      return Error(403, "mfa_enrolment_required", "enrol a one-time code app first (POST /console/api/totp/enrol)");
    if ((spec.roles & RoleBitOf(c.staff.role)) == 0) return Error(403, "forbidden", "your role may not do this");
    if (spec.changes_state) {
      auto sent = req.Header("X-CSRF-Token");
      if (!sent || !ConstantTimeEquals(*sent, CsrfToken(c.token)))
        return Error(403, "csrf_invalid", "send the X-CSRF-Token header the login returned (also in GET /console/api/me)");
    }
    if (Status st = ctx->store.TouchConsoleSession(c.session.token_sha256, ctx->Now()); !st.ok()) return StoreUnavailable(st);
    return spec.handler(*ctx, req, &c);
  };
}

}  // namespace

const std::vector<RouteSpec>& RouteTable() {
  using net::Method;
  // method, pattern, help, roles, public, before_mfa, changes_state, handler
  static const std::vector<RouteSpec> table{
      {Method::kPost, "/console/api/login", "log in: name, password, and the one-time code for supervisors and admins",
       0, true, false, true, Login},
      {Method::kGet, "/console/api/me", "who is logged in, the CSRF token, the session's limits", kAnyRole, false, true, false, Me},
      {Method::kPost, "/console/api/logout", "end this session", kAnyRole, false, true, true, Logout},
      {Method::kPost, "/console/api/logout-everywhere", "end every console session (or one staff member's)", kAdmin, false, false, true,
       LogoutEverywhere},
      {Method::kPost, "/console/api/totp/enrol", "start one-time code enrolment: returns the otpauth:// URI once", kAnyRole, false, true,
       true, TotpEnrol},
      {Method::kPost, "/console/api/totp/confirm", "finish enrolment with a code from the app: returns recovery codes once", kAnyRole,
       false, true, true, TotpConfirm},
      {Method::kGet, "/console/api/sessions", "today's decided sessions and counts by outcome",
       kOperator | kSupervisor | kAuditor | kAdmin, false, false, false, TodaySessions},
      {Method::kGet, "/console/api/audit", "the audit log (?after=SEQ&limit=N) and its head", kAuditor | kAdmin, false, false, false,
       AuditLog},
      {Method::kGet, "/console/api/staff", "staff accounts (never a hash or key)", kAdmin, false, false, false, StaffList},
      {Method::kPost, "/console/api/staff/{id}/disable", "disable a staff account and end its sessions", kAdmin, false, false, true,
       StaffDisable},
  };
  return table;
}

Status AddConsoleRoutes(net::Router& router, store::Store& store, ConsoleOptions options) {
  if (!options.clock) options.clock = &SystemClock::Instance();
  auto ctx = std::make_shared<Context>(store, options);
  // A real argon2id hash of a random password with the configured parameters.
  auto pw = RandomBytes(16);
  if (!pw.ok()) return pw.status();
  auto dummy = HashPassword(ToHex(pw->data(), pw->size()), options.argon2);
  if (!dummy.ok()) return dummy.status();
  ctx->dummy_hash = *dummy;
  for (const auto& spec : RouteTable())
    VERIDGE_RETURN_IF_ERROR(router.Add({spec.method, spec.pattern, spec.help, Guard(ctx, spec), spec.changes_state}));
  return Status::Ok();
}

}  // namespace veridge::console
