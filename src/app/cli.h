// app/cli.h — shared plumbing for subcommands: output in human or JSON form, errors under the CLI
// contract, and the registration hook each command family implements.
//
// Each family of subcommands lives in its own file (commands_<family>.cpp) and adds itself to the
// CLI11 app in Register<Family>Commands. A command's callback stores its exit code in ctx.exit_code.
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <iosfwd>
#include <string>

#include "common/status.h"

namespace veridge::app {

struct CommandContext {
  int exit_code = 0;
};

// Exit codes (ARCHITECTURE.md).
inline constexpr int kExitOk = 0;
inline constexpr int kExitNegative = 1;
inline constexpr int kExitBadInput = 2;
inline constexpr int kExitInternal = 3;

// Prints one JSON object on one line to stdout.
void PrintJson(const nlohmann::json& j);
// {"error":{"code","message"}} as JSON, or "error: <code>: <message>" on stderr; returns the exit code.
int ReportError(const Status& st, bool json);
nlohmann::json ErrorJson(const Status& st);
// "2026-12-02T17:31:20Z" for unix seconds (the human form of dates in listings).
std::string UtcTime(std::int64_t unix_seconds);
// The audit actor of a local command: "cli:<account>" for the account of the real user id (from
// the password database; "cli:uid<N>" when it has no entry), plus ",sudo:<name>" when root runs it
// through sudo (SUDO_USER, kept only if it is 1..32 of [A-Za-z0-9._-]). It names who ran the
// command on the box; it does not prove it (root can set SUDO_USER), which threat model G8 records.
std::string CliActor();

void RegisterDoctorCommand(CLI::App& app, CommandContext& ctx);
void RegisterFaceCommands(CLI::App& app, CommandContext& ctx);        // vision (issue 2)
void RegisterVerifyCommand(CLI::App& app, CommandContext& ctx);       // verify (issue 2+)
void RegisterLivenessCommands(CLI::App& app, CommandContext& ctx);    // liveness (issue 3)
void RegisterCertCommands(CLI::App& app, CommandContext& ctx);        // pki (issue 4)
void RegisterStoreCommands(CLI::App& app, CommandContext& ctx);       // db, audit (issue 5)
void RegisterDeliveryCommands(CLI::App& app, CommandContext& ctx);    // keys, outbox, webhook (issue 5)
void RegisterServeCommand(CLI::App& app, CommandContext& ctx);        // serve (issue 11)
void RegisterTokenCommands(CLI::App& app, CommandContext& ctx);       // token create|revoke|list (issue 11)
void RegisterStaffCommands(CLI::App& app, CommandContext& ctx);       // staff add|passwd|disable|list (issue 14)

}  // namespace veridge::app
