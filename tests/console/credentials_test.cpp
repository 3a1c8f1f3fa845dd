// console/credentials.cpp: RFC 6238 / RFC 4226 codes, RFC 4648 base32, argon2id password hashes.
#include <catch2/catch.hpp>

#include "console/console.h"

using namespace veridge;

TEST_CASE("console totp: the RFC 6238 appendix B SHA1 test vectors, 8 digits and the 6-digit codes Veridge uses") {
  const std::string key = "12345678901234567890";  // RFC 6238's SHA1 seed (ASCII)
  struct Vector {
    std::int64_t t;
    const char* totp8;
  };
  const Vector vectors[] = {{59, "94287082"},         {1111111109, "07081804"}, {1111111111, "14050471"},
                            {1234567890, "89005924"}, {2000000000, "69279037"}, {20000000000, "65353130"}};
  for (const auto& v : vectors) {
    INFO("t = " << v.t);
    CHECK(console::Totp(key, v.t, 8) == v.totp8);
    CHECK(console::Totp(key, v.t) == std::string(v.totp8).substr(2));  // mod 10^6 keeps the last six digits
  }
}

TEST_CASE("console hotp: the RFC 4226 appendix D values") {
  const std::string key = "12345678901234567890";
  const char* expected[] = {"755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"};
  for (std::uint64_t c = 0; c < 10; ++c) CHECK(console::Hotp(key, c) == expected[c]);
}

TEST_CASE("console totp: a code is matched within one step of skew, to its step, and nothing else matches") {
  const std::string key = "12345678901234567890";
  const std::int64_t now = 1111111111;
  const std::int64_t step = now / 30;
  CHECK(console::MatchTotp(key, console::Totp(key, now), now) == step);
  CHECK(console::MatchTotp(key, console::Totp(key, now - 30), now) == step - 1);
  CHECK(console::MatchTotp(key, console::Totp(key, now + 30), now) == step + 1);
  CHECK_FALSE(console::MatchTotp(key, console::Totp(key, now - 90), now));
  CHECK_FALSE(console::MatchTotp(key, console::Totp(key, now + 90), now));
  CHECK_FALSE(console::MatchTotp(key, "12345", now));
  CHECK_FALSE(console::MatchTotp(key, "12345a", now));
  CHECK_FALSE(console::MatchTotp("another key of twenty", console::Totp(key, now), now));
}

TEST_CASE("console base32: the RFC 4648 test vectors, both ways") {
  const std::pair<const char*, const char*> vectors[] = {{"", ""},           {"f", "MY"},         {"fo", "MZXQ"},        {"foo", "MZXW6"},
                                                         {"foob", "MZXW6YQ"}, {"fooba", "MZXW6YTB"}, {"foobar", "MZXW6YTBOI"}};
  for (const auto& [plain, b32] : vectors) {
    CHECK(console::Base32Encode(plain) == b32);
    auto back = console::Base32Decode(b32);
    REQUIRE(back.ok());
    CHECK(*back == plain);
  }
  CHECK(*console::Base32Decode("mzxw6ytboi======") == "foobar");
  CHECK(console::Base32Decode("MZXW1").status().code() == "bad_base32");
}

TEST_CASE("console totp: the otpauth URI names issuer and account and carries the key in base32") {
  const std::string uri = console::OtpauthUri("Veridge Branch 42", "li.wei", "12345678901234567890");
  CHECK(uri == "otpauth://totp/Veridge%20Branch%2042:li.wei?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Veridge%20Branch%2042"
               "&algorithm=SHA1&digits=6&period=30");
}

TEST_CASE("console passwords: an argon2id hash verifies only its password and carries its parameters, not the password") {
  console::Argon2Params p{8192, 1, 1};  // small for a fast test; production values come from [console]
  const std::string pw = "correct horse battery staple";
  auto h = console::HashPassword(pw, p);
  REQUIRE(h.ok());
  CHECK(h->rfind("$argon2id$v=19$m=8192,t=1,p=1$", 0) == 0);
  CHECK(h->find(pw) == std::string::npos);
  CHECK(console::VerifyPassword(pw, *h));
  CHECK_FALSE(console::VerifyPassword("correct horse battery stapl", *h));
  CHECK_FALSE(console::VerifyPassword(pw, "$argon2i$v=19$m=8192,t=1,p=1$c2FsdHNhbHQ$aGFzaA"));
  // No truncation: two long passwords that differ only in their last byte are different passwords.
  const std::string long_pw(1000, 'k');
  auto lh = console::HashPassword(long_pw, p);
  REQUIRE(lh.ok());
  CHECK(console::VerifyPassword(long_pw, *lh));
  CHECK_FALSE(console::VerifyPassword(long_pw.substr(0, 999) + "j", *lh));
  auto again = console::HashPassword(pw, p);
  REQUIRE(again.ok());
  CHECK(*again != *h);  // a fresh salt each time
}

TEST_CASE("console passwords: the policy refuses short passwords, overlong ones and the account name") {
  CHECK(console::CheckPasswordPolicy("short", "li.wei").code() == "weak_password");
  CHECK(console::CheckPasswordPolicy(std::string(1025, 'x'), "li.wei").code() == "weak_password");
  CHECK(console::CheckPasswordPolicy("li.wei.branch42", "li.wei.branch42").code() == "weak_password");
  CHECK(console::CheckPasswordPolicy("tea kettle on the roof", "li.wei").ok());
}

TEST_CASE("console csrf: the token is bound to the session token and not the token itself") {
  const std::string a = console::CsrfToken("vcs_aaaa"), b = console::CsrfToken("vcs_bbbb");
  CHECK(a.size() == 64);
  CHECK(a != b);
  CHECK(a == console::CsrfToken("vcs_aaaa"));
  CHECK(a.find("aaaa") == std::string::npos);
}
