#include "api/api.h"
#include "api/internal.h"

#include <sys/random.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/hex.h"
#include "common/log.h"
#include "common/sha256.h"

namespace veridge::api {
namespace {

constexpr std::string_view kTokenPrefix = "vrg_";
constexpr std::size_t kMaxTokenBytes = 256;

bool SafeName(const std::string& s, std::size_t max) {
  return !s.empty() && s.size() <= max && std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '.' || c == '_' || c == '-';
  });
}

net::Response Unauthorized(const Status& st) {
  const bool invalid = st.code() == "invalid_token";
  net::Response r = net::Response::Error(401, st.code(), st.message());
  r.headers.emplace_back("WWW-Authenticate", invalid ? "Bearer realm=\"veridge\", error=\"invalid_token\"" : "Bearer realm=\"veridge\"");
  return r;
}

}  // namespace

Result<std::string> RandomHex(std::size_t bytes) {
  std::string raw(bytes, '\0');
  std::size_t got = 0;
  while (got < bytes) {
    ssize_t n = ::getrandom(raw.data() + got, bytes - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Status::Unavailable("randomness_unavailable", "the kernel CSPRNG (getrandom) failed");
    got += static_cast<std::size_t>(n);
  }
  std::string hex = ToHex(raw.data(), raw.size());
  std::fill(raw.begin(), raw.end(), '\0');
  return hex;
}

bool SafeId(const std::string& s, std::size_t max, const char* extra) {
  return !s.empty() && s.size() <= max && std::all_of(s.begin(), s.end(), [extra](unsigned char c) {
    return std::isalnum(c) || std::strchr(extra, c) != nullptr;
  });
}

net::Response Err(int status, const std::string& code, const std::string& message) { return net::Response::Error(status, code, message); }

net::Response StoreTrouble(const std::string& what, const Status& st) {
  spdlog::error("api: {}: {}", what, st.ToString());
  return Err(503, "unavailable", "the store is not available; retry later");
}

std::string TokenHash(std::string_view token) { return Sha256Hex(token); }

Result<CreatedToken> CreateToken(store::Store& store, const std::string& name, std::int64_t now, const std::string& actor) {
  if (!SafeName(name, 64))
    return Status::InvalidInput("bad_token_name", "a token name is 1..64 characters of A-Z a-z 0-9 . _ - (e.g. lender-prod)");
  auto id = RandomHex(8);
  if (!id.ok()) return id.status();
  auto secret = RandomHex(32);
  if (!secret.ok()) return secret.status();
  CreatedToken t{"tok_" + *id, name, std::string(kTokenPrefix) + *secret, now};
  std::fill(secret->begin(), secret->end(), '\0');
  store::ApiTokenRecord rec{t.id, t.name, TokenHash(t.token), now, std::nullopt};
  VERIDGE_RETURN_IF_ERROR(store.AddApiToken(rec, actor));
  return t;
}

Result<Principal> Authenticate(store::Store& store, const net::Request& request) {
  auto header = request.Header("Authorization");
  if (!header) return Status::Permission("unauthorized", "this API needs an Authorization: Bearer <token> header");
  constexpr std::string_view kScheme = "bearer ";
  std::string_view v(*header);
  if (v.size() <= kScheme.size() || v.size() > kScheme.size() + kMaxTokenBytes)
    return Status::Permission("unauthorized", "the Authorization header must be Bearer <token>");
  for (std::size_t i = 0; i < kScheme.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(v[i])) != kScheme[i])
      return Status::Permission("unauthorized", "the Authorization header must be Bearer <token>");
  std::string_view token = v.substr(kScheme.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
  const Status invalid = Status::Permission("invalid_token", "the token is not valid (unknown or revoked)");
  if (token.empty()) return Status::Permission("unauthorized", "the Authorization header must be Bearer <token>");
  auto found = store.FindApiTokenByHash(TokenHash(token));
  if (!found.ok()) return found.status();
  if (!found->has_value() || (*found)->revoked_at.has_value()) return invalid;
  return Principal{(*found)->id, (*found)->name};
}

net::Handler RequireBearer(store::Store& store, AuthedHandler handler) {
  return [&store, handler = std::move(handler)](const net::Request& req) {
    auto who = Authenticate(store, req);
    if (who.ok()) return handler(req, *who);
    if (who.status().code() == "unauthorized" || who.status().code() == "invalid_token") return Unauthorized(who.status());
    spdlog::error("api: token check failed: {}", who.status().ToString());
    return net::Response::Error(503, "unavailable", "the appliance cannot check credentials right now; retry later");
  };
}

}  // namespace veridge::api
