// The API token repository (store/tokens.cpp) and its migration (schema version 2).
#include <catch2/catch.hpp>

#include "common/sha256.h"
#include "store/store_fixture.h"

using namespace veridge;
using namespace veridge::testing;

namespace {

store::ApiTokenRecord Token(const std::string& id, const std::string& secret) {
  return {id, "lender", veridge::Sha256Hex(secret), 1'800'000'000, std::nullopt};
}

}  // namespace

TEST_CASE("store tokens: only a 64-hex SHA-256 is accepted, then find, list, revoke") {
  StoreFixture f;
  auto s = f.Open();
  CHECK(s->AddApiToken({"tok_1", "lender", "vrg_plaintext", 1, std::nullopt}, "test").code() == "bad_token");
  CHECK(s->AddApiToken({"tok_1", "lender", std::string(64, 'A'), 1, std::nullopt}, "test").code() == "bad_token");
  CHECK(s->AddApiToken({"", "lender", std::string(64, 'a'), 1, std::nullopt}, "test").code() == "bad_token");
  REQUIRE(s->AddApiToken(Token("tok_1", "secret-one"), "test").ok());
  CHECK(s->AddApiToken(Token("tok_1", "secret-two"), "test").code() == "duplicate");
  CHECK(s->AddApiToken(Token("tok_2", "secret-one"), "test").code() == "duplicate");
  auto found = s->FindApiTokenByHash(veridge::Sha256Hex("secret-one"));
  REQUIRE(found.ok());
  REQUIRE(found->has_value());
  CHECK((*found)->id == "tok_1");
  auto none = s->FindApiTokenByHash(veridge::Sha256Hex("secret-two"));
  REQUIRE(none.ok());
  CHECK_FALSE(none->has_value());
  auto junk = s->FindApiTokenByHash("not hex");
  REQUIRE(junk.ok());
  CHECK_FALSE(junk->has_value());
  REQUIRE(s->RevokeApiToken("tok_1", 1'800'000'050, "test").ok());
  found = s->FindApiTokenByHash(veridge::Sha256Hex("secret-one"));
  REQUIRE(found.ok());
  REQUIRE((*found)->revoked_at);
  CHECK(*(*found)->revoked_at == 1'800'000'050);
  CHECK(s->RevokeApiToken("tok_9", 1, "test").code() == "not_found");
  auto all = s->ListApiTokens();
  REQUIRE(all.ok());
  CHECK(all->size() == 1);
}

TEST_CASE("store tokens: a schema-1 database is migrated to the latest at Open with its sessions intact") {
  StoreFixture f;
  {
    auto s = f.Open();
    REQUIRE(s->CommitDecision(MakeDecision("sess-old", 10, "ref", FakeJpeg("E", 1024), "d")).ok());
  }
  // Make it look like a database written before the token table existed.
  REQUIRE(RawExec(f.db, f.key, "DROP TABLE api_tokens; DROP TABLE session_requests; DROP TABLE lookup_keys; DROP TABLE console_sessions; DROP TABLE staff_recovery_codes; DROP TABLE staff; DELETE FROM schema_version WHERE version >= 2;") == SQLITE_OK);
  auto s = f.Open();
  auto v = s->SchemaVersion();
  REQUIRE(v.ok());
  CHECK(*v == 4);
  CHECK(s->GetSession("sess-old").ok());
  CHECK(s->AddApiToken(Token("tok_1", "after-migration"), "test").ok());
  auto check = s->Check();
  REQUIRE(check.ok());
  CHECK(check->ok);
}
