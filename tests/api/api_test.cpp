// API tokens and bearer authentication: a real SQLCipher store, and a real server on 127.0.0.1
// (ephemeral port) so every 401 is checked as a client sees it.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "api/api.h"
#include "store/store_fixture.h"
#include "support/raw_http.h"

using namespace veridge;
using namespace veridge::testing;
using nlohmann::json;

namespace {

net::Request WithAuth(const std::string& value) {
  net::Request r;
  r.headers.emplace_back("Authorization", value);
  return r;
}

}  // namespace

TEST_CASE("api tokens: random, shown once, stored only as a hash, revocable") {
  StoreFixture f;
  auto db = f.Open();
  auto a = api::CreateToken(*db, "lender-prod", 1'800'000'000, "test");
  REQUIRE(a.ok());
  auto b = api::CreateToken(*db, "lender-test", 1'800'000'001, "test");
  REQUIRE(b.ok());
  CHECK(a->token.rfind("vrg_", 0) == 0);
  CHECK(a->token.size() == 4 + 64);
  CHECK(a->token != b->token);
  CHECK(a->id.rfind("tok_", 0) == 0);
  auto list = db->ListApiTokens();
  REQUIRE(list.ok());
  REQUIRE(list->size() == 2);
  for (const auto& t : *list) {
    CHECK(t.sha256 != a->token);
    CHECK(t.sha256.size() == 64);
    CHECK_FALSE(t.revoked_at);
  }
  CHECK((*list)[0].sha256 == api::TokenHash(a->token));
  CHECK(api::CreateToken(*db, "no spaces", 1, "test").status().code() == "bad_token_name");
  CHECK(api::CreateToken(*db, "", 1, "test").status().code() == "bad_token_name");

  REQUIRE(db->RevokeApiToken(a->id, 1'800'000'100, "test").ok());
  CHECK(db->RevokeApiToken(a->id, 1'800'000'200, "test").ok());  // again: no change
  CHECK(db->RevokeApiToken("tok_nope", 1, "test").code() == "not_found");
  list = db->ListApiTokens();
  REQUIRE(list.ok());
  REQUIRE((*list)[0].revoked_at);
  CHECK(*(*list)[0].revoked_at == 1'800'000'100);
  // Creation and revocation are audited (by id, never the token) and the chain holds.
  auto events = db->ListAudit(0, 100);
  REQUIRE(events.ok());
  int created = 0, revoked = 0;
  for (const auto& e : *events) {
    created += e.action == "token.created";
    revoked += e.action == "token.revoked";
    CHECK(e.detail_json.find(a->token) == std::string::npos);
  }
  CHECK(created == 2);
  CHECK(revoked == 1);
  auto report = audit::Verify(*db);
  REQUIRE(report.ok());
  CHECK(report->ok);
  // The encrypted file never holds the token.
  CHECK_FALSE(Contains(f.RawBytes(), a->token));
}

TEST_CASE("api bearer auth: missing, malformed, wrong and revoked tokens are refused") {
  StoreFixture f;
  auto db = f.Open();
  auto t = api::CreateToken(*db, "lender", 1'800'000'000, "test");
  REQUIRE(t.ok());
  CHECK(api::Authenticate(*db, net::Request{}).status().code() == "unauthorized");
  CHECK(api::Authenticate(*db, WithAuth("Basic " + t->token)).status().code() == "unauthorized");
  CHECK(api::Authenticate(*db, WithAuth("Bearer ")).status().code() == "unauthorized");
  CHECK(api::Authenticate(*db, WithAuth("Bearer " + std::string(300, 'a'))).status().code() == "unauthorized");
  CHECK(api::Authenticate(*db, WithAuth("Bearer vrg_" + std::string(64, '0'))).status().code() == "invalid_token");
  auto ok = api::Authenticate(*db, WithAuth("bearer " + t->token));
  REQUIRE(ok.ok());
  CHECK(ok->token_id == t->id);
  CHECK(ok->name == "lender");
  REQUIRE(db->RevokeApiToken(t->id, 1'800'000'001, "test").ok());
  CHECK(api::Authenticate(*db, WithAuth("Bearer " + t->token)).status().code() == "invalid_token");
}

TEST_CASE("api /v1 over HTTP: 401 without a valid token, then the session as the lender sees it") {
  StoreFixture f;
  auto db = f.Open();
  auto t = api::CreateToken(*db, "lender", 1'800'000'000, "test");
  REQUIRE(t.ok());
  auto revoked = api::CreateToken(*db, "old", 1'800'000'000, "test");
  REQUIRE(revoked.ok());
  REQUIRE(db->RevokeApiToken(revoked->id, 1'800'000'001, "test").ok());
  store::DecisionRecord rec;
  rec.session_id = "ses-1";
  rec.applicant_ref = "applicant-77";
  rec.created_at = 1'800'000'000;
  rec.decision = "approved";
  rec.reasons_json = "[]";
  rec.factors_json = "{}";
  rec.result_json = R"({"decision":"approved","session_id":"ses-1"})";
  REQUIRE(db->CommitDecision(rec).ok());

  auto router = std::make_shared<net::Router>();
  REQUIRE(api::AddV1Routes(*router, *db).ok());
  net::Server server;
  net::ListenerOptions o;
  o.rate.per_second = 0;
  auto bound = server.Listen(o, router);
  REQUIRE(bound.ok());
  server.Start();
  const int port = bound->port;
  auto get = [&](const std::string& path, const std::string& auth) {
    return RawRequest(port, "GET", path, "", auth.empty() ? "" : "Authorization: " + auth + "\r\n");
  };
  auto none = get("/v1/sessions/ses-1", "");
  REQUIRE(none);
  CHECK(none->status == 401);
  CHECK(json::parse(none->body)["error"]["code"] == "unauthorized");
  CHECK(none->header("www-authenticate") == "Bearer realm=\"veridge\"");
  auto wrong = get("/v1/sessions/ses-1", "Bearer vrg_" + std::string(64, 'f'));
  REQUIRE(wrong);
  CHECK(wrong->status == 401);
  CHECK(json::parse(wrong->body)["error"]["code"] == "invalid_token");
  auto old = get("/v1/sessions/ses-1", "Bearer " + revoked->token);
  REQUIRE(old);
  CHECK(old->status == 401);
  CHECK(old->body == wrong->body);  // revoked and unknown look the same
  auto missing = get("/v1/sessions/nope", "Bearer " + t->token);
  REQUIRE(missing);
  CHECK(missing->status == 404);
  auto bad = get("/v1/sessions/a%2Fb", "Bearer " + t->token);
  REQUIRE(bad);
  CHECK(bad->status == 400);
  auto good = get("/v1/sessions/ses-1", "Bearer " + t->token);
  REQUIRE(good);
  CHECK(good->status == 200);
  auto j = json::parse(good->body);
  CHECK(j["id"] == "ses-1");
  CHECK(j["decision"] == "approved");
  CHECK(j["result"]["session_id"] == "ses-1");
  CHECK(good->body.find("applicant-77") == std::string::npos);
  for (const auto& r : {none, wrong, old, missing, good}) CHECK(r->body.find(t->token) == std::string::npos);
}
