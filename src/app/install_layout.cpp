#include "app/install_layout.h"

#include <system_error>

namespace veridge::app {

std::optional<std::filesystem::path> InstalledDataDirFor(const std::filesystem::path& executable) {
  // VERIDGE_DATADIR_FROM_BINDIR is e.g. "../share/veridge" (src/app/CMakeLists.txt, GNUInstallDirs).
  const auto dir = (executable.parent_path() / VERIDGE_DATADIR_FROM_BINDIR).lexically_normal();
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return std::nullopt;
  return dir;
}

std::optional<std::filesystem::path> InstalledDataDir() {
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec || !exe.is_absolute()) return std::nullopt;
  return InstalledDataDirFor(exe);
}

std::filesystem::path DefaultModelDir() {
  if (auto data = InstalledDataDir()) return *data / "models";
  return VERIDGE_DEFAULT_MODEL_DIR;
}

}  // namespace veridge::app
