// console/console.h — staff accounts and the console's JSON API (/console/api/...): passwords
// (argon2id, libargon2 stays inside this module), TOTP (RFC 6238), login sessions, lockout, and
// the ONE route table that says which roles may call each route.
//
// Contract
//  * Passwords: argon2id (RFC 9106) through libargon2, encoded "$argon2id$v=19$m=..,t=..,p=..$salt$hash"
//    with a 16-byte random salt and a 32-byte tag; only that string is stored. Argon2Params are
//    set from [console] (app/). A password is 12..1024 bytes and not the account name
//    (CheckPasswordPolicy, code weak_password). There is never a default password: the first admin
//    is made by `veridge staff add --role admin NAME`, reading the password from the terminal or stdin.
//  * Login (POST /console/api/login {"name","password","totp"?,"recovery_code"?}): the same 401
//    invalid_credentials for an unknown name, a disabled account, a wrong password, and a missing
//    or wrong second factor, so a caller learns nothing about which was wrong (an unknown name still
//    costs one argon2id verification). Each failure of an existing account is recorded
//    (store::RecordFailedLogin): the 5th consecutive failure locks the account with backoff
//    (store::LockoutPolicy); logins while locked get 429 account_locked with Retry-After, unchecked.
//    Supervisors and admins must give a TOTP code (or an unused recovery code) once enrolled; before
//    enrolment their session is "enrolment_required" and may only call the routes marked
//    before_mfa (me, totp/enrol, totp/confirm, logout). Concurrent argon2id verifications are
//    bounded (ConsoleOptions::max_concurrent_hashes; over it → 503 busy with Retry-After).
//  * Sessions: the cookie `__Host-veridge_console=<vcs_ + 64 hex>; Path=/; Secure; HttpOnly;
//    SameSite=Strict` (no Max-Age: it dies with the browser). Only its SHA-256 is stored. A
//    session ends at logout, "log out everywhere" (admin), account disable or password change,
//    after idle_timeout without a request, and absolute_timeout after login; an ended or unknown
//    cookie gets 401 session_invalid, an expired one 401 session_expired.
//  * CSRF: every route with changes_state needs `X-CSRF-Token` equal to HMAC-SHA256(session token,
//    "veridge-console-csrf-v1") in hex (returned by login and /me), compared in constant time;
//    without it → 403 csrf_invalid. Every console POST must also be Content-Type application/json
//    (415 otherwise), so a cross-site HTML form cannot post to it at all (login included).
//  * Access: RouteTable() is the only place roles are declared. Order of checks for a non-public
//    route: session (401) → enrolment state (403 mfa_enrolment_required) → role (403 forbidden) →
//    CSRF (403) → body. Routes outside a role's set answer 403 whatever the body.
//  * Audit: every change appends its event in the same store transaction (store.h, "Staff
//    accounts"); the actor is "staff:<id>/<role>" (or "cli" for local commands). No password,
//    hash, TOTP key or code, recovery code, session or CSRF token is logged, audited or echoed;
//    the one exception is what must be shown once: the enrolment's otpauth URI and the recovery
//    codes, in the response to the staff member enrolling.
//  * Thread-safety: handlers run on net::Server's I/O threads; all state is in the store.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "net/server.h"
#include "store/store.h"

namespace veridge::console {

// ---- passwords ---------------------------------------------------------------------------------

struct Argon2Params {
  std::uint32_t memory_kib = 65536;  // [console].argon2_memory_kib
  std::uint32_t time_cost = 2;       // [console].argon2_time_cost (passes)
  std::uint32_t parallelism = 1;     // [console].argon2_parallelism (lanes; hashed on one thread)
};

inline constexpr std::size_t kMinPasswordBytes = 12;
inline constexpr std::size_t kMaxPasswordBytes = 1024;

// Code weak_password (kInvalidInput) with what to do.
Status CheckPasswordPolicy(std::string_view password, std::string_view name);
// Codes hash_failed (kInternal), randomness_unavailable.
Result<std::string> HashPassword(std::string_view password, const Argon2Params& params);
// False for a wrong password or an encoded string that is not argon2id.
bool VerifyPassword(std::string_view password, const std::string& encoded);

// ---- TOTP (RFC 6238 over RFC 4226 HOTP, HMAC-SHA1) ------------------------------------------

std::string Base32Encode(std::string_view bytes);  // RFC 4648, no padding (as otpauth URIs carry it)
// Accepts upper or lower case and optional '=' padding. Code bad_base32.
Result<std::string> Base32Decode(std::string_view text);
// The `digits`-digit HOTP value of `counter` (leading zeros kept).
std::string Hotp(std::string_view key, std::uint64_t counter, int digits = 6);
inline constexpr std::int64_t kTotpStepSeconds = 30;
// The TOTP value at unix time `t` (step = t / 30).
std::string Totp(std::string_view key, std::int64_t t, int digits = 6);
// The step (t/30) whose code equals `code`, trying now-1, now, now+1 (clock skew of one step);
// nullopt when none matches or `code` is not 6 digits. Constant-time per comparison.
std::optional<std::int64_t> MatchTotp(std::string_view key, std::string_view code, std::int64_t now);
// otpauth://totp/<issuer>:<account>?secret=<base32>&issuer=<issuer>&algorithm=SHA1&digits=6&period=30
std::string OtpauthUri(const std::string& issuer, const std::string& account, std::string_view key);

// ---- accounts (also used by `veridge staff`) ---------------------------------------------------

inline bool RoleNeedsTotp(const std::string& role) { return role == "supervisor" || role == "admin"; }

// Checks the name (1..64 of [A-Za-z0-9._-]), role and password policy, hashes, stores; returns the
// new account (id "stf_<16 hex>"). Codes bad_staff_name, bad_role, weak_password, duplicate, store errors.
Result<store::StaffRecord> CreateStaff(store::Store& store, const std::string& name, const std::string& role,
                                       std::string_view password, const Argon2Params& params, std::int64_t now,
                                       const std::string& actor);
// Policy check, hash, store (ends the account's sessions). Codes weak_password, not_found, ...
Status ChangePassword(store::Store& store, const std::string& id, std::string_view password, const Argon2Params& params,
                      std::int64_t now, const std::string& actor);

// ---- the console API --------------------------------------------------------------------------

struct ConsoleOptions {
  Argon2Params argon2;
  store::LockoutPolicy lockout;            // [console].lockout_threshold, lockout_base, lockout_max
  std::int64_t idle_timeout_s = 15 * 60;   // [console].idle_timeout
  std::int64_t absolute_timeout_s = 8 * 3600;  // [console].absolute_timeout
  int max_concurrent_hashes = 2;           // argon2id verifications at once (memory_kib each)
  std::string totp_issuer = "Veridge";     // shown by authenticator apps
  const Clock* clock = nullptr;            // nullptr: the system clock
};

// Roles as bits, so a route's set is one mask.
enum RoleBit : unsigned {
  kOperator = 1u << 0,
  kSupervisor = 1u << 1,
  kAuditor = 1u << 2,
  kAdmin = 1u << 3,
  kAnyRole = kOperator | kSupervisor | kAuditor | kAdmin,
};
unsigned RoleBitOf(const std::string& role);  // 0 for an unknown role
inline const std::vector<std::string>& AllRoles() {
  static const std::vector<std::string> roles{"operator", "supervisor", "auditor", "admin"};
  return roles;
}

struct Caller {
  store::StaffRecord staff;
  store::ConsoleSessionRecord session;
  std::string token;  // the cookie value (to derive the CSRF token and end the session)
  std::string actor;  // "staff:<id>/<role>"
};

struct Context;  // the store and options behind the handlers (routes.cpp)
using ConsoleHandler = net::Response (*)(Context& ctx, const net::Request& req, const Caller* caller);

// One row of the route table: the only declaration of who may call what.
struct RouteSpec {
  net::Method method;
  const char* pattern;   // under /console/api/
  const char* help;
  unsigned roles;        // RoleBit mask; ignored for public routes
  bool public_route;     // no session needed (login only)
  bool before_mfa;       // allowed while a supervisor/admin has not enrolled TOTP yet
  bool changes_state;    // POST, CSRF token required
  ConsoleHandler handler;
};

// The route table (routes.cpp). Tests walk this very list.
const std::vector<RouteSpec>& RouteTable();

// The CSRF token of a session token (hex HMAC-SHA256).
std::string CsrfToken(std::string_view session_token);
inline constexpr const char* kSessionCookie = "__Host-veridge_console";

// Adds every route of RouteTable() behind its guard. The store must outlive the router.
// Code route_invalid only on a programming error.
Status AddConsoleRoutes(net::Router& router, store::Store& store, ConsoleOptions options);

}  // namespace veridge::console
