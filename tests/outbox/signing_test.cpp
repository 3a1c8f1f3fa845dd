#include <catch2/catch.hpp>

#include <limits>

#include "common/base64.h"
#include "dev_signer.h"
#include "outbox/signing.h"
#include "support/test_support.h"

using namespace veridge;
using namespace veridge::outbox;
using nlohmann::json;

TEST_CASE("Standard Webhooks signature matches the official test vector") {
  auto secret = WebhookSecret::Parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  REQUIRE(secret.ok());
  CHECK(WebhookSignature(*secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, R"({"test": 2432232314})") ==
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}

TEST_CASE("VerifyWebhook accepts a good delivery and rejects tampering, a wrong secret and old timestamps") {
  auto secret = WebhookSecret::Parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  REQUIRE(secret.ok());
  const std::string body = R"({"test": 2432232314})";
  WebhookHeaders h{"msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="};
  CHECK(VerifyWebhook(*secret, h, body, 1614265330).ok());
  // A rotated secret: several signatures, one matches.
  WebhookHeaders rotated = h;
  rotated.signature = "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= " + h.signature;
  CHECK(VerifyWebhook(*secret, rotated, body, 1614265330).ok());
  CHECK(VerifyWebhook(*secret, h, R"({"test": 2432232315})", 1614265330).code() == "signature_mismatch");
  auto other = WebhookSecret::Parse("whsec_" + std::string("c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0"));
  REQUIRE(other.ok());
  CHECK(VerifyWebhook(*other, h, body, 1614265330).code() == "signature_mismatch");
  CHECK(VerifyWebhook(*secret, h, body, 1614265330 + 301).code() == "timestamp_too_old");
  CHECK(VerifyWebhook(*secret, h, body, 1614265330 - 301).code() == "timestamp_too_new");
  WebhookHeaders missing = h;
  missing.id.clear();
  CHECK(VerifyWebhook(*secret, missing, body, 1614265330).code() == "missing_header");
  WebhookHeaders badts = h;
  badts.timestamp = "12x";
  CHECK(VerifyWebhook(*secret, badts, body, 1614265330).code() == "bad_timestamp");
}

TEST_CASE("VerifyWebhook's clock window cannot overflow, and a negative tolerance is refused") {
  // Regression (issue 13): now + INT64_MAX wrapped negative, so a current delivery was "too new".
  auto secret = WebhookSecret::Parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  REQUIRE(secret.ok());
  const std::string body = R"({"test": 2432232314})";
  WebhookHeaders h{"msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="};
  const auto huge = std::chrono::seconds(std::numeric_limits<std::int64_t>::max());
  CHECK(VerifyWebhook(*secret, h, body, 1614265330, huge).ok());
  CHECK(VerifyWebhook(*secret, h, body, std::numeric_limits<std::int64_t>::max(), huge).ok());
  // now = INT64_MIN: the window ends at INT64_MIN + INT64_MAX = -1, and 2021 lies after it.
  CHECK(VerifyWebhook(*secret, h, body, std::numeric_limits<std::int64_t>::min(), huge).code() == "timestamp_too_new");
  CHECK(VerifyWebhook(*secret, h, body, std::numeric_limits<std::int64_t>::min(), std::chrono::seconds(300)).code() ==
        "timestamp_too_new");
  CHECK(VerifyWebhook(*secret, h, body, 1614265330, std::chrono::seconds(-1)).code() == "bad_tolerance");
  WebhookHeaders far = h;
  far.timestamp = "-9223372036854775808";
  CHECK(VerifyWebhook(*secret, far, body, std::numeric_limits<std::int64_t>::max(), std::chrono::seconds(300)).code() ==
        "timestamp_too_old");
}

TEST_CASE("WebhookSecret refuses malformed secrets and generates usable ones") {
  CHECK(WebhookSecret::Parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").status().code() == "bad_webhook_secret");
  CHECK(WebhookSecret::Parse("whsec_not*base64").status().code() == "bad_webhook_secret");
  CHECK(WebhookSecret::Parse("whsec_c2hvcnQ=").status().code() == "bad_webhook_secret");  // "short"
  auto gen = WebhookSecret::Generate();
  auto parsed = WebhookSecret::Parse(gen + "\n");
  REQUIRE(parsed.ok());
  CHECK(parsed->key().size() == 32);
  CHECK(WebhookSecret::Generate() != gen);
}

TEST_CASE("DecodeJws rejects malformed compact serialisations") {
  CHECK(DecodeJws("abc").status().code() == "bad_jws");
  CHECK(DecodeJws("a.b.c.d").status().code() == "bad_jws");
  CHECK(DecodeJws("e30.e30.***").status().code() == "bad_jws");
  CHECK(DecodeJws("WzFd.e30.AA").status().code() == "bad_jws");  // header "[1]" is not an object
  CHECK(VerifyJwsWithX5c("e30.e30.AA").status().code() == "unsupported_alg");
}

TEST_CASE("VerifyJwsWithX5c accepts the device signer's ES256 JWS with raw r||s, and tampering breaks it") {
  veridge::testing::TempDir dir;
  auto signer = outbox::testing::DevSigner(dir.path());
  const std::string payload = R"({"decision":"approved","session_id":"s-1"})";
  auto jws = signer.SignJws(payload);
  REQUIRE(jws.ok());
  auto verified = VerifyJwsWithX5c(*jws);
  REQUIRE(verified.ok());
  CHECK(verified->payload == payload);
  CHECK(verified->signature.size() == 64);
  CHECK(verified->header["alg"] == "ES256");
  CHECK(verified->header["kid"] == signer.kid());
  CHECK(verified->header["x5c"].size() == 2);
  // ECDSA is randomised: two signatures differ, both verify.
  auto jws2 = signer.SignJws(payload);
  CHECK(*jws2 != *jws);
  CHECK(VerifyJwsWithX5c(*jws2).ok());
  // Swap in another payload, keep the signature.
  auto dot1 = jws->find('.'), dot2 = jws->rfind('.');
  std::string forged = jws->substr(0, dot1 + 1) + Base64UrlEncode(R"({"decision":"rejected","session_id":"s-1"})") + jws->substr(dot2);
  CHECK(VerifyJwsWithX5c(forged).status().code() == "signature_mismatch");
}

TEST_CASE("ParseWebhookHeaders reads a JSON object or Name: value lines and refuses anything else") {
  auto j = ParseWebhookHeaders(R"({"Webhook-Id":"msg_1","webhook-timestamp":"1614265330","webhook-signature":"v1,x","other":1})");
  REQUIRE(j.ok());
  CHECK(j->id == "msg_1");
  CHECK(j->timestamp == "1614265330");
  CHECK(j->signature == "v1,x");
  // A saved raw request: request line, headers, empty line, then the body (not read as headers).
  auto raw = ParseWebhookHeaders("POST /hook HTTP/1.1\r\nwebhook-id:  msg_2 \r\nWEBHOOK-SIGNATURE: v1,y\r\n\r\nnot: a header\n");
  REQUIRE(raw.ok());
  CHECK(raw->id == "msg_2");
  CHECK(raw->signature == "v1,y");
  CHECK(raw->timestamp.empty());
  CHECK(ParseWebhookHeaders(R"({"webhook-id": 5})").status().code() == "bad_headers");
  CHECK(ParseWebhookHeaders("[1,2]").status().code() == "bad_headers");
  CHECK(ParseWebhookHeaders("just prose here").status().code() == "bad_headers");
  CHECK(ParseWebhookHeaders("bad name: v\n").status().code() == "bad_headers");
  CHECK(ParseWebhookHeaders("\n\n").status().code() == "bad_headers");
}
