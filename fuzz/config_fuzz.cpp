// fuzz/config_fuzz.cpp — libFuzzer target: config::Config::Parse (toml++ underneath) on arbitrary
// TOML text, then every key of the schema read with its typed getter, then ParseDuration on the
// same text.
//
// What must hold: no crash or sanitizer report, and no exception escapes (the loader turns every
// toml++ error into a Status; a getter records a type problem instead of throwing).
#include <cstddef>
#include <cstdint>
#include <string>

#include "config/config.h"

using veridge::config::KeyType;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  (void)veridge::config::ParseDuration(text);
  auto cfg = veridge::config::Config::Parse(text, "/nonexistent-fuzz-base");
  if (!cfg.ok()) return 0;
  for (const auto& k : veridge::config::Schema()) {
    switch (k.type) {
      case KeyType::kString: (void)cfg->GetString(k.key); break;
      case KeyType::kPath: (void)cfg->GetPath(k.key); break;
      case KeyType::kBool: (void)cfg->GetBool(k.key); break;
      case KeyType::kInteger: (void)cfg->GetInt(k.key); break;
      case KeyType::kNumber: (void)cfg->GetDouble(k.key); break;
      case KeyType::kDuration: (void)cfg->GetDuration(k.key, std::chrono::milliseconds(1)); break;
      case KeyType::kStringList: (void)cfg->GetStringList(k.key); break;
      case KeyType::kDurationList: (void)cfg->GetDurationList(k.key, {}); break;
    }
  }
  (void)cfg->problems();
  return 0;
}
