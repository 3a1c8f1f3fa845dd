#include "config/config.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

#include "support/test_support.h"

using namespace veridge;
using namespace std::chrono_literals;

TEST_CASE("Config reads typed keys with defaults and resolves relative paths") {
  auto cfg = config::Config::Parse(R"(
[store]
path = "db/veridge.db"
[face]
threshold = 0.55
[policy]
require = ["face", "liveness"]
[outbox]
retry_schedule = ["0s", "5s", "5m", "2h"]
)", "/etc/veridge");
  REQUIRE(cfg.ok());
  CHECK(cfg->GetPath("store.path") == "/etc/veridge/db/veridge.db");
  CHECK(cfg->GetDouble("face.threshold", 0.6) == Approx(0.55));
  CHECK(cfg->GetDouble("face.missing", 0.6) == Approx(0.6));
  CHECK(cfg->GetStringList("policy.require") == std::vector<std::string>{"face", "liveness"});
  auto sched = cfg->GetDurationList("outbox.retry_schedule", {});
  REQUIRE(sched.size() == 4);
  CHECK(sched[2] == 5min);
  CHECK(sched[3] == 2h);
  CHECK(cfg->problems().empty());
}

TEST_CASE("Config refuses wrong types of known keys at load, and records them for other keys") {
  auto cfg = config::Config::Parse("[face]\nthreshold = \"high\"\n", "/");
  REQUIRE_FALSE(cfg.ok());
  CHECK(cfg.status().code() == "config_invalid");
  CHECK(cfg.status().message().find("face.threshold") != std::string::npos);

  // A getter that reads a key as another type than the schema's records the problem.
  auto other = config::Config::Parse("[store]\npath = \"v.db\"\n", "/");
  REQUIRE(other.ok());
  CHECK(other->GetDouble("store.path", 0.6) == Approx(0.6));
  REQUIRE(other->problems().size() == 1);
  CHECK(other->problems()[0].find("store.path") != std::string::npos);
}

// Issue 13, item 5: a typo left the intended key at its default, silently (an unknown key was
// read by nobody and checked by nothing).
TEST_CASE("An unknown key or table is config_invalid, naming it and the nearest known one") {
  struct Case {
    const char* toml;
    const char* names;    // the unknown key or table, as the message names it
    const char* nearest;  // the suggestion
  };
  const Case cases[] = {
      {"[stroe]\npath = \"v.db\"\n", "unknown table [stroe]", "did you mean [store]?"},
      {"[face]\ntreshold = 0.5\n", "unknown key face.treshold", "did you mean face.threshold?"},
      {"[outbox]\nretry_schedul = [\"0s\"]\n", "unknown key outbox.retry_schedul", "did you mean outbox.retry_schedule?"},
      {"[store]\npath = \"v.db\"\nkeyfile = \"k\"\n", "unknown key store.keyfile", "did you mean store.key_file?"},
      {"treshold = 0.5\n[face]\nthreshold = 0.5\n", "unknown key treshold outside any table", "did you mean face.threshold?"},
      {"[liveness]\nenabled = true\n[liveness.extra]\nx = 1\n", "unknown key liveness.extra", "did you mean liveness."},
  };
  for (const auto& c : cases) {
    INFO(c.toml);
    auto cfg = config::Config::Parse(c.toml, "/");
    REQUIRE_FALSE(cfg.ok());
    CHECK(cfg.status().code() == "config_invalid");
    CHECK(cfg.status().ExitCode() == 2);
    CHECK(cfg.status().message().find(c.names) != std::string::npos);
    CHECK(cfg.status().message().find(c.nearest) != std::string::npos);
    INFO(cfg.status().message());
  }
  // Every key of the schema is known: a config holding each of them is not refused for a name.
  std::string all, table;
  for (const auto& k : config::Schema()) {
    const std::string key = k.key, t = key.substr(0, key.find('.'));
    if (t != table) all += "[" + (table = t) + "]\n";
    all += key.substr(key.find('.') + 1) + " = 0\n";
  }
  auto cfg = config::Config::Parse(all, "/");
  REQUIRE_FALSE(cfg.ok());  // wrong types, of course
  CHECK(cfg.status().message().find("unknown") == std::string::npos);
}

TEST_CASE("Config rejects invalid TOML with the line number") {
  auto cfg = config::Config::Parse("[face\nthreshold = 1\n", "/");
  REQUIRE_FALSE(cfg.ok());
  CHECK(cfg.status().code() == "config_invalid");
  CHECK(cfg.status().message().find("line 1") != std::string::npos);
}

TEST_CASE("ParseDuration accepts the documented units only") {
  CHECK(*config::ParseDuration("250ms") == 250ms);
  CHECK(*config::ParseDuration("10h") == 10h);
  CHECK(*config::ParseDuration("1d") == 24h);
  CHECK_FALSE(config::ParseDuration("5 minutes").ok());
  CHECK_FALSE(config::ParseDuration("-5s").ok());
}

// ---- issue 13, item 5: the config fails closed ---------------------------------------------

namespace {
std::string Toml(const std::string& dotted, const std::string& value) {
  const auto dot = dotted.rfind('.');
  return "[" + dotted.substr(0, dot) + "]\n" + dotted.substr(dot + 1) + " = " + value + "\n";
}
Status ParseStatus(const std::string& text) { return config::Config::Parse(text, "/").status(); }
std::string Fmt(double v) {
  std::ostringstream o;
  o.precision(17);
  o << v;
  std::string s = o.str();
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s;
}
}  // namespace

TEST_CASE("Every numeric key has a range: one step outside either end is config_invalid naming the key") {
  int numeric = 0;
  for (const auto& k : config::Schema()) {
    const bool integer = k.type == config::KeyType::kInteger, number = k.type == config::KeyType::kNumber;
    if (!integer && !number) continue;
    ++numeric;
    INFO(k.key);
    const double step = integer ? 1 : std::max(1e-6, (k.max - k.min) * 1e-3);
    for (double bad : {k.min - step, k.max + step}) {
      const std::string v = integer ? std::to_string(static_cast<long long>(bad)) : Fmt(bad);
      Status st = ParseStatus(Toml(k.key, v));
      INFO(v);
      CHECK(st.code() == "config_invalid");
      CHECK(st.message().find(k.key) != std::string::npos);
      CHECK(st.ExitCode() == 2);
    }
    for (double good : {k.min, k.max}) {
      const std::string v = integer ? std::to_string(static_cast<long long>(good)) : Fmt(good);
      INFO(v);
      CHECK(ParseStatus(Toml(k.key, v)).ok());
    }
    if (number)
      for (const char* v : {"nan", "inf", "-inf"}) {
        INFO(v);
        CHECK(ParseStatus(Toml(k.key, v)).code() == "config_invalid");
      }
    CHECK(ParseStatus(Toml(k.key, "\"7\"")).code() == "config_invalid");  // a string is not a number
  }
  CHECK(numeric >= 11);
}

TEST_CASE("The found cases: a threshold of 100, NaN, an 11-year or overflowing or negative retry, batch = -1") {
  CHECK(ParseStatus("[face]\nthreshold = 100.0\n").code() == "config_invalid");
  CHECK(ParseStatus("[face]\nthreshold = nan\n").code() == "config_invalid");
  CHECK(ParseStatus("[liveness]\npad_threshold = inf\n").code() == "config_invalid");
  CHECK(ParseStatus("[outbox]\nbatch = -1\n").code() == "config_invalid");
  for (const char* sched : {R"(["0s", "100000h"])", R"(["9223372036854775807s"])", R"(["-5s"])", R"([])", R"([5])"}) {
    INFO(sched);
    Status st = ParseStatus(std::string("[outbox]\nretry_schedule = ") + sched + "\n");
    CHECK(st.code() == "config_invalid");
    CHECK(st.message().find("outbox.retry_schedule") != std::string::npos);
  }
  CHECK(ParseStatus(R"([outbox]
retry_schedule = ["0s", "24h"])").ok());
  // Durations: overflow, negatives and a non-duration are refused for every duration key.
  for (const auto& k : config::Schema()) {
    if (k.type != config::KeyType::kDuration) continue;
    INFO(k.key);
    for (const char* v : {"\"9223372036854775807s\"", "\"-5s\"", "-5", "\"5 minutes\"", "\"100000h\""})
      CHECK(ParseStatus(Toml(k.key, v)).code() == "config_invalid");
  }
  // Wrong types of path keys (store.path = 42) are refused at load too.
  CHECK(ParseStatus("[store]\npath = 42\n").code() == "config_invalid");
  CHECK(ParseStatus("[policy]\nrequire = \"face\"\n").code() == "config_invalid");
}

TEST_CASE("ParseDuration refuses what would overflow a millisecond count") {
  CHECK_FALSE(config::ParseDuration("9223372036854775807s").ok());
  CHECK_FALSE(config::ParseDuration("9223372036854775807ms").ok());
  CHECK_FALSE(config::ParseDuration("400d").ok());
  CHECK(*config::ParseDuration("366d") == std::chrono::hours(24 * 366));
}

TEST_CASE("The example config passes, and each of its numbers and durations has a schema range") {
  const auto example = testing::SourceDir() / "config/veridge.example.toml";
  auto cfg = config::Config::Load(example);
  INFO(cfg.status().ToString());
  REQUIRE(cfg.ok());
  std::ifstream in(example);
  std::string section, line;
  int checked = 0;
  while (std::getline(in, line)) {
    if (line.rfind("[", 0) == 0) {
      section = line.substr(1, line.find(']') - 1);
      continue;
    }
    const auto eq = line.find(" = ");
    if (line.empty() || line[0] == '#' || eq == std::string::npos) continue;
    const std::string key = section + "." + line.substr(0, line.find_first_of(" =")), value = line.substr(eq + 3);
    INFO(key);
    const config::KeySpec* spec = nullptr;
    for (const auto& k : config::Schema())
      if (key == k.key) spec = &k;
    CHECK(spec);  // every key the example documents is in the schema
    if (!spec) continue;
    const bool looks_numeric = !value.empty() && (std::isdigit(static_cast<unsigned char>(value[0])) || value[0] == '-');
    const bool looks_duration = value.size() > 2 && value[0] == '"' && std::isdigit(static_cast<unsigned char>(value[1]));
    // A string such as an address ("127.0.0.1:8080") may start with a digit too: only numbers and
    // durations have ranges.
    if ((looks_numeric || looks_duration) && spec->type != config::KeyType::kString) {
      CHECK((spec->type == config::KeyType::kInteger || spec->type == config::KeyType::kNumber ||
             spec->type == config::KeyType::kDuration || spec->type == config::KeyType::kDurationList));
      CHECK(spec->max > spec->min);
      CHECK(line.find("range") != std::string::npos);  // and the file states the range
      ++checked;
    }
  }
  CHECK(checked >= 15);
}
