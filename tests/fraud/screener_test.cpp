// fraud::Screener: the 1:N checks of a session over the real encrypted store (SQLCipher), with
// templates placed at known distances: which sessions are duplicates, which are history
// mismatches, how the gallery follows commits, purges and other processes, and that a damaged
// stored template fails every check closed.
#include <cstring>

#include "fraud/fraud.h"
#include "store/store_fixture.h"

using namespace veridge;
using namespace veridge::testing;

namespace {

// A template whose L2 distance to Face(b, 0) is |a - b| for a != b in the first component, plus
// `jitter` in the second: Face(x, j) and Face(x, 0) are j apart.
std::vector<float> Face(float first, float jitter = 0.0f) {
  std::vector<float> t(fraud::kTemplateDims, 0.01f);
  t[0] = first;
  t[1] += jitter;
  return t;
}

std::string Blob(const std::vector<float>& t) {
  std::string b(sizeof(float) * t.size(), '\0');
  std::memcpy(b.data(), t.data(), b.size());
  return b;
}

// Commits a session whose live template is `live` (and a probe, which the checks do not read).
void Session(store::Store& s, const std::string& id, std::int64_t at, const std::string& ref, const std::vector<float>& live,
             std::vector<std::int64_t>* ids = nullptr) {
  auto rec = MakeDecision(id, at, ref, FakeJpeg("J", 300), Blob(live));
  rec.descriptors.push_back({fraud::kLiveTemplateKind, Blob(live)});
  rec.outbox.reset();
  REQUIRE(s.CommitDecision(rec, ids).ok());
}

fraud::ScreenOptions Options() {
  fraud::ScreenOptions o;
  o.list_size = 100;  // threshold 0.414
  o.mismatch_threshold = 0.6;
  return o;
}

}  // namespace

TEST_CASE("ThresholdForListSize: docs/fraud.md's measured rows, nothing beyond them") {
  CHECK(*fraud::ThresholdForListSize(1) == Approx(0.414));
  CHECK(*fraud::ThresholdForListSize(100) == Approx(0.414));
  CHECK(*fraud::ThresholdForListSize(101) == Approx(0.348));
  CHECK(*fraud::ThresholdForListSize(1000) == Approx(0.348));
  CHECK(fraud::ThresholdForListSize(1001).status().code() == "list_size_unsupported");
  CHECK(fraud::ThresholdForListSize(0).status().code() == "list_size_unsupported");
}

TEST_CASE("Screener: the same face under another applicant_ref is a duplicate; the same applicant's own sessions are not") {
  StoreFixture f;
  auto s = f.Open();
  Session(*s, "s-alice-1", 1000, "ALICE", Face(1.0f));
  Session(*s, "s-alice-2", 1001, "ALICE", Face(1.0f, 0.1f));
  Session(*s, "s-bob", 1002, "BOB", Face(1.0f, 0.3f));      // same face, 0.3 away: below 0.414
  Session(*s, "s-carol", 1003, "CAROL", Face(1.0f, 0.5f));  // 0.5 away: not a hit
  Session(*s, "s-anon", 1004, "", Face(1.0f, 0.05f));       // no identity claimed: never a duplicate
  Session(*s, "s-dave", 1005, "DAVE", Face(5.0f));          // another face
  auto screener = fraud::Screener::Load(*s, Options());
  REQUIRE(screener.ok());
  CHECK((*screener)->size() == 6);
  CHECK((*screener)->threshold() == Approx(0.414));

  auto r = (*screener)->Screen(Face(1.0f), "ALICE");
  REQUIRE(r.ok());
  CHECK(r->identity_checks);
  CHECK(r->gallery == 6);
  REQUIRE(r->duplicates.size() == 1);
  CHECK(r->duplicates[0].session_id == "s-bob");
  CHECK(r->duplicates[0].distance == Approx(0.3).epsilon(1e-4));
  CHECK(r->history == 2);
  CHECK(r->history_mismatches.empty());
  CHECK_FALSE(r->watchlist_checked);

  // A new applicant with Dave's face: Dave is a duplicate, no history.
  auto e = (*screener)->Screen(Face(5.0f, 0.2f), "ERIN");
  REQUIRE(e.ok());
  REQUIRE(e->duplicates.size() == 1);
  CHECK(e->duplicates[0].session_id == "s-dave");
  CHECK(e->history == 0);

  // A stranger: nothing.
  auto x = (*screener)->Screen(Face(9.0f), "XAVIER");
  REQUIRE(x.ok());
  CHECK(x->duplicates.empty());
  CHECK(x->history_mismatches.empty());

  // No applicant_ref: the identity checks do not run (and so cannot hit).
  auto n = (*screener)->Screen(Face(1.0f), "");
  REQUIRE(n.ok());
  CHECK_FALSE(n->identity_checks);
  CHECK(n->duplicates.empty());
}

TEST_CASE("Screener: a face that differs from an earlier session of the same applicant_ref is a history mismatch") {
  StoreFixture f;
  auto s = f.Open();
  Session(*s, "s-1", 1000, "ALICE", Face(1.0f));
  Session(*s, "s-2", 1001, "ALICE", Face(1.0f, 0.2f));
  Session(*s, "s-3", 1002, "ALICE", Face(3.0f));  // someone else used Alice's ref once
  auto screener = fraud::Screener::Load(*s, Options());
  REQUIRE(screener.ok());
  auto r = (*screener)->Screen(Face(1.0f, 0.1f), "ALICE");
  REQUIRE(r.ok());
  CHECK(r->history == 3);
  REQUIRE(r->history_mismatches.size() == 1);
  CHECK(r->history_mismatches[0].session_id == "s-3");
  CHECK(r->history_mismatches[0].distance > 1.9f);
  CHECK(r->mismatch_threshold == Approx(0.6));
  // The borrower of the ref: both of Alice's sessions differ, farthest first.
  auto b = (*screener)->Screen(Face(3.0f), "ALICE");
  REQUIRE(b.ok());
  REQUIRE(b->history_mismatches.size() == 2);
  CHECK(b->history_mismatches[0].distance >= b->history_mismatches[1].distance);
}

TEST_CASE("Screener: a committed session joins the gallery at once; sessions another process commits are read before each screen") {
  StoreFixture f;
  auto s = f.Open();
  auto screener = fraud::Screener::Load(*s, Options());
  REQUIRE(screener.ok());
  CHECK((*screener)->size() == 0);
  std::vector<std::int64_t> ids;
  Session(*s, "s-1", 1000, "ALICE", Face(1.0f), &ids);
  REQUIRE(ids.size() == 2);  // the probe, then the live template
  REQUIRE((*screener)->Committed(ids[1], "s-1", "ALICE", 1000, Face(1.0f)).ok());
  CHECK((*screener)->size() == 1);

  // Another process (its own connection) commits a session of the same face.
  {
    auto other = store::Store::Open(f.Options());
    REQUIRE(other.ok());
    Session(**other, "s-other", 1001, "MALLORY", Face(1.0f, 0.1f));
  }
  auto r = (*screener)->Screen(Face(1.0f, 0.05f), "ALICE");
  REQUIRE(r.ok());
  CHECK((*screener)->size() == 2);
  REQUIRE(r->duplicates.size() == 1);
  CHECK(r->duplicates[0].session_id == "s-other");
}

TEST_CASE("Screener: a retention purge removes the templates; a purged face no longer produces a hit") {
  StoreFixture f;
  auto s = f.Open();
  Session(*s, "s-old", 1000, "BOB", Face(1.0f));
  Session(*s, "s-new", 5000, "CAROL", Face(2.0f));
  auto screener = fraud::Screener::Load(*s, Options());
  REQUIRE(screener.ok());
  REQUIRE((*screener)->Screen(Face(1.0f), "ALICE")->duplicates.size() == 1);

  SECTION("purged through the screener") {
    auto rep = (*screener)->PurgeBiometrics(2000, 6000);
    REQUIRE(rep.ok());
    CHECK(rep->sessions == 1);
    CHECK((*screener)->size() == 1);
  }
  SECTION("purged by another process (veridge db purge) while this index holds the template") {
    auto other = store::Store::Open(f.Options());
    REQUIRE(other.ok());
    REQUIRE((*other)->PurgeBiometrics(2000, 6000).ok());
    CHECK((*screener)->size() == 2);  // not yet known here
  }
  auto r = (*screener)->Screen(Face(1.0f), "ALICE");
  REQUIRE(r.ok());
  CHECK(r->duplicates.empty());
  CHECK((*screener)->size() == 1);  // the stale template left the gallery when it was about to hit
  CHECK((*screener)->Screen(Face(2.0f), "ALICE")->duplicates.size() == 1);  // the kept one still hits
  // Rebuilt from the store (the next start): the purged face is not there at all.
  auto rebuilt = fraud::Screener::Load(*s, Options());
  REQUIRE(rebuilt.ok());
  CHECK((*rebuilt)->size() == 1);
  CHECK((*rebuilt)->Screen(Face(1.0f), "ALICE")->duplicates.empty());
}

TEST_CASE("Screener: a damaged stored template fails every check closed, naming the row and not its bytes") {
  StoreFixture f;
  auto s = f.Open();
  Session(*s, "s-good", 1000, "BOB", Face(1.0f));
  auto bad = MakeDecision("s-bad", 1001, "CAROL", FakeJpeg("J", 300), Blob(Face(1.0f)));
  bad.descriptors.push_back({fraud::kLiveTemplateKind, "SECRETBYTES-not-a-template"});
  bad.outbox.reset();
  REQUIRE(s->CommitDecision(bad).ok());
  auto screener = fraud::Screener::Load(*s, Options());
  REQUIRE(screener.ok());  // the load itself works: the checks are what fail
  auto r = (*screener)->Screen(Face(1.0f), "ALICE");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == "template_damaged");
  CHECK(r.status().ExitCode() == 3);
  CHECK(Contains(r.status().message(), "stored template 4"));
  CHECK(Contains(r.status().message(), "s-bad"));
  CHECK_FALSE(Contains(r.status().message(), "SECRETBYTES"));

  // A NaN in a stored template is damage too.
  StoreFixture g;
  auto t = g.Open();
  auto nan = Face(1.0f);
  nan[7] = std::numeric_limits<float>::quiet_NaN();
  Session(*t, "s-nan", 1000, "BOB", nan);
  auto sn = fraud::Screener::Load(*t, Options());
  REQUIRE(sn.ok());
  CHECK((*sn)->Screen(Face(1.0f), "ALICE").status().code() == "template_damaged");
}

TEST_CASE("Screener: the watchlist seam reports entry ids within the 1:N threshold") {
  StoreFixture f;
  auto s = f.Open();
  fraud::Watchlist list;
  REQUIRE(list.Add("wl-0001", Face(4.0f)).ok());
  REQUIRE(list.Add("wl-0002", Face(6.0f)).ok());
  CHECK(list.Add("wl-0001", Face(7.0f)).code() == "duplicate");
  CHECK(list.Add("", Face(7.0f)).code() == "bad_entry_id");
  auto screener = fraud::Screener::Load(*s, Options(), &list);
  REQUIRE(screener.ok());
  auto hit = (*screener)->Screen(Face(4.0f, 0.2f), "");
  REQUIRE(hit.ok());
  CHECK(hit->watchlist_checked);
  CHECK(hit->watchlist_size == 2);
  REQUIRE(hit->watchlist.size() == 1);
  CHECK(hit->watchlist[0].entry_id == "wl-0001");
  CHECK(hit->watchlist[0].distance == Approx(0.2).epsilon(1e-4));
  CHECK((*screener)->Screen(Face(4.0f, 0.45f), "")->watchlist.empty());  // beyond 0.414
}

TEST_CASE("Screener::Load refuses options without a measured threshold") {
  StoreFixture f;
  auto s = f.Open();
  fraud::ScreenOptions o;
  o.list_size = 10000;
  CHECK(fraud::Screener::Load(*s, o).status().code() == "list_size_unsupported");
  o.list_size = 100;
  o.max_hits = 0;
  CHECK(fraud::Screener::Load(*s, o).status().code() == "bad_option");
}
