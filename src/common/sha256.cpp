#include "common/sha256.h"

#include <openssl/evp.h>

#include "common/hex.h"

namespace veridge {

std::string Sha256(std::string_view bytes) {
  std::string out(32, '\0');
  unsigned int len = 0;
  EVP_Digest(bytes.data(), bytes.size(), reinterpret_cast<unsigned char*>(out.data()), &len, EVP_sha256(), nullptr);
  return out;
}

std::string Sha256Hex(std::string_view bytes) {
  const std::string raw = Sha256(bytes);
  return ToHex(raw.data(), raw.size());
}

}  // namespace veridge
