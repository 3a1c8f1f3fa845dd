// The store's CLI commands run as a real process against real encrypted files:
// veridge db check | db rekey | db purge, veridge audit verify.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <ctime>

#include "common/files.h"
#include "store/store_fixture.h"

using namespace veridge;
using namespace veridge::testing;

namespace {

struct Run {
  int rc = -1;
  std::string out;
  nlohmann::json json() const {
    auto pos = out.find('{');
    REQUIRE(pos != std::string::npos);
    return nlohmann::json::parse(out.substr(pos, out.find('\n', pos) - pos));
  }
};

Run Veridge(const std::string& args) {
  Run r;
  std::string cmd = VeridgeBinary().string() + " " + args + " 2>/dev/null";
  auto run = RunCommand(cmd);
  r.rc = run.rc;
  r.out = std::move(run.out);
  return r;
}

struct CliFixture : StoreFixture {
  std::filesystem::path config = dir / "veridge.toml";
  CliFixture() {
    REQUIRE(WriteFileAtomic(config, "[store]\npath = \"veridge.db\"\nkey_file = \"store.key\"\nretention_days = 30\n", 0600).ok());
  }
  std::string Cfg() const { return "--config '" + config.string() + "' --json"; }
};

#define REQUIRE_VERIDGE() VERIDGE_REQUIRE_PATH(VeridgeBinary(), "the veridge binary (build the `veridge` target)")

}  // namespace

TEST_CASE("veridge db check: ok on a sound store / store_corrupt on a damaged page / clear key errors") {
  REQUIRE_VERIDGE();
  CliFixture f;
  {
    auto s = f.Open();
    for (int i = 0; i < 3; ++i)
      REQUIRE(s->CommitDecision(MakeDecision("sess-" + std::to_string(i), i, "ref", FakeJpeg("E", 200 * 1024), "d")).ok());
  }
  auto ok = Veridge("db check " + f.Cfg());
  INFO(ok.out);
  CHECK(ok.rc == 0);
  CHECK(ok.json()["ok"] == true);
  CHECK(ok.json()["cipher_version"] == "3.4.1");
  CHECK(ok.json()["schema_version"] == 4);

  SECTION("a damaged page") {
    auto size = std::filesystem::file_size(f.db);
    std::fstream io(f.db, std::ios::in | std::ios::out | std::ios::binary);
    io.seekp(static_cast<std::streamoff>(size / 2));
    io.write(std::string(64, '\xAA').data(), 64);
    io.close();
    auto bad = Veridge("db check " + f.Cfg());
    INFO(bad.out);
    CHECK(bad.rc == 3);
    CHECK(bad.json()["error"]["code"] == "store_corrupt");
  }
  SECTION("a wrong key") {
    std::filesystem::remove(f.key);
    REQUIRE(store::GenerateKeyFile(f.key).ok());
    auto bad = Veridge("db check " + f.Cfg());
    CHECK(bad.rc == 2);
    CHECK(bad.json()["error"]["code"] == "store_key_wrong");
  }
  SECTION("no database (and no anchor) at the path: never creates one") {
    std::filesystem::remove(f.db);
    std::filesystem::remove(f.dir / "veridge.db-wal");
    std::filesystem::remove(f.dir / "veridge.db.anchor");  // with the anchor there it is store_wiped (anchor_test.cpp)
    auto bad = Veridge("db check " + f.Cfg());
    CHECK(bad.rc == 2);
    CHECK(bad.json()["error"]["code"] == "store_missing");
    CHECK_FALSE(std::filesystem::exists(f.db));
  }
  SECTION("--config is required") {
    CHECK(Veridge("db check --json").rc == 2);
  }
}

TEST_CASE("veridge db rekey re-encrypts and installs the new key") {
  REQUIRE_VERIDGE();
  CliFixture f;
  std::string jpeg = FakeJpeg("E", 50 * 1024);
  { auto s = f.Open(); REQUIRE(s->CommitDecision(MakeDecision("sess-1", 1, "ref", jpeg, "d")).ok()); }
  auto old_key = ReadAllBytes(f.key);
  auto new_key = f.dir / "new.key";
  REQUIRE(store::GenerateKeyFile(new_key).ok());
  auto r = Veridge("db rekey " + f.Cfg() + " --new-key-file '" + new_key.string() + "'");
  INFO(r.out);
  REQUIRE(r.rc == 0);
  CHECK(ReadAllBytes(f.key) == ReadAllBytes(new_key));  // installed
  struct stat st {};
  REQUIRE(::stat(f.key.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  auto s = f.Open();  // the config's key file opens it
  CHECK(s->GetEvidence("sess-1")->at(0).data == jpeg);
  CHECK(s->ListAudit(0, 10)->back().action == "db.rekeyed");
  s.reset();
  auto old_path = f.dir / "old.key";
  REQUIRE(WriteFileAtomic(old_path, old_key, 0600).ok());
  auto opts = f.Options();
  opts.key_file = old_path;
  CHECK(store::Store::Open(opts).status().code() == "store_key_wrong");
  CHECK(Veridge("db check " + f.Cfg()).rc == 0);
  // Refuses a new key file that is unsafe.
  REQUIRE(::chmod(new_key.c_str(), 0644) == 0);
  auto bad = Veridge("db rekey " + f.Cfg() + " --new-key-file '" + new_key.string() + "'");
  CHECK(bad.rc == 2);
  CHECK(bad.json()["error"]["code"] == "insecure_permissions");
}

TEST_CASE("veridge db purge applies [store].retention_days") {
  REQUIRE_VERIDGE();
  CliFixture f;
  const std::int64_t now = std::time(nullptr);
  {
    auto s = f.Open();
    REQUIRE(s->CommitDecision(MakeDecision("old", now - 40 * 86400, "ref", FakeJpeg("OLD-", 10000), "d")).ok());
    REQUIRE(s->CommitDecision(MakeDecision("new", now - 2 * 86400, "ref", FakeJpeg("NEW-", 10000), "d")).ok());
  }
  auto r = Veridge("db purge " + f.Cfg());
  INFO(r.out);
  REQUIRE(r.rc == 0);
  CHECK(r.json()["sessions"] == 1);
  CHECK(r.json()["evidence"] == 1);
  CHECK(r.json()["retention_days"] == 30);
  auto s = f.Open();
  CHECK(s->GetEvidence("old")->empty());
  CHECK(s->GetEvidence("new")->size() == 1);
  CHECK(s->ListAudit(0, 10)->back().action == "retention.purged");
}

TEST_CASE("veridge audit verify: exit 0 when intact / exit 1 naming the first bad event") {
  REQUIRE_VERIDGE();
  CliFixture f;
  {
    auto s = f.Open();
    for (int i = 1; i <= 6; ++i) REQUIRE(s->CommitDecision(MakeDecision("sess-" + std::to_string(i), i, "ref", "jpeg", "d")).ok());
  }
  auto ok = Veridge("audit verify " + f.Cfg());
  INFO(ok.out);
  CHECK(ok.rc == 0);
  CHECK(ok.json()["events"] == 6);
  REQUIRE(RawExec(f.db, f.key, "DROP TRIGGER audit_no_update; UPDATE audit_events SET subject = 'sess-x' WHERE seq = 3") == SQLITE_OK);
  auto bad = Veridge("audit verify " + f.Cfg());
  INFO(bad.out);
  CHECK(bad.rc == 1);
  CHECK(bad.json()["ok"] == false);
  CHECK(bad.json()["code"] == "audit_event_edited");
  CHECK(bad.json()["first_bad_seq"] == 3);
}
