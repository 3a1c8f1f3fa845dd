// Placeholder: the face command family is registered here once its module lands.
#include "app/cli.h"

namespace veridge::app {

void RegisterFaceCommands(CLI::App& /*app*/, CommandContext& /*ctx*/) {}

}  // namespace veridge::app
