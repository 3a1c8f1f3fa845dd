// The kiosk page's session routes (/kiosk/v1: code, session, consent) over the route table, on a
// real SQLCipher store, with a fake clock so the code-entry lock and expiry can be walked through.
// tests/app/serve_test.cpp drives the same routes through the real daemon.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "api/api.h"
#include "common/sha256.h"
#include "store/store_fixture.h"

using namespace veridge;
using namespace veridge::testing;
using nlohmann::json;

namespace {

constexpr std::int64_t kNow = 1'800'000'000;

struct KioskFixture {
  StoreFixture f;
  std::unique_ptr<store::Store> db = f.Open();
  FakeClock clock{kNow};
  net::Router router;
  KioskFixture() {
    api::KioskApiOptions o;
    o.clock = &clock;
    REQUIRE(api::AddKioskRoutes(router, *db, o).ok());
  }
  // A live session; returns its kiosk code.
  std::string Create(const std::string& id) {
    auto c = db->CreateSessionRequest(SampleSessionRequest(id, clock.NowUnixSeconds()), "api:tok_1");
    REQUIRE(c.ok());
    return c->kiosk_code;
  }
  net::Response Call(net::Method m, const std::string& path, const std::string& body = "",
                     std::vector<std::pair<std::string, std::string>> headers = {}) {
    net::Request r;
    r.method = m;
    r.path = path;
    r.body = body;
    r.remote_address = "127.0.0.1";
    r.headers = {{"Host", "127.0.0.1:8080"}};
    if (m == net::Method::kPost) r.headers.emplace_back("Content-Type", "application/json");
    r.headers.insert(r.headers.end(), headers.begin(), headers.end());
    return router.Dispatch(r);
  }
  net::Response Code(const std::string& code) { return Call(net::Method::kPost, "/kiosk/v1/code", json{{"code", code}}.dump()); }
  net::Response Consent(const std::string& id, const std::string& token, bool accepted = true) {
    return Call(net::Method::kPost, "/kiosk/v1/sessions/" + id + "/consent",
                json{{"accepted", accepted}, {"locale", "en"}, {"consent_version", "2026-12-v1"}}.dump(),
                {{"Authorization", "Bearer " + token}});
  }
};

std::string ErrorCode(const net::Response& r) { return json::parse(r.body)["error"]["code"]; }

// The response is the refusal `status` with error `code`.
bool Refused(const net::Response& r, int status, const std::string& code) {
  return r.status == status && ErrorCode(r) == code;
}

std::string Header(const net::Response& r, const std::string& name) {
  for (const auto& [k, v] : r.headers)
    if (k == name) return v;
  return "";
}

// A code that is not `code`.
std::string Other(const std::string& code) { return code == "000000" ? "000001" : "000000"; }

}  // namespace

TEST_CASE("kiosk routes: a code claims its session once, with a token bound to it; consent is stored") {
  KioskFixture k;
  const std::string code = k.Create("ses_a");
  auto claimed = k.Code(code);
  REQUIRE(claimed.status == 200);
  auto j = json::parse(claimed.body);
  const std::string token = j["kiosk_token"];
  CHECK(token.rfind("vks_", 0) == 0);
  CHECK(token.size() == 68);
  CHECK(j["session"] == json{{"id", "ses_a"}, {"state", "claimed"}, {"locale", "en"}, {"factors", {"face", "liveness"}},
                             {"expires_at", "2027-01-15T08:10:00Z"}, {"attempt", 1}, {"max_attempts", 3}});
  CHECK(Header(claimed, "Set-Cookie") == "veridge_kiosk=" + token + "; Path=/kiosk; HttpOnly; SameSite=Strict; Max-Age=600");
  auto row = k.db->GetSessionRequest("ses_a", kNow);
  REQUIRE(row.ok());
  CHECK(row->kiosk_token_sha256 == Sha256Hex(token));  // only the hash is kept

  // The code is single-use: a second claim gets no token.
  auto again = k.Code(code);
  CHECK(Refused(again, 409, "already_claimed"));
  CHECK(again.body.find("vks_") == std::string::npos);

  // The session, by bearer or by cookie.
  auto get = k.Call(net::Method::kGet, "/kiosk/v1/sessions/ses_a", "", {{"Authorization", "Bearer " + token}});
  CHECK(get.status == 200);
  CHECK(json::parse(get.body) == j["session"]);
  CHECK(k.Call(net::Method::kGet, "/kiosk/v1/sessions/ses_a", "", {{"Cookie", "x=1; veridge_kiosk=" + token}}).status == 200);

  // Consent: stored with the session, audited, once.
  auto consent = k.Consent("ses_a", token);
  REQUIRE(consent.status == 200);
  CHECK(json::parse(consent.body)["state"] == "capturing");
  row = k.db->GetSessionRequest("ses_a", kNow);
  REQUIRE(row.ok());
  CHECK(row->state == "capturing");
  CHECK(json::parse(row->consent_json) == json{{"accepted", true}, {"locale", "en"}, {"version", "2026-12-v1"}, {"at", kNow}});
  auto events = k.db->ListAudit(0, 100);
  REQUIRE(events.ok());
  int consents = 0;
  for (const auto& e : *events) {
    consents += e.action == "session.consent" && e.subject == "ses_a" && e.actor == "kiosk";
    CHECK(e.detail_json.find(token) == std::string::npos);
    CHECK(e.detail_json.find(code) == std::string::npos);
  }
  CHECK(consents == 1);
  auto replay = k.Consent("ses_a", token);
  CHECK(Refused(replay, 409, "invalid_state"));
}

TEST_CASE("kiosk routes: a declined consent cancels the session; bad bodies are refused") {
  KioskFixture k;
  const std::string code = k.Create("ses_d");
  auto claimed = k.Code(code);
  REQUIRE(claimed.status == 200);
  const std::string token = json::parse(claimed.body)["kiosk_token"];
  const std::string path = "/kiosk/v1/sessions/ses_d/consent";
  const std::pair<std::string, std::string> bearer{"Authorization", "Bearer " + token};
  auto post = [&](const std::string& body) { return k.Call(net::Method::kPost, path, body, {bearer}); };
  CHECK(ErrorCode(post(R"({"accepted":true,"locale":"en","consent_version":"2026-12-v1","extra":1})")) == "unknown_field");
  CHECK(ErrorCode(post(R"({"accepted":"yes","locale":"en","consent_version":"2026-12-v1"})")) == "bad_request");
  CHECK(ErrorCode(post(R"({"accepted":true,"locale":"fr","consent_version":"2026-12-v1"})")) == "bad_request");
  CHECK(ErrorCode(post(R"({"accepted":true,"locale":"en","consent_version":"1999-v0"})")) == "bad_request");
  CHECK(ErrorCode(post("[1,2]")) == "bad_request");
  CHECK(post(std::string(2000, ' ')).status == 413);
  net::Request plain;
  plain.method = net::Method::kPost;
  plain.path = path;
  plain.body = R"({"accepted":true,"locale":"en","consent_version":"2026-12-v1"})";
  plain.headers = {bearer, {"Content-Type", "text/plain"}};
  CHECK(k.router.Dispatch(plain).status == 415);
  auto cross = k.Call(net::Method::kPost, path, plain.body, {bearer, {"Origin", "http://127.0.0.1:9999"}});
  CHECK(Refused(cross, 403, "forbidden_origin"));
  // None of those changed anything.
  auto row = k.db->GetSessionRequest("ses_d", kNow);
  REQUIRE(row.ok());
  CHECK(row->state == "claimed");
  CHECK(row->consent_json.empty());

  auto declined = k.Consent("ses_d", token, false);
  REQUIRE(declined.status == 200);
  CHECK(json::parse(declined.body)["state"] == "cancelled");
  row = k.db->GetSessionRequest("ses_d", kNow);
  REQUIRE(row.ok());
  CHECK(row->terminal_reason == "consent_declined");
  CHECK(json::parse(row->consent_json)["accepted"] == false);
  auto late = k.Consent("ses_d", token);
  CHECK(Refused(late, 410, "session_closed"));
  // The page can still read that it ended.
  CHECK(json::parse(k.Call(net::Method::kGet, "/kiosk/v1/sessions/ses_d", "", {bearer}).body)["state"] == "cancelled");
}

TEST_CASE("kiosk routes: the kiosk token works only for its own session, and only as a bearer for a POST") {
  KioskFixture k;
  const std::string a = k.Create("ses_a"), b = k.Create("ses_b");
  const std::string ta = json::parse(k.Code(a).body)["kiosk_token"];
  const std::string tb = json::parse(k.Code(b).body)["kiosk_token"];
  auto get = [&](const std::string& id, std::vector<std::pair<std::string, std::string>> h) {
    return k.Call(net::Method::kGet, "/kiosk/v1/sessions/" + id, "", std::move(h));
  };
  CHECK(get("ses_a", {}).status == 401);
  CHECK(ErrorCode(get("ses_a", {})) == "unauthorized");
  CHECK(get("ses_a", {{"Authorization", "Bearer " + tb}}).status == 401);  // b's token on a
  CHECK(get("ses_b", {{"Cookie", "veridge_kiosk=" + ta}}).status == 401);
  CHECK(get("ses_nope", {{"Authorization", "Bearer " + ta}}).status == 401);  // unknown ids look the same
  CHECK(get("ses_a", {{"Authorization", "Bearer vks_" + std::string(64, '0')}}).status == 401);
  CHECK(get("ses_a", {{"Authorization", "Bearer " + ta.substr(0, 67)}}).status == 401);
  CHECK(get("ses_a", {{"Authorization", "Bearer " + ta + "0"}}).status == 401);
  CHECK(get("ses_a", {{"Authorization", "Bearer " + ta}}).status == 200);
  // A POST never takes the cookie: another page could make the browser send it.
  auto by_cookie = k.Call(net::Method::kPost, "/kiosk/v1/sessions/ses_a/consent",
                          json{{"accepted", true}, {"locale", "en"}, {"consent_version", "2026-12-v1"}}.dump(), {{"Cookie", "veridge_kiosk=" + ta}});
  CHECK(by_cookie.status == 401);
  CHECK(k.Consent("ses_a", tb).status == 401);
  auto row = k.db->GetSessionRequest("ses_a", kNow);
  REQUIRE(row.ok());
  CHECK(row->state == "claimed");
  // Once the lender cancels, the token can still read the end, but no longer consent.
  REQUIRE(k.db->CancelSessionRequest("ses_a", kNow + 1, "cancelled_by_lender", "api:tok_1").ok());
  CHECK(json::parse(get("ses_a", {{"Authorization", "Bearer " + ta}}).body)["state"] == "cancelled");
  CHECK(ErrorCode(k.Consent("ses_a", ta)) == "session_closed");
}

TEST_CASE("kiosk routes: expired or cancelled sessions cannot be claimed; expiry also stops consent") {
  KioskFixture k;
  const std::string a = k.Create("ses_a"), b = k.Create("ses_b"), c = k.Create("ses_c");
  REQUIRE(k.db->CancelSessionRequest("ses_b", kNow + 1, "cancelled_by_lender", "api:tok_1").ok());
  auto cancelled = k.Code(b);
  CHECK(Refused(cancelled, 410, "session_closed"));
  const std::string tc = json::parse(k.Code(c).body)["kiosk_token"];
  k.clock.Advance(std::chrono::seconds(601));
  auto expired = k.Code(a);
  CHECK(Refused(expired, 410, "session_expired"));
  auto late = k.Consent("ses_c", tc);
  CHECK(Refused(late, 410, "session_expired"));
}

TEST_CASE("kiosk routes: 5 refused codes in 60 s lock code entry for 60 s with Retry-After, right codes included") {
  KioskFixture k;
  const std::string code = k.Create("ses_a");
  // Four refusals, then a minute passes: the window forgets them.
  for (int i = 0; i < 4; ++i) CHECK(k.Code(Other(code)).status == 404);
  k.clock.Advance(std::chrono::seconds(61));
  for (int i = 0; i < 4; ++i) CHECK(ErrorCode(k.Code(Other(code))) == "unknown_code");
  // Malformed codes are not guesses and do not count.
  CHECK(k.Code("12345").status == 400);
  CHECK(k.Code("abcdef").status == 400);
  CHECK(k.Call(net::Method::kPost, "/kiosk/v1/code", R"({"code":"123456","pin":"1"})").status == 400);
  // The fifth within the window locks.
  CHECK(k.Code(Other(code)).status == 404);
  auto locked = k.Code(code);
  CHECK(Refused(locked, 429, "too_many_attempts"));
  CHECK(Header(locked, "Retry-After") == "60");
  k.clock.Advance(std::chrono::seconds(30));
  CHECK(Header(k.Code(code), "Retry-After") == "30");
  auto row = k.db->GetSessionRequest("ses_a", k.clock.NowUnixSeconds());
  REQUIRE(row.ok());
  CHECK(row->state == "created");  // a right code during the lock claims nothing
  k.clock.Advance(std::chrono::seconds(30));
  CHECK(k.Code(code).status == 200);
}
