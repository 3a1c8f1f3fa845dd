// net/http_fields.h — reading request fields that several route tables check the same way: one
// cookie of the Cookie header, and whether a body is declared as JSON.
//
// Contract: pure functions over a Request, header-only, thread-safe. Nothing is logged (cookies
// carry session tokens).
#pragma once

#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>

#include "net/server.h"

namespace veridge::net {

// The value of cookie `name` in the first Cookie header ("a=1; b=2"), or "" when absent.
inline std::string CookieValue(const Request& req, const std::string& name) {
  auto header = req.Header("Cookie");
  if (!header) return "";
  std::string_view v(*header);
  while (!v.empty()) {
    auto semi = v.find(';');
    std::string_view part = v.substr(0, semi);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    if (part.size() > name.size() && part.substr(0, name.size()) == name && part[name.size()] == '=')
      return std::string(part.substr(name.size() + 1));
    if (semi == std::string_view::npos) break;
    v.remove_prefix(semi + 1);
  }
  return "";
}

// True when Content-Type is application/json (any parameters). A cross-origin page cannot send
// this type without a CORS preflight, which Veridge never answers: a cheap CSRF barrier.
inline bool IsJsonContentType(const Request& req) {
  auto ct = req.Header("Content-Type");
  if (!ct) return false;
  std::string v = *ct;
  std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return v.rfind("application/json", 0) == 0;
}

}  // namespace veridge::net
