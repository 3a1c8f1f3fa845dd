// Placeholder: keys init, outbox run/replay and webhook verify are registered here once outbox/ lands.
#include "app/cli.h"

namespace veridge::app {

void RegisterDeliveryCommands(CLI::App& /*app*/, CommandContext& /*ctx*/) {}

}  // namespace veridge::app
