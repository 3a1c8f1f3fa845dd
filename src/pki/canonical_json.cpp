#include "pki/canonical_json.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace veridge::pki {
namespace {

// ECMAScript Number::toString for a finite double (RFC 8785 §3.2.2.3). std::to_chars without a
// precision gives the shortest digit string that round-trips, which is what ECMAScript requires;
// only the layout (where the point goes, when to switch to exponent form) differs.
std::string EcmaNumber(double d) {
  if (d == 0) return "0";  // also -0
  std::string sign;
  if (d < 0) {
    sign = "-";
    d = -d;
  }
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string sci(buf, r.ptr);  // "d.ddde+XX" or "de-XX"
  auto epos = sci.find('e');
  std::string mant = sci.substr(0, epos);
  int exp10 = std::stoi(sci.substr(epos + 1));
  std::string digits;
  for (char c : mant)
    if (c != '.') digits += c;
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  const int k = static_cast<int>(digits.size());
  const int n = exp10 + 1;  // value = 0.digits * 10^n
  std::string out;
  if (k <= n && n <= 21) {
    out = digits + std::string(static_cast<size_t>(n - k), '0');
  } else if (0 < n && n <= 21) {
    out = digits.substr(0, static_cast<size_t>(n)) + "." + digits.substr(static_cast<size_t>(n));
  } else if (-6 < n && n <= 0) {
    out = "0." + std::string(static_cast<size_t>(-n), '0') + digits;
  } else {
    int e = n - 1;
    out = digits.substr(0, 1);
    if (k > 1) out += "." + digits.substr(1);
    out += e < 0 ? "e-" : "e+";
    out += std::to_string(std::abs(e));
  }
  return sign + out;
}

// UTF-8 -> UTF-16 code units, for RFC 8785's member ordering. Input was already validated.
std::u16string Utf16(const std::string& s) {
  std::u16string out;
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    char32_t cp;
    int len;
    if (c < 0x80) { cp = c; len = 1; }
    else if ((c >> 5) == 6) { cp = c & 0x1F; len = 2; }
    else if ((c >> 4) == 14) { cp = c & 0x0F; len = 3; }
    else { cp = c & 0x07; len = 4; }
    for (int j = 1; j < len && i + static_cast<size_t>(j) < s.size(); ++j) cp = (cp << 6) | (static_cast<unsigned char>(s[i + static_cast<size_t>(j)]) & 0x3F);
    i += static_cast<size_t>(len);
    if (cp >= 0x10000) {
      cp -= 0x10000;
      out += static_cast<char16_t>(0xD800 + (cp >> 10));
      out += static_cast<char16_t>(0xDC00 + (cp & 0x3FF));
    } else {
      out += static_cast<char16_t>(cp);
    }
  }
  return out;
}

// nlohmann's escaping with ensure_ascii=false is exactly RFC 8785's: \b \t \n \f \r \" \\ and
// \u00xx (lowercase hex) for the other controls; everything else is written as UTF-8.
std::string QuoteString(const std::string& s) {
  return nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::strict);
}

Status WriteCanonical(const nlohmann::json& v, std::string& out, int depth) {
  if (depth > 64) return Status::InvalidInput("not_canonicalizable", "JSON nested deeper than 64 levels");
  using T = nlohmann::json::value_t;
  switch (v.type()) {
    case T::null: out += "null"; return Status::Ok();
    case T::boolean: out += v.get<bool>() ? "true" : "false"; return Status::Ok();
    case T::number_integer: out += std::to_string(v.get<std::int64_t>()); return Status::Ok();
    case T::number_unsigned: out += std::to_string(v.get<std::uint64_t>()); return Status::Ok();
    case T::number_float: {
      double d = v.get<double>();
      if (!std::isfinite(d)) return Status::InvalidInput("not_canonicalizable", "JSON has a NaN or infinite number");
      out += EcmaNumber(d);
      return Status::Ok();
    }
    case T::string:
      try {
        out += QuoteString(v.get_ref<const std::string&>());
      } catch (const nlohmann::json::exception&) {
        return Status::InvalidInput("not_canonicalizable", "JSON string is not valid UTF-8");
      }
      return Status::Ok();
    case T::array: {
      out += '[';
      bool first = true;
      for (const auto& e : v) {
        if (!first) out += ',';
        first = false;
        VERIDGE_RETURN_IF_ERROR(WriteCanonical(e, out, depth + 1));
      }
      out += ']';
      return Status::Ok();
    }
    case T::object: {
      std::vector<std::pair<std::u16string, nlohmann::json::const_iterator>> members;
      for (auto it = v.begin(); it != v.end(); ++it) members.emplace_back(Utf16(it.key()), it);
      std::sort(members.begin(), members.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
      out += '{';
      bool first = true;
      for (const auto& [k16, it] : members) {
        if (!first) out += ',';
        first = false;
        try {
          out += QuoteString(it.key());
        } catch (const nlohmann::json::exception&) {
          return Status::InvalidInput("not_canonicalizable", "JSON member name is not valid UTF-8");
        }
        out += ':';
        VERIDGE_RETURN_IF_ERROR(WriteCanonical(it.value(), out, depth + 1));
      }
      out += '}';
      return Status::Ok();
    }
    default:
      return Status::InvalidInput("not_canonicalizable", "JSON value of a type that has no canonical form (binary or discarded)");
  }
}

}  // namespace

Result<std::string> CanonicalJson(const nlohmann::json& value) {
  std::string out;
  VERIDGE_RETURN_IF_ERROR(WriteCanonical(value, out, 0));
  return out;
}

}  // namespace veridge::pki
