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

// ---- issue 13: special files never block, and errors say what the path is -----------------------

TEST_CASE("ReadFileBounded refuses a FIFO at once instead of blocking in open()") {
  testing::TempDir dir;
  REQUIRE(::mkfifo((dir / "fifo").c_str(), 0600) == 0);
  // No writer ever opens the FIFO: a blocking open() would hang this test (ctest's timeout fails it).
  auto r = ReadFileBounded(dir / "fifo", 1024);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == "not_a_file");
  CHECK(r.status().message().find("FIFO") != std::string::npos);
  CHECK(r.status().ExitCode() == 2);
  auto s = ReadSecretFile(dir / "fifo");
  REQUIRE_FALSE(s.ok());
  CHECK(s.status().code() == "not_a_file");
  auto f = InputFile::Open(dir / "fifo", 1024);
  CHECK(f.status().code() == "not_a_file");
}

TEST_CASE("ReadFileBounded refuses directories and devices, bounded /proc files by what read returns") {
  testing::TempDir dir;
  auto d = ReadFileBounded(dir.path(), 1024);
  CHECK(d.status().code() == "not_a_file");
  CHECK(d.status().message().find("directory") != std::string::npos);
  auto z = ReadFileBounded("/dev/zero", 1024);
  CHECK(z.status().code() == "not_a_file");
  CHECK(z.status().message().find("character device") != std::string::npos);
  // /proc files report st_size 0 but have content: the limit applies to the bytes read.
  auto proc = ReadFileBounded("/proc/self/maps", 16);
  CHECK(proc.status().code() == "file_too_large");
  CHECK(ReadFileBounded("/proc/self/maps", 1 << 20).ok());
}

TEST_CASE("A directory as a secret is 'not a regular file', never 'run chmod 600'") {
  testing::TempDir dir;
  std::filesystem::create_directory(dir / "key_dir");
  ::chmod((dir / "key_dir").c_str(), 0755);
  auto r = ReadSecretFile(dir / "key_dir");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == "not_a_file");
  CHECK(r.status().message().find("chmod") == std::string::npos);
  CHECK(ReadSecretFile(dir / "missing").status().code() == "secret_file_missing");
}

TEST_CASE("ELOOP and ENAMETOOLONG are named, not reported as a missing file") {
  testing::TempDir dir;
  std::filesystem::create_symlink(dir / "b", dir / "a");
  std::filesystem::create_symlink(dir / "a", dir / "b");
  auto loop = ReadFileBounded(dir / "a", 1024);
  CHECK(loop.status().code() == "bad_path");
  CHECK(loop.status().message().find("symbolic links") != std::string::npos);
  CHECK(loop.status().message().find("no such file") == std::string::npos);
  auto long_name = ReadFileBounded(dir / std::string(300, 'n'), 1024);
  CHECK(long_name.status().code() == "bad_path");
  CHECK(long_name.status().message().find("too long") != std::string::npos);
  REQUIRE(WriteFileAtomic(dir / "file", "x").ok());
  auto notdir = ReadFileBounded(dir / "file" / "child", 1024);
  CHECK(notdir.status().code() == "bad_path");
  CHECK(ReadSecretFile(dir / "a").status().code() == "bad_path");
}

TEST_CASE("RegularFileOrAbsent: absent, regular, or a named error without opening") {
  testing::TempDir dir;
  CHECK(*RegularFileOrAbsent(dir / "none") == false);
  REQUIRE(WriteFileAtomic(dir / "db", "x").ok());
  CHECK(*RegularFileOrAbsent(dir / "db") == true);
  REQUIRE(::mkfifo((dir / "fifo").c_str(), 0600) == 0);
  CHECK(RegularFileOrAbsent(dir / "fifo").status().code() == "not_a_file");
  CHECK(RegularFileOrAbsent(dir.path()).status().code() == "not_a_file");
}

TEST_CASE("InputFile reads a regular file in pieces and through its /proc path") {
  testing::TempDir dir;
  REQUIRE(WriteFileAtomic(dir / "data", "hello world").ok());
  auto f = InputFile::Open(dir / "data", 100);
  REQUIRE(f.ok());
  CHECK(f->size() == 11);
  char buf[5];
  CHECK(*f->Read(buf, 5) == 5);
  CHECK(std::string(buf, 5) == "hello");
  CHECK(*ReadFileBounded(f->ProcPath(), 100) == "hello world");
  CHECK(f->ReadAll().value() == " world");
}
