// api/api.h — the lender/staff API: bearer API tokens and the /v1 routes.
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
//  * Routes (all GET for now; state-changing ones will be POST):
//      GET /v1/sessions/{id} → 200 {"id","state":"decided","decision","created_at","reasons","result"}
//        or 404 "session_not_found"; ids are 1..128 of [A-Za-z0-9._-] else 400 "bad_session_id".
//  * Thread-safety: functions are reentrant; the store serialises its own calls. Handlers returned
//    here hold a reference to the store, which must outlive the server.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

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

// Adds the /v1 routes. Code route_invalid only on a programming error.
Status AddV1Routes(net::Router& router, store::Store& store);

}  // namespace veridge::api
