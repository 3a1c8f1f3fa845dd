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

namespace {

// What someone holding the store key can do that the chain alone cannot show: rewrite event
// `from` and re-hash every event after it and the head consistently.
void RewriteHistoryFrom(StoreFixture& f, std::int64_t from) {
  auto s = f.Open();
  auto rows = s->ListAudit(0, 10000);
  REQUIRE(rows.ok());
  s.reset();
  std::string sql;
  std::string prev = rows->at(static_cast<size_t>(from) - 1).prev_hash;
  for (size_t i = static_cast<size_t>(from) - 1; i < rows->size(); ++i) {
    auto ev = rows->at(i);
    if (ev.seq == from) ev.detail_json = R"({"decision":"rejected"})";
    ev.prev_hash = prev;
    ev.hash = audit::EventHash(ev);
    sql += "UPDATE audit_events SET detail_json = '" + ev.detail_json + "', prev_hash = '" + ev.prev_hash + "', hash = '" + ev.hash +
           "' WHERE seq = " + std::to_string(ev.seq) + "; ";
    prev = ev.hash;
  }
  sql += "UPDATE audit_head SET hash = '" + prev + "'";
  Tamper(f, sql);
}

audit::VerifyReport VerifyAnchorFresh(StoreFixture& f, const store::AuditHeadPoint& anchor) {
  auto options = f.Options();
  options.accept_anchor_mismatch = true;  // past the store's own anchor file (as after db reanchor)
  auto opened = store::Store::Open(options);
  REQUIRE(opened.ok());
  auto rep = audit::VerifyAnchor(**opened, anchor);
  REQUIRE(rep.ok());
  return rep.value();
}

}  // namespace

TEST_CASE("an anchor from a signed result matches the intact log at its sequence number") {
  StoreFixture f;
  store::AuditHeadPoint at6;
  {
    auto s = Seed(f, 10);
    at6 = {6, s->ListAudit(5, 1)->at(0).hash};
  }
  auto rep = VerifyAnchorFresh(f, at6);
  CHECK(rep.ok);
  CHECK(rep.code == "ok");
  CHECK(rep.events == 10);
  CHECK(VerifyAnchorFresh(f, {0, std::string(64, '0')}).ok);  // the empty log's point is in every log
}

TEST_CASE("a history rewritten consistently passes the chain check but fails against the anchor") {
  StoreFixture f;
  store::AuditHeadPoint at6, at3;
  {
    auto s = Seed(f, 10);
    at6 = {6, s->ListAudit(5, 1)->at(0).hash};
    at3 = {3, s->ListAudit(2, 1)->at(0).hash};
  }
  RewriteHistoryFrom(f, 4);
  CHECK(VerifyFresh(f).ok);  // the chain alone cannot see it: every link and the head agree
  auto rep = VerifyAnchorFresh(f, at6);
  CHECK_FALSE(rep.ok);
  CHECK(rep.code == "audit_anchor_mismatch");
  CHECK(rep.first_bad_seq == 6);
  CHECK(rep.message.find("rewritten") != std::string::npos);
  CHECK(VerifyAnchorFresh(f, at3).ok);  // a result signed before the rewritten part still matches: it dates the rewrite
}

TEST_CASE("a log cut back below the anchor, then continued, is refused as ahead or mismatched") {
  StoreFixture f;
  store::AuditHeadPoint at8;
  {
    auto s = Seed(f, 10);
    at8 = {8, s->ListAudit(7, 1)->at(0).hash};
  }
  SECTION("cut short") {
    Tamper(f, "DELETE FROM audit_events WHERE seq >= 6; UPDATE audit_head SET seq = 5, hash = (SELECT hash FROM audit_events WHERE seq = 5)");
    CHECK(VerifyFresh(f).ok);
    auto rep = VerifyAnchorFresh(f, at8);
    CHECK_FALSE(rep.ok);
    CHECK(rep.code == "audit_anchor_ahead");
    CHECK(rep.message.find("ends at event 5") != std::string::npos);
  }
  SECTION("the chain itself broken: its own finding comes first") {
    Tamper(f, "UPDATE audit_events SET actor = 'mallory' WHERE seq = 3");
    auto rep = VerifyAnchorFresh(f, at8);
    CHECK_FALSE(rep.ok);
    CHECK(rep.code == "audit_event_edited");
    CHECK(rep.first_bad_seq == 3);
  }
}

TEST_CASE("a malformed anchor is bad input, not a verdict") {
  StoreFixture f;
  auto s = Seed(f, 2);
  CHECK(audit::VerifyAnchor(*s, {-1, std::string(64, '0')}).status().code() == "bad_anchor");
  CHECK(audit::VerifyAnchor(*s, {1, "ABC"}).status().code() == "bad_anchor");
  CHECK(audit::VerifyAnchor(*s, {1, std::string(64, 'A')}).status().code() == "bad_anchor");
}

TEST_CASE("a decision committed onto a stale audit head is refused and writes nothing") {
  StoreFixture f;
  auto s = Seed(f, 3);
  auto head = s->AuditHead();
  REQUIRE(head.ok());
  auto rec = MakeDecision("sess-stale", 5000, "ref", FakeJpeg("J", 300), "d");
  rec.expect_audit_head = store::AuditHeadPoint{head->seq, head->hash};
  REQUIRE(audit::Append(*s, audit::MakeEvent(4000, "cli", "db.rekeyed", "x")).ok());  // another writer moved it on
  auto st = s->CommitDecision(rec);
  CHECK(st.code() == "audit_head_moved");
  CHECK(s->GetSession("sess-stale").status().code() == "not_found");
  CHECK(s->AuditHead()->seq == 4);
  rec.expect_audit_head = store::AuditHeadPoint{4, s->AuditHead()->hash};
  CHECK(s->CommitDecision(rec).ok());
  CHECK(s->AuditHead()->seq == 5);
}
