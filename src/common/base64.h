// common/base64.h — base64 (RFC 4648 §4) and base64url (RFC 4648 §5) text for raw bytes: JWS parts,
// x5c certificates, webhook secrets and signatures, webhook ids.
//
// Contract
//  * Base64Encode pads with '='; Base64UrlEncode never pads (JWS, RFC 7515 §2).
//  * Both decoders accept text with or without trailing padding, and refuse, with code "bad_base64",
//    any character outside their own alphabet (so a base64url decoder refuses '+' and '/', and the
//    base64 decoder '-' and '_'), '=' anywhere but at the end, and a length that leaves a dangling
//    character (4n+1 symbols). No whitespace is skipped: callers trim what their format allows.
//  * Pure and thread-safe. Error messages never quote the input (it may be a secret).
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace veridge {

std::string Base64Encode(std::string_view bytes);
std::string Base64UrlEncode(std::string_view bytes);  // no padding
Result<std::string> Base64Decode(std::string_view text);
Result<std::string> Base64UrlDecode(std::string_view text);

}  // namespace veridge
