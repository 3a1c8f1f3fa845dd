// The route table, request/response helpers and the per-client rate limiter (no Beast here: these
// are plain data and logic, unit-tested without sockets).
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>

#include "net/server.h"

namespace veridge::net {
namespace {

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::vector<std::string> Segments(const std::string& path) {
  std::vector<std::string> out;
  std::size_t pos = 1;  // past the leading '/'
  while (pos <= path.size()) {
    std::size_t slash = path.find('/', pos);
    if (slash == std::string::npos) slash = path.size();
    out.push_back(path.substr(pos, slash - pos));
    pos = slash + 1;
  }
  return out;
}

bool IsParam(const std::string& seg) { return seg.size() > 2 && seg.front() == '{' && seg.back() == '}'; }

}  // namespace

const char* ToString(Method m) { return m == Method::kPost ? "POST" : "GET"; }

std::optional<std::string> Request::Header(const std::string& name) const {
  const std::string want = Lower(name);
  for (const auto& [k, v] : headers)
    if (Lower(k) == want) return v;
  return std::nullopt;
}

Response Response::Error(int status, const std::string& code, const std::string& message) {
  nlohmann::json j = {{"error", {{"code", code}, {"message", message}}}};
  return Json(status, j.dump());
}

Response Response::Json(int status, std::string body) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

Response Response::Text(int status, std::string body, std::string content_type) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  r.content_type = std::move(content_type);
  return r;
}

Response Response::Streamed(std::string content_type, std::shared_ptr<BodyStream> stream) {
  Response r;
  r.content_type = std::move(content_type);
  r.stream = std::move(stream);
  return r;
}

Status Router::Add(Route route) {
  auto bad = [&](const std::string& why) {
    return Status::InvalidInput("route_invalid", std::string(ToString(route.method)) + " " + route.pattern + ": " + why);
  };
  if (!route.handler) return bad("no handler");
  if (route.pattern.empty() || route.pattern[0] != '/') return bad("a pattern starts with '/'");
  if (route.changes_state && route.method != Method::kPost)
    return bad("a route that changes state must be POST (a GET can be triggered by a link or a prefetch)");
  if (route.pattern != "/") {
    const auto segs = Segments(route.pattern);
    for (std::size_t i = 0; i < segs.size(); ++i) {
      const auto& seg = segs[i];
      // A trailing '/' ("/kiosk/": a directory's index) is an empty last segment, matched literally.
      if (seg.empty() && i + 1 == segs.size() && segs.size() > 1) continue;
      if (seg.empty()) return bad("empty path segment");
      if (seg.find_first_of("{}") != std::string::npos && !IsParam(seg)) return bad("malformed {name} segment");
    }
  }
  for (const auto& r : routes_)
    if (r.method == route.method && r.pattern == route.pattern) return bad("already registered");
  routes_.push_back(std::move(route));
  return Status::Ok();
}

const Route* Router::Match(const Request& request, std::map<std::string, std::string>* params, std::string* allow) const {
  const auto want = request.path == "/" ? std::vector<std::string>{} : Segments(request.path);
  const Route* found = nullptr;
  for (const auto& r : routes_) {
    const auto pat = r.pattern == "/" ? std::vector<std::string>{} : Segments(r.pattern);
    if (pat.size() != want.size()) continue;
    std::map<std::string, std::string> got;
    bool ok = true;
    for (std::size_t i = 0; i < pat.size() && ok; ++i) {
      if (IsParam(pat[i])) {
        if (want[i].empty()) ok = false;
        else got[pat[i].substr(1, pat[i].size() - 2)] = want[i];
      } else {
        ok = pat[i] == want[i];
      }
    }
    if (!ok) continue;
    const std::string m = ToString(r.method);
    if (allow->find(m) == std::string::npos) *allow += (allow->empty() ? "" : ", ") + m;
    if (r.method == request.method && !found) {
      found = &r;
      *params = std::move(got);
    }
  }
  return found;
}

Response Router::Dispatch(Request& request) const {
  std::string allow;
  const Route* r = Match(request, &request.params, &allow);
  if (r) return r->handler(request);
  if (!allow.empty()) {
    Response res = Response::Error(405, "method_not_allowed", std::string(ToString(request.method)) + " is not allowed here; use " + allow);
    res.headers.emplace_back("Allow", allow);
    return res;
  }
  return Response::Error(404, "not_found", "no such resource");
}

std::string Router::Help() const {
  std::string out;
  for (const auto& r : routes_) {
    std::string m = ToString(r.method);
    m.resize(5, ' ');
    out += m + r.pattern + "  — " + r.help + "\n";
  }
  return out;
}

RateLimiter::RateLimiter(RateLimitOptions options, const Clock& clock) : options_(options), clock_(clock) {
  if (options_.burst < 1) options_.burst = 1;
  if (options_.max_clients < 1) options_.max_clients = 1;
}

std::size_t RateLimiter::tracked_clients() const {
  std::lock_guard<std::mutex> lock(mu_);
  return buckets_.size();
}

void RateLimiter::Prune(std::chrono::steady_clock::time_point now) {
  // Full (refilled) buckets carry no information: dropping them changes nobody's limit.
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    const double secs = std::chrono::duration<double>(now - it->second.last).count();
    if (it->second.tokens + secs * options_.per_second >= options_.burst) it = buckets_.erase(it);
    else ++it;
  }
  if (buckets_.size() < options_.max_clients) return;
  auto oldest = std::min_element(buckets_.begin(), buckets_.end(),
                                 [](const auto& a, const auto& b) { return a.second.last < b.second.last; });
  buckets_.erase(oldest);
}

std::optional<std::chrono::seconds> RateLimiter::Acquire(const std::string& client) {
  if (options_.per_second <= 0) return std::nullopt;
  const auto now = clock_.Monotonic();
  std::lock_guard<std::mutex> lock(mu_);
  auto it = buckets_.find(client);
  if (it == buckets_.end()) {
    if (buckets_.size() >= options_.max_clients) Prune(now);
    it = buckets_.emplace(client, Bucket{options_.burst, now}).first;
  }
  Bucket& b = it->second;
  const double secs = std::chrono::duration<double>(now - b.last).count();
  b.tokens = std::min(options_.burst, b.tokens + std::max(0.0, secs) * options_.per_second);
  b.last = now;
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return std::nullopt;
  }
  const double wait = (1.0 - b.tokens) / options_.per_second;
  return std::chrono::seconds(std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(wait))));
}

}  // namespace veridge::net
