// Canonical JSON (pki/canonical_json.h): the bytes the device signer and the outbox sign.
#include <catch2/catch.hpp>

#include <cmath>
#include <string>

#include "pki/canonical_json.h"

using veridge::pki::CanonicalJson;
using nlohmann::json;

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
