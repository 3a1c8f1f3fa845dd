// Placeholder: the cert command family is registered here once its module lands.
#include "app/cli.h"

namespace veridge::app {

void RegisterCertCommands(CLI::App& /*app*/, CommandContext& /*ctx*/) {}

}  // namespace veridge::app
