// tests/support/test_support.h — helpers shared by the test suites.
//
// Test data lives in ../shared/data beside the checkout (see shared/data/README.md). A test that
// needs it calls VERIDGE_REQUIRE_SHARED(...) and is reported by CTest as *skipped* (not passed) with
// the reason when it is absent: every test is registered with SKIP_REGULAR_EXPRESSION "VERIDGE-SKIP".
#pragma once

#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace veridge::testing {

inline std::filesystem::path SharedDir() {
  if (const char* env = std::getenv("VERIDGE_SHARED_DIR")) return env;
  return VERIDGE_SHARED_DIR;
}
inline std::filesystem::path SharedData(const std::string& rel) { return SharedDir() / "data" / rel; }
inline std::filesystem::path SharedModel(const std::string& rel) { return SharedDir() / "models" / rel; }
inline std::filesystem::path DevModelDir() {
  if (const char* env = std::getenv("VERIDGE_MODEL_DIR")) return env;
  return VERIDGE_DEV_MODEL_DIR;
}
inline std::filesystem::path SourceDir() { return VERIDGE_SOURCE_DIR; }
inline std::filesystem::path BinaryDir() { return VERIDGE_BINARY_DIR; }
inline std::filesystem::path VeridgeBinary() { return BinaryDir() / "src/app/veridge"; }

// A fresh, empty temporary directory removed at scope exit.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "veridge-test-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& rel) const { return path_ / rel; }

 private:
  std::filesystem::path path_;
};

// Runs a shell command line; returns its exit code (-1 if it did not exit) and its stdout.
struct CommandRun {
  int rc = -1;
  std::string out;
};
inline CommandRun RunCommand(const std::string& command_line) {
  CommandRun r;
  FILE* p = ::popen(command_line.c_str(), "r");
  REQUIRE(p);
  char buf[4096];
  while (size_t n = std::fread(buf, 1, sizeof buf, p)) r.out.append(buf, n);
  int st = ::pclose(p);
  r.rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

}  // namespace veridge::testing

// Skips the current test case (reported as skipped by CTest) with a reason.
#define VERIDGE_SKIP(reason)                 \
  do {                                       \
    WARN("VERIDGE-SKIP: " << reason);        \
    return;                                  \
  } while (0)

// Skips unless the file or folder exists, saying what is missing and where it comes from.
#define VERIDGE_REQUIRE_PATH(p, what)                                                                   \
  do {                                                                                                  \
    if (!std::filesystem::exists(p)) VERIDGE_SKIP((what) << " not found at " << (p).string());          \
  } while (0)
