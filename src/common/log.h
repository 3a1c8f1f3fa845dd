// common/log.h — logging set-up. Modules log through spdlog's default logger (to stderr, so
// stdout stays clean for the CLI's JSON). Never log secrets, PINs, keys, descriptors or images;
// an applicant reference is logged only as its session id.
#pragma once

#include <spdlog/spdlog.h>

#include <string>

namespace veridge {

// level: "trace".."off"; VERIDGE_LOG in the environment overrides it. Idempotent.
void InitLogging(const std::string& level = "warn");

}  // namespace veridge
