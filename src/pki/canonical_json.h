// pki/canonical_json.h — the one byte form of a JSON value that Veridge signs: the JWS protected
// header of the device signer (pki/device_identity.h) and the signed result and webhook body
// (outbox/). It lives beside the signer so that every module that signs or checks a signature
// (outbox/ now, evidence/ next) gets the same bytes from the module it may already use.
//
// Contract
//  * RFC 8785 (JCS) style — object members sorted by UTF-16 code units, no insignificant
//    whitespace, strings escaped minimally (only '"', '\\' and controls < 0x20), numbers in
//    ECMAScript Number-to-String form (1.0 -> "1", 1e-7 -> "1e-7").
//  * Fails with "not_canonicalizable" on NaN/Infinity, invalid UTF-8, binary values or nesting
//    deeper than 64 levels. Integers are written as integers; callers keep them within ±2^53 so
//    every JSON library reads them back exactly.
//  * Pure and thread-safe.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "common/status.h"

namespace veridge::pki {

Result<std::string> CanonicalJson(const nlohmann::json& value);

}  // namespace veridge::pki
