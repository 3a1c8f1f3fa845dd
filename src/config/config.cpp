#include "config/config.h"

#include <toml++/toml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <mutex>
#include <sstream>

#include "common/files.h"

namespace veridge::config {

struct Config::Impl {
  toml::table table;
  mutable std::mutex mu;
  mutable std::vector<std::string> problems;
  void Problem(const std::string& p) const {
    std::lock_guard<std::mutex> lock(mu);
    for (const auto& q : problems)
      if (q == p) return;
    problems.push_back(p);
  }
  toml::node_view<const toml::node> At(const std::string& key) const { return table.at_path(key); }
};

namespace {

using T = KeyType;
constexpr double kSec = 1000, kMin = 60 * kSec, kHour = 60 * kMin;

}  // namespace

// Ranges: wide enough for every real deployment, narrow enough that no value fails open. Face
// and PAD thresholds may be made stricter than the model's published operating point, never
// looser (0.6 is dlib's L2 match threshold; 0.5 the PAD decision point).
const std::vector<KeySpec>& Schema() {
  static const std::vector<KeySpec> kSchema = {
      {"device.id", T::kString},
      {"device.key_file", T::kPath},
      {"device.cert_chain", T::kPath},
      {"store.path", T::kPath},
      {"store.key_file", T::kPath},
      {"store.retention_days", T::kInteger, 1, 3650, "days of biometric evidence kept"},
      {"models.dir", T::kPath},
      {"policy.require", T::kStringList},
      {"policy.review_on_optional_failure", T::kBool},
      {"policy.duplicate_identity", T::kString},         // reject | review | ignore (checked by app/)
      {"policy.identity_history_mismatch", T::kString},  // reject | review | ignore
      {"policy.watchlist_hit", T::kString},              // reject | review | ignore
      // No 1:N threshold was measured above 1000 templates (docs/fraud.md): a larger list would
      // run at a threshold whose false-positive rate nobody knows.
      {"fraud.list_size", T::kInteger, 1, 1000, "1:N thresholds are measured for lists of at most 1000 templates"},
      {"fraud.max_hits", T::kInteger, 1, 100, "hits reported per fraud check"},
      {"face.threshold", T::kNumber, 0.1, 0.6, "L2 distance; above 0.6 different people match"},
      {"face.detector", T::kString},
      {"face.descriptor_engine", T::kString},
      {"face.jitter", T::kInteger, 1, 100, "descriptor passes per face: time grows with it"},
      {"face.max_frames", T::kInteger, 1, 18000, "capture frames examined: bounds the session time"},
      {"face.sample_every", T::kInteger, 1, 100, "analyse every Nth frame"},
      {"face.best_frames", T::kInteger, 1, 50, "frames compared with the reference"},
      {"face.fatal_quality", T::kStringList},
      {"face.secondary_face_ratio", T::kNumber, 0.1, 1.0, "above 1 a second person is never counted"},
      {"liveness.enabled", T::kBool},
      {"liveness.mode", T::kString},
      {"liveness.challenges", T::kStringList},
      {"liveness.detector", T::kString},
      {"liveness.pad_threshold", T::kNumber, 0.5, 0.99, "P(real) a session must reach; below 0.5 a replay passes"},
      {"liveness.max_session", T::kDuration, 1 * kSec, 10 * kMin, "how long a liveness session may run"},
      {"certificate.pkcs11_module", T::kPath},
      {"certificate.token_label", T::kString},
      {"certificate.pin_file", T::kPath},
      {"certificate.allow_pkcs1v15", T::kBool},
      {"certificate.trust", T::kPath},
      {"certificate.untrusted", T::kPath},
      {"certificate.crl_dir", T::kPath},
      {"certificate.stale_crl", T::kString},
      {"lender.url", T::kString},
      {"lender.webhook_secret_file", T::kPath},
      {"lender.ca_file", T::kPath},
      {"lender.spki_pin", T::kString},
      {"lender.client_cert", T::kPath},
      {"lender.client_key", T::kPath},
      {"outbox.retry_schedule", T::kDurationList, 0, 24 * kHour, "each wait between delivery attempts (at most 24h)", 1, 50},
      {"outbox.jitter", T::kNumber, 0, 1, "each retry delay is scaled by 1 +- jitter"},
      {"outbox.connect_timeout", T::kDuration, 100, 60 * kSec, "TCP connect and TLS handshake"},
      {"outbox.request_timeout", T::kDuration, 1 * kSec, 10 * kMin, "one delivery attempt"},
      {"outbox.max_response_bytes", T::kInteger, 0, 16 * 1024 * 1024, "the lender's response body read"},
      {"outbox.lease", T::kDuration, 1 * kSec, 24 * kHour, "a claimed row returns to the queue after it"},
      {"outbox.batch", T::kInteger, 1, 1000, "rows claimed at a time"},
      {"serve.kiosk_listen", T::kString},
      {"serve.api_listen", T::kString},
      {"serve.tls_cert", T::kPath},
      {"serve.tls_key", T::kPath},
      {"serve.threads", T::kInteger, 1, 16, "I/O threads of the daemon"},
      {"serve.max_connections", T::kInteger, 1, 10000, "open connections per listener"},
      {"serve.max_header_bytes", T::kInteger, 1024, 65536, "request line and headers"},
      {"serve.api_max_body_bytes", T::kInteger, 1024, 32 * 1024 * 1024, "an API request body"},
      {"serve.kiosk_max_body_bytes", T::kInteger, 1024, 1024 * 1024, "a kiosk request body"},
      {"serve.rate_per_second", T::kInteger, 0, 100000, "API requests per second per client (0 = off)"},
      {"serve.rate_burst", T::kInteger, 1, 100000, "API requests a client may send at once"},
      {"serve.kiosk_rate_per_second", T::kInteger, 0, 100000, "kiosk requests per second (0 = off)"},
      {"serve.idle_timeout", T::kDuration, 100, 1 * kHour, "a keep-alive connection waiting for a request"},
      {"serve.header_timeout", T::kDuration, 100, 300 * kSec, "TLS handshake, and reading request headers"},
      {"serve.body_timeout", T::kDuration, 100, 600 * kSec, "reading a request body, writing a response"},
      {"serve.drain_timeout", T::kDuration, 0, 300 * kSec, "SIGTERM: finishing in-flight work"},
      {"sessions.min_expires_in", T::kInteger, 1, 86400, "shortest expires_in a lender may ask for, seconds"},
      {"sessions.max_expires_in", T::kInteger, 1, 30 * 86400, "longest expires_in, seconds"},
      {"sessions.default_expires_in", T::kInteger, 1, 30 * 86400, "expires_in when the lender gives none, seconds"},
      {"sessions.max_attempts", T::kInteger, 1, 10, "capture attempts before the kiosk says ask staff"},
      {"camera.source", T::kPath},
      {"camera.width", T::kInteger, 160, 4096, "frame width asked of a device"},
      {"camera.height", T::kInteger, 120, 4096, "frame height asked of a device"},
      {"camera.fps", T::kInteger, 1, 120, "frame rate asked of a device"},
      {"camera.ring_frames", T::kInteger, 2, 64, "frames the camera ring keeps"},
      {"camera.frozen_after", T::kDuration, 100, 60 * kSec, "no new frame for this long: the camera is frozen"},
      {"camera.preview_max_width", T::kInteger, 160, 1920, "preview JPEG width at most"},
      {"camera.preview_max_height", T::kInteger, 120, 1080, "preview JPEG height at most"},
      {"camera.preview_quality", T::kInteger, 30, 95, "preview JPEG quality"},
      {"camera.preview_max_clients", T::kInteger, 1, 8, "preview streams at once"},
      {"kiosk.assets_dir", T::kPath},
      {"kiosk.locales", T::kStringList},
      {"kiosk.idle_reset", T::kDuration, 5 * kSec, 1 * kHour, "an idle kiosk screen is cleared after it"},
      // Below OWASP's argon2id floor (19 MiB, 2 passes / 46 MiB, 1 pass) a stolen hash is cheap to attack.
      {"console.argon2_memory_kib", T::kInteger, 19456, 4 * 1024 * 1024, "argon2id memory per password hash, KiB"},
      {"console.argon2_time_cost", T::kInteger, 1, 20, "argon2id passes over the memory"},
      {"console.argon2_parallelism", T::kInteger, 1, 16, "argon2id lanes"},
      {"console.max_concurrent_logins", T::kInteger, 1, 16, "argon2id verifications at once (memory each)"},
      {"console.lockout_threshold", T::kInteger, 3, 20, "consecutive failed logins that lock an account"},
      {"console.lockout_base", T::kDuration, 1 * kSec, 1 * kHour, "first lock; each further failure doubles it"},
      {"console.lockout_max", T::kDuration, 1 * kSec, 24 * kHour, "longest lock"},
      {"console.idle_timeout", T::kDuration, 1 * kMin, 30 * kMin, "a console session without a request ends"},
      {"console.absolute_timeout", T::kDuration, 15 * kMin, 12 * kHour, "a console session ends this long after login"},
      {"console.totp_issuer", T::kString},
  };
  return kSchema;
}

namespace {

std::string Num(double v) {
  std::ostringstream o;
  o << v;
  return o.str();
}

std::string Ms(double ms) {
  if (ms >= kHour && std::fmod(ms, kHour) == 0) return Num(ms / kHour) + "h";
  if (ms >= kMin && std::fmod(ms, kMin) == 0) return Num(ms / kMin) + "m";
  if (ms >= kSec && std::fmod(ms, kSec) == 0) return Num(ms / kSec) + "s";
  return Num(ms) + "ms";
}

std::string Range(const KeySpec& k, bool duration) {
  const std::string r = duration ? Ms(k.min) + ".." + Ms(k.max) : Num(k.min) + ".." + Num(k.max);
  return "must be within " + r + (*k.why ? std::string(" (") + k.why + ")" : "");
}

// A duration value: a string such as "5s", or an integer number of seconds.
std::optional<std::int64_t> DurationMs(const toml::node& n) {
  if (n.is_integer()) {
    auto d = ParseDuration(std::to_string(*n.value<std::int64_t>()) + "s");
    return d.ok() ? std::optional<std::int64_t>(d->count()) : std::nullopt;
  }
  if (n.is_string()) {
    auto d = ParseDuration(*n.value<std::string>());
    if (d.ok()) return d->count();
  }
  return std::nullopt;
}

std::optional<std::string> Check(const KeySpec& k, const toml::node& n) {
  const std::string name = k.key;  // dotted, as problems() names keys
  auto in = [&](double v) { return v >= k.min && v <= k.max; };
  switch (k.type) {
    case T::kString:
    case T::kPath:
      if (!n.is_string()) return name + ": expected a string";
      return std::nullopt;
    case T::kBool:
      if (!n.is_boolean()) return name + ": expected true or false";
      return std::nullopt;
    case T::kInteger: {
      if (!n.is_integer()) return name + ": expected a whole number";
      const auto v = *n.value<std::int64_t>();
      if (!in(static_cast<double>(v))) return name + " = " + std::to_string(v) + " " + Range(k, false);
      return std::nullopt;
    }
    case T::kNumber: {
      if (!n.is_floating_point() && !n.is_integer()) return name + ": expected a number";
      const double v = *n.value<double>();
      if (!std::isfinite(v)) return name + " is " + Num(v) + ": expected a finite number; it " + Range(k, false);
      if (!in(v)) return name + " = " + Num(v) + " " + Range(k, false);
      return std::nullopt;
    }
    case T::kDuration: {
      auto ms = DurationMs(n);
      if (!ms) return name + ": expected a duration such as \"5s\", \"5m\" or \"2h\" (not negative, at most a year)";
      if (!in(static_cast<double>(*ms))) return name + " = " + Ms(static_cast<double>(*ms)) + " " + Range(k, true);
      return std::nullopt;
    }
    case T::kStringList:
    case T::kDurationList: {
      const toml::array* arr = n.as_array();
      if (!arr) return name + ": expected a list of " + (k.type == T::kStringList ? "strings" : "durations");
      for (const auto& el : *arr)
        if (!el.is_string()) return name + ": expected a list of " + (k.type == T::kStringList ? "strings" : "durations such as \"5s\"");
      if (k.type == T::kStringList) return std::nullopt;
      if (static_cast<int>(arr->size()) < k.min_items || static_cast<int>(arr->size()) > k.max_items)
        return name + " has " + std::to_string(arr->size()) + " entries: it must have " + std::to_string(k.min_items) + ".." +
               std::to_string(k.max_items);
      for (const auto& el : *arr) {
        const std::string text = *el.value<std::string>();
        auto ms = DurationMs(el);
        if (!ms) return name + ": \"" + text + "\" is not a duration such as \"5s\", \"5m\" or \"2h\" (not negative, at most a year)";
        if (!in(static_cast<double>(*ms))) return name + ": \"" + text + "\" " + Range(k, true);
      }
      return std::nullopt;
    }
  }
  return std::nullopt;
}

// Edit distance (insert, delete, substitute, swap of neighbours) between two short names.
std::size_t Distance(const std::string& a, const std::string& b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i)
    for (std::size_t j = 1; j <= b.size(); ++j) {
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.size()][b.size()];
}

// The known name nearest to `name`, comparing `name` with what `project` makes of each (ties: the
// first in schema order).
template <typename Project>
std::string Nearest(const std::string& name, const std::vector<std::string>& known, Project project) {
  std::string best;
  std::size_t best_d = std::string::npos;
  for (const auto& k : known)
    if (std::size_t d = Distance(name, project(k)); d < best_d) best_d = d, best = k;
  return best;
}

// Keys and tables that no code reads: a typo (`[stroe]`, `treshold`) would otherwise leave the
// intended key at its default without a word. Each is named with the nearest known key or table.
std::vector<std::string> UnknownKeys(const toml::table& root) {
  std::vector<std::string> keys, tables, out;
  for (const auto& k : Schema()) {
    keys.push_back(k.key);
    const std::string table = keys.back().substr(0, keys.back().find('.'));
    if (std::find(tables.begin(), tables.end(), table) == tables.end()) tables.push_back(table);
  }
  auto same = [](const std::string& k) { return k; };
  auto last = [](const std::string& k) { return k.substr(k.rfind('.') + 1); };
  for (const auto& [tname, tnode] : root) {
    const std::string table(tname.str());
    if (!tnode.is_table()) {
      out.push_back("unknown key " + table + " outside any table (did you mean " + Nearest(table, keys, last) + "?)");
      continue;
    }
    if (std::find(tables.begin(), tables.end(), table) == tables.end()) {
      out.push_back("unknown table [" + table + "] (did you mean [" + Nearest(table, tables, same) + "]?)");
      continue;
    }
    std::vector<std::string> in_table;
    for (const auto& k : keys)
      if (k.rfind(table + ".", 0) == 0) in_table.push_back(k);
    for (const auto& [kname, knode] : *tnode.as_table()) {
      (void)knode;
      const std::string full = table + "." + std::string(kname.str());
      if (std::find(keys.begin(), keys.end(), full) == keys.end())
        out.push_back("unknown key " + full + " (did you mean " + Nearest(full, in_table, same) + "?)");
    }
  }
  return out;
}

}  // namespace

Config::Config() : impl_(std::make_unique<Impl>()) {}
Config::~Config() = default;
Config::Config(Config&&) noexcept = default;
Config& Config::operator=(Config&&) noexcept = default;
Config::Config(const Config& o) : impl_(std::make_unique<Impl>()), source_(o.source_), base_dir_(o.base_dir_) {
  impl_->table = o.impl_->table;
  impl_->problems = o.problems();
}
Config& Config::operator=(const Config& o) {
  if (this != &o) *this = Config(o);
  return *this;
}

Config Config::Empty() { return Config(); }

Result<Config> Config::Load(const std::filesystem::path& path) {
  auto text = ReadFileBounded(path, 1 << 20);
  if (!text.ok()) return text.status().WithContext("reading config");
  auto base = std::filesystem::absolute(path).parent_path();
  auto cfg = Parse(*text, base);
  if (!cfg.ok()) return cfg.status().WithContext(path.string());
  cfg->source_ = path;
  return cfg;
}

Result<Config> Config::Parse(const std::string& toml_text, const std::filesystem::path& base_dir) {
  Config cfg;
  cfg.base_dir_ = base_dir;
  try {
    cfg.impl_->table = toml::parse(toml_text);
  } catch (const toml::parse_error& e) {
    std::ostringstream msg;
    msg << "invalid TOML at line " << e.source().begin.line << ", column " << e.source().begin.column << ": "
        << e.description() << "; fix the file (config/veridge.example.toml documents every key)";
    return Status::InvalidInput("config_invalid", msg.str());
  }
  std::string bad;
  for (const auto& u : UnknownKeys(cfg.impl_->table)) bad += (bad.empty() ? "" : "; ") + u;
  for (const auto& k : Schema()) {
    auto n = cfg.impl_->At(k.key);
    if (!n) continue;
    if (auto p = Check(k, *n.node())) bad += (bad.empty() ? "" : "; ") + *p;
  }
  if (!bad.empty())
    return Status::InvalidInput("config_invalid", bad + " (config/veridge.example.toml documents every key and its range)");
  return cfg;
}

bool Config::Has(const std::string& key) const { return static_cast<bool>(impl_->At(key)); }

std::string Config::GetString(const std::string& key, const std::string& def) const {
  auto n = impl_->At(key);
  if (!n) return def;
  if (auto v = n.value<std::string>(); v && n.is_string()) return *v;
  impl_->Problem(key + ": expected a string");
  return def;
}

std::filesystem::path Config::GetPath(const std::string& key, const std::filesystem::path& def) const {
  if (!Has(key)) return def;
  std::filesystem::path p = GetString(key);
  if (p.empty()) return def;
  if (p.is_relative() && !base_dir_.empty()) p = base_dir_ / p;
  return p.lexically_normal();
}

std::int64_t Config::GetInt(const std::string& key, std::int64_t def) const {
  auto n = impl_->At(key);
  if (!n) return def;
  if (n.is_integer()) return *n.value<std::int64_t>();
  impl_->Problem(key + ": expected an integer");
  return def;
}

double Config::GetDouble(const std::string& key, double def) const {
  auto n = impl_->At(key);
  if (!n) return def;
  if (n.is_floating_point() || n.is_integer()) {
    const double v = *n.value<double>();
    if (std::isfinite(v)) return v;
  }
  impl_->Problem(key + ": expected a finite number");
  return def;
}

bool Config::GetBool(const std::string& key, bool def) const {
  auto n = impl_->At(key);
  if (!n) return def;
  if (n.is_boolean()) return *n.value<bool>();
  impl_->Problem(key + ": expected true or false");
  return def;
}

std::vector<std::string> Config::GetStringList(const std::string& key, const std::vector<std::string>& def) const {
  auto n = impl_->At(key);
  if (!n) return def;
  const toml::array* arr = n.as_array();
  if (!arr) {
    impl_->Problem(key + ": expected a list of strings");
    return def;
  }
  std::vector<std::string> out;
  for (const auto& el : *arr) {
    if (auto s = el.value<std::string>(); s && el.is_string()) {
      out.push_back(*s);
    } else {
      impl_->Problem(key + ": expected a list of strings");
      return def;
    }
  }
  return out;
}

std::chrono::milliseconds Config::GetDuration(const std::string& key, std::chrono::milliseconds def) const {
  auto n = impl_->At(key);
  if (!n) return def;
  if (auto ms = DurationMs(*n.node())) return std::chrono::milliseconds(*ms);
  impl_->Problem(key + ": expected a duration such as \"5s\", \"5m\" or \"2h\"");
  return def;
}

std::vector<std::chrono::milliseconds> Config::GetDurationList(const std::string& key,
                                                                const std::vector<std::chrono::milliseconds>& def) const {
  if (!Has(key)) return def;
  auto items = GetStringList(key);
  std::vector<std::chrono::milliseconds> out;
  for (const auto& s : items) {
    auto d = ParseDuration(s);
    if (!d.ok()) {
      impl_->Problem(key + ": \"" + s + "\" is not a duration such as \"5s\", \"5m\" or \"2h\"");
      return def;
    }
    out.push_back(*d);
  }
  return out;
}

std::vector<std::string> Config::problems() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->problems;
}

Result<std::chrono::milliseconds> ParseDuration(const std::string& text) {
  using namespace std::chrono;
  auto bad = [&] {
    return Status::InvalidInput("bad_duration", "\"" + text + "\" is not a duration; write e.g. 250ms, 5s, 5m, 2h or 1d");
  };
  if (text.empty()) return bad();
  std::int64_t n = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || n < 0) return bad();
  std::string unit(p, text.data() + text.size());
  std::int64_t per = 0;  // milliseconds per unit
  if (unit.empty() || unit == "s") per = 1000;
  else if (unit == "ms") per = 1;
  else if (unit == "m") per = 60'000;
  else if (unit == "h") per = 3'600'000;
  else if (unit == "d") per = 86'400'000;
  else return bad();
  // Checked before multiplying: "9223372036854775807s" once wrapped round to an immediate retry.
  if (n > kMaxDurationMs / per)
    return Status::InvalidInput("bad_duration", "\"" + text + "\" is longer than a year; no Veridge setting needs that");
  return milliseconds(n * per);
}

}  // namespace veridge::config
