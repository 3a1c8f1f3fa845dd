#include <catch2/catch.hpp>

#include <limits>

#include "outbox/signing.h"

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

TEST_CASE("CanonicalJson sorts members by UTF-16 code units and strips whitespace (RFC 8785 3.2.3)") {
  // RFC 8785's sorting example: the emoji (surrogate pair D83D DE00) sorts before U+FB33 in
  // UTF-16 although its UTF-8 bytes sort after.
  json j = json::parse(R"({"\u20ac":"Euro Sign","\r":"Carriage Return","\ufb33":"Hebrew Letter Dalet With Dagesh",
    "1":"One","\ud83d\ude00":"Emoji: Grinning Face","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis"})");
  auto c = CanonicalJson(j);
  REQUIRE(c.ok());
  const std::string& s = *c;
  size_t p_cr = s.find("\\r"), p_1 = s.find("\"1\""), p_80 = s.find("\xc2\x80"), p_o = s.find("\xc3\xb6"),
         p_eur = s.find("\xe2\x82\xac"), p_emoji = s.find("\xf0\x9f\x98\x80"), p_dalet = s.find("\xef\xac\xb3");
  CHECK(p_cr < p_1);
  CHECK(p_1 < p_80);
  CHECK(p_80 < p_o);
  CHECK(p_o < p_eur);
  CHECK(p_eur < p_emoji);
  CHECK(p_emoji < p_dalet);
  CHECK(s.rfind("{\"\\r\":\"Carriage Return\",\"1\":\"One\",", 0) == 0);  // no whitespace between tokens
  CHECK(json::parse(s) == j);
}

TEST_CASE("CanonicalJson writes numbers the ECMAScript way and escapes minimally") {
  auto canon = [](const json& j) { return CanonicalJson(j).value(); };
  CHECK(canon(json::parse(R"({"b":[1.0, 4.50, 0.002, 1e30, 1e-7, 0.000001, 1e21, 123456789012345680000.0, -0.0, 5e-324, 333333333.3333333, 1E+30]})")) ==
        R"({"b":[1,4.5,0.002,1e+30,1e-7,0.000001,1e+21,123456789012345680000,0,5e-324,333333333.3333333,1e+30]})");
  CHECK(canon(json::parse(R"({"z":2432232314,"a":-7,"m":true,"n":null})")) == R"({"a":-7,"m":true,"n":null,"z":2432232314})");
  CHECK(canon(json::parse(R"(["\u20ac$\u000f\nA'B\"\\\\\"/"])")) == "[\"\xe2\x82\xac$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"]");
  CHECK(CanonicalJson(json(std::nan(""))).status().code() == "not_canonicalizable");
  CHECK(CanonicalJson(json(std::string("\xff\xfe"))).status().code() == "not_canonicalizable");
}

TEST_CASE("Base64 and base64url round-trip and reject foreign characters") {
  for (const std::string& s : std::vector<std::string>{"", "f", "fo", "foo", "foob", "fooba", "foobar", std::string("\xff\xfe\x00\x01", 4)}) {
    CHECK(Base64Decode(Base64Encode(s)).value() == s);
    CHECK(Base64UrlDecode(Base64UrlEncode(s)).value() == s);
    CHECK(Base64UrlEncode(s).find('=') == std::string::npos);
  }
  CHECK(Base64Encode("foobar") == "Zm9vYmFy");
  CHECK(Base64Encode("fo") == "Zm8=");
  CHECK(Base64UrlEncode("\xfb\xff") == "-_8");
  CHECK(Base64Decode("-_8").status().code() == "bad_base64");
  CHECK(Base64UrlDecode("+/8").status().code() == "bad_base64");
}

TEST_CASE("DecodeJws rejects malformed compact serialisations") {
  CHECK(DecodeJws("abc").status().code() == "bad_jws");
  CHECK(DecodeJws("a.b.c.d").status().code() == "bad_jws");
  CHECK(DecodeJws("e30.e30.***").status().code() == "bad_jws");
  CHECK(DecodeJws("WzFd.e30.AA").status().code() == "bad_jws");  // header "[1]" is not an object
  CHECK(VerifyJwsWithX5c("e30.e30.AA").status().code() == "unsupported_alg");
}
