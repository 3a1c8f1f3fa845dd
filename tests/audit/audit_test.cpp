// Audit chain: appends through the real encrypted store; tampering done with raw SQL on the same
// encrypted file (as someone holding the key could), after dropping the append-only triggers.
#include "common/sha256.h"
#include "store/store_fixture.h"

using namespace veridge;
using namespace veridge::testing;

namespace {

// A store with `n` events: half appended alone, half with decisions.
std::unique_ptr<store::Store> Seed(StoreFixture& f, int n) {
  auto s = f.Open();
  for (int i = 1; i <= n; ++i) {
    if (i % 2) {
      REQUIRE(audit::Append(*s, audit::MakeEvent(1000 + i, "staff:alice", "console.viewed", "sess-" + std::to_string(i))).ok());
    } else {
      REQUIRE(s->CommitDecision(MakeDecision("sess-" + std::to_string(i), 1000 + i, "ref", FakeJpeg("J", 300), "d")).ok());
    }
  }
  return s;
}

void Tamper(StoreFixture& f, const std::string& sql) {
  REQUIRE(RawExec(f.db, f.key, "DROP TRIGGER IF EXISTS audit_no_update; DROP TRIGGER IF EXISTS audit_no_delete; " + sql) == SQLITE_OK);
}

// The chain's own verdict. Tampering that cuts or rewrites the tail is also caught by the store's
// anchor at open (store_rolled_back, tests/store/anchor_test.cpp); these cases open past that
// finding (as `db reanchor` does) so that they test what the chain alone shows.
audit::VerifyReport VerifyFresh(StoreFixture& f) {
  auto options = f.Options();
  options.accept_anchor_mismatch = true;
  auto opened = store::Store::Open(options);  // a fresh connection sees what the raw one wrote
  REQUIRE(opened.ok());
  auto& s = *opened;
  auto rep = audit::Verify(*s);
  REQUIRE(rep.ok());
  return rep.value();
}

}  // namespace

TEST_CASE("canonical bytes are length-prefixed and the hash is SHA-256 over them") {
  auto e = audit::MakeEvent(42, "kiosk", "a;b", "s:1", "{}");
  e.seq = 7;
  e.prev_hash = std::string(64, '0');
  CHECK(audit::CanonicalBytes(e) == "veridge-audit-v1;1:7;2:42;5:kiosk;3:a;b;3:s:1;2:{};64:" + std::string(64, '0') + ";");
  // Known SHA-256 of "abc" pins the hash function itself.
  CHECK(veridge::Sha256Hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // Moving bytes between fields changes the hash (no ambiguity from concatenation).
  auto e2 = e;
  e2.action = "a";
  e2.subject = "b;s:1";
  CHECK(audit::EventHash(e) != audit::EventHash(e2));
}

TEST_CASE("an empty log and an intact log verify") {
  StoreFixture f;
  {
    auto s = f.Open();
    auto rep = audit::Verify(*s);
    REQUIRE(rep.ok());
    CHECK(rep->ok);
    CHECK(rep->events == 0);
  }
  auto s = Seed(f, 10);
  auto rep = audit::Verify(*s);
  REQUIRE(rep.ok());
  CHECK(rep->ok);
  CHECK(rep->events == 10);
  CHECK(rep->head_hash == s->AuditHead()->hash);
  auto rows = s->ListAudit(0, 100);
  REQUIRE(rows->size() == 10);
  CHECK(rows->at(0).prev_hash == std::string(64, '0'));
  for (size_t i = 1; i < rows->size(); ++i) CHECK(rows->at(i).prev_hash == rows->at(i - 1).hash);
}

TEST_CASE("the triggers refuse update and delete through SQL") {
  StoreFixture f;
  { auto s = Seed(f, 3); }
  CHECK(RawExec(f.db, f.key, "UPDATE audit_events SET actor = 'mallory' WHERE seq = 2") == SQLITE_CONSTRAINT);
  CHECK(RawExec(f.db, f.key, "DELETE FROM audit_events WHERE seq = 2") == SQLITE_CONSTRAINT);
  CHECK(VerifyFresh(f).ok);
}

TEST_CASE("an edited event is named") {
  StoreFixture f;
  { auto s = Seed(f, 10); }
  Tamper(f, "UPDATE audit_events SET detail_json = '{\"decision\":\"rejected\"}' WHERE seq = 4");
  auto rep = VerifyFresh(f);
  CHECK_FALSE(rep.ok);
  CHECK(rep.code == "audit_event_edited");
  CHECK(rep.first_bad_seq == 4);
  CHECK(rep.events == 4);
}

TEST_CASE("an edited and re-hashed event breaks the next link") {
  StoreFixture f;
  { auto s = Seed(f, 10); }
  // The attacker knows the algorithm: edits event 4 and stores a correct hash for the new content.
  auto s = f.Open();
  auto rows = s->ListAudit(3, 1);
  REQUIRE(rows->size() == 1);
  auto forged = rows->at(0);
  forged.actor = "mallory";
  std::string h = audit::EventHash(forged);
  s.reset();
  Tamper(f, "UPDATE audit_events SET actor = 'mallory', hash = '" + h + "' WHERE seq = 4");
  auto rep = VerifyFresh(f);
  CHECK_FALSE(rep.ok);
  CHECK(rep.code == "audit_chain_broken");
  CHECK(rep.first_bad_seq == 5);
}

TEST_CASE("a deleted event is named") {
  StoreFixture f;
  { auto s = Seed(f, 10); }
  SECTION("in the middle") {
    Tamper(f, "DELETE FROM audit_events WHERE seq = 5");
    auto rep = VerifyFresh(f);
    CHECK_FALSE(rep.ok);
    CHECK(rep.code == "audit_event_deleted");
    CHECK(rep.first_bad_seq == 5);
  }
  SECTION("the first") {
    Tamper(f, "DELETE FROM audit_events WHERE seq = 1");
    auto rep = VerifyFresh(f);
    CHECK(rep.code == "audit_event_deleted");
    CHECK(rep.first_bad_seq == 1);
  }
  SECTION("the tail (checked against the recorded head)") {
    Tamper(f, "DELETE FROM audit_events WHERE seq >= 9");
    auto rep = VerifyFresh(f);
    CHECK(rep.code == "audit_event_deleted");
    CHECK(rep.first_bad_seq == 9);
  }
  SECTION("in the middle with the rest renumbered to hide the gap") {
    Tamper(f, "DELETE FROM audit_events WHERE seq = 5; UPDATE audit_events SET seq = seq - 1 WHERE seq > 5; UPDATE audit_head SET seq = 9");
    auto rep = VerifyFresh(f);
    CHECK_FALSE(rep.ok);
    CHECK(rep.first_bad_seq == 5);
    CHECK(rep.code == "audit_event_reordered");  // event 6 now sits at position 5
  }
}

TEST_CASE("reordered events are named") {
  StoreFixture f;
  { auto s = Seed(f, 10); }
  Tamper(f, "UPDATE audit_events SET seq = -3 WHERE seq = 3; UPDATE audit_events SET seq = 3 WHERE seq = 7; "
            "UPDATE audit_events SET seq = 7 WHERE seq = -3");
  auto rep = VerifyFresh(f);
  CHECK_FALSE(rep.ok);
  CHECK(rep.code == "audit_event_reordered");
  CHECK(rep.first_bad_seq == 3);
  CHECK(rep.message.find("number 7") != std::string::npos);
}

TEST_CASE("an event inserted behind the store's back is caught") {
  StoreFixture f;
  { auto s = Seed(f, 4); }
  auto s = f.Open();
  auto last = s->ListAudit(3, 1)->at(0);
  auto extra = audit::MakeEvent(2000, "mallory", "x", "y");
  extra.seq = 5;
  extra.prev_hash = last.hash;
  std::string h = audit::EventHash(extra);
  s.reset();
  Tamper(f, "INSERT INTO audit_events VALUES(5, 2000, 'mallory', 'x', 'y', '{}', '" + last.hash + "', '" + h + "')");
  auto rep = VerifyFresh(f);
  CHECK_FALSE(rep.ok);
  CHECK(rep.code == "audit_chain_broken");
  CHECK(rep.first_bad_seq == 5);
}
