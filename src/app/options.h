// app/options.h — reads config keys into each module's Options (modules never see the Config).
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "config/config.h"
#include "fraud/fraud.h"
#include "liveness/liveness.h"
#include "net/https_client.h"
#include "outbox/worker.h"
#include "store/store.h"
#include "verify/certificate_factor.h"
#include "verify/verify.h"

namespace veridge::app {

// The model directory: [models].dir, else $VERIDGE_MODEL_DIR, else DefaultModelDir() (app/install_layout.h:
// <prefix>/share/veridge/models when installed, the build's development model dir otherwise).
std::filesystem::path ModelDir(const config::Config& cfg);

// Models the appliance runs without (faster or alternative forms): YuNet (HOG is the default
// detector), the flat landmark model and the serialised HOG detector (without them start-up is
// slower). Every other manifest model is needed by some factor.
bool IsOptionalModel(const std::string& manifest_name);

// [device], [models], [face], [policy] → VerifyOptions. Type errors land in cfg.problems().
verify::VerifyOptions BuildVerifyOptions(const config::Config& cfg);

// [fraud] and [face].threshold → the 1:N checks' options (fraud::Screener). Code config_invalid.
Result<fraud::ScreenOptions> BuildScreenOptions(const config::Config& cfg);

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
// Code config_invalid when the config has type problems or [store].path / key_file is unset;
// not_a_file / bad_path (exit 2) when [store].path or its -wal, -shm, -journal, .lock or .anchor companion
// exists but is not a regular file (a FIFO there would block SQLite's open forever).
Result<store::StoreOptions> BuildStoreOptions(const config::Config& cfg);

// Creates the store at [store].path when nothing (or an empty file without an anchor) is there —
// for `keys init` and `db init`, the only commands that create a store. Returns true when it was
// created, false when a store was there already (it is opened and checked against its anchor, so a
// wiped, rolled-back or replaced store is reported, never replaced by a new one).
Result<bool> InitStore(const config::Config& cfg);

// Type errors met by the getters so far, as config_invalid (Ok when none): a command that read
// keys checks this before acting, so a wrong config fails closed.
Status ConfigProblems(const config::Config& cfg);

// [lender].url, checked with the same parser delivery uses (net::ParseHttpsUrl): https:// only,
// a host, no user-info. Code config_invalid (naming the key) when unset or refused, so `verify`
// refuses a URL before a session starts rather than queueing a result that can never be sent.
Result<std::string> BuildLenderUrl(const config::Config& cfg);

// [lender] TLS files and [outbox] timeouts → the HTTPS client's options. Code config_invalid.
Result<net::HttpsClientOptions> BuildHttpsClientOptions(const config::Config& cfg);

// [outbox] → the delivery worker's options (ranges are checked at load by the config schema and
// again here, for a Config built another way). Code config_invalid.
Result<outbox::DeliveryOptions> BuildDeliveryOptions(const config::Config& cfg);

// Loads the config and fails (code config_invalid) on any schema or type problem, or an unknown
// factor: a wrong config fails closed. Every command and `doctor` load through this.
Result<config::Config> LoadConfigStrict(const std::string& path);

}  // namespace veridge::app
