// app/install_layout.h — where the running `veridge` finds its read-only data (models, kiosk page)
// when neither the config nor the environment says.
//
// One build serves two layouts, so the Debian package (docs/packaging.md) is made from the very
// build the tests run:
//   * installed: <prefix>/bin/veridge beside <prefix>/share/veridge/{models,kiosk} (the package:
//     /usr/bin/veridge, /usr/share/veridge/...);
//   * build tree: build/src/app/veridge, with the defaults compiled in: the development model
//     directory (VERIDGE_DEFAULT_MODEL_DIR, var/models of the source tree) and web/kiosk/dist of the
//     source tree (what tests and tools/demo.sh use).
// The binary counts as installed when <directory of the executable>/../share/veridge (the relative
// path from the install bindir to the install datadir, fixed at configure time) is a directory; a
// build tree never has one (build/src/share/veridge). No other file is looked at, nothing is
// cached across calls, and every function is safe to call from any thread.
// Order of precedence everywhere: the config key ([models].dir, [kiosk].assets_dir), then
// $VERIDGE_MODEL_DIR (models only), then these defaults.
#pragma once

#include <filesystem>
#include <optional>

namespace veridge::app {

// <prefix>/share/veridge for an executable at `executable` (an absolute path), when that directory
// exists; nullopt otherwise (a build-tree binary, or an installed one without its data).
std::optional<std::filesystem::path> InstalledDataDirFor(const std::filesystem::path& executable);

// InstalledDataDirFor(the running executable, /proc/self/exe); nullopt when it cannot be read.
std::optional<std::filesystem::path> InstalledDataDir();

// The default model directory: InstalledDataDir()/models, else VERIDGE_DEFAULT_MODEL_DIR.
std::filesystem::path DefaultModelDir();

}  // namespace veridge::app
