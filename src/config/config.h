// config/config.h — the Veridge configuration file (TOML), parsed once into an immutable value.
//
// Contract
//  * `Config::Load(path)` parses the file and checks it against the schema below; relative paths
//    inside the file are resolved against the file's own directory (so a config and its keys can
//    travel together).
//  * Schema: every key Veridge reads is listed in Schema() with its type and, for numbers and
//    durations, the inclusive range it must lie in (the same ranges are written beside each key
//    in config/veridge.example.toml). Load/Parse fail with code config_invalid, naming every bad
//    key, when a listed key has the wrong type, is NaN or infinite, lies outside its range, or is
//    a duration that does not parse (negative, unknown unit, too long to represent). So a value
//    that would fail open (a face threshold of 100, an 11-year retry, batch = -1) never reaches a
//    command. A key or table outside the schema is read by no code, so it is a typo or a leftover:
//    config_invalid too, naming it and the nearest known key or table ("unknown key
//    face.treshold (did you mean face.threshold?)", "unknown table [stroe] (did you mean
//    [store]?)"). A new key must therefore be added to Schema() in the same change as its reader.
//  * Typed getters return the value or the documented default, and record a problem when a key is
//    present with the wrong type; `Config::problems()` lists them ("store.path: expected a string").
//    app/ turns them into a start-up error: a wrong config fails closed, it is never half-read.
//  * Modules never see Config: app/ reads the keys a module needs into that module's Options.
//  * Every key and default is documented in config/veridge.example.toml.
//  * Immutable after Load; safe to read from several threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace veridge::config {

enum class KeyType { kString, kPath, kBool, kInteger, kNumber, kDuration, kStringList, kDurationList };

struct KeySpec {
  const char* key;   // dotted: "face.threshold"
  KeyType type;
  // kInteger, kNumber: the value's range. kDuration, kDurationList: the range of each duration, in
  // milliseconds. Inclusive. Unused for the other types.
  double min = 0;
  double max = 0;
  const char* why = "";  // what the range protects; ends the error message
  // kDurationList only: how many entries the list may have.
  int min_items = 0;
  int max_items = 0;
};

// The schema, one entry per key (config.cpp).
const std::vector<KeySpec>& Schema();

// Durations longer than this do not parse (they would overflow a millisecond count, and no key
// needs one): "9223372036854775807s" is an error, not an immediate retry.
inline constexpr std::int64_t kMaxDurationMs = 366LL * 24 * 3600 * 1000;

class Config {
 public:
  static Result<Config> Load(const std::filesystem::path& path);
  static Result<Config> Parse(const std::string& toml_text, const std::filesystem::path& base_dir);
  // An empty configuration: every getter returns its default.
  static Config Empty();

  // Dotted keys: "store.path", "outbox.retry_schedule".
  bool Has(const std::string& key) const;
  std::string GetString(const std::string& key, const std::string& def = "") const;
  // A path: relative values are resolved against the config file's directory.
  std::filesystem::path GetPath(const std::string& key, const std::filesystem::path& def = {}) const;
  std::int64_t GetInt(const std::string& key, std::int64_t def = 0) const;
  double GetDouble(const std::string& key, double def = 0.0) const;
  bool GetBool(const std::string& key, bool def = false) const;
  std::vector<std::string> GetStringList(const std::string& key, const std::vector<std::string>& def = {}) const;
  // Durations written as "250ms", "5s", "5m", "2h", "1d".
  std::chrono::milliseconds GetDuration(const std::string& key, std::chrono::milliseconds def) const;
  std::vector<std::chrono::milliseconds> GetDurationList(const std::string& key,
                                                          const std::vector<std::chrono::milliseconds>& def) const;

  const std::filesystem::path& source() const { return source_; }
  const std::filesystem::path& base_dir() const { return base_dir_; }
  // Type errors met by the getters so far (and at load). Empty means the config is sound.
  std::vector<std::string> problems() const;

  Config(const Config&);
  Config& operator=(const Config&);
  Config(Config&&) noexcept;
  Config& operator=(Config&&) noexcept;
  ~Config();

 private:
  Config();
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::filesystem::path source_;
  std::filesystem::path base_dir_;
};

// Parses "250ms", "5s", "5m", "2h", "1d" (a bare number is seconds). Refuses negatives, other
// units and anything over kMaxDurationMs (code bad_duration).
Result<std::chrono::milliseconds> ParseDuration(const std::string& text);

}  // namespace veridge::config
