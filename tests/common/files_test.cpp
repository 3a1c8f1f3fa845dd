#include "common/files.h"

#include <sys/stat.h>

#include "support/test_support.h"

using namespace veridge;

TEST_CASE("ReadFileBounded refuses files over the limit and names missing files") {
  testing::TempDir dir;
  REQUIRE(WriteFileAtomic(dir / "a.txt", std::string(100, 'x')).ok());
  CHECK(ReadFileBounded(dir / "a.txt", 100)->size() == 100);
  auto big = ReadFileBounded(dir / "a.txt", 99);
  REQUIRE_FALSE(big.ok());
  CHECK(big.status().code() == "file_too_large");
  auto missing = ReadFileBounded(dir / "nope", 10);
  CHECK(missing.status().code() == "file_not_found");
}

TEST_CASE("ReadSecretFile refuses group- or world-readable secrets") {
  testing::TempDir dir;
  REQUIRE(WriteFileAtomic(dir / "key", "hunter2-value", 0600).ok());
  struct stat st {};
  REQUIRE(::stat((dir / "key").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(ReadSecretFile(dir / "key").ok());
  ::chmod((dir / "key").c_str(), 0644);
  auto r = ReadSecretFile(dir / "key");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == "insecure_permissions");
  CHECK(r.status().message().find("hunter2") == std::string::npos);  // message names the file, not the content
}
