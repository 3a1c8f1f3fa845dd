// API token commands (issue 11):
//   veridge token create --config FILE --name NAME [--json]   the token is printed once, here only
//   veridge token revoke ID --config FILE [--json]
//   veridge token list --config FILE [--json]               ids, names, dates; never a token or hash
#include <iostream>

#include "api/api.h"
#include "app/cli.h"
#include "app/options.h"
#include "common/clock.h"
#include "store/store.h"

namespace veridge::app {
namespace {

Result<std::unique_ptr<store::Store>> OpenStore(const std::string& config_path) {
  auto cfg = LoadConfigStrict(config_path);
  if (!cfg.ok()) return cfg.status();
  auto so = BuildStoreOptions(*cfg);
  if (!so.ok()) return so.status();
  return store::Store::Open(*so);
}

}  // namespace

void RegisterTokenCommands(CLI::App& app, CommandContext& ctx) {
  auto* cmd = app.add_subcommand("token", "Lender/staff API tokens (stored only as SHA-256 hashes)");
  cmd->require_subcommand(1);
  struct Opts {
    std::string config, name, id;
    bool json = false;
  };
  auto o = std::make_shared<Opts>();

  auto* create = cmd->add_subcommand("create", "Create a token; it is printed once and cannot be shown again");
  create->add_option("--config", o->config, "Configuration file")->required();
  create->add_option("--name", o->name, "What the token is for, e.g. lender-prod (1..64 of A-Z a-z 0-9 . _ -)")->required();
  create->add_flag("--json", o->json, "Machine-readable output");
  create->callback([&ctx, o] {
    auto store = OpenStore(o->config);
    if (!store.ok()) { ctx.exit_code = ReportError(store.status(), o->json); return; }
    auto t = api::CreateToken(**store, o->name, SystemClock::Instance().NowUnixSeconds(), CliActor());
    if (!t.ok()) { ctx.exit_code = ReportError(t.status(), o->json); return; }
    if (o->json) {
      PrintJson({{"id", t->id}, {"name", t->name}, {"created_at", t->created_at}, {"token", t->token}});
    } else {
      std::cout << "created token " << t->id << " (" << t->name << "). It is shown only now: put it in the lender's secret store.\n"
                << t->token << "\n";
    }
    std::fill(t->token.begin(), t->token.end(), '\0');
    ctx.exit_code = kExitOk;
  });

  auto* revoke = cmd->add_subcommand("revoke", "Revoke a token by id; requests with it get 401 from now on");
  revoke->add_option("ID", o->id, "Token id (tok_...), from `veridge token list`")->required();
  revoke->add_option("--config", o->config, "Configuration file")->required();
  revoke->add_flag("--json", o->json, "Machine-readable output");
  revoke->callback([&ctx, o] {
    auto store = OpenStore(o->config);
    if (!store.ok()) { ctx.exit_code = ReportError(store.status(), o->json); return; }
    if (Status st = (*store)->RevokeApiToken(o->id, SystemClock::Instance().NowUnixSeconds(), CliActor()); !st.ok()) {
      ctx.exit_code = ReportError(st, o->json);
      return;
    }
    if (o->json) PrintJson({{"id", o->id}, {"revoked", true}});
    else std::cout << "revoked " << o->id << "\n";
    ctx.exit_code = kExitOk;
  });

  auto* list = cmd->add_subcommand("list", "List tokens: id, name, created, revoked (never the token)");
  list->add_option("--config", o->config, "Configuration file")->required();
  list->add_flag("--json", o->json, "Machine-readable output");
  list->callback([&ctx, o] {
    auto store = OpenStore(o->config);
    if (!store.ok()) { ctx.exit_code = ReportError(store.status(), o->json); return; }
    auto tokens = (*store)->ListApiTokens();
    if (!tokens.ok()) { ctx.exit_code = ReportError(tokens.status(), o->json); return; }
    for (const auto& t : *tokens) {
      if (o->json) {
        PrintJson({{"id", t.id}, {"name", t.name}, {"created_at", t.created_at},
                   {"revoked_at", t.revoked_at ? nlohmann::json(*t.revoked_at) : nlohmann::json()}});
      } else {
        std::cout << t.id << "  " << t.name << "  created " << UtcTime(t.created_at)
                  << (t.revoked_at ? "  REVOKED " + UtcTime(*t.revoked_at) : std::string("  active")) << "\n";
      }
    }
    if (!o->json && tokens->empty()) std::cout << "no tokens: create one with veridge token create --config FILE --name NAME\n";
    ctx.exit_code = kExitOk;
  });
}

}  // namespace veridge::app
