// veridge doctor: checks what a working appliance needs and prints, for each gap, what to do.
// Checks: config (syntax, schema ranges and types, known factors) through the same loader and
// option builders the commands use (LoadConfigStrict, Build*Options, BuildLenderUrl); with
// --config, the keys an appliance needs ([device], [store], [lender]); the lender URL as delivery
// parses it; the lender TLS files (the HTTPS client outbox run builds); the webhook secret (mode 0600, whsec_ format); the store (opened with the configured
// key, never created); every model of models/manifest.json (present, sha256, licence notes), the
// PAD models, the tools the certificate factor needs, and the key files (present, mode 0600).
// Exit 0 when everything required is there; 2 when a failing check is bad input (the config or
// a file it names: what the operator must fix); else 3 (missing models or tools, a damaged store).
#include <sys/stat.h>

#include <cerrno>
#include <filesystem>
#include <iostream>

#include "app/cli.h"
#include "app/options.h"
#include "common/files.h"
#include "liveness/pad.h"
#include "outbox/signing.h"
#include "store/store.h"
#include "vision/models.h"

namespace veridge::app {
namespace {

struct Check {
  std::string name;
  bool ok = false;
  bool required = true;  // a failed optional check is a warning
  std::string detail;    // what was found, or what to do
  int exit_code = kExitInternal;  // when it fails: kExitBadInput for what the operator must fix
};

Check FromStatus(const std::string& name, const Status& st, const std::string& ok_detail) {
  return {name, st.ok(), true, st.ok() ? ok_detail : st.ToString(), st.ok() ? kExitOk : st.ExitCode()};
}

// The checks only a config can fail: run the same builders the commands run, so that a config
// doctor passes is one every command accepts.
void CheckAppliance(const config::Config& cfg, const std::string& config_path, std::vector<Check>& out) {
  std::string missing;
  for (const char* key : {"device.key_file", "device.cert_chain", "store.path", "store.key_file", "lender.url",
                          "lender.webhook_secret_file"})
    if (!cfg.Has(key)) missing += (missing.empty() ? "" : ", ") + std::string(key);
  out.push_back({"config keys", missing.empty(), true,
                 missing.empty() ? "the keys an appliance needs are set"
                                 : config_path + " does not set " + missing + " (config/veridge.example.toml shows each)",
                 kExitBadInput});

  if (cfg.Has("lender.url")) {
    auto url = BuildLenderUrl(cfg);
    out.push_back(FromStatus("lender.url", url.status(), url.ok() ? *url + " (https, as delivery requires)" : ""));
  }
  auto client = BuildHttpsClientOptions(cfg);
  auto delivery = BuildDeliveryOptions(cfg);
  out.push_back(FromStatus("outbox settings", client.ok() ? delivery.status() : client.status(), "within their ranges"));
  if (client.ok()) {
    // The client `outbox run` would build: loads the lender CA bundle, pin and mTLS files (no
    // connection is made).
    auto https = net::HttpsClient::Create(*client);
    out.push_back(FromStatus("lender TLS", https.status(), "CA bundle and client files load"));
  }

  if (cfg.Has("lender.webhook_secret_file")) {
    const auto path = cfg.GetPath("lender.webhook_secret_file");
    auto text = ReadSecretFile(path);
    Status st = text.status();
    if (text.ok()) st = outbox::WebhookSecret::Parse(*text).status().WithContext(path.string());
    out.push_back(FromStatus("lender.webhook_secret_file", st, path.string() + " present, mode 0600, whsec_ format"));
  }

  if (cfg.Has("store.path")) {
    auto so = BuildStoreOptions(cfg);
    if (!so.ok()) {
      out.push_back(FromStatus("store", so.status(), ""));
    } else {
      std::error_code ec;
      if (!std::filesystem::exists(so->path, ec)) {
        out.push_back({"store", false, false, so->path.string() + " does not exist yet (the first session creates it)", kExitOk});
      } else {
        // Never creates: doctor only looks. Opening proves the key file is well-formed AND is the
        // key of this store (a wrong key fails here, not at the first session).
        so->create_if_missing = false;
        auto opened = store::Store::Open(*so);
        out.push_back(FromStatus("store", opened.status(), so->path.string() + " opens with " + so->key_file.string()));
      }
    }
  }
}

std::vector<Check> RunChecks(const std::string& config_path) {
  std::vector<Check> out;
  config::Config cfg = config::Config::Empty();
  if (!config_path.empty()) {
    auto loaded = LoadConfigStrict(config_path);
    out.push_back(FromStatus("config", loaded.status(), config_path + " is valid"));
    if (loaded.ok()) {  // else the remaining checks run on the defaults
      cfg = *loaded;
      CheckAppliance(cfg, config_path, out);
    }
  } else {
    out.push_back({"config", true, false, "no --config given: checking the defaults only", kExitOk});
  }

  const auto model_dir = ModelDir(cfg);
  for (const auto& m : vision::ManifestModels()) {
    auto r = vision::ResolveModel(model_dir, m.file, /*verify=*/true);
    const bool optional = IsOptionalModel(m.name);
    std::string detail = r.ok() ? (model_dir / m.file).string() + " sha256 ok (" + m.source + ")" : r.status().message();
    if (m.licence.find("COMMERCIAL") != std::string::npos || m.licence.find("commercial") != std::string::npos)
      detail += "; licence: " + m.licence;
    out.push_back({"model " + m.name, r.ok(), !optional, detail});
  }
  auto pad = liveness::PadModel::CheckFiles(model_dir);
  out.push_back({"liveness PAD models", pad.ok(), cfg.GetBool("liveness.enabled", true),
                 pad.ok() ? "MiniFASNetV2 + V1SE present" : pad.message() + " (liveness fails closed without them)"});

  auto cert = BuildCertificateOptions(cfg);
  if (!cert.ok()) {
    out.push_back(FromStatus("certificate factor", cert.status(), ""));
  } else if (cert->has_value()) {
    std::error_code ec;
    bool mod = std::filesystem::exists((*cert)->module_path, ec);
    out.push_back({"PKCS#11 module", mod, true,
                   (*cert)->module_path.string() + (mod ? " present" : " missing: apt-get install opensc (real cards) or softhsm2 (tests)")});
  } else {
    out.push_back({"certificate factor", true, false, "not configured ([certificate].pkcs11_module unset): the policy reports it missing if required"});
  }

  for (const char* key : {"store.key_file", "device.key_file"}) {
    if (!cfg.Has(key)) continue;
    auto p = cfg.GetPath(key);
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0) {
      const int e = errno;
      out.push_back({key, false, true,
                     e == ENOENT ? p.string() + " missing: run veridge keys init --config " + config_path : OpenError(p, e).message(),
                     kExitBadInput});
    } else if (!S_ISREG(st.st_mode)) {
      // A directory or FIFO is no key however it is chmod-ed: say what it is, not "chmod 600".
      out.push_back({key, false, true, RegularFileOrAbsent(p).status().message(), kExitBadInput});
    } else {
      bool safe = (st.st_mode & 077) == 0;
      out.push_back({key, safe, true, p.string() + (safe ? " present, mode 0600" : " is group/world accessible: chmod 600 " + p.string()),
                     kExitBadInput});
    }
  }
  return out;
}

}  // namespace

void RegisterDoctorCommand(CLI::App& app, CommandContext& ctx) {
  auto* cmd = app.add_subcommand("doctor", "Check packages, models, keys and config; say how to fix what is missing");
  auto config_path = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  cmd->add_option("--config", *config_path, "Configuration file");
  cmd->add_flag("--json", *json, "Machine-readable output");
  cmd->callback([&ctx, config_path, json] {
    auto checks = RunChecks(*config_path);
    bool all_ok = true;
    bool bad_input = false;
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& c : checks) {
      if (c.required && !c.ok) {
        all_ok = false;
        if (c.exit_code == kExitBadInput) bad_input = true;
      }
      arr.push_back({{"name", c.name}, {"ok", c.ok}, {"required", c.required}, {"detail", c.detail}});
      if (!*json) std::cout << (c.ok ? "ok    " : c.required ? "FAIL  " : "warn  ") << c.name << ": " << c.detail << "\n";
    }
    if (*json) PrintJson({{"ok", all_ok}, {"checks", arr}});
    else std::cout << (all_ok ? "\nveridge doctor: ready\n" : "\nveridge doctor: not ready — fix the FAIL lines above\n");
    ctx.exit_code = all_ok ? kExitOk : bad_input ? kExitBadInput : kExitInternal;
  });
}

}  // namespace veridge::app
