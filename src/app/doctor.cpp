// veridge doctor: checks what a working appliance needs and prints, for each gap, what to do.
// Checks: config (syntax, types, known factors), every model of models/manifest.json (present,
// sha256, licence notes), the PAD models, the tools the certificate factor needs, and the key files
// the config names (present, mode 0600). Exit 0 when everything required is there, else 3.
#include <sys/stat.h>

#include <filesystem>
#include <iostream>

#include "app/cli.h"
#include "app/options.h"
#include "liveness/pad.h"
#include "vision/models.h"

namespace veridge::app {
namespace {

struct Check {
  std::string name;
  bool ok = false;
  bool required = true;  // a failed optional check is a warning
  std::string detail;    // what was found, or what to do
};

std::vector<Check> RunChecks(const std::string& config_path) {
  std::vector<Check> out;
  config::Config cfg = config::Config::Empty();
  if (!config_path.empty()) {
    auto loaded = LoadConfigStrict(config_path);
    out.push_back({"config", loaded.ok(), true, loaded.ok() ? config_path + " is valid" : loaded.status().ToString()});
    if (loaded.ok()) cfg = *loaded;
  } else {
    out.push_back({"config", true, false, "no --config given: checking the defaults only"});
  }

  const auto model_dir = ModelDir(cfg);
  for (const auto& m : vision::ManifestModels()) {
    auto r = vision::ResolveModel(model_dir, m.file, /*verify=*/true);
    // YuNet is optional (HOG is the default detector), and so are the fast-loading forms of the
    // landmark model and the HOG detector (without them start-up is slower); everything else is
    // needed by some factor.
    const bool optional = m.name.rfind("yunet", 0) == 0 || m.name == "shape_predictor_68_face_landmarks_flat" ||
                          m.name == "dlib_frontal_face_detector";
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
    out.push_back({"certificate factor", false, true, cert.status().ToString()});
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
      out.push_back({key, false, true, p.string() + " missing: run veridge keys init --config " + config_path});
    } else {
      bool safe = (st.st_mode & 077) == 0;
      out.push_back({key, safe, true, p.string() + (safe ? " present, mode 0600" : " is group/world accessible: chmod 600 " + p.string())});
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
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& c : checks) {
      if (c.required && !c.ok) all_ok = false;
      arr.push_back({{"name", c.name}, {"ok", c.ok}, {"required", c.required}, {"detail", c.detail}});
      if (!*json) std::cout << (c.ok ? "ok    " : c.required ? "FAIL  " : "warn  ") << c.name << ": " << c.detail << "\n";
    }
    if (*json) PrintJson({{"ok", all_ok}, {"checks", arr}});
    else std::cout << (all_ok ? "\nveridge doctor: ready\n" : "\nveridge doctor: not ready — fix the FAIL lines above\n");
    ctx.exit_code = all_ok ? kExitOk : kExitInternal;
  });
}

}  // namespace veridge::app
