#include "common/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <cstdlib>

namespace veridge {

void InitLogging(const std::string& level) {
  static bool done = false;
  if (!done) {
    auto logger = spdlog::stderr_color_mt("veridge");
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
    spdlog::set_default_logger(logger);
    done = true;
  }
  const char* env = std::getenv("VERIDGE_LOG");
  spdlog::set_level(spdlog::level::from_str(env ? env : level));
}

}  // namespace veridge
