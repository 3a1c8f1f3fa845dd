// console/credentials.cpp — passwords (argon2id via libargon2), TOTP (RFC 6238 / RFC 4226 with
// HMAC-SHA1), base32, the CSRF token derivation, and account creation (console/console.h).
#include <argon2.h>
#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cctype>
#include <cstring>

#include "common/hex.h"
#include "console/console.h"
#include "console/internal.h"

namespace veridge::console {

namespace {

constexpr std::size_t kSaltBytes = 16;
constexpr std::size_t kTagBytes = 32;
constexpr const char* kBase32Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

std::string Hmac(const EVP_MD* md, std::string_view key, std::string_view msg) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  HMAC(md, key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), out, &n);
  return std::string(reinterpret_cast<char*>(out), n);
}

bool SafeName(const std::string& s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '.' || c == '_' || c == '-';
  });
}

}  // namespace

Result<std::string> RandomBytes(std::size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1)
    return Status::Unavailable("randomness_unavailable", "the random number generator failed; nothing was created");
  return out;
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

Status CheckPasswordPolicy(std::string_view password, std::string_view name) {
  if (password.size() < kMinPasswordBytes)
    return Status::InvalidInput("weak_password", "a password needs at least " + std::to_string(kMinPasswordBytes) +
                                                     " characters; a few unrelated words make a good one");
  if (password.size() > kMaxPasswordBytes)
    return Status::InvalidInput("weak_password", "a password is at most " + std::to_string(kMaxPasswordBytes) + " bytes");
  if (password == name) return Status::InvalidInput("weak_password", "a password must not be the account name");
  return Status::Ok();
}

Result<std::string> HashPassword(std::string_view password, const Argon2Params& p) {
  auto salt = RandomBytes(kSaltBytes);
  if (!salt.ok()) return salt.status();
  const std::size_t len = argon2_encodedlen(p.time_cost, p.memory_kib, p.parallelism, kSaltBytes, kTagBytes, Argon2_id);
  std::string encoded(len, '\0');
  const int rc = argon2id_hash_encoded(p.time_cost, p.memory_kib, p.parallelism, password.data(), password.size(), salt->data(),
                                       salt->size(), kTagBytes, encoded.data(), encoded.size());
  if (rc != ARGON2_OK) return Status::Internal("hash_failed", std::string("argon2id failed: ") + argon2_error_message(rc));
  encoded.resize(encoded.find('\0') == std::string::npos ? encoded.size() : encoded.find('\0'));
  return encoded;
}

bool VerifyPassword(std::string_view password, const std::string& encoded) {
  if (encoded.rfind("$argon2id$", 0) != 0) return false;
  return argon2id_verify(encoded.c_str(), password.data(), password.size()) == ARGON2_OK;
}

std::string Base32Encode(std::string_view bytes) {
  std::string out;
  unsigned buffer = 0;
  int bits = 0;
  for (unsigned char c : bytes) {
    buffer = (buffer << 8) | c;
    bits += 8;
    while (bits >= 5) {
      out += kBase32Alphabet[(buffer >> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += kBase32Alphabet[(buffer << (5 - bits)) & 31];
  return out;
}

Result<std::string> Base32Decode(std::string_view text) {
  std::string out;
  unsigned buffer = 0;
  int bits = 0;
  for (char ch : text) {
    if (ch == '=') break;
    const char up = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    const char* pos = std::strchr(kBase32Alphabet, up);
    if (up == '\0' || pos == nullptr) return Status::InvalidInput("bad_base32", "not base32 (A-Z, 2-7)");
    buffer = (buffer << 5) | static_cast<unsigned>(pos - kBase32Alphabet);
    bits += 5;
    if (bits >= 8) {
      out += static_cast<char>((buffer >> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return out;
}

std::string Hotp(std::string_view key, std::uint64_t counter, int digits) {
  char msg[8];
  for (int i = 7; i >= 0; --i) {
    msg[i] = static_cast<char>(counter & 0xff);
    counter >>= 8;
  }
  const std::string mac = Hmac(EVP_sha1(), key, std::string_view(msg, 8));
  // RFC 4226 §5.3 dynamic truncation.
  const int offset = static_cast<unsigned char>(mac[19]) & 0x0f;
  const std::uint32_t bin = (static_cast<std::uint32_t>(static_cast<unsigned char>(mac[offset]) & 0x7f) << 24) |
                            (static_cast<std::uint32_t>(static_cast<unsigned char>(mac[offset + 1])) << 16) |
                            (static_cast<std::uint32_t>(static_cast<unsigned char>(mac[offset + 2])) << 8) |
                            static_cast<std::uint32_t>(static_cast<unsigned char>(mac[offset + 3]));
  std::uint32_t mod = 1;
  for (int i = 0; i < digits; ++i) mod *= 10;
  std::string code = std::to_string(bin % mod);
  return std::string(static_cast<std::size_t>(digits) - std::min<std::size_t>(code.size(), digits), '0') + code;
}

std::string Totp(std::string_view key, std::int64_t t, int digits) {
  return Hotp(key, static_cast<std::uint64_t>(t / kTotpStepSeconds), digits);
}

std::optional<std::int64_t> MatchTotp(std::string_view key, std::string_view code, std::int64_t now) {
  if (code.size() != 6 || !std::all_of(code.begin(), code.end(), [](unsigned char c) { return std::isdigit(c); })) return std::nullopt;
  const std::int64_t step = now / kTotpStepSeconds;
  std::optional<std::int64_t> found;
  for (std::int64_t s = step - 1; s <= step + 1; ++s)
    if (ConstantTimeEquals(Hotp(key, static_cast<std::uint64_t>(s)), code) && !found) found = s;
  return found;
}

namespace {
std::string UriEscape(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') out += static_cast<char>(c);
    else out += "%" + ToHex(&c, 1);
  }
  return out;
}
}  // namespace

std::string OtpauthUri(const std::string& issuer, const std::string& account, std::string_view key) {
  return "otpauth://totp/" + UriEscape(issuer) + ":" + UriEscape(account) + "?secret=" + Base32Encode(key) +
         "&issuer=" + UriEscape(issuer) + "&algorithm=SHA1&digits=6&period=30";
}

std::string CsrfToken(std::string_view session_token) {
  const std::string mac = Hmac(EVP_sha256(), session_token, "veridge-console-csrf-v1");
  return ToHex(mac.data(), mac.size());
}

unsigned RoleBitOf(const std::string& role) {
  if (role == "operator") return kOperator;
  if (role == "supervisor") return kSupervisor;
  if (role == "auditor") return kAuditor;
  if (role == "admin") return kAdmin;
  return 0;
}

Result<store::StaffRecord> CreateStaff(store::Store& store, const std::string& name, const std::string& role,
                                       std::string_view password, const Argon2Params& params, std::int64_t now,
                                       const std::string& actor) {
  if (!SafeName(name))
    return Status::InvalidInput("bad_staff_name", "a staff name is 1..64 characters of A-Z a-z 0-9 . _ - (e.g. li.wei)");
  if (!store::IsStaffRole(role)) return Status::InvalidInput("bad_role", "the role is operator, supervisor, auditor or admin");
  VERIDGE_RETURN_IF_ERROR(CheckPasswordPolicy(password, name));
  auto hash = HashPassword(password, params);
  if (!hash.ok()) return hash.status();
  auto id = RandomBytes(8);
  if (!id.ok()) return id.status();
  store::StaffRecord rec;
  rec.id = "stf_" + ToHex(id->data(), id->size());
  rec.name = name;
  rec.role = role;
  rec.password_hash = *hash;
  rec.created_at = rec.updated_at = now;
  VERIDGE_RETURN_IF_ERROR(store.AddStaff(rec, actor));
  return rec;
}

Status ChangePassword(store::Store& store, const std::string& id, std::string_view password, const Argon2Params& params,
                      std::int64_t now, const std::string& actor) {
  auto cur = store.GetStaff(id);
  if (!cur.ok()) return cur.status();
  VERIDGE_RETURN_IF_ERROR(CheckPasswordPolicy(password, cur->name));
  auto hash = HashPassword(password, params);
  if (!hash.ok()) return hash.status();
  return store.SetStaffPassword(id, *hash, now, actor);
}

}  // namespace veridge::console
