// Session requests on a real SQLCipher store: kiosk codes (derived, looked up by HMAC, unique among
// live sessions), idempotency, claim, consent, expiry, cancel and the start-up abort.
#include <catch2/catch.hpp>

#include <set>

#include "audit/audit.h"
#include "store/store_fixture.h"

using namespace veridge;
using namespace veridge::testing;

namespace {

constexpr std::int64_t kNow = 1'800'000'000;

store::SessionRequestInput Input(const std::string& id, const std::string& key = "", const std::string& hash = std::string(64, 'a')) {
  return SampleSessionRequest(id, kNow, key, hash);
}

const std::string kTok(64, 'b');

}  // namespace

TEST_CASE("session requests: create, kiosk code claim, consent, and the code is never stored") {
  StoreFixture f;
  auto db = f.Open();
  auto a = db->CreateSessionRequest(Input("ses_a"), "api:tok_1");
  REQUIRE(a.ok());
  CHECK(a->record.state == "created");
  CHECK(a->kiosk_code.size() == 6);
  CHECK_FALSE(a->replayed);
  CHECK(a->record.has_reference);
  // Wrong and malformed codes.
  std::string wrong = a->kiosk_code == "000000" ? "000001" : "000000";
  CHECK(db->ClaimSessionByCode(wrong, kTok, kNow + 1, "kiosk").status().code() == "unknown_code");
  CHECK(db->ClaimSessionByCode("12345", kTok, kNow + 1, "kiosk").status().code() == "bad_code");
  auto c = db->ClaimSessionByCode(a->kiosk_code, kTok, kNow + 1, "kiosk");
  REQUIRE(c.ok());
  CHECK(c->id == "ses_a");
  CHECK(c->state == "claimed");
  CHECK(c->kiosk_token_sha256 == kTok);
  CHECK(db->ClaimSessionByCode(a->kiosk_code, kTok, kNow + 2, "kiosk").status().code() == "already_claimed");
  auto consent = db->RecordConsent("ses_a", true, R"({"locale":"en","version":"2026-12-v1","at":1800000003})", kNow + 3, "kiosk");
  REQUIRE(consent.ok());
  CHECK(consent->state == "capturing");
  CHECK(db->RecordConsent("ses_a", true, "{}", kNow + 4, "kiosk").status().code() == "invalid_state");
  // Audited, and the chain holds.
  auto events = db->ListAudit(0, 100);
  REQUIRE(events.ok());
  std::set<std::string> actions;
  for (const auto& e : *events) {
    actions.insert(e.action);
    CHECK(e.detail_json.find(a->kiosk_code) == std::string::npos);
  }
  CHECK(actions == std::set<std::string>{"session.created", "session.claimed", "session.consent"});
  CHECK(audit::Verify(*db)->ok);
}

TEST_CASE("session requests: idempotency key replays the same session and code, a different body is refused") {
  StoreFixture f;
  auto db = f.Open();
  auto a = db->CreateSessionRequest(Input("ses_a", "key-1"), "api:tok_1");
  REQUIRE(a.ok());
  auto again = db->CreateSessionRequest(Input("ses_other", "key-1"), "api:tok_1");
  REQUIRE(again.ok());
  CHECK(again->replayed);
  CHECK(again->record.id == "ses_a");
  CHECK(again->kiosk_code == a->kiosk_code);
  auto reused = db->CreateSessionRequest(Input("ses_b", "key-1", std::string(64, 'c')), "api:tok_1");
  CHECK(reused.status().code() == "idempotency_key_reused");
  auto other_token = Input("ses_c", "key-1");
  other_token.token_id = "tok_2";
  auto c = db->CreateSessionRequest(other_token, "api:tok_2");
  REQUIRE(c.ok());
  CHECK_FALSE(c->replayed);
  CHECK(c->record.id == "ses_c");
}

TEST_CASE("session requests: many live sessions get distinct codes") {
  StoreFixture f;
  auto db = f.Open();
  std::set<std::string> codes;
  for (int i = 0; i < 300; ++i) {
    auto s = db->CreateSessionRequest(Input("ses_" + std::to_string(i)), "api:tok_1");
    REQUIRE(s.ok());
    codes.insert(s->kiosk_code);
  }
  CHECK(codes.size() == 300);
}

TEST_CASE("session requests: expiry on read and by sweep, cancel drops the reference, restart aborts running ones") {
  StoreFixture f;
  auto db = f.Open();
  auto a = db->CreateSessionRequest(Input("ses_a"), "api:tok_1");
  auto b = db->CreateSessionRequest(Input("ses_b"), "api:tok_1");
  auto c = db->CreateSessionRequest(Input("ses_c"), "api:tok_1");
  REQUIRE((a.ok() && b.ok() && c.ok()));
  REQUIRE(db->ClaimSessionByCode(c->kiosk_code, kTok, kNow + 1, "kiosk").ok());

  auto cancelled = db->CancelSessionRequest("ses_b", kNow + 2, "lender_cancelled", "api:tok_1");
  REQUIRE(cancelled.ok());
  CHECK(cancelled->state == "cancelled");
  CHECK_FALSE(cancelled->has_reference);
  CHECK(db->GetSessionReference("ses_b").status().code() == "not_found");
  CHECK(db->GetSessionReference("ses_a").ok());
  CHECK(db->CancelSessionRequest("ses_b", kNow + 3, "again", "x").status().code() == "invalid_state");
  CHECK(db->ClaimSessionByCode(b->kiosk_code, kTok, kNow + 3, "kiosk").status().code() == "session_closed");

  auto aborted = db->AbortRunningSessions(kNow + 4, "daemon_restarted");
  REQUIRE(aborted.ok());
  CHECK(*aborted == 1);  // ses_c (claimed); ses_a still waits for its kiosk
  auto gc = db->GetSessionRequest("ses_c", kNow + 4);
  REQUIRE(gc.ok());
  CHECK(gc->state == "aborted");
  CHECK(gc->terminal_reason == "daemon_restarted");

  auto before = db->GetSessionRequest("ses_a", kNow + 599);
  REQUIRE(before.ok());
  CHECK(before->state == "created");
  auto lazily = db->GetSessionRequest("ses_a", kNow + 600);
  REQUIRE(lazily.ok());
  CHECK(lazily->state == "expired");
  CHECK_FALSE(lazily->has_reference);
  CHECK(db->ClaimSessionByCode(a->kiosk_code, kTok, kNow + 601, "kiosk").status().code() == "session_expired");
  auto d = db->CreateSessionRequest(Input("ses_d"), "api:tok_1");
  REQUIRE(d.ok());
  auto swept = db->ExpireSessionRequests(kNow + 10000);
  REQUIRE(swept.ok());
  CHECK(*swept == 1);
  CHECK(db->GetSessionRequest("ses_d", kNow + 10000)->state == "expired");
  CHECK(db->GetSessionRequest("nope", kNow).status().code() == "not_found");
  CHECK(audit::Verify(*db)->ok);
}
