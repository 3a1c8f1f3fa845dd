// config/config.h — the Veridge configuration file (TOML), parsed once into an immutable value.
//
// Contract
//  * `Config::Load(path)` parses and validates syntax; relative paths inside the file are resolved
//    against the file's own directory (so a config and its keys can travel together).
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

// Parses "250ms", "5s", "5m", "2h", "1d" (a bare number is seconds).
Result<std::chrono::milliseconds> ParseDuration(const std::string& text);

}  // namespace veridge::config
