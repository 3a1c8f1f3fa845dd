// common/hex.h — lower-case hexadecimal of raw bytes (digests, key specs, random identifiers).
// Pure and thread-safe. The result holds whatever the bytes held: callers wipe it when it encodes
// key material.
#pragma once

#include <cstddef>
#include <string>

namespace veridge {

inline std::string ToHex(const void* data, std::size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  const auto* p = static_cast<const unsigned char*>(data);
  std::string out(n * 2, '0');
  for (std::size_t i = 0; i < n; ++i) {
    out[2 * i] = kDigits[p[i] >> 4];
    out[2 * i + 1] = kDigits[p[i] & 15];
  }
  return out;
}

}  // namespace veridge
