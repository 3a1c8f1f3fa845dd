// common/sha256.h against the FIPS 180-2 / NIST example messages (one block, two blocks, the
// empty message, a million 'a's) and a NUL byte (the whole buffer is hashed, not a C string).
#include <catch2/catch.hpp>

#include <string>

#include "common/hex.h"
#include "common/sha256.h"

using namespace veridge;

TEST_CASE("Sha256Hex gives the FIPS 180 example digests") {
  CHECK(Sha256Hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(Sha256Hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(Sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  CHECK(Sha256Hex(std::string(1000000, 'a')) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("Sha256 hashes every byte, NULs included, and Sha256Hex is its lower-case hex") {
  CHECK(Sha256Hex(std::string("\0", 1)) == "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
  CHECK(Sha256Hex(std::string("\0", 1)) != Sha256Hex(""));
  const std::string raw = Sha256("abc");
  REQUIRE(raw.size() == 32);
  CHECK(ToHex(raw.data(), raw.size()) == Sha256Hex("abc"));
  CHECK(Sha256("abd") != raw);
}
