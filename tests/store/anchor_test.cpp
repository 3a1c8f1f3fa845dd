// Issue 13 (items 2 and 3, and the damaged-store items): the store's anchor and the commands that
// must not use, or create, a store that lost data. Each case damages real SQLCipher files the way
// an operator, a disk or an attacker would — the WAL deleted, bit-flipped or cut short after
// commits, an older copy put back, the database wiped or removed, another store's database swapped
// in, the anchor edited or deleted, the file cut 100 bytes short, a page damaged — then runs the
// real `veridge` binary (db check, audit verify, outbox run, db purge, token list, db init, db
// reanchor) over it. On the code before the anchor every one of these said "ok" (or "SQL logic
// error"), exited 0 (or 3 with no advice) and, for a wiped store, silently made a new empty one.
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "common/files.h"
#include "store/store_fixture.h"

using namespace veridge;
using namespace veridge::testing;
namespace fs = std::filesystem;

namespace {

struct Run {
  int rc = -1;
  std::string out;
  nlohmann::json Json() const {
    auto pos = out.find('{');
    if (pos == std::string::npos) return nlohmann::json();
    return nlohmann::json::parse(out.substr(pos, out.find('\n', pos) - pos), nullptr, false);
  }
  std::string Code() const {
    auto j = Json();
    return j.is_object() && j.contains("error") ? j["error"].value("code", "") : "";
  }
  std::string Message() const {
    auto j = Json();
    return j.is_object() && j.contains("error") ? j["error"].value("message", "") : "";
  }
};

Run Veridge(const std::string& args) {
  Run r;
  std::string cmd = "timeout -s KILL 60 '" + VeridgeBinary().string() + "' " + args + " 2>/dev/null </dev/null";
  auto run = RunCommand(cmd);
  r.rc = run.rc;
  r.out = std::move(run.out);
  return r;
}

unsigned Mode(const fs::path& p) {
  struct stat st {};
  ::stat(p.c_str(), &st);
  return st.st_mode & 0777;
}

fs::path With(const fs::path& db, const char* suffix) {
  fs::path p = db;
  p += suffix;
  return p;
}

// A store with a config for the CLI ([lender] set so that `outbox run` reaches the store; nothing
// listens on port 9, so a run that wrongly went on would record failed attempts, i.e. write).
struct AnchorFixture : StoreFixture {
  fs::path config = dir / "veridge.toml";
  fs::path wal = With(db, "-wal");
  fs::path shm = With(db, "-shm");
  fs::path anchor = With(db, ".anchor");
  int committed = 0;

  AnchorFixture() {
    REQUIRE(WriteFileAtomic(dir / "lender.whsec", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n", 0600).ok());
    // Any CA certificate will do as the lender's trust anchor: nothing is ever reached.
    REQUIRE(std::system(("openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=lender-ca -days 2 -keyout '" + (dir / "ca.key").string() +
                         "' -out '" + (dir / "ca.pem").string() + "' >/dev/null 2>&1")
                            .c_str()) == 0);
    REQUIRE(WriteFileAtomic(config,
                            "[store]\npath = \"veridge.db\"\nkey_file = \"store.key\"\n"
                            "[lender]\nurl = \"https://127.0.0.1:9/hook\"\nwebhook_secret_file = \"lender.whsec\"\nca_file = \"ca.pem\"\n"
                            "[outbox]\nretry_schedule = [\"0s\", \"1s\"]\nconnect_timeout = \"1s\"\n",
                            0600)
                .ok());
  }
  std::string Cfg() const { return " --config '" + config.string() + "' --json"; }

  void Commit(store::Store& s, int n) {
    for (int i = 0; i < n; ++i, ++committed)
      REQUIRE(s.CommitDecision(MakeDecision("sess-" + std::to_string(committed), 1'700'000'000 + committed, "ref",
                                            FakeJpeg("E", 20 * 1024), "d"))
                  .ok());
  }

  // The files as a power cut would leave them after 2 checkpointed decisions and 3 more that are
  // committed (fsynced, synchronous=FULL) but still only in the WAL: copied while the store is open.
  void CrashImageWithCommitsInWal() {
    { auto s = Open(); Commit(*s, 2); }  // closing checkpoints: the database file holds these two
    const fs::path img = dir / "img";
    fs::create_directory(img);
    {
      auto s = Open();
      Commit(*s, 3);
      REQUIRE(fs::file_size(wal) > 0);
      for (const auto& p : {db, wal, anchor}) fs::copy_file(p, img / p.filename());
    }
    fs::remove(shm);
    for (const auto& p : {db, wal, anchor}) fs::copy_file(img / p.filename(), p, fs::copy_options::overwrite_existing);
  }

  // db check, audit verify and outbox run: each refuses with `code`, exit 3.
  void ExpectEveryCommandRefuses(const std::string& code, const std::string& what) {
    for (const char* cmd : {"db check", "audit verify", "outbox run", "db purge", "token list"}) {
      auto r = Veridge(std::string(cmd) + Cfg());
      INFO(what << ": veridge " << cmd << "\n" << r.out);
      CHECK(r.rc == 3);
      CHECK(r.Code() == code);
      CHECK(Contains(r.Message(), "Nothing was"));  // says it changed nothing ...
      CHECK((Contains(r.Message(), "backup") || Contains(r.Message(), "reanchor")));  // ... and what to do
    }
  }
};

#define REQUIRE_VERIDGE() VERIDGE_REQUIRE_PATH(VeridgeBinary(), "the veridge binary (build the `veridge` target)")

}  // namespace

TEST_CASE("a store truncated to 0 bytes or removed is store_wiped for every command, and nothing is created") {
  REQUIRE_VERIDGE();
  AnchorFixture f;
  { auto s = f.Open(); f.Commit(*s, 3); }
  REQUIRE(Veridge("db check" + f.Cfg()).rc == 0);
  SECTION("truncated to 0 bytes, mode 0644") {
    { std::ofstream truncate(f.db, std::ios::trunc); }
    REQUIRE(::chmod(f.db.c_str(), 0644) == 0);
    fs::remove(f.wal);
    f.ExpectEveryCommandRefuses("store_wiped", "0 bytes");
    auto r = Veridge("db check" + f.Cfg());
    CHECK(Contains(r.Message(), "is empty (0 bytes)"));
    CHECK(Contains(r.Message(), "held 3 audit events"));
    CHECK(fs::file_size(f.db) == 0);  // no fresh store was made in its place
    CHECK(Mode(f.db) == 0644);
    // Not even by the commands that create stores: a store was here.
    CHECK(Veridge("db init" + f.Cfg()).Code() == "store_wiped");
    CHECK(fs::file_size(f.db) == 0);
  }
  SECTION("removed") {
    fs::remove(f.db);
    fs::remove(f.wal);
    f.ExpectEveryCommandRefuses("store_wiped", "removed");
    CHECK(Contains(Veridge("audit verify" + f.Cfg()).Message(), "is missing"));
    CHECK_FALSE(fs::exists(f.db));
  }
}

TEST_CASE("only db init (or keys init) creates a store, with mode 0600 even over an empty 0644 file") {
  REQUIRE_VERIDGE();
  AnchorFixture f;  // a key, a config, no database
  for (const char* cmd : {"db check", "audit verify", "outbox run", "token list", "db purge"}) {
    auto r = Veridge(std::string(cmd) + f.Cfg());
    INFO(cmd << ": " << r.out);
    CHECK(r.rc == 2);
    CHECK(r.Code() == "store_missing");
    CHECK(Contains(r.Message(), "db init"));
    CHECK_FALSE(fs::exists(f.db));
  }
  { std::ofstream touch(f.db); }
  REQUIRE(::chmod(f.db.c_str(), 0644) == 0);
  auto empty = Veridge("db check" + f.Cfg());
  CHECK(empty.rc == 3);
  CHECK(empty.Code() == "store_empty");
  CHECK(fs::file_size(f.db) == 0);
  auto init = Veridge("db init" + f.Cfg());
  INFO(init.out);
  REQUIRE(init.rc == 0);
  CHECK(init.Json()["created"] == true);
  CHECK(Mode(f.db) == 0600);
  CHECK(Mode(f.anchor) == 0600);
  CHECK(Veridge("db check" + f.Cfg()).rc == 0);
  auto again = Veridge("db init" + f.Cfg());
  CHECK(again.rc == 0);
  CHECK(again.Json()["created"] == false);
}

TEST_CASE("WAL damage after commits is store_rolled_back: deleted, bit-flipped, truncated") {
  REQUIRE_VERIDGE();
  AnchorFixture f;
  f.CrashImageWithCommitsInWal();
  // The image itself is sound: all five decisions are there.
  {
    auto r = Veridge("audit verify" + f.Cfg());
    INFO(r.out);
    REQUIRE(r.rc == 0);
    CHECK(r.Json()["events"] == 5);
  }
  // Back to the crash image (the audit verify above checkpointed the WAL away).
  fs::remove(f.shm);
  for (const auto& p : {f.db, f.wal, f.anchor}) fs::copy_file(f.dir / "img" / p.filename(), p, fs::copy_options::overwrite_existing);
  const auto wal_size = fs::file_size(f.wal);
  SECTION("the WAL deleted") {
    fs::remove(f.wal);
    f.ExpectEveryCommandRefuses("store_rolled_back", "WAL deleted");
    auto r = Veridge("db check" + f.Cfg());
    CHECK(Contains(r.Message(), "ends at event 2 but the anchor says event 5"));
  }
  SECTION("one bit flipped in the middle of the WAL") {
    std::fstream io(f.wal, std::ios::in | std::ios::out | std::ios::binary);
    io.seekg(static_cast<std::streamoff>(wal_size / 2));
    char c = 0;
    io.read(&c, 1);
    c ^= 0x10;
    io.seekp(static_cast<std::streamoff>(wal_size / 2));
    io.write(&c, 1);
    io.close();
    f.ExpectEveryCommandRefuses("store_rolled_back", "WAL bit flip");
  }
  SECTION("the WAL cut to half its size") {
    fs::resize_file(f.wal, wal_size / 2);
    f.ExpectEveryCommandRefuses("store_rolled_back", "WAL truncated");
  }
}

TEST_CASE("an older copy of the database put back is store_rolled_back, and db reanchor accepts it on purpose") {
  REQUIRE_VERIDGE();
  AnchorFixture f;
  { auto s = f.Open(); f.Commit(*s, 2); }
  fs::copy_file(f.db, f.dir / "old.db");
  { auto s = f.Open(); f.Commit(*s, 2); }
  fs::copy_file(f.dir / "old.db", f.db, fs::copy_options::overwrite_existing);
  fs::remove(f.wal);
  f.ExpectEveryCommandRefuses("store_rolled_back", "older copy");
  // The operator decides this older state is the one to keep: recorded, then every command works.
  auto r = Veridge("db reanchor --reason 'restored the 09:00 backup'" + f.Cfg());
  INFO(r.out);
  REQUIRE(r.rc == 0);
  CHECK(r.Json()["found"] == "store_rolled_back");
  CHECK(r.Json()["seq"] == 3);
  CHECK(Veridge("db check" + f.Cfg()).rc == 0);
  auto v = Veridge("audit verify" + f.Cfg());
  CHECK(v.rc == 0);
  CHECK(v.Json()["events"] == 3);
  auto s = f.Open();
  auto last = s->ListAudit(2, 10).value();
  REQUIRE(last.size() == 1);
  CHECK(last[0].action == "store.reanchored");
  CHECK(Contains(last[0].detail_json, "store_rolled_back"));
  CHECK(Contains(last[0].detail_json, "restored the 09:00 backup"));
  CHECK(Contains(last[0].detail_json, "\"seq\":4"));  // the anchor it replaced
}

TEST_CASE("another store's database swapped in (same key) is store_replaced") {
  REQUIRE_VERIDGE();
  AnchorFixture f;
  { auto s = f.Open(); f.Commit(*s, 2); }
  TempDir other_dir;
  auto other = f.Options();
  other.path = other_dir / "veridge.db";
  { auto s = store::Store::Open(other).value(); f.Commit(*s, 4); }
  fs::copy_file(other.path, f.db, fs::copy_options::overwrite_existing);
  fs::remove(f.wal);
  f.ExpectEveryCommandRefuses("store_replaced", "swapped");
  // With its own anchor copied too, it verifies under this key but belongs to that database: the
  // pair is consistent, which is why the anchor's MAC key is bound to the store key (see the limits).
}

TEST_CASE("the anchor edited, deleted, or a FIFO: store_anchor_invalid / store_anchor_missing / not_a_file") {
  REQUIRE_VERIDGE();
  AnchorFixture f;
  { auto s = f.Open(); f.Commit(*s, 3); }
  SECTION("edited: seq lowered to hide a rollback") {
    std::string text = ReadAllBytes(f.anchor);
    auto pos = text.find("seq 3");
    REQUIRE(pos != std::string::npos);
    text.replace(pos, 5, "seq 1");
    REQUIRE(WriteFileAtomic(f.anchor, text, 0600).ok());
    f.ExpectEveryCommandRefuses("store_anchor_invalid", "edited");
  }
  SECTION("written under another key") {
    // A well-formed anchor that verifies only under another store key.
    TempDir d2;
    auto other = f.Options();
    other.path = d2 / "x.db";
    other.key_file = d2 / "x.key";
    REQUIRE(store::GenerateKeyFile(other.key_file).ok());
    { auto s = store::Store::Open(other).value(); }
    fs::copy_file(d2 / "x.db.anchor", f.anchor, fs::copy_options::overwrite_existing);
    f.ExpectEveryCommandRefuses("store_anchor_invalid", "another key");
  }
  SECTION("deleted while the store holds events") {
    fs::remove(f.anchor);
    f.ExpectEveryCommandRefuses("store_anchor_missing", "deleted");
    CHECK(Contains(Veridge("db check" + f.Cfg()).Message(), "holds 3 audit events"));
    REQUIRE(Veridge("db reanchor" + f.Cfg()).rc == 0);
    CHECK(Veridge("db check" + f.Cfg()).rc == 0);
  }
  SECTION("a FIFO in its place is refused, never waited on") {
    fs::remove(f.anchor);
    REQUIRE(::mkfifo(f.anchor.c_str(), 0600) == 0);
    auto r = Veridge("db check" + f.Cfg());
    CHECK(r.rc == 2);
    CHECK(r.Code() == "not_a_file");
  }
}

TEST_CASE("the database ahead of its anchor (the crash window after COMMIT) opens, and the anchor moves up") {
  AnchorFixture f;
  { auto s = f.Open(); f.Commit(*s, 2); }
  const std::string anchor_at_2 = ReadAllBytes(f.anchor);
  { auto s = f.Open(); f.Commit(*s, 1); }
  // As if the process died between the COMMIT of event 3 and its anchor write.
  REQUIRE(WriteFileAtomic(f.anchor, anchor_at_2, 0600).ok());
  auto s = f.Open();
  auto a = s->AnchorState();
  REQUIRE(a.ok());
  CHECK(a->seq == 3);
  CHECK(a->finding.empty());
  CHECK(Contains(ReadAllBytes(f.anchor), "seq 3\n"));
}

TEST_CASE("a store cut 100 bytes short is store_corrupt with the recovery step, never 'SQL logic error'") {
  REQUIRE_VERIDGE();
  AnchorFixture f;
  { auto s = f.Open(); f.Commit(*s, 3); }
  fs::resize_file(f.db, fs::file_size(f.db) - 100);
  for (const char* cmd : {"db check", "audit verify", "outbox run", "outbox replay 1", "db purge"}) {
    auto r = Veridge(std::string(cmd) + f.Cfg());
    INFO(cmd << ": " << r.out);
    CHECK(r.rc == 3);
    CHECK(r.Code() == "store_corrupt");
    CHECK(Contains(r.Message(), "cut short"));
    CHECK(Contains(r.Message(), "backup"));
    CHECK_FALSE(Contains(r.out, "logic error"));
  }
}

TEST_CASE("outbox run and outbox replay refuse to write to a store that db check calls corrupt") {
  REQUIRE_VERIDGE();
  AnchorFixture f;
  {
    auto s = f.Open();
    for (int i = 0; i < 3; ++i)
      REQUIRE(s->CommitDecision(MakeDecision("big-" + std::to_string(i), i, "ref", FakeJpeg("E", 200 * 1024), "d")).ok());
  }
  // One damaged page in the middle (evidence, which delivery never reads).
  const auto size = fs::file_size(f.db);
  {
    std::fstream io(f.db, std::ios::in | std::ios::out | std::ios::binary);
    io.seekp(static_cast<std::streamoff>(size / 2));
    io.write(std::string(64, '\xAA').data(), 64);
  }
  auto check = Veridge("db check" + f.Cfg());
  REQUIRE(check.rc == 3);
  REQUIRE(check.Code() == "store_corrupt");
  const std::string before = f.RawBytes();
  for (const char* cmd : {"outbox run --until-empty", "outbox replay 1"}) {
    auto r = Veridge(std::string(cmd) + f.Cfg());
    INFO(cmd << ": " << r.out);
    CHECK(r.rc == 3);
    CHECK(r.Code() == "store_corrupt");
    CHECK(Contains(r.Message(), "nothing was written"));
  }
  CHECK(f.RawBytes() == before);  // no attempt, no lease, no replay was written
}
