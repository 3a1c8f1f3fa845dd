#include "config/config.h"

#include <fstream>

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

TEST_CASE("Config records wrong types instead of guessing") {
  auto cfg = config::Config::Parse("[face]\nthreshold = \"high\"\n", "/");
  REQUIRE(cfg.ok());
  CHECK(cfg->GetDouble("face.threshold", 0.6) == Approx(0.6));
  REQUIRE(cfg->problems().size() == 1);
  CHECK(cfg->problems()[0].find("face.threshold") != std::string::npos);
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
