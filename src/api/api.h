// api/api.h — the lender/staff API: bearer API tokens and the /v1 routes; the kiosk page's
// /kiosk/v1 session routes (code, session, consent).
//
// Contract
//  * Tokens: "vrg_" + 64 hex digits (256 bits from the kernel CSPRNG, getrandom(2)). Only the
//    lowercase hex SHA-256 of the whole token string is stored (store::ApiTokenRecord); the token
//    itself is returned once by CreateToken and never stored, logged or echoed. A token is
//    revoked, never deleted, so its id stays in the audit trail. There is no default token: an
//    appliance without one refuses every /v1 request.
//  * Bearer authentication (RFC 6750) on every /v1 route: no or malformed Authorization → 401
//    code "unauthorized"; an unknown or revoked token → 401 code "invalid_token" (the same answer
//    for both, so a caller cannot learn which tokens once existed); both with WWW-Authenticate. A
//    store failure while checking → 503 "unavailable" (fail closed). Tokens longer than 256 bytes
//    are refused without a lookup.
//  * Routes (sessions.cpp; errors {"error":{"code","message"}}, codes stable):
//      POST /v1/sessions {applicant_ref (1..256 bytes UTF-8, no control characters),
//        reference_image (base64 JPEG or PNG, at most store::kMaxReferenceImageBytes = 4 MiB decoded),
//        factors (non-empty, distinct, of face|liveness|certificate), locale (zh-CN|en),
//        expires_in (seconds, SessionApiOptions min..max; default default_expires_in)}
//        → 201 {"id","kiosk_code","expires_at","state"}. Unknown fields → 400 unknown_field; a bad
//        field → 400 invalid_field (message names it); image over 4 MiB → 413 reference_image_too_large;
//        not JPEG/PNG → 422 unsupported_image_format; the photo is checked on arrival by
//        SessionApiOptions::check_reference and refused with the vision code (no_face,
//        multiple_faces, decode_failed, corrupt_image, face_too_small, ...) as 422; no checker
//        (models missing) → 503 reference_check_unavailable (fail closed).
//        Idempotency-Key (1..128 of [A-Za-z0-9._:-], scoped to the API token): same key and same
//        body → the same session (201, same id and code, Idempotent-Replayed: true); same key,
//        another body → 422 idempotency_key_reused.
//      GET /v1/sessions/{id} → 200 {"id","state","applicant_ref","factors","locale","created_at",
//        "expires_at","terminal_reason"?,"consent"?,"result"?}. "result" is the decided session's
//        result document (the JSON the webhook signs); it appears only once a session is
//        completed, which today only `veridge verify` sessions are (the live kiosk pipeline does
//        not exist yet). A session past expires_at reads as expired. 404 session_not_found.
//      POST /v1/sessions/{id}/cancel → 200 (the session, state cancelled); 409 invalid_state if
//        already terminal.
//      GET /v1/openapi.json → 200, the OpenAPI 3.1 document of this listener's lender routes
//        (docs/openapi.json, compiled in byte for byte; OpenApiDocument()). tests/app checks that
//        it names every route of the API listener but /console/api/, and nothing else.
//    Ids are 1..128 of [A-Za-z0-9._-] else 400 bad_session_id.
//  * Kiosk routes (kiosk.cpp; AddKioskRoutes, on the kiosk listener only; docs/kiosk-protocol.md
//    is the contract with the page):
//      POST /kiosk/v1/code {"code":"<6 digits>"} claims the live session holding that code and
//        binds it to a new kiosk token ("vks_" + 64 hex, 256 bits from getrandom; only its
//        SHA-256 is stored, with the session): 200 {"session":{...},"kiosk_token"} and
//        Set-Cookie veridge_kiosk (HttpOnly, SameSite=Strict, Path=/kiosk, Max-Age = time left).
//        Refusals: 400 bad_request | unknown_field, 404 unknown_code, 409 already_claimed,
//        410 session_expired | session_closed. Brute force: the Nth refused code (N =
//        max_code_failures, 5) within code_window (60 s) locks code entry on the listener for
//        code_lock (60 s): meanwhile every claim, right or wrong, is 429 too_many_attempts with
//        Retry-After, and the code is not even looked up. Claims are serialised, so parallel
//        guesses cannot slip past the count.
//      GET /kiosk/v1/sessions/{id} → 200 {"id","state","locale","factors","expires_at" (RFC 3339
//        UTC),"attempt","max_attempts"}: the token (Authorization: Bearer or the cookie) must be
//        the one bound to this session, else 401 unauthorized (also for an unknown id).
//      POST /kiosk/v1/sessions/{id}/consent {"accepted","locale","consent_version"}: the token
//        only from Authorization: Bearer (a cookie alone is 401: another page on this machine
//        can make the browser send the cookie, never the header). Stored with the session and
//        audited by the store (session.consent); accepted → capturing, declined → cancelled.
//        409 invalid_state unless claimed; 410 session_expired | session_closed once terminal.
//    Every kiosk POST: Content-Type application/json (else 415), body at most 1 KiB (else
//    413), unknown fields refused, an Origin header (when sent) must be this listener's own
//    origin (else 403 forbidden_origin). Codes and tokens are never logged or echoed back
//    (the token only in the one answer that issues it).
//  * Thread-safety: functions are reentrant; the store serialises its own calls. Handlers returned
//    here hold a reference to the store, which must outlive the server.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "net/server.h"
#include "store/store.h"

namespace veridge::api {

struct CreatedToken {
  std::string id;     // "tok_<16 hex>": names the token in lists, audit and revocation
  std::string name;   // what the operator called it ("lender-prod")
  std::string token;  // the secret, shown once
  std::int64_t created_at = 0;
};

// Codes: bad_token_name (kInvalidInput: 1..64 of [A-Za-z0-9._-]), randomness_unavailable, store errors.
Result<CreatedToken> CreateToken(store::Store& store, const std::string& name, std::int64_t now, const std::string& actor);

// Lowercase hex SHA-256 of the token string (what the store keeps).
std::string TokenHash(std::string_view token);

struct Principal {
  std::string token_id;
  std::string name;
};

// Checks "Authorization: Bearer <token>" against the store. Codes: unauthorized, invalid_token
// (kPermission), or the store's error.
Result<Principal> Authenticate(store::Store& store, const net::Request& request);

using AuthedHandler = std::function<net::Response(const net::Request&, const Principal&)>;
// Wraps a handler: it runs only for a valid, unrevoked token (else 401 / 503 as above).
net::Handler RequireBearer(store::Store& store, AuthedHandler handler);

// The reference-photo check: OK, or the vision error (code kept) for a photo that cannot serve.
using ReferenceCheck = std::function<Status(const std::string& image_bytes)>;

struct SessionApiOptions {
  std::int64_t min_expires_in = 60;       // [sessions].min_expires_in
  std::int64_t max_expires_in = 86400;    // [sessions].max_expires_in
  std::int64_t default_expires_in = 900;  // [sessions].default_expires_in
  int max_attempts = 3;                   // [sessions].max_attempts (shown to the kiosk)
  ReferenceCheck check_reference;         // empty: creation answers 503
  const Clock* clock = nullptr;           // nullptr: the system clock
};

// docs/openapi.json as it was when this binary was built.
std::string_view OpenApiDocument();

// Adds the /v1 routes. Code route_invalid only on a programming error.
Status AddV1Routes(net::Router& router, store::Store& store, SessionApiOptions options = {});

struct KioskApiOptions {
  int max_attempts = 3;                     // [sessions].max_attempts (shown to the page)
  int max_code_failures = 5;                // refused codes within code_window that lock code entry
  std::chrono::seconds code_window{60};
  std::chrono::seconds code_lock{60};
  std::vector<std::string> locales = {"zh-CN", "en"};             // consent locales accepted
  std::vector<std::string> consent_versions = {"2026-12-v1"};     // consent texts this build shows
  const Clock* clock = nullptr;             // nullptr: the system clock
};

// The name of the kiosk token cookie.
inline constexpr const char* kKioskCookie = "veridge_kiosk";

// Adds the /kiosk/v1 session routes (code, session, consent). Code route_invalid only on a
// programming error. The routes share one code-entry lock (per call of this function).
Status AddKioskRoutes(net::Router& router, store::Store& store, KioskApiOptions options = {});

}  // namespace veridge::api
