#include "config/config.h"

#include <toml++/toml.h>

#include <charconv>
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
  if (n.is_floating_point() || n.is_integer()) return *n.value<double>();
  impl_->Problem(key + ": expected a number");
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
  if (n.is_integer()) return std::chrono::seconds(*n.value<std::int64_t>());
  if (n.is_string()) {
    auto d = ParseDuration(*n.value<std::string>());
    if (d.ok()) return *d;
  }
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
  if (unit.empty() || unit == "s") return milliseconds(seconds(n));
  if (unit == "ms") return milliseconds(n);
  if (unit == "m") return milliseconds(minutes(n));
  if (unit == "h") return milliseconds(hours(n));
  if (unit == "d") return milliseconds(hours(24 * n));
  return bad();
}

}  // namespace veridge::config
