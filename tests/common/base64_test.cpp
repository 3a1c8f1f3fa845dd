// common/base64.h against RFC 4648 §10's test vectors, base64url's alphabet and no-padding form
// (RFC 4648 §5, RFC 7515 §2), and the malformed text the decoders must refuse.
#include <catch2/catch.hpp>

#include <string>
#include <utility>
#include <vector>

#include "common/base64.h"

using namespace veridge;

TEST_CASE("Base64Encode and Base64UrlEncode give the RFC 4648 section 10 vectors") {
  const std::vector<std::pair<std::string, std::string>> vectors = {
      {"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},         {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    INFO("input \"" << plain << "\"");
    CHECK(Base64Encode(plain) == encoded);
    CHECK(Base64Decode(encoded).value() == plain);
    std::string unpadded = encoded.substr(0, encoded.find('='));
    CHECK(Base64UrlEncode(plain) == unpadded);  // base64url: no padding
    CHECK(Base64UrlDecode(unpadded).value() == plain);
    CHECK(Base64Decode(unpadded).value() == plain);  // padding is optional on input
    CHECK(Base64UrlDecode(encoded).value() == plain);
  }
}

TEST_CASE("base64url uses - and _ where base64 uses + and /, and binary bytes round-trip") {
  CHECK(Base64Encode("\xfb\xff") == "+/8=");
  CHECK(Base64UrlEncode("\xfb\xff") == "-_8");
  CHECK(Base64Decode("+/8=").value() == "\xfb\xff");
  CHECK(Base64UrlDecode("-_8").value() == "\xfb\xff");
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  for (size_t n = 0; n <= all.size(); n += 37) {
    const std::string s = all.substr(0, n) + std::string("\0\xff", 2);
    CHECK(Base64Decode(Base64Encode(s)).value() == s);
    CHECK(Base64UrlDecode(Base64UrlEncode(s)).value() == s);
    CHECK(Base64UrlEncode(s).find_first_of("=+/") == std::string::npos);
  }
}

TEST_CASE("the decoders refuse malformed text with bad_base64") {
  CHECK(Base64Decode("-_8").status().code() == "bad_base64");     // the other alphabet
  CHECK(Base64UrlDecode("+/8").status().code() == "bad_base64");
  CHECK(Base64Decode("Zm9v!").status().code() == "bad_base64");   // foreign character
  CHECK(Base64Decode("Zm 9v").status().code() == "bad_base64");   // no whitespace inside
  CHECK(Base64Decode("Zm9v\n").status().code() == "bad_base64");
  CHECK(Base64Decode("Zg==Zg==").status().code() == "bad_base64");  // padding in the middle
  CHECK(Base64UrlDecode("Zg=Zg").status().code() == "bad_base64");
  CHECK(Base64Decode("Z").status().code() == "bad_base64");       // a dangling character
  CHECK(Base64Decode("Zm9vY").status().code() == "bad_base64");
  CHECK(Base64UrlDecode("Zm9vYmFyZ").status().code() == "bad_base64");
  CHECK(Base64Decode(std::string("Zm\0v", 4)).status().code() == "bad_base64");
  // The message says what was wrong, never repeats the (possibly secret) input.
  auto bad = Base64Decode("c2VjcmV0!");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message().find("c2VjcmV0") == std::string::npos);
}
