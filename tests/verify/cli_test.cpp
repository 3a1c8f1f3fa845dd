// `veridge verify` end to end through the binary: config → session → encrypted store + outbox.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "audit/audit.h"
#include "store/store.h"
#include "store/store_fixture.h"
#include "support/test_support.h"

using veridge::testing::SharedData;

namespace {

struct Run {
  int exit_code = -1;
  std::string out;
};

Run Veridge(const std::string& args) {
  Run r;
  std::string cmd = veridge::testing::VeridgeBinary().string() + " " + args + " 2>/dev/null";
  FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p);
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  int st = ::pclose(p);
  r.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

// A [device]/[store]/[lender] config in `dir` with the face factor only; keys initialised.
std::string InitConfig(const std::filesystem::path& dir) {
  std::ofstream(dir / "veridge.toml") << "[device]\nid = \"cli-test\"\nkey_file = \"device.key\"\ncert_chain = \"chain.pem\"\n"
                                      << "[store]\npath = \"v.db\"\nkey_file = \"store.key\"\n"
                                      << "[models]\ndir = \"" << veridge::testing::DevModelDir().string() << "\"\n"
                                      << "[policy]\nrequire = [\"face\"]\n[liveness]\nenabled = false\n"
                                      << "[lender]\nurl = \"https://127.0.0.1:9/hook\"\n";
  std::string cfg = "--config " + (dir / "veridge.toml").string();
  REQUIRE(Veridge("keys init " + cfg).exit_code == 0);
  return cfg;
}

veridge::store::StoreOptions StoreIn(const std::filesystem::path& dir) {
  veridge::store::StoreOptions o;
  o.path = dir / "v.db";
  o.key_file = dir / "store.key";
  o.audit_hasher = veridge::audit::ChainHasher();
  return o;
}

// The webhook bodies queued in the store, in the order of the audit head they carry, each written to a file (as a lender keeps them).
std::vector<std::filesystem::path> KeptResults(const std::filesystem::path& dir) {
  auto s = veridge::store::Store::Open(StoreIn(dir));
  REQUIRE(s.ok());
  auto rows = (*s)->ListOutbox(std::nullopt, 100);
  REQUIRE(rows.ok());
  std::vector<std::pair<std::int64_t, std::filesystem::path>> by_head;
  for (const auto& row : *rows) {
    by_head.push_back({nlohmann::json::parse(row.payload)["data"]["audit_head"]["seq"].get<std::int64_t>(),
                       dir / (row.webhook_id + ".json")});
    std::ofstream(by_head.back().second) << row.payload;
  }
  std::sort(by_head.begin(), by_head.end());
  std::vector<std::filesystem::path> out;
  for (const auto& [seq, path] : by_head) out.push_back(path);
  return out;
}

// Skips (reported) without the converted face model or the shared faces.
#define REQUIRE_MODEL_AND_FACES()                                                                     \
  VERIDGE_REQUIRE_PATH(veridge::testing::DevModelDir() / "dlib_face_recognition_resnet_model_v1.dat", \
                       "converted face model (run tools/fetch-models.sh)");                          \
  VERIDGE_REQUIRE_PATH(SharedData("faces/tv-cast-a/amy/amy1.png"), "tv-cast-a faces")

}  // namespace

TEST_CASE("audit verify --anchor accepts the results the lender kept and refuses a history rewritten after them") {
  REQUIRE_MODEL_AND_FACES();
  auto ref = SharedData("faces/tv-cast-a/amy/amy1.png");
  veridge::testing::TempDir dir;
  std::string cfg = InitConfig(dir.path());
  for (const char* probe : {"amy/amy3.png", "sheldon/sheldon1.png"})
    REQUIRE(Veridge("verify --json " + cfg + " --reference " + ref.string() + " --capture " +
                    SharedData(std::string("faces/tv-cast-a/") + probe).string()).exit_code <= 1);
  auto kept = KeptResults(dir.path());
  REQUIRE(kept.size() == 2);
  std::string second_jws;
  {
    auto body = nlohmann::json::parse(veridge::testing::ReadAllBytes(kept[1]));
    second_jws = body["data"]["attestation"].get<std::string>();
    CHECK(body["data"]["audit_head"]["seq"] == 1);  // the first session's decision event
    std::ofstream(dir / "second.jws") << second_jws << "\n";
  }
  auto ok = Veridge("audit verify --json " + cfg + " --anchor " + kept[0].string() + " --anchor " + (dir / "second.jws").string());
  INFO(ok.out);
  CHECK(ok.exit_code == 0);
  CHECK(nlohmann::json::parse(ok.out)["anchors_checked"] == 2);

  // A result signed by another appliance is no anchor for this one.
  veridge::testing::TempDir other;
  std::string other_cfg = InitConfig(other.path());
  REQUIRE(Veridge("verify --json " + other_cfg + " --reference " + ref.string() + " --capture " + ref.string()).exit_code == 0);
  auto foreign = Veridge("audit verify --json " + cfg + " --anchor " + KeptResults(other.path()).at(0).string());
  CHECK(foreign.exit_code == 2);
  CHECK(nlohmann::json::parse(foreign.out)["error"]["code"] == "anchor_other_device");
  // A result whose payload was edited does not verify.
  std::string edited = second_jws;
  edited[edited.find('.') + 5] = edited[edited.find('.') + 5] == 'A' ? 'B' : 'A';
  std::ofstream(dir / "edited.jws") << edited;
  auto bad = Veridge("audit verify --json " + cfg + " --anchor " + (dir / "edited.jws").string());
  CHECK(bad.exit_code == 2);
  CHECK(nlohmann::json::parse(bad.out)["error"]["code"] == "anchor_not_signed");

  // Someone with the store key rewrites the first decision (approved -> rejected) and re-hashes the
  // whole chain after it, then makes the store accept itself (db reanchor). The chain check alone
  // is satisfied; the lender's anchor is not.
  {
    auto s = veridge::store::Store::Open(StoreIn(dir.path()));
    REQUIRE(s.ok());
    auto rows = (*s)->ListAudit(0, 100);
    REQUIRE(rows->size() == 2);
    s->reset();
    std::string sql = "DROP TRIGGER IF EXISTS audit_no_update; ";
    std::string prev = std::string(64, '0');
    for (auto ev : *rows) {
      if (ev.seq == 1) ev.detail_json = R"({"decision":"rejected"})";
      ev.prev_hash = prev;
      ev.hash = veridge::audit::EventHash(ev);
      sql += "UPDATE audit_events SET detail_json = '" + ev.detail_json + "', prev_hash = '" + ev.prev_hash + "', hash = '" +
             ev.hash + "' WHERE seq = " + std::to_string(ev.seq) + "; ";
      prev = ev.hash;
    }
    sql += "UPDATE audit_head SET hash = '" + prev + "'";
    REQUIRE(veridge::testing::RawExec(dir / "v.db", dir / "store.key", sql) == SQLITE_OK);
  }
  REQUIRE(Veridge("db reanchor " + cfg + " --reason restore").exit_code == 0);
  CHECK(Veridge("audit verify " + cfg).exit_code == 0);
  auto caught = Veridge("audit verify --json " + cfg + " --anchor " + kept[0].string() + " --anchor " + kept[1].string());
  INFO(caught.out);
  CHECK(caught.exit_code == 1);
  auto j = nlohmann::json::parse(caught.out);
  CHECK(j["ok"] == false);
  CHECK(j["code"] == "audit_anchor_mismatch");
  CHECK(j["first_bad_seq"] == 1);
  CHECK(j["message"].get<std::string>().find(kept[1].string()) != std::string::npos);
  auto human = Veridge("audit verify " + cfg + " --anchor " + kept[1].string());
  CHECK(human.out.rfind("TAMPERED: ", 0) == 0);
  CHECK(human.out.find("rewritten") != std::string::npos);
}

TEST_CASE("veridge verify stores, signs and queues the session, then db check and audit verify pass") {
  REQUIRE_MODEL_AND_FACES();
  auto ref = SharedData("faces/tv-cast-a/amy/amy1.png");
  veridge::testing::TempDir dir;
  std::string cfg = InitConfig(dir.path());

  auto same = Veridge("verify --json " + cfg + " --reference " + ref.string() + " --capture " +
                      SharedData("faces/tv-cast-a/amy/amy3.png").string() + " --applicant-ref A-1");
  INFO(same.out);
  CHECK(same.exit_code == 0);
  auto j = nlohmann::json::parse(same.out);
  CHECK(j["decision"] == "approved");
  CHECK(j["delivery"]["state"] == "queued");
  CHECK(j["delivery"]["webhook_id"].get<std::string>().rfind("msg_", 0) == 0);

  auto other = Veridge("verify --json " + cfg + " --reference " + ref.string() + " --capture " +
                       SharedData("faces/tv-cast-a/sheldon/sheldon1.png").string());
  CHECK(other.exit_code == 1);
  CHECK(nlohmann::json::parse(other.out)["decision"] == "rejected");

  CHECK(Veridge("db check " + cfg).exit_code == 0);
  CHECK(Veridge("audit verify " + cfg).exit_code == 0);

  auto bad = Veridge("verify --json " + cfg + " --reference " + (dir / "nope.jpg").string() + " --capture " + ref.string());
  CHECK(bad.exit_code == 2);
  CHECK(nlohmann::json::parse(bad.out)["error"]["code"] == "file_not_found");
}

TEST_CASE("veridge verify refuses a lender URL delivery would refuse, before the session starts") {
  VERIDGE_REQUIRE_PATH(veridge::testing::VeridgeBinary(), "veridge binary");
  for (std::string url : {"http://lender.example/hook", "not a url", "https://user:pw@lender.example/h"}) {
    INFO(url);
    veridge::testing::TempDir dir;
    std::ofstream(dir / "veridge.toml") << "[device]\nkey_file = \"device.key\"\ncert_chain = \"chain.pem\"\n"
                                        << "[store]\npath = \"v.db\"\nkey_file = \"store.key\"\n"
                                        << "[lender]\nurl = \"" << url << "\"\n";
    // Neither input exists and no model is loaded: the URL must be refused before any of that.
    auto r = Veridge("verify --json --config " + (dir / "veridge.toml").string() + " --reference " + (dir / "nope.jpg").string() +
                     " --capture " + (dir / "nope.mp4").string());
    INFO(r.out);
    CHECK(r.exit_code == 2);
    auto j = nlohmann::json::parse(r.out);
    CHECK(j["error"]["code"] == "config_invalid");
    CHECK(j["error"]["message"].get<std::string>().find("lender.url") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(dir / "v.db"));  // nothing was created for a session that cannot deliver
  }
}

TEST_CASE("veridge verify --json reports a duplicate identity by its code in reasons, next to the session id") {
  REQUIRE_MODEL_AND_FACES();
  auto ref = SharedData("faces/tv-cast-a/amy/amy1.png");
  veridge::testing::TempDir dir;
  std::string cfg = InitConfig(dir.path());
  auto session = [&](const std::string& capture, const std::string& applicant_ref) {
    return Veridge("verify --json " + cfg + " --reference " + ref.string() + " --capture " +
                   SharedData("faces/tv-cast-a/" + capture).string() + " --applicant-ref " + applicant_ref);
  };
  auto first = session("amy/amy2.png", "APP-A");
  INFO(first.out);
  REQUIRE(first.exit_code == 0);
  const auto first_id = nlohmann::json::parse(first.out)["session_id"].get<std::string>();

  auto second = session("amy/amy5.png", "APP-B");  // the same person under another applicant ref
  INFO(second.out);
  CHECK(second.exit_code == 1);  // review is not approval
  auto j = nlohmann::json::parse(second.out);
  CHECK(j["session_id"].get<std::string>().size() == 36);
  CHECK(j["decision"] == "review");
  CHECK(std::find(j["reasons"].begin(), j["reasons"].end(), "duplicate_identity") != j["reasons"].end());
  CHECK(j["factors"]["duplicate_identity"]["hits"][0]["session_id"] == first_id);
  CHECK(j["factors"]["watchlist_hit"]["checked"] == false);

  // A fresh process builds the gallery from the store: a third applicant ref finds both sessions.
  auto third = session("amy/amy5.png", "APP-C");
  INFO(third.out);
  CHECK(nlohmann::json::parse(third.out)["factors"]["duplicate_identity"]["hits"].size() == 2);

  // [policy] and [fraud] values outside what is measured or known are refused before any session.
  const std::string good = veridge::testing::ReadAllBytes(dir / "veridge.toml");
  for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{
           {"[policy]\n", "[policy]\nduplicate_identity = \"approve\"\n"},
           {"[policy]\n", "[fraud]\nlist_size = 10000\n[policy]\n"}}) {
    std::string bad = good;
    bad.replace(bad.find(from), from.size(), to);
    std::ofstream(dir / "bad.toml") << bad;
    auto r = Veridge("verify --json --config " + (dir / "bad.toml").string() + " --reference " + ref.string() + " --capture " + ref.string());
    INFO(r.out);
    CHECK(r.exit_code == 2);
    CHECK(nlohmann::json::parse(r.out)["error"]["code"] == "config_invalid");
  }
}
