// outbox/signing.h — what makes a delivered result provable: the checks of the device's compact
// JWS (ES256; the signer is pki/device_identity.h) and the Standard Webhooks 1.0 delivery signature.
//
// Contract
//  * The bytes signed are canonical JSON (pki/canonical_json.h); base64 and SHA-256 come from common/.
//  * Jws*: compact serialisation, base64url without padding; ES256 signatures are the raw 64-byte
//    r||s (RFC 7518 §3.4), never DER.
//  * Webhook*: Standard Webhooks 1.0 — "v1,<base64 HMAC-SHA256(id.timestamp.body)>" keyed with
//    the base64 part of a "whsec_<base64>" secret. Verification compares in constant time and
//    refuses timestamps outside the tolerance (replay protection).
//  * All functions are pure (no I/O) and thread-safe. Secrets never appear in error messages.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace veridge::outbox {

std::string HmacSha256(std::string_view key, std::string_view data);  // raw 32 bytes

// ---- Standard Webhooks ----------------------------------------------------------------------
// A webhook secret, decoded. Parse accepts "whsec_<base64>" (surrounding whitespace ignored);
// codes "bad_webhook_secret" (wrong prefix, bad base64, key shorter than 16 bytes).
class WebhookSecret {
 public:
  static Result<WebhookSecret> Parse(std::string_view text);
  // A fresh random secret (32 bytes) in "whsec_" form, for development set-ups and tests.
  static std::string Generate();
  const std::string& key() const { return key_; }

 private:
  std::string key_;
};

// "v1,<base64 signature>".
std::string WebhookSignature(const WebhookSecret& secret, std::string_view id, std::int64_t timestamp,
                             std::string_view body);

struct WebhookHeaders {
  std::string id;         // webhook-id
  std::string timestamp;  // webhook-timestamp (decimal seconds since the epoch)
  std::string signature;  // webhook-signature: space-separated "v1,<sig>" entries
};

// The headers of a saved delivery (what `veridge webhook verify --headers` reads): a JSON object
// of strings, or HTTP-style "Name: value" lines (an optional request line first; the headers end
// at the first empty line, so a saved raw request may continue with its body). Names are matched
// case-insensitively; other headers are ignored. Code "bad_headers" (JSON that is not an object, a
// webhook-* member that is not a string, a line that is not a header, no header at all).
Result<WebhookHeaders> ParseWebhookHeaders(std::string_view text);

// Verifies one delivery as a lender would. Codes: "missing_header", "bad_timestamp",
// "timestamp_too_old", "timestamp_too_new", "signature_mismatch", "bad_tolerance" (negative).
// The clock comparison cannot overflow, whatever now_unix and tolerance are.
Status VerifyWebhook(const WebhookSecret& secret, const WebhookHeaders& headers, std::string_view body,
                     std::int64_t now_unix, std::chrono::seconds tolerance = std::chrono::minutes(5));

// ---- JWS --------------------------------------------------------------------------------------
struct DecodedJws {
  nlohmann::json header;
  std::string payload;         // the decoded payload bytes (canonical JSON for Veridge results)
  std::string signing_input;   // "<b64url header>.<b64url payload>"
  std::string signature;       // raw r||s
};
// Splits and decodes a compact JWS without verifying it. Code "bad_jws".
Result<DecodedJws> DecodeJws(std::string_view compact);

// Verifies an ES256 compact JWS with the public key of the first certificate in its x5c header
// (the chain itself is NOT validated here: a lender checks it against its trust anchors).
// Returns the decoded JWS. Codes: "bad_jws", "unsupported_alg", "bad_x5c", "signature_mismatch".
Result<DecodedJws> VerifyJwsWithX5c(std::string_view compact);

// Validates the JWS's x5c chain (x5c[0] = leaf, the rest untrusted intermediates) against the
// PEM trust anchors in `trust_pem` at time `at_unix`. Codes: "bad_x5c", "bad_trust_anchors",
// "chain_invalid" (message: OpenSSL's reason).
Status VerifyX5cChain(const nlohmann::json& x5c, const std::string& trust_pem, std::int64_t at_unix);

// Checks that x5c[0]'s public key is the pinned device key: `pinned_pem` holds a PEM public key
// (BEGIN PUBLIC KEY) or a PEM certificate whose key is taken. This, or VerifyX5cChain, is the trust
// decision: VerifyJwsWithX5c alone proves only that *some* key signed. Codes: "bad_x5c",
// "bad_pinned_key" (the pin itself is unusable), "key_mismatch".
Status VerifyX5cPinnedKey(const nlohmann::json& x5c, std::string_view pinned_pem);

}  // namespace veridge::outbox
