// Staff account commands (issue 14). The password is never an argument: it is read from the
// terminal (twice, without echo) or, when stdin is not a terminal, as one line from stdin, so it
// never appears in argv, the shell history or `ps`.
//   veridge staff add --role operator|supervisor|auditor|admin NAME --config FILE [--json]
//   veridge staff passwd NAME --config FILE [--json]    new password; ends the account's sessions
//   veridge staff disable NAME --config FILE [--json]   the account can no longer log in
//   veridge staff list --config FILE [--json]           id, name, role, TOTP, state; never a hash or key
#include <termios.h>
#include <unistd.h>

#include <iostream>
#include <openssl/crypto.h>

#include "app/cli.h"
#include "app/options.h"
#include "app/serve.h"
#include "common/clock.h"
#include "console/console.h"
#include "store/store.h"

namespace veridge::app {
namespace {

struct StaffSetup {
  std::unique_ptr<store::Store> store;
  console::ConsoleOptions console;
};

Result<StaffSetup> Open(const std::string& config_path) {
  auto cfg = LoadConfigStrict(config_path);
  if (!cfg.ok()) return cfg.status();
  auto co = BuildConsoleOptions(*cfg);
  if (!co.ok()) return co.status();
  auto so = BuildStoreOptions(*cfg);
  if (!so.ok()) return so.status();
  auto st = store::Store::Open(*so);
  if (!st.ok()) return st.status();
  return StaffSetup{std::move(*st), *co};
}

// One line from stdin; on a terminal with echo off. Returns false at end of input.
bool ReadSecretLine(const std::string& prompt, std::string* out) {
  const bool tty = ::isatty(STDIN_FILENO) == 1;
  termios saved{};
  if (tty) {
    std::cerr << prompt << std::flush;
    ::tcgetattr(STDIN_FILENO, &saved);
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  }
  const bool got = static_cast<bool>(std::getline(std::cin, *out));
  if (tty) {
    ::tcsetattr(STDIN_FILENO, TCSANOW, &saved);
    std::cerr << "\n";
  }
  if (!out->empty() && out->back() == '\r') out->pop_back();
  return got;
}

struct Secret {
  std::string value;
  ~Secret() { OPENSSL_cleanse(value.data(), value.size()); }
};

// The new password: typed twice on a terminal, one line otherwise.
Status ReadNewPassword(Secret* pw) {
  if (!ReadSecretLine("new password: ", &pw->value) || pw->value.empty())
    return Status::InvalidInput("password_missing", "no password given: type it at the prompt, or pipe it as one line on stdin");
  if (::isatty(STDIN_FILENO) == 1) {
    Secret again;
    if (!ReadSecretLine("again: ", &again.value) || again.value != pw->value)
      return Status::InvalidInput("password_mismatch", "the two passwords differ; nothing was changed");
  }
  return Status::Ok();
}

Result<store::StaffRecord> ByName(store::Store& s, const std::string& name) {
  auto found = s.FindStaffByName(name);
  if (!found.ok()) return found.status();
  if (!found->has_value()) return Status::NotFound("not_found", "no staff account named " + name + " (see veridge staff list)");
  return **found;
}

}  // namespace

void RegisterStaffCommands(CLI::App& app, CommandContext& ctx) {
  auto* cmd = app.add_subcommand("staff", "Console staff accounts (argon2id password hashes; no default account)");
  cmd->require_subcommand(1);
  struct Opts {
    std::string config, name, role;
    bool json = false;
  };
  auto o = std::make_shared<Opts>();
  auto common = [&o](CLI::App* sub) {
    sub->add_option("--config", o->config, "Configuration file")->required();
    sub->add_flag("--json", o->json, "Machine-readable output");
  };

  auto* add = cmd->add_subcommand("add", "Create an account; the password is read from the terminal or stdin, never from argv");
  add->add_option("NAME", o->name, "Login name (1..64 of A-Z a-z 0-9 . _ -)")->required();
  add->add_option("--role", o->role, "operator | supervisor | auditor | admin")->required();
  common(add);
  add->callback([&ctx, o] {
    auto s = Open(o->config);
    if (!s.ok()) { ctx.exit_code = ReportError(s.status(), o->json); return; }
    Secret pw;
    if (Status st = ReadNewPassword(&pw); !st.ok()) { ctx.exit_code = ReportError(st, o->json); return; }
    auto rec = console::CreateStaff(*s->store, o->name, o->role, pw.value, s->console.argon2, SystemClock::Instance().NowUnixSeconds(), CliActor());
    if (!rec.ok()) { ctx.exit_code = ReportError(rec.status(), o->json); return; }
    if (o->json) PrintJson({{"id", rec->id}, {"name", rec->name}, {"role", rec->role}});
    else
      std::cout << "created " << rec->role << " " << rec->name << " (" << rec->id << ")"
                << (console::RoleNeedsTotp(rec->role) ? "; the first console login asks to enrol a one-time code app" : "") << "\n";
    ctx.exit_code = kExitOk;
  });

  auto* passwd = cmd->add_subcommand("passwd", "Set a new password (read from the terminal or stdin); ends the account's sessions");
  passwd->add_option("NAME", o->name, "Login name")->required();
  common(passwd);
  passwd->callback([&ctx, o] {
    auto s = Open(o->config);
    if (!s.ok()) { ctx.exit_code = ReportError(s.status(), o->json); return; }
    auto rec = ByName(*s->store, o->name);
    if (!rec.ok()) { ctx.exit_code = ReportError(rec.status(), o->json); return; }
    Secret pw;
    if (Status st = ReadNewPassword(&pw); !st.ok()) { ctx.exit_code = ReportError(st, o->json); return; }
    if (Status st = console::ChangePassword(*s->store, rec->id, pw.value, s->console.argon2, SystemClock::Instance().NowUnixSeconds(), CliActor());
        !st.ok()) {
      ctx.exit_code = ReportError(st, o->json);
      return;
    }
    if (o->json) PrintJson({{"id", rec->id}, {"password_changed", true}});
    else std::cout << "password of " << rec->name << " changed; its console sessions were ended\n";
    ctx.exit_code = kExitOk;
  });

  auto* disable = cmd->add_subcommand("disable", "Disable an account: it can no longer log in, its sessions end (the row stays for the audit trail)");
  disable->add_option("NAME", o->name, "Login name")->required();
  common(disable);
  disable->callback([&ctx, o] {
    auto s = Open(o->config);
    if (!s.ok()) { ctx.exit_code = ReportError(s.status(), o->json); return; }
    auto rec = ByName(*s->store, o->name);
    if (!rec.ok()) { ctx.exit_code = ReportError(rec.status(), o->json); return; }
    if (Status st = s->store->DisableStaff(rec->id, SystemClock::Instance().NowUnixSeconds(), CliActor()); !st.ok()) {
      ctx.exit_code = ReportError(st, o->json);
      return;
    }
    if (o->json) PrintJson({{"id", rec->id}, {"disabled", true}});
    else std::cout << "disabled " << rec->name << "\n";
    ctx.exit_code = kExitOk;
  });

  auto* list = cmd->add_subcommand("list", "List accounts: id, name, role, one-time code enrolled, state (never a hash or key)");
  common(list);
  list->callback([&ctx, o] {
    auto s = Open(o->config);
    if (!s.ok()) { ctx.exit_code = ReportError(s.status(), o->json); return; }
    auto all = s->store->ListStaff();
    if (!all.ok()) { ctx.exit_code = ReportError(all.status(), o->json); return; }
    const std::int64_t now = SystemClock::Instance().NowUnixSeconds();
    for (const auto& r : *all) {
      const std::string state = r.disabled_at ? "disabled" : r.locked_until > now ? "locked" : "active";
      if (o->json) {
        PrintJson({{"id", r.id}, {"name", r.name}, {"role", r.role}, {"totp_enrolled", !r.totp_secret.empty()}, {"state", state},
                   {"created_at", r.created_at}, {"failed_logins", r.failed_logins}});
      } else {
        std::cout << r.id << "  " << r.name << "  " << r.role << "  " << state << (r.totp_secret.empty() ? "" : "  totp")
                  << "  created " << UtcTime(r.created_at) << "\n";
      }
    }
    if (!o->json && all->empty()) std::cout << "no staff accounts: create the first admin with veridge staff add --role admin NAME --config FILE\n";
    ctx.exit_code = kExitOk;
  });
}

}  // namespace veridge::app
