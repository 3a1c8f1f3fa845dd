// `veridge staff add|passwd|disable|list` as a real process on a real encrypted store: the
// password comes on stdin (never argv), there is no default account, and every change is audited
// with the actor "cli:<account>" of the OS account that ran the command (threat model G8).
#include <pwd.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "common/files.h"
#include "console/console.h"
#include "store/store_fixture.h"

using namespace veridge;
using namespace veridge::testing;

namespace {

// Runs veridge with `stdin_text` piped in (through a file, so nothing lands in argv); `env` is
// prefixed to the command line ("NAME=value ").
CommandRun Veridge(const std::filesystem::path& dir, const std::string& args, const std::string& stdin_text,
                   const std::string& env = "") {
  const auto in = dir / "stdin.txt";
  REQUIRE(WriteFileAtomic(in, stdin_text, 0600).ok());
  auto r = RunCommand(env + "'" + VeridgeBinary().string() + "' " + args + " < '" + in.string() + "' 2>&1");
  std::filesystem::remove(in);
  return r;
}

// "cli:<name of this process's real uid>", what CliActor() (app/cli.h) must record.
std::string ThisAccountActor() {
  const passwd* pw = getpwuid(getuid());
  REQUIRE(pw != nullptr);
  return std::string("cli:") + pw->pw_name;
}

}  // namespace

TEST_CASE("veridge staff: add reads the password from stdin, list never shows a hash, passwd and disable are audited") {
  VERIDGE_REQUIRE_PATH(VeridgeBinary(), "the veridge binary (build the `veridge` target)");
  StoreFixture f;
  { f.Open(); }  // the store exists (as keys init / db init make it)
  const auto config = f.dir / "veridge.toml";
  REQUIRE(WriteFileAtomic(config, "[store]\npath = \"veridge.db\"\nkey_file = \"store.key\"\n"
                                  "[console]\nargon2_memory_kib = 19456\nargon2_time_cost = 1\n", 0600).ok());
  const std::string cfg = " --config '" + config.string() + "' --json";
  const std::string pw = "first admin pass phrase";

  auto empty = Veridge(f.dir.path(), "staff list" + cfg, "");
  REQUIRE(empty.rc == 0);
  CHECK(empty.out.empty());  // no default account

  auto none = Veridge(f.dir.path(), "staff add --role admin ada" + cfg, "");
  CHECK(none.rc == 2);
  CHECK(Contains(none.out, "password_missing"));
  auto weak = Veridge(f.dir.path(), "staff add --role admin ada" + cfg, "short\n");
  CHECK(weak.rc == 2);
  CHECK(Contains(weak.out, "weak_password"));
  auto role = Veridge(f.dir.path(), "staff add --role root ada" + cfg, pw + "\n");
  CHECK(role.rc == 2);
  CHECK(Contains(role.out, "bad_role"));

  auto add = Veridge(f.dir.path(), "staff add --role admin ada" + cfg, pw + "\n");
  INFO(add.out);
  REQUIRE(add.rc == 0);
  CHECK(Contains(add.out, "\"role\":\"admin\""));
  CHECK_FALSE(Contains(add.out, pw));
  auto dup = Veridge(f.dir.path(), "staff add --role operator ada" + cfg, "another pass phrase\n");
  CHECK(dup.rc == 2);
  CHECK(Veridge(f.dir.path(), "staff add --role operator olga" + cfg, "operator pass phrase\n").rc == 0);

  auto list = Veridge(f.dir.path(), "staff list" + cfg, "");
  REQUIRE(list.rc == 0);
  CHECK(Contains(list.out, "\"name\":\"ada\""));
  CHECK(Contains(list.out, "\"name\":\"olga\""));
  CHECK_FALSE(Contains(list.out, "argon2"));

  {
    auto s = f.Open();
    auto ada = s->FindStaffByName("ada");
    REQUIRE(ada.ok());
    REQUIRE(ada->has_value());
    CHECK((*ada)->password_hash.rfind("$argon2id$v=19$m=19456,t=1,p=1$", 0) == 0);
    CHECK(console::VerifyPassword(pw, (*ada)->password_hash));
  }
  CHECK_FALSE(Contains(f.RawBytes(), pw));

  auto passwd = Veridge(f.dir.path(), "staff passwd ada" + cfg, "second admin pass phrase\n");
  REQUIRE(passwd.rc == 0);
  CHECK(Veridge(f.dir.path(), "staff passwd nobody" + cfg, "second admin pass phrase\n").rc != 0);
  auto dis = Veridge(f.dir.path(), "staff disable olga" + cfg, "");
  REQUIRE(dis.rc == 0);
  auto after = Veridge(f.dir.path(), "staff list" + cfg, "");
  CHECK(Contains(after.out, "\"state\":\"disabled\""));

  auto s = f.Open();
  {
    auto ada = s->FindStaffByName("ada");
    REQUIRE(ada.ok());
    CHECK(console::VerifyPassword("second admin pass phrase", (*ada)->password_hash));
    CHECK_FALSE(console::VerifyPassword(pw, (*ada)->password_hash));
  }
  auto events = s->ListAudit(0, 1000);
  REQUIRE(events.ok());
  int created = 0, changed = 0, disabled = 0;
  for (const auto& e : *events) {
    if (e.action.rfind("staff.", 0) != 0) continue;
    CHECK(e.actor == ThisAccountActor());
    CHECK_FALSE(Contains(e.detail_json, "pass phrase"));
    created += e.action == "staff.created";
    changed += e.action == "staff.password_changed";
    disabled += e.action == "staff.disabled";
  }
  CHECK(created == 2);
  CHECK(changed == 1);
  CHECK(disabled == 1);
}

TEST_CASE("local commands are audited with the OS account that ran them, and sudo's user under root") {
  VERIDGE_REQUIRE_PATH(VeridgeBinary(), "the veridge binary (build the `veridge` target)");
  StoreFixture f;
  { f.Open(); }
  const auto config = f.dir / "veridge.toml";
  REQUIRE(WriteFileAtomic(config, "[store]\npath = \"veridge.db\"\nkey_file = \"store.key\"\n"
                                  "[console]\nargon2_memory_kib = 19456\nargon2_time_cost = 1\n", 0600).ok());
  const std::string cfg = " --config '" + config.string() + "' --json";
  const std::string pw = "first admin pass phrase\n";
  // Was "cli" for every operator (threat model G8).
  REQUIRE(Veridge(f.dir.path(), "staff add --role admin ada" + cfg, pw).rc == 0);
  REQUIRE(Veridge(f.dir.path(), "staff add --role operator bo" + cfg, pw, "SUDO_USER=li.wei ").rc == 0);
  REQUIRE(Veridge(f.dir.path(), "staff add --role operator cy" + cfg, pw, "SUDO_USER='x y;' ").rc == 0);
  auto s = f.Open();
  auto events = s->ListAudit(0, 1000);
  REQUIRE(events.ok());
  std::vector<std::string> actors;
  for (const auto& e : *events)
    if (e.action == "staff.created") actors.push_back(e.actor);
  const std::string me = ThisAccountActor();
  CHECK(me != "cli:");
  // SUDO_USER counts only for root (sudo sets it; anyone else could), and only as a plain name.
  const std::string sudo = getuid() == 0 ? me + ",sudo:li.wei" : me;
  CHECK(actors == std::vector<std::string>{me, sudo, me});
}
