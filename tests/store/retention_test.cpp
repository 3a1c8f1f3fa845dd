// Retention: biometric data older than the cutoff is purged and provably gone.
#include "store/store_fixture.h"

using namespace veridge;
using namespace veridge::testing;

namespace {
constexpr std::int64_t kDay = 86400;
const std::string kOldMarker = "OLD-BIOMETRIC-MARKER-";
const std::string kNewMarker = "NEW-BIOMETRIC-MARKER-";
const std::string kOldDescriptor = "OLD-DESCRIPTOR-BYTES-0123456789ABCDEF";
}  // namespace

TEST_CASE("purge removes old evidence and descriptors / keeps decisions and recent evidence") {
  StoreFixture f;
  auto s = f.Open();
  const std::int64_t now = 1'700'000'000;
  REQUIRE(s->CommitDecision(MakeDecision("old-1", now - 40 * kDay, "ref", FakeJpeg(kOldMarker, 100 * 1024), kOldDescriptor)).ok());
  REQUIRE(s->CommitDecision(MakeDecision("old-2", now - 31 * kDay, "ref", FakeJpeg(kOldMarker, 100 * 1024), kOldDescriptor)).ok());
  REQUIRE(s->CommitDecision(MakeDecision("new-1", now - 1 * kDay, "ref", FakeJpeg(kNewMarker, 100 * 1024), "new-desc")).ok());
  auto rep = s->PurgeBiometrics(now - 30 * kDay, now);
  REQUIRE(rep.ok());
  CHECK(rep->sessions == 2);
  CHECK(rep->evidence == 2);
  CHECK(rep->descriptors == 2);
  CHECK(rep->wal_truncated);
  CHECK(rep->vacuumed);
  CHECK(s->GetEvidence("old-1")->empty());
  CHECK(s->GetDescriptors("old-2")->empty());
  CHECK(s->GetSession("old-1")->biometrics_purged_at == now);
  CHECK(s->GetSession("old-1")->decision == "approved");  // the decision and result stay
  REQUIRE(s->GetEvidence("new-1")->size() == 1);
  CHECK_FALSE(s->GetSession("new-1")->biometrics_purged_at.has_value());
  std::filesystem::path wal = f.db;
  wal += "-wal";
  CHECK(std::filesystem::file_size(wal) == 0);  // no old page image left in the WAL
  auto check = s->Check();
  REQUIRE(check.ok());
  CHECK(check->ok);
  CHECK(check->freelist_count == 0);  // no free page left holding anything
  // The plaintext never reached the disk, before or after.
  CHECK_FALSE(Contains(f.RawBytes(), kOldMarker));
  CHECK_FALSE(Contains(f.RawBytes(), kNewMarker));
  // Idempotent: nothing more to purge.
  auto again = s->PurgeBiometrics(now - 30 * kDay, now + 1);
  REQUIRE(again.ok());
  CHECK(again->sessions == 0);
  CHECK(again->evidence == 0);
}

// The same schema and purge on an UNENCRYPTED file lets the test read the page bytes: the marker is
// visible in the raw file and WAL before the purge and gone from both after it. This proves the
// purge mechanics (secure_delete, checkpoint TRUNCATE, VACUUM), which encryption does not change.
TEST_CASE("purge leaves no trace in the file / WAL or free pages (unencrypted twin)") {
  StoreFixture f;
  auto opts = f.Options();
  opts.unencrypted_for_benchmark_only = true;
  auto s = store::Store::Open(opts);
  REQUIRE(s.ok());
  const std::int64_t now = 1'700'000'000;
  for (int i = 0; i < 3; ++i)
    REQUIRE((*s)->CommitDecision(MakeDecision("old-" + std::to_string(i), now - 40 * kDay, "ref", FakeJpeg(kOldMarker, 100 * 1024), kOldDescriptor)).ok());
  REQUIRE((*s)->CommitDecision(MakeDecision("new-1", now, "ref", FakeJpeg(kNewMarker, 100 * 1024), "new-desc")).ok());
  CHECK(Contains(f.RawBytes(), kOldMarker));  // the scan can see the marker when it is there
  CHECK(Contains(f.RawBytes(), kOldDescriptor));
  auto rep = (*s)->PurgeBiometrics(now - 30 * kDay, now);
  REQUIRE(rep.ok());
  CHECK(rep->evidence == 3);
  CHECK(rep->wal_truncated);
  std::string raw = f.RawBytes();
  CHECK_FALSE(Contains(raw, kOldMarker));
  CHECK_FALSE(Contains(raw, kOldDescriptor));
  CHECK(Contains(raw, kNewMarker));  // recent evidence is still there
  (*s).reset();
  raw = f.RawBytes();
  CHECK_FALSE(Contains(raw, kOldMarker));
  CHECK_FALSE(Contains(raw, kOldDescriptor));
}
