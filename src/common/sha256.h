// common/sha256.h — SHA-256 (FIPS 180-4) of a byte buffer, raw or as lower-case hex: evidence
// references, audit-chain hashes, API-token hashes, JWK thumbprints, model checks.
//
// Contract: pure and thread-safe; OpenSSL's EVP digest is the engine (linked privately by common/,
// so no caller sees OpenSSL). The digest of an empty buffer is the FIPS one (e3b0c442...), not an error.
#pragma once

#include <string>
#include <string_view>

namespace veridge {

std::string Sha256(std::string_view bytes);     // raw 32 bytes
std::string Sha256Hex(std::string_view bytes);  // 64 lower-case hex digits

}  // namespace veridge
