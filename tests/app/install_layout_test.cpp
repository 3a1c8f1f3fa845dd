// Where the binary finds its data (app/install_layout.h): an installed layout (<prefix>/bin beside
// <prefix>/share/veridge) is recognised, a build tree is not, and the build-tree defaults the other
// tests rely on stay in force for the test binaries.
#include <catch2/catch.hpp>

#include <fstream>

#include "app/install_layout.h"
#include "app/kiosk_assets.h"
#include "support/test_support.h"

using namespace veridge;
using veridge::testing::TempDir;

TEST_CASE("install layout: <prefix>/bin/veridge with <prefix>/share/veridge is installed, a build tree is not") {
  TempDir prefix;
  std::filesystem::create_directories(prefix / "bin");
  std::ofstream(prefix / "bin/veridge") << "binary";
  CHECK_FALSE(app::InstalledDataDirFor(prefix / "bin/veridge").has_value());  // no data installed yet

  std::filesystem::create_directories(prefix / "share/veridge/models");
  auto data = app::InstalledDataDirFor(prefix / "bin/veridge");
  REQUIRE(data.has_value());
  CHECK(*data == prefix / "share/veridge");

  TempDir file_prefix;  // a file where the data directory should be is not a layout
  std::filesystem::create_directories(file_prefix / "share");
  std::ofstream(file_prefix / "share/veridge") << "not a directory";
  CHECK_FALSE(app::InstalledDataDirFor(file_prefix / "bin/veridge").has_value());
  std::filesystem::create_directories(prefix / "build/src/app");
  CHECK_FALSE(app::InstalledDataDirFor(prefix / "build/src/app/veridge").has_value());
}

TEST_CASE("install layout: a build-tree binary keeps the development model dir and the source tree's kiosk page") {
  REQUIRE_FALSE(app::InstalledDataDir().has_value());
  CHECK(app::DefaultModelDir() == std::filesystem::path(VERIDGE_DEV_MODEL_DIR));
  CHECK(app::DefaultKioskAssetsDir() == std::filesystem::path(VERIDGE_SOURCE_DIR) / "web/kiosk/dist");
}
