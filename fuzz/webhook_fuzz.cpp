// fuzz/webhook_fuzz.cpp — libFuzzer target: what `veridge webhook verify` reads from a lender's
// delivery: the headers file (outbox::ParseWebhookHeaders), the Standard Webhooks signature
// header and timestamp (VerifyWebhook), the body's data.attestation compact JWS (DecodeJws,
// VerifyJwsWithX5c) and its x5c (VerifyX5cPinnedKey, VerifyX5cChain).
//
// Input: "<headers file>\0<body>" (no NUL: all of it is the headers file, the body is empty).
// The secret is fixed (an attacker does not choose it). The attestation path is fuzzed whatever
// the HMAC verdict, since a fuzzer cannot forge the HMAC.
//
// What must hold: no crash or sanitizer report; a delivery that verifies stops verifying when one
// byte is added to the body; a JWS that "verifies" decodes to the same parts.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>

#include "common/base64.h"
#include "outbox/signing.h"

namespace {

using namespace veridge::outbox;

const WebhookSecret& Secret() {
  static const WebhookSecret s = *WebhookSecret::Parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  return s;
}

// PEM trust for the x5c checks: VERIDGE_FUZZ_WEBHOOK_TRUST names a PEM certificate file
// (tools/fuzz.sh converts one from PKITS), so the chain and pin checks get past their own input.
const std::string& TrustPem() {
  static const std::string pem = [] {
    const char* f = std::getenv("VERIDGE_FUZZ_WEBHOOK_TRUST");
    if (!f) return std::string("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
    std::ifstream in(f, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }();
  return pem;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string in(reinterpret_cast<const char*>(data), size);
  const auto nul = in.find('\0');
  const std::string headers_text = in.substr(0, nul);
  const std::string body = nul == std::string::npos ? std::string() : in.substr(nul + 1);

  (void)WebhookSecret::Parse(headers_text);
  auto headers = ParseWebhookHeaders(headers_text);
  if (headers.ok()) {
    const std::int64_t now = 1614265330;  // the Standard Webhooks example's timestamp
    if (VerifyWebhook(Secret(), *headers, body, now).ok() && VerifyWebhook(Secret(), *headers, body + "x", now).ok())
      std::abort();  // a signature that does not cover the body
    (void)VerifyWebhook(Secret(), *headers, body, now, std::chrono::seconds(-1));
    (void)VerifyWebhook(Secret(), *headers, body, INT64_MAX, std::chrono::seconds(INT64_MAX));
  }

  auto event = nlohmann::json::parse(body, nullptr, false);
  std::string compact = body;
  if (event.is_object() && event.contains("data") && event["data"].is_object() && event["data"].contains("attestation") &&
      event["data"]["attestation"].is_string())
    compact = event["data"]["attestation"].get<std::string>();
  auto decoded = DecodeJws(compact);
  auto verified = VerifyJwsWithX5c(compact);
  if (verified.ok() && (!decoded.ok() || decoded->payload != verified->payload)) std::abort();
  if (decoded.ok() && decoded->header.is_object() && decoded->header.contains("x5c")) {
    const auto& x5c = decoded->header["x5c"];
    (void)VerifyX5cPinnedKey(x5c, TrustPem());
    (void)VerifyX5cChain(x5c, TrustPem(), 1614265330);
  }
  (void)veridge::Base64Decode(headers_text);
  (void)veridge::Base64UrlDecode(headers_text);
  return 0;
}
