#include "app/app.h"

#include <iostream>

#include "app/cli.h"
#include "common/log.h"

namespace veridge::app {

void PrintJson(const nlohmann::json& j) { std::cout << j.dump() << std::endl; }

nlohmann::json ErrorJson(const Status& st) {
  return {{"error", {{"code", st.code()}, {"message", st.message()}}}};
}

int ReportError(const Status& st, bool json) {
  if (json) {
    PrintJson(ErrorJson(st));
  } else {
    std::cerr << "error: " << st.code() << ": " << st.message() << std::endl;
  }
  return st.ExitCode();
}

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
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitBadInput;
  } catch (const std::exception& e) {
    // Last line of defence: modules translate vendor errors; anything here is a bug. Fail closed.
    std::cerr << "error: internal: " << e.what() << std::endl;
    return kExitInternal;
  }
  return ctx.exit_code;
}

}  // namespace veridge::app
