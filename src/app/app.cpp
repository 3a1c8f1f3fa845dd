#include "app/app.h"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <string_view>

#include "app/cli.h"
#include "common/log.h"

namespace veridge::app {

void PrintJson(const nlohmann::json& j) { std::cout << j.dump() << std::endl; }

nlohmann::json ErrorJson(const Status& st) {
  return {{"error", {{"code", st.code()}, {"message", st.message()}}}};
}

std::string UtcTime(std::int64_t unix_seconds) {
  char buf[32];
  std::time_t tt = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

namespace {
bool SafeAccountName(std::string_view s) {
  return !s.empty() && s.size() <= 32 && std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '.' || c == '_' || c == '-';
  });
}
}  // namespace

std::string CliActor() {
  const uid_t uid = getuid();
  std::string actor = "cli:uid" + std::to_string(uid);
  passwd pw{};
  passwd* found = nullptr;
  char buf[1024];
  if (getpwuid_r(uid, &pw, buf, sizeof buf, &found) == 0 && found && SafeAccountName(found->pw_name))
    actor = std::string("cli:") + found->pw_name;
  const char* sudo = uid == 0 ? std::getenv("SUDO_USER") : nullptr;
  if (sudo && SafeAccountName(sudo)) actor += std::string(",sudo:") + sudo;
  return actor;
}

int ReportError(const Status& st, bool json) {
  if (json) {
    PrintJson(ErrorJson(st));
  } else {
    std::cerr << "error: " << st.code() << ": " << st.message() << std::endl;
  }
  return st.ExitCode();
}

namespace {

// Names the first word on the command line that is not a subcommand where one is expected
// ("veridge frobnicate", "veridge db frob"), so the error says what is wrong instead of CLI11's
// "A subcommand is required". Only group commands (those with subcommands) take no options with
// values, so every non-option word before the leaf command must be a subcommand name.
std::string UnknownSubcommand(const CLI::App& app, int argc, char** argv, std::string* parent) {
  const CLI::App* cur = &app;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.empty() || arg[0] == '-') continue;
    if (cur->get_subcommands({}).empty()) return "";  // a leaf command: the rest are its arguments
    const CLI::App* next = nullptr;
    for (const auto* sub : cur->get_subcommands({}))
      if (sub->check_name(arg)) next = sub;
    if (next == nullptr) {
      *parent = cur == &app ? "veridge" : "veridge " + cur->get_name();
      return arg;
    }
    cur = next;
  }
  return "";
}

bool WantsJson(int argc, char** argv) {
  for (int i = 1; i < argc; ++i)
    if (std::string(argv[i]) == "--json") return true;
  return false;
}

// A usage error under the CLI contract: exit 2, and {"error":{"code","message"}} under --json.
int UsageError(CLI::App& app, const CLI::ParseError& e, int argc, char** argv) {
  std::string parent;
  const std::string unknown = UnknownSubcommand(app, argc, argv, &parent);
  if (!unknown.empty()) {
    return ReportError(Status::InvalidInput("unknown_command", "\"" + unknown + "\" is not a subcommand of " + parent +
                                                                   "; run `" + parent + " --help` for the list"),
                       WantsJson(argc, argv));
  }
  if (WantsJson(argc, argv))
    return ReportError(Status::InvalidInput("usage", std::string(e.what()) + "; run with --help for the options"), true);
  app.exit(e);
  return kExitBadInput;
}

}  // namespace

int RunApp(int argc, char** argv) {
  InitLogging("warn");
  CLI::App app{"veridge — multi-factor identity verification (face, liveness, certificate) with signed results"};
  app.set_version_flag("--version", std::string("veridge ") + VERIDGE_VERSION);
  app.require_subcommand(1);
  CommandContext ctx;
  RegisterDoctorCommand(app, ctx);
  RegisterFaceCommands(app, ctx);
  RegisterVerifyCommand(app, ctx);
  RegisterLivenessCommands(app, ctx);
  RegisterCertCommands(app, ctx);
  RegisterStoreCommands(app, ctx);
  RegisterDeliveryCommands(app, ctx);
  RegisterServeCommand(app, ctx);
  RegisterTokenCommands(app, ctx);
  RegisterStaffCommands(app, ctx);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return UsageError(app, e, argc, argv);
  } catch (const std::exception& e) {
    // Last line of defence: modules translate vendor errors; anything here is a bug. Fail closed.
    std::cerr << "error: internal: " << e.what() << std::endl;
    return kExitInternal;
  }
  return ctx.exit_code;
}

}  // namespace veridge::app
