// fraud::BuildFromStore: the index at start from the real encrypted store (SQLCipher), paged;
// a damaged template fails the build by row id; a retention purge leaves nothing to index.
#include <cstring>

#include "fraud/fraud.h"
#include "store/store_fixture.h"

using namespace veridge;
using namespace veridge::testing;

namespace {

std::string Blob(float first) {
  std::vector<float> t(fraud::kTemplateDims, 0.01f);
  t[0] = first;
  std::string b(sizeof(float) * t.size(), '\0');
  std::memcpy(b.data(), t.data(), b.size());
  return b;
}

std::vector<float> Query(float first) {
  std::vector<float> t(fraud::kTemplateDims, 0.01f);
  t[0] = first;
  return t;
}

}  // namespace

TEST_CASE("fraud index built from the store: every stored probe template, searchable by row id") {
  StoreFixture f;
  auto s = f.Open();
  for (int i = 0; i < 1205; ++i) {  // more than one page of 1000
    auto rec = MakeDecision("sess-" + std::to_string(i), 1000 + i, "ref-" + std::to_string(i), FakeJpeg("J", 300), Blob(float(i)));
    rec.descriptors.push_back({"face_reference", Blob(-1.0f)});
    rec.outbox.reset();
    REQUIRE(s->CommitDecision(rec).ok());
  }
  fraud::FlatIndex index;
  auto n = fraud::BuildFromStore(*s, "face_probe", index);
  REQUIRE(n.ok());
  CHECK(*n == 1205);
  CHECK(index.size() == 1205);
  auto hits = index.Search(Query(1100.0f), 1);
  REQUIRE(hits.ok());
  REQUIRE(hits->size() == 1);
  CHECK(hits->at(0).distance < 1e-3f);
  auto row = s->ListDescriptors("face_probe", hits->at(0).id - 1, 1);
  REQUIRE(row.ok());
  REQUIRE(row->size() == 1);
  CHECK(row->at(0).id == hits->at(0).id);
  CHECK(row->at(0).session_id == "sess-1100");
}

TEST_CASE("fraud index from the store: a damaged template fails the build and names its row, not its bytes") {
  StoreFixture f;
  auto s = f.Open();
  auto good = MakeDecision("sess-good", 1000, "ref-a", FakeJpeg("J", 300), Blob(0.5f));
  good.outbox.reset();
  REQUIRE(s->CommitDecision(good).ok());
  auto bad = MakeDecision("sess-bad", 1001, "ref-b", FakeJpeg("J", 300), "SECRETBYTES-not-a-template");
  bad.outbox.reset();
  REQUIRE(s->CommitDecision(bad).ok());
  fraud::FlatIndex index;
  auto n = fraud::BuildFromStore(*s, "face_probe", index);
  REQUIRE_FALSE(n.ok());
  CHECK(n.status().code() == "bad_template");
  CHECK(Contains(n.status().message(), "stored template 2"));
  CHECK_FALSE(Contains(n.status().message(), "SECRETBYTES"));
}

TEST_CASE("fraud index from the store: purged sessions leave no template to index") {
  StoreFixture f;
  auto s = f.Open();
  for (int i = 0; i < 3; ++i) {
    auto rec = MakeDecision("sess-" + std::to_string(i), 1000 + 1000 * i, "ref", FakeJpeg("J", 300), Blob(float(i)));
    rec.outbox.reset();
    REQUIRE(s->CommitDecision(rec).ok());
  }
  REQUIRE(s->PurgeBiometrics(2500, 4000).ok());  // sessions 0 (t=1000) and 1 (t=2000) are older
  fraud::FlatIndex index;
  auto n = fraud::BuildFromStore(*s, "face_probe", index);
  REQUIRE(n.ok());
  CHECK(*n == 1);
  CHECK(index.Search(Query(0.0f), 1, 0.5f)->empty());  // the purged face no longer produces a hit
  CHECK(index.Search(Query(2.0f), 1, 0.5f)->size() == 1);
}
