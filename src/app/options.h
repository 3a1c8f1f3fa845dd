// app/options.h — reads config keys into each module's Options (modules never see the Config).
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "config/config.h"
#include "liveness/liveness.h"
#include "store/store.h"
#include "verify/certificate_factor.h"
#include "verify/verify.h"

namespace veridge::app {

// The model directory: [models].dir, else $VERIDGE_MODEL_DIR, else the build's development model dir.
std::filesystem::path ModelDir(const config::Config& cfg);

// [device], [models], [face], [policy] → VerifyOptions. Type errors land in cfg.problems().
verify::VerifyOptions BuildVerifyOptions(const config::Config& cfg);

// [liveness] → LivenessOptions (+ the challenge request). enabled=false turns the factor off.
struct LivenessSetup {
  bool enabled = true;
  liveness::LivenessOptions options;
  liveness::CheckRequest request;
};
Result<LivenessSetup> BuildLivenessSetup(const config::Config& cfg);

// [certificate] → the certificate factor's options; std::nullopt when no pkcs11_module is set
// (the factor is then not run, and the policy reports it missing if it is required).
Result<std::optional<verify::CertificateFactorOptions>> BuildCertificateOptions(const config::Config& cfg);

// [store] → StoreOptions for an existing store (create_if_missing = false), with the audit hasher:
// every store the app opens can append audit events (decisions, dead letters, replays, rekeys).
// Code config_invalid when the config has type problems or [store].path / key_file is unset.
Result<store::StoreOptions> BuildStoreOptions(const config::Config& cfg);

// Loads the config and fails (code config_invalid) on any type problem: a wrong config fails closed.
Result<config::Config> LoadConfigStrict(const std::string& path);

}  // namespace veridge::app
