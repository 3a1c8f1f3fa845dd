// The console API (console/routes.cpp) over real HTTPS: net::Server with a TLS listener on an
// ephemeral port, certificates made at test time, a real SQLCipher store, and a fake clock (the one
// seam) so the idle and absolute timeouts and lockout backoff are tested without waiting. The
// access tests walk console::RouteTable() itself, never a hand-written list of routes.
#include <catch2/catch.hpp>

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <strings.h>

#include <map>
#include <sstream>

#include "common/sha256.h"
#include "console/console.h"
#include "lender/lender_fixture.h"
#include "net/https_client.h"
#include "store/store_fixture.h"

using namespace veridge;
using namespace veridge::testing;
using nlohmann::json;
using Ms = std::chrono::milliseconds;

namespace {

constexpr std::int64_t kT0 = 1'800'000'000;

struct Reply {
  int status = 0;
  json body;
  std::string raw;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string code() const { return body.contains("error") ? body["error"].value("code", "") : ""; }
  std::string Header(const std::string& name) const {
    for (const auto& [k, v] : headers)
      if (strcasecmp(k.c_str(), name.c_str()) == 0) return v;
    return "";
  }
};

// A logged-in client: the cookie value and the CSRF token.
struct Login {
  std::string cookie;
  std::string csrf;
  json body;
};

struct Console {
  TempDir dir;
  StoreFixture sf;
  LenderPki pki;
  bool made = false;
  FakeClock clock{kT0};
  std::unique_ptr<store::Store> store;
  std::unique_ptr<net::Server> server;
  std::unique_ptr<net::HttpsClient> client;
  int port = 0;
  std::vector<std::string> transcript;  // every response body, for the secrets check

  Console() {
    made = MakeLenderPki(dir / "pki", &pki);
    if (!made) return;
    store = sf.Open();
    console::ConsoleOptions o;
    o.argon2 = {8192, 1, 1};  // small for speed; the daemon's come from [console]
    o.lockout = {5, 60, 3600};
    o.clock = &clock;
    auto router = std::make_shared<net::Router>();
    REQUIRE(console::AddConsoleRoutes(*router, *store, o).ok());
    server = std::make_unique<net::Server>();
    net::ListenerOptions lo;
    lo.name = "api";
    lo.tls = pki::ServerTlsOptions{pki.server_cert(), pki.server_key()};
    lo.rate.per_second = 0;  // the walks send many requests from one address
    auto bound = server->Listen(lo, router);
    REQUIRE(bound.ok());
    port = bound->port;
    server->Start();
    net::HttpsClientOptions co;
    co.tls.ca_file = pki.ca();
    co.connect_timeout = co.handshake_timeout = Ms(3000);
    co.total_timeout = Ms(10000);
    auto c = net::HttpsClient::Create(co);
    REQUIRE(c.ok());
    client = std::move(*c);
  }
  ~Console() {
    client.reset();  // closes the kept-alive connection, so the server drains at once
    if (server) server->Shutdown(Ms(1000));
  }

  Reply Call(net::Method method, const std::string& path, const std::string& body = "", const std::string& cookie = "",
             const std::string& csrf = "", const std::string& content_type = "application/json") {
    net::HttpRequest r;
    r.method = method == net::Method::kPost ? "POST" : "GET";
    r.url = "https://127.0.0.1:" + std::to_string(port) + path;
    r.body = body;
    if (method == net::Method::kPost && !content_type.empty()) r.headers.emplace_back("Content-Type", content_type);
    if (!cookie.empty()) r.headers.emplace_back("Cookie", std::string(console::kSessionCookie) + "=" + cookie);
    if (!csrf.empty()) r.headers.emplace_back("X-CSRF-Token", csrf);
    auto res = client->Send(r);
    INFO(res.status().ToString());
    REQUIRE(res.ok());
    Reply out;
    out.status = res->status;
    out.raw = res->body;
    out.headers = res->headers;
    out.body = json::parse(res->body, nullptr, false);
    transcript.push_back(res->body);
    for (const auto& [k, v] : res->headers) transcript.push_back(k + ": " + v);
    return out;
  }

  Reply PostLogin(const std::string& name, const std::string& password, const std::string& totp = "") {
    json b = {{"name", name}, {"password", password}};
    if (!totp.empty()) b["totp"] = totp;
    return Call(net::Method::kPost, "/console/api/login", b.dump());
  }

  Login LogIn(const std::string& name, const std::string& password, const std::string& totp = "") {
    auto r = PostLogin(name, password, totp);
    INFO(r.raw);
    REQUIRE(r.status == 200);
    const std::string set = r.Header("Set-Cookie");
    const std::string prefix = std::string(console::kSessionCookie) + "=";
    REQUIRE(set.rfind(prefix, 0) == 0);
    Login l;
    l.cookie = set.substr(prefix.size(), set.find(';') - prefix.size());
    l.csrf = r.body["csrf_token"].get<std::string>();
    l.body = r.body;
    return l;
  }

  store::StaffRecord Add(const std::string& name, const std::string& role, const std::string& password) {
    auto s = console::CreateStaff(*store, name, role, password, {8192, 1, 1}, clock.NowUnixSeconds(), "cli");
    INFO(s.status().ToString());
    REQUIRE(s.ok());
    return *s;
  }

  // A supervisor or admin with TOTP already enrolled (through the store, as the enrolment route
  // would): returns its key.
  std::string EnrolDirectly(const store::StaffRecord& s) {
    const std::string key = "key-of-" + s.name + "-0123456789";
    REQUIRE(store->StartTotpEnrolment(s.id, key, clock.NowUnixSeconds(), "test").ok());
    REQUIRE(store->ConfirmTotpEnrolment(s.id, 0 + 1, {}, "", clock.NowUnixSeconds(), "test").ok());
    return key;
  }

  void Advance(std::int64_t seconds) { clock.Advance(std::chrono::seconds(seconds)); }

  std::vector<store::AuditEvent> Audit(const std::string& action = "") {
    auto all = store->ListAudit(0, 10000);
    REQUIRE(all.ok());
    std::vector<store::AuditEvent> out;
    for (const auto& e : *all)
      if (action.empty() || e.action == action) out.push_back(e);
    return out;
  }
};

#define REQUIRE_CONSOLE(c)                                                     \
  if (!(c).made) {                                                            \
    WARN("VERIDGE-SKIP: openssl could not make the test PKI (tests/lender/make-test-pki.sh)"); \
    return;                                                                   \
  }

// A concrete path for a route pattern: {name} segments become a plausible id.
std::string PathOf(const console::RouteSpec& r) {
  std::string p = r.pattern, out;
  for (std::size_t i = 0; i < p.size(); ++i) {
    if (p[i] == '{') {
      out += "stf_0000000000000000";
      i = p.find('}', i);
    } else {
      out += p[i];
    }
  }
  return out;
}

const std::string kPw = "tea kettle on the roof";

}  // namespace

TEST_CASE("console access: walking the route table, every route but login answers 401 without a session or with a dead cookie") {
  Console c;
  REQUIRE_CONSOLE(c);
  auto admin = c.Add("ada", "admin", kPw);
  const std::string key = c.EnrolDirectly(admin);
  c.Advance(60);
  Login gone = c.LogIn("ada", kPw, console::Totp(key, c.clock.NowUnixSeconds()));
  REQUIRE(c.Call(net::Method::kPost, "/console/api/logout", "{}", gone.cookie, gone.csrf).status == 200);
  int walked = 0;
  for (const auto& r : console::RouteTable()) {
    INFO(net::ToString(r.method) << " " << r.pattern);
    if (r.public_route) {
      CHECK(std::string(r.pattern) == "/console/api/login");  // the only public route
      continue;
    }
    ++walked;
    auto none = c.Call(r.method, PathOf(r), "{}");
    CHECK(none.status == 401);
    CHECK(none.code() == "unauthenticated");
    auto forged = c.Call(r.method, PathOf(r), "{}", "vcs_" + std::string(64, 'a'), console::CsrfToken("vcs_" + std::string(64, 'a')));
    CHECK(forged.status == 401);
    auto logged_out = c.Call(r.method, PathOf(r), "{}", gone.cookie, gone.csrf);
    CHECK(logged_out.status == 401);
    CHECK(logged_out.code() == "session_invalid");
  }
  CHECK(walked == static_cast<int>(console::RouteTable().size()) - 1);
}

TEST_CASE("console access: each role gets 403 on every route outside its set, and state changes need the CSRF token") {
  Console c;
  REQUIRE_CONSOLE(c);
  std::map<std::string, Login> logins;
  for (const auto& role : console::AllRoles()) {
    auto s = c.Add("user." + role, role, kPw);
    if (console::RoleNeedsTotp(role)) c.EnrolDirectly(s);
  }
  c.Advance(60);
  for (const auto& role : console::AllRoles()) {
    auto s = c.store->FindStaffByName("user." + role);
    REQUIRE(s.ok());
    std::string code = (*s)->totp_secret.empty() ? "" : console::Totp((*s)->totp_secret, c.clock.NowUnixSeconds());
    logins[role] = c.LogIn("user." + role, kPw, code);
  }
  int denied = 0, allowed = 0;
  for (const auto& role : console::AllRoles()) {
    const Login& l = logins[role];
    for (const auto& r : console::RouteTable()) {
      if (r.public_route) continue;
      INFO(role << ": " << net::ToString(r.method) << " " << r.pattern);
      const bool in_set = (r.roles & console::RoleBitOf(role)) != 0;
      if (!in_set) {
        // With a valid CSRF token and a well-formed body: refused for the role alone.
        auto res = c.Call(r.method, PathOf(r), "{}", l.cookie, l.csrf);
        CHECK(res.status == 403);
        CHECK(res.code() == "forbidden");
        ++denied;
      } else if (r.changes_state) {
        // Inside the set, a state change without its CSRF token is refused (and changes nothing).
        auto res = c.Call(r.method, PathOf(r), "{}", l.cookie);
        CHECK(res.status == 403);
        CHECK(res.code() == "csrf_invalid");
        auto wrong = c.Call(r.method, PathOf(r), "{}", l.cookie, console::CsrfToken("vcs_other"));
        CHECK(wrong.code() == "csrf_invalid");
        ++allowed;
      } else {
        auto res = c.Call(r.method, PathOf(r), "", l.cookie);
        CHECK(res.status == 200);
        ++allowed;
      }
    }
  }
  CHECK(denied > 0);
  CHECK(allowed > 0);
  // Every session is still open: none of the refused requests logged anyone out.
  for (const auto& role : console::AllRoles()) CHECK(c.Call(net::Method::kGet, "/console/api/me", "", logins[role].cookie).status == 200);
  // A cross-site form cannot post at all: not JSON → 415 before anything else.
  CHECK(c.Call(net::Method::kPost, "/console/api/logout", "a=b", logins["admin"].cookie, logins["admin"].csrf,
               "application/x-www-form-urlencoded").status == 415);
}

TEST_CASE("console login: cookie attributes, the CSRF token, /me, and a logged-out cookie refused") {
  Console c;
  REQUIRE_CONSOLE(c);
  c.Add("olga", "operator", kPw);
  auto r = c.PostLogin("olga", kPw);
  REQUIRE(r.status == 200);
  const std::string set = r.Header("Set-Cookie");
  CHECK(set.rfind("__Host-veridge_console=vcs_", 0) == 0);
  CHECK(set.find("; HttpOnly") != std::string::npos);
  CHECK(set.find("; Secure") != std::string::npos);
  CHECK(set.find("; SameSite=Strict") != std::string::npos);
  CHECK(set.find("; Path=/") != std::string::npos);
  CHECK(set.find("Max-Age") == std::string::npos);
  CHECK(r.body["mfa"] == "verified");
  CHECK(r.body["staff"]["role"] == "operator");
  CHECK(r.body["expires_at"] == kT0 + 8 * 3600);
  CHECK(r.Header("Cache-Control") == "no-store");
  Login l = c.LogIn("olga", kPw);
  CHECK(set.find(l.cookie) == std::string::npos);  // every login gets a fresh token
  CHECK(l.cookie.size() == 4 + 64);                // "vcs_" + 256 bits in hex
  // The cookie is stored only as its hash.
  auto found = c.store->FindConsoleSession(Sha256Hex(l.cookie));
  REQUIRE(found.ok());
  REQUIRE(found->has_value());
  CHECK_FALSE(Contains(c.sf.RawBytes(), l.cookie));
  auto me = c.Call(net::Method::kGet, "/console/api/me", "", l.cookie);
  REQUIRE(me.status == 200);
  CHECK(me.body["csrf_token"] == l.csrf);
  CHECK(me.body["staff"]["name"] == "olga");
  CHECK(c.Call(net::Method::kPost, "/console/api/logout", "{}", l.cookie).status == 403);  // no CSRF token
  auto out = c.Call(net::Method::kPost, "/console/api/logout", "{}", l.cookie, l.csrf);
  REQUIRE(out.status == 200);
  CHECK(out.Header("Set-Cookie").find("Max-Age=0") != std::string::npos);
  auto after = c.Call(net::Method::kGet, "/console/api/me", "", l.cookie);
  CHECK(after.status == 401);
  CHECK(after.code() == "session_invalid");
  CHECK(c.Audit("staff.logout").size() == 1);
  CHECK(c.Audit("staff.login").size() == 2);

  // Bad input: clear 400s, never a 500.
  CHECK(c.Call(net::Method::kPost, "/console/api/login", "not json").status == 400);
  CHECK(c.Call(net::Method::kPost, "/console/api/login", R"({"name":"olga","password":5})").status == 400);
  CHECK(c.Call(net::Method::kPost, "/console/api/login", json{{"name", std::string(200, 'n')}, {"password", "x"}}.dump()).status == 400);
  CHECK(c.Call(net::Method::kPost, "/console/api/login", json{{"name", "olga"}, {"password", kPw}}.dump(), "", "", "text/plain").status == 415);
  // Names are bound as SQL parameters: an injection attempt is just an unknown name.
  CHECK(c.PostLogin("olga' OR '1'='1", kPw).code() == "invalid_credentials");
  CHECK(c.PostLogin("olga\"; --", kPw).code() == "invalid_credentials");
}

TEST_CASE("console lockout: the 5th wrong password locks the account with backoff, audited, and the right one waits") {
  Console c;
  REQUIRE_CONSOLE(c);
  auto s = c.Add("olga", "operator", kPw);
  for (int i = 1; i <= 4; ++i) {
    auto r = c.PostLogin("olga", "wrong password " + std::to_string(i));
    CHECK(r.status == 401);
    CHECK(r.code() == "invalid_credentials");
  }
  auto fifth = c.PostLogin("olga", "wrong password 5");
  CHECK(fifth.status == 429);
  CHECK(fifth.code() == "account_locked");
  CHECK(fifth.Header("Retry-After") == "60");
  auto locked = c.PostLogin("olga", kPw);  // the right password, but locked: not even checked
  CHECK(locked.status == 429);
  c.Advance(61);
  auto sixth = c.PostLogin("olga", "wrong password 6");  // still failing: the next lock is twice as long
  CHECK(sixth.status == 429);
  CHECK(sixth.Header("Retry-After") == "120");
  c.Advance(121);
  Login l = c.LogIn("olga", kPw);
  CHECK(c.store->GetStaff(s.id)->failed_logins == 0);
  CHECK(c.Audit("staff.login_failed").size() == 7);  // 6 wrong passwords + 1 refused while locked
  CHECK(c.Audit("staff.locked_out").size() == 2);
  // An unknown name gets the same answer as a wrong password, and is audited without the name typed.
  auto unknown = c.PostLogin("nobody", kPw);
  CHECK(unknown.status == 401);
  CHECK(unknown.code() == "invalid_credentials");
  CHECK(unknown.raw == c.PostLogin("olga", "wrong again, once").raw);
  auto last = c.Audit("staff.login_failed");
  bool saw_unknown = false;
  for (const auto& e : last) saw_unknown |= e.detail_json.find("unknown_account") != std::string::npos;
  CHECK(saw_unknown);
}

TEST_CASE("console sessions: a 15-minute idle timeout and an 8-hour absolute timeout, each ending the session") {
  Console c;
  REQUIRE_CONSOLE(c);
  c.Add("olga", "operator", kPw);
  Login idle = c.LogIn("olga", kPw);
  c.Advance(14 * 60);
  REQUIRE(c.Call(net::Method::kGet, "/console/api/me", "", idle.cookie).status == 200);  // resets the idle clock
  c.Advance(14 * 60);
  REQUIRE(c.Call(net::Method::kGet, "/console/api/me", "", idle.cookie).status == 200);
  c.Advance(15 * 60);
  auto expired = c.Call(net::Method::kGet, "/console/api/me", "", idle.cookie);
  CHECK(expired.status == 401);
  CHECK(expired.code() == "session_expired");
  CHECK(c.Call(net::Method::kGet, "/console/api/me", "", idle.cookie).code() == "session_invalid");  // ended for good

  Login busy = c.LogIn("olga", kPw);
  for (int i = 0; i < 47; ++i) {  // a request every 10 minutes for 7 h 50 min
    c.Advance(10 * 60);
    REQUIRE(c.Call(net::Method::kGet, "/console/api/me", "", busy.cookie).status == 200);
  }
  c.Advance(10 * 60);  // 8 h after login
  auto over = c.Call(net::Method::kGet, "/console/api/me", "", busy.cookie);
  CHECK(over.status == 401);
  CHECK(over.code() == "session_expired");
  int idle_ends = 0, absolute_ends = 0;
  for (const auto& e : c.Audit("staff.logout")) {
    idle_ends += e.detail_json.find("idle_timeout") != std::string::npos;
    absolute_ends += e.detail_json.find("absolute_timeout") != std::string::npos;
  }
  CHECK(idle_ends == 1);
  CHECK(absolute_ends == 1);
}

TEST_CASE("console totp: a supervisor must enrol, then logs in with a code once per step, and a recovery code works once") {
  Console c;
  REQUIRE_CONSOLE(c);
  c.Add("sam", "supervisor", kPw);
  Login first = c.LogIn("sam", kPw);
  CHECK(first.body["mfa"] == "enrolment_required");
  // Until enrolled, only the enrolment routes, me and logout.
  auto blocked = c.Call(net::Method::kGet, "/console/api/sessions", "", first.cookie);
  CHECK(blocked.status == 403);
  CHECK(blocked.code() == "mfa_enrolment_required");
  auto enrol = c.Call(net::Method::kPost, "/console/api/totp/enrol", "{}", first.cookie, first.csrf);
  REQUIRE(enrol.status == 200);
  const std::string uri = enrol.body["otpauth_uri"];
  CHECK(uri.rfind("otpauth://totp/Veridge:sam?secret=", 0) == 0);
  CHECK(uri.find("&algorithm=SHA1&digits=6&period=30") != std::string::npos);
  auto key = console::Base32Decode(enrol.body["secret"].get<std::string>());
  REQUIRE(key.ok());
  CHECK(key->size() == 20);
  auto wrong = c.Call(net::Method::kPost, "/console/api/totp/confirm", json{{"code", "000000"}}.dump(), first.cookie, first.csrf);
  CHECK(wrong.status == 422);
  const std::int64_t now = c.clock.NowUnixSeconds();
  auto ok = c.Call(net::Method::kPost, "/console/api/totp/confirm", json{{"code", console::Totp(*key, now)}}.dump(), first.cookie,
                   first.csrf);
  REQUIRE(ok.status == 200);
  REQUIRE(ok.body["recovery_codes"].size() == 10);
  const std::string recovery = ok.body["recovery_codes"][0];
  CHECK(recovery.size() == 24 + 5);  // 120 bits of base32 in six groups of four
  CHECK(c.Call(net::Method::kGet, "/console/api/sessions", "", first.cookie).status == 200);  // this session is verified now
  CHECK(c.Audit("staff.totp_enrolled").size() == 1);

  // Logins now need the code; the code of the step used for enrolment is spent.
  CHECK(c.PostLogin("sam", kPw).status == 401);
  CHECK(c.PostLogin("sam", kPw, console::Totp(*key, now)).status == 401);
  c.Advance(30);
  Login second = c.LogIn("sam", kPw, console::Totp(*key, c.clock.NowUnixSeconds()));
  CHECK(second.body["mfa"] == "verified");
  CHECK(c.PostLogin("sam", kPw, console::Totp(*key, c.clock.NowUnixSeconds())).status == 401);  // replayed
  auto with_recovery = c.Call(net::Method::kPost, "/console/api/login", json{{"name", "sam"}, {"password", kPw}, {"recovery_code", recovery}}.dump());
  CHECK(with_recovery.status == 200);
  auto reused = c.Call(net::Method::kPost, "/console/api/login", json{{"name", "sam"}, {"password", kPw}, {"recovery_code", recovery}}.dump());
  CHECK(reused.status == 401);
  // A re-enrolment over an enrolled key is refused.
  CHECK(c.Call(net::Method::kPost, "/console/api/totp/enrol", "{}", second.cookie, second.csrf).status == 409);
  // The key and the recovery codes are not in the audit trail.
  for (const auto& e : c.Audit()) {
    CHECK(e.detail_json.find(enrol.body["secret"].get<std::string>()) == std::string::npos);
    CHECK(e.detail_json.find(recovery) == std::string::npos);
  }
}

TEST_CASE("console logout everywhere: an admin ends every console session, audited") {
  Console c;
  REQUIRE_CONSOLE(c);
  auto admin = c.Add("ada", "admin", kPw);
  const std::string key = c.EnrolDirectly(admin);
  c.Add("olga", "operator", kPw);
  c.Add("otto", "operator", kPw);
  c.Advance(60);
  Login a = c.LogIn("ada", kPw, console::Totp(key, c.clock.NowUnixSeconds()));
  Login o1 = c.LogIn("olga", kPw);
  Login o2 = c.LogIn("otto", kPw);
  Login o3 = c.LogIn("otto", kPw);
  auto one = c.Call(net::Method::kPost, "/console/api/logout-everywhere", json{{"staff_id", c.store->FindStaffByName("otto")->value().id}}.dump(),
                    a.cookie, a.csrf);
  REQUIRE(one.status == 200);
  CHECK(one.body["sessions_ended"] == 2);
  CHECK(c.Call(net::Method::kGet, "/console/api/me", "", o2.cookie).status == 401);
  CHECK(c.Call(net::Method::kGet, "/console/api/me", "", o3.cookie).status == 401);
  CHECK(c.Call(net::Method::kGet, "/console/api/me", "", o1.cookie).status == 200);
  auto all = c.Call(net::Method::kPost, "/console/api/logout-everywhere", "{}", a.cookie, a.csrf);
  REQUIRE(all.status == 200);
  CHECK(all.body["sessions_ended"] == 2);  // olga and the admin's own
  CHECK(c.Call(net::Method::kGet, "/console/api/me", "", o1.cookie).status == 401);
  CHECK(c.Call(net::Method::kGet, "/console/api/me", "", a.cookie).status == 401);
  auto events = c.Audit("staff.logout_everywhere");
  REQUIRE(events.size() == 2);
  CHECK(events[1].actor == "staff:" + admin.id + "/admin");
}

TEST_CASE("console data routes: today's sessions by outcome, the audit log, staff list and disable") {
  Console c;
  REQUIRE_CONSOLE(c);
  auto admin = c.Add("ada", "admin", kPw);
  const std::string key = c.EnrolDirectly(admin);
  auto olga = c.Add("olga", "operator", kPw);
  const std::int64_t now = c.clock.NowUnixSeconds();
  REQUIRE(c.store->CommitDecision(MakeDecision("sess-today", now - 10, "app-1", FakeJpeg("E", 1000), "d")).ok());
  REQUIRE(c.store->CommitDecision(MakeDecision("sess-yesterday", now - now % 86400 - 10, "app-0", FakeJpeg("E", 1000), "d")).ok());
  c.Advance(60);
  Login a = c.LogIn("ada", kPw, console::Totp(key, c.clock.NowUnixSeconds()));
  auto today = c.Call(net::Method::kGet, "/console/api/sessions", "", a.cookie);
  REQUIRE(today.status == 200);
  REQUIRE(today.body["sessions"].size() == 1);
  CHECK(today.body["sessions"][0]["session_id"] == "sess-today");
  CHECK(today.body["counts"]["approved"] == 1);
  auto audit = c.Call(net::Method::kGet, "/console/api/audit?after=0&limit=3", "", a.cookie);
  REQUIRE(audit.status == 200);
  CHECK(audit.body["events"].size() == 3);
  CHECK(audit.body["events"][0]["seq"] == 1);
  CHECK(audit.body["head"]["seq"].get<int>() > 3);
  auto staff = c.Call(net::Method::kGet, "/console/api/staff", "", a.cookie);
  REQUIRE(staff.status == 200);
  CHECK(staff.body["staff"].size() == 2);
  CHECK(staff.raw.find("argon2") == std::string::npos);
  Login o = c.LogIn("olga", kPw);
  auto self = c.Call(net::Method::kPost, "/console/api/staff/" + admin.id + "/disable", "{}", a.cookie, a.csrf);
  CHECK(self.status == 409);
  auto dis = c.Call(net::Method::kPost, "/console/api/staff/" + olga.id + "/disable", "{}", a.cookie, a.csrf);
  REQUIRE(dis.status == 200);
  CHECK(c.Call(net::Method::kGet, "/console/api/me", "", o.cookie).status == 401);
  CHECK(c.PostLogin("olga", kPw).status == 401);
  auto disabled = c.Audit("staff.disabled");
  REQUIRE(disabled.size() == 1);
  CHECK(disabled[0].actor == "staff:" + admin.id + "/admin");
  CHECK(c.Call(net::Method::kPost, "/console/api/staff/stf_nope/disable", "{}", a.cookie, a.csrf).status == 404);
}

TEST_CASE("console secrets: no password, session token or TOTP code appears in logs, responses or audit details") {
  Console c;
  REQUIRE_CONSOLE(c);
  std::ostringstream logs;
  auto previous = spdlog::default_logger();
  auto capture = std::make_shared<spdlog::logger>("capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(logs));
  capture->set_level(spdlog::level::trace);
  spdlog::set_default_logger(capture);
  const std::string admin_pw = "admin secret horse 1", op_pw = "operator secret horse 2";
  auto admin = c.Add("ada", "admin", admin_pw);
  const std::string key = c.EnrolDirectly(admin);
  c.Add("olga", "operator", op_pw);
  c.Advance(60);
  const std::string code = console::Totp(key, c.clock.NowUnixSeconds());
  Login a = c.LogIn("ada", admin_pw, code);
  for (int i = 0; i < 6; ++i) c.PostLogin("olga", "guess " + op_pw + std::to_string(i));  // lockout path, logged at warn
  c.PostLogin("nobody", admin_pw);
  c.Call(net::Method::kGet, "/console/api/audit?limit=1000", "", a.cookie);
  c.Call(net::Method::kPost, "/console/api/logout", "{}", a.cookie, a.csrf);
  spdlog::set_default_logger(previous);
  std::string audit_text;
  for (const auto& e : c.Audit()) audit_text += e.actor + " " + e.subject + " " + e.detail_json + "\n";
  std::string responses;
  for (const auto& t : c.transcript) responses += t + "\n";
  for (const std::string& secret : {admin_pw, op_pw, std::string("guess ")}) {
    INFO(secret);
    CHECK(logs.str().find(secret) == std::string::npos);
    CHECK(responses.find(secret) == std::string::npos);
    CHECK(audit_text.find(secret) == std::string::npos);
  }
  // The session token travels only in Set-Cookie; never in a body, the log or the audit.
  CHECK(logs.str().find(a.cookie) == std::string::npos);
  CHECK(audit_text.find(a.cookie) == std::string::npos);
  CHECK(audit_text.find(a.csrf) == std::string::npos);
  CHECK(audit_text.find(Sha256Hex(a.cookie)) == std::string::npos);
  CHECK(logs.str().find(code) == std::string::npos);
  CHECK(audit_text.find("\"" + code + "\"") == std::string::npos);
  CHECK(logs.str().find("locked") != std::string::npos);  // the capture did see the daemon's log
}
