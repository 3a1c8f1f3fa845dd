// Store tests on real SQLCipher files: keying, settings, one-transaction decisions, what the raw
// bytes reveal, key faults, corruption, disk full, rekey, concurrency.
#include <sys/stat.h>

#include <cstdio>
#include <cstring>

#include "common/files.h"
#include <thread>

#include "common/sha256.h"
#include "store/store_fixture.h"

using namespace veridge;
using namespace veridge::testing;

namespace {

std::string Descriptor(float seed) {
  // 128 floats, like the face descriptor, stored as raw bytes.
  std::string d(128 * sizeof(float), '\0');
  for (int i = 0; i < 128; ++i) {
    float v = seed + 0.001f * static_cast<float>(i);
    std::memcpy(d.data() + i * sizeof(float), &v, sizeof v);
  }
  return d;
}

// Runs a shell command; returns its exit status and output (stdout+stderr).
std::pair<int, std::string> Shell(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  REQUIRE(p);
  char buf[512];
  while (size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  int st = ::pclose(p);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

}  // namespace

TEST_CASE("a new store is encrypted / WAL / synchronous FULL / secure_delete / latest schema (v4)") {
  StoreFixture f;
  auto s = f.Open();
  auto v = s->SchemaVersion();
  REQUIRE(v.ok());
  CHECK(v.value() == 4);
  auto check = s->Check();
  REQUIRE(check.ok());
  CHECK(check->ok);
  CHECK(check->cipher_version == "3.4.1");
  CHECK(check->schema_version == 4);
  // Settings are read back through a raw connection too (a second opinion on what took effect).
  struct stat st {};
  REQUIRE(::stat(f.db.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  std::filesystem::path wal = f.db;
  wal += "-wal";
  CHECK(std::filesystem::exists(wal));  // WAL mode creates the -wal file
  // A plaintext SQLite file would start with "SQLite format 3": this one starts with a salt.
  CHECK(ReadAllBytes(f.db).substr(0, 15) != "SQLite format 3");
}

TEST_CASE("a decision is stored whole: session / factors / evidence / descriptors / audit / outbox") {
  StoreFixture f;
  auto s = f.Open();
  std::string jpeg = FakeJpeg("EVIDENCE-MARKER-", 100 * 1024);
  auto rec = MakeDecision("sess-1", 1700000000, "APPLICANT-REF-4711", jpeg, Descriptor(0.25f));
  REQUIRE(s->CommitDecision(rec).ok());

  auto got = s->GetSession("sess-1");
  REQUIRE(got.ok());
  CHECK(got->applicant_ref == "APPLICANT-REF-4711");
  CHECK(got->decision == "approved");
  CHECK(got->result_json == rec.result_json);
  REQUIRE(got->factors.size() == 3);
  CHECK(got->factors[0].factor == "certificate");
  CHECK(got->factors[1].factor == "face");
  CHECK(got->factors[1].score == Approx(0.41));
  CHECK_FALSE(got->biometrics_purged_at.has_value());

  auto ev = s->GetEvidence("sess-1");
  REQUIRE(ev.ok());
  REQUIRE(ev->size() == 1);
  CHECK(ev->at(0).data == jpeg);
  CHECK(ev->at(0).sha256 == veridge::Sha256Hex(jpeg));
  CHECK(ev->at(0).sha256.size() == 64);
  auto ds = s->GetDescriptors("sess-1");
  REQUIRE(ds.ok());
  REQUIRE(ds->size() == 1);
  CHECK(ds->at(0).data == Descriptor(0.25f));

  auto audit_rows = s->ListAudit(0, 10);
  REQUIRE(audit_rows.ok());
  REQUIRE(audit_rows->size() == 1);
  CHECK(audit_rows->at(0).seq == 1);
  CHECK(audit_rows->at(0).action == "session.decided");
  CHECK(audit_rows->at(0).hash == audit::EventHash(audit_rows->at(0)));

  auto out = s->ListOutbox(std::nullopt, 10);
  REQUIRE(out.ok());
  REQUIRE(out->size() == 1);
  CHECK(out->at(0).webhook_id == "msg_sess-1");
  CHECK(out->at(0).session_id == "sess-1");
  CHECK(out->at(0).state == store::OutboxState::kPending);

  // Survives closing and reopening.
  s.reset();
  auto s2 = f.Open();
  CHECK(s2->GetSession("sess-1").ok());
  CHECK(s2->GetSession("nope").status().code() == "not_found");
}

TEST_CASE("a failing part rolls the whole decision back") {
  StoreFixture f;
  auto s = f.Open();
  REQUIRE(s->CommitDecision(MakeDecision("sess-1", 100, "ref-1", FakeJpeg("A", 2000), Descriptor(1))).ok());
  SECTION("duplicate session id") {
    auto st = s->CommitDecision(MakeDecision("sess-1", 101, "ref-2", FakeJpeg("B", 2000), Descriptor(2)));
    CHECK(st.code() == "duplicate");
    CHECK(st.ExitCode() == 2);
    CHECK(s->GetSession("sess-1")->applicant_ref == "ref-1");
  }
  SECTION("the outbox row fails (duplicate webhook id): nothing of session 2 is kept") {
    auto rec = MakeDecision("sess-2", 101, "ref-2", FakeJpeg("B", 2000), Descriptor(2));
    rec.outbox->webhook_id = "msg_sess-1";
    CHECK(s->CommitDecision(rec).code() == "duplicate");
    CHECK(s->GetSession("sess-2").status().code() == "not_found");
    CHECK(s->GetEvidence("sess-2")->empty());
    CHECK(s->GetDescriptors("sess-2")->empty());
    CHECK(s->ListAudit(0, 10)->size() == 1);  // only session 1's event
    CHECK(s->AuditHead()->seq == 1);
  }
  SECTION("evidence hash given and wrong") {
    auto rec = MakeDecision("sess-3", 101, "ref-3", FakeJpeg("C", 2000), Descriptor(3));
    rec.evidence[0].sha256 = std::string(64, 'a');
    CHECK(s->CommitDecision(rec).code() == "evidence_hash_mismatch");
    CHECK(s->GetSession("sess-3").status().code() == "not_found");
  }
  SECTION("oversized evidence is refused before touching the database") {
    auto rec = MakeDecision("sess-4", 101, "ref-4", std::string(store::kMaxEvidenceBytes + 1, 'x'), Descriptor(4));
    CHECK(s->CommitDecision(rec).code() == "too_large");
  }
  // The store stays usable after every failure.
  CHECK(s->CommitDecision(MakeDecision("sess-9", 102, "ref-9", FakeJpeg("Z", 2000), Descriptor(9))).ok());
}

TEST_CASE("the raw files hold no applicant reference / descriptor bytes / JPEG header or evidence") {
  StoreFixture f;
  auto s = f.Open();
  const std::string ref = "APPLICANT-REF-0123456789";
  const std::string desc = Descriptor(0.5f);
  const std::string jpeg = FakeJpeg("EVIDENCE-MARKER-", 100 * 1024);
  for (int i = 0; i < 5; ++i)
    REQUIRE(s->CommitDecision(MakeDecision("sess-" + std::to_string(i), 1000 + i, ref, jpeg, desc)).ok());
  auto scan = [&](const std::string& raw) {
    CHECK(raw.size() > 500 * 1024);  // the data really is in there (encrypted)
    CHECK_FALSE(Contains(raw, ref));
    CHECK_FALSE(Contains(raw, "sess-1"));
    CHECK_FALSE(Contains(raw, desc.substr(0, 32)));
    CHECK_FALSE(Contains(raw, "EVIDENCE-MARKER-"));
    CHECK_FALSE(Contains(raw, "approved"));
    CHECK_FALSE(Contains(raw, "CREATE TABLE"));
    // FF D8 FF alone occurs by chance in random bytes (~1 hit per 16 MiB); the 11-byte JPEG/JFIF
    // header cannot.
    CHECK_FALSE(Contains(raw, jpeg.substr(0, 11)));
  };
  scan(f.RawBytes());  // while open: main file + WAL
  s.reset();
  scan(f.RawBytes());  // after close (WAL checkpointed)
}

TEST_CASE("plain sqlite3 cannot open the store") {
  StoreFixture f;
  {
    auto s = f.Open();
    REQUIRE(s->CommitDecision(MakeDecision("sess-1", 1, "ref", FakeJpeg("A", 1000), Descriptor(1))).ok());
  }
  auto [rc, out] = Shell("sqlite3 '" + f.db.string() + "' 'SELECT count(*) FROM sqlite_master'");
  INFO(out);
  CHECK(rc != 0);
  CHECK(Contains(out, "not a database"));
}

TEST_CASE("key file faults give clear codes") {
  StoreFixture f;
  {
    auto s = f.Open();
    REQUIRE(s->CommitDecision(MakeDecision("sess-1", 1, "ref", FakeJpeg("A", 1000), Descriptor(1))).ok());
  }
  auto opts = f.Options();
  SECTION("wrong key") {
    opts.key_file = f.dir / "other.key";
    REQUIRE(store::GenerateKeyFile(opts.key_file).ok());
    auto s = store::Store::Open(opts);
    REQUIRE_FALSE(s.ok());
    CHECK(s.status().code() == "store_key_wrong");
    CHECK(s.status().kind() == Status::Kind::kPermission);
  }
  SECTION("missing key file") {
    opts.key_file = f.dir / "absent.key";
    auto s = store::Store::Open(opts);
    CHECK(s.status().code() == "store_key_missing");
    CHECK(Contains(s.status().message(), "keys init"));
  }
  SECTION("key file readable by others") {
    REQUIRE(::chmod(f.key.c_str(), 0644) == 0);
    auto s = store::Store::Open(opts);
    CHECK(s.status().code() == "insecure_permissions");
  }
  SECTION("key file of the wrong size") {
    opts.key_file = f.dir / "short.key";
    REQUIRE(WriteFileAtomic(opts.key_file, "too-short", 0600).ok());
    auto s = store::Store::Open(opts);
    CHECK(s.status().code() == "store_key_invalid");
    CHECK_FALSE(Contains(s.status().message(), "too-short"));  // never echo key material
  }
  SECTION("a 64-hex-digit key file holding the same key opens it") {
    auto raw = store::ReadStoreKey(f.key);
    REQUIRE(raw.ok());
    std::string hex;
    static const char* d = "0123456789abcdef";
    for (unsigned char c : raw.value()) hex += {d[c >> 4], d[c & 15]};
    opts.key_file = f.dir / "hex.key";
    REQUIRE(WriteFileAtomic(opts.key_file, hex + "\n", 0600).ok());
    auto s = store::Store::Open(opts);
    INFO(s.status().ToString());
    CHECK(s.ok());
  }
  SECTION("a plaintext SQLite file is refused") {
    opts.path = f.dir / "plain.db";
    auto [rc, out] = Shell("sqlite3 '" + opts.path.string() + "' 'CREATE TABLE t(x)'");
    REQUIRE(rc == 0);
    auto s = store::Store::Open(opts);
    CHECK(s.status().code() == "store_not_encrypted");
  }
  SECTION("GenerateKeyFile never overwrites") {
    CHECK(store::GenerateKeyFile(f.key).code() == "exists");
  }
}

TEST_CASE("a corrupted page is reported by Check and on read / without a crash") {
  StoreFixture f;
  std::string jpeg = FakeJpeg("EVIDENCE-", 200 * 1024);
  {
    auto s = f.Open();
    for (int i = 0; i < 3; ++i) REQUIRE(s->CommitDecision(MakeDecision("sess-" + std::to_string(i), i, "ref", jpeg, Descriptor(1))).ok());
  }
  auto size = std::filesystem::file_size(f.db);
  REQUIRE(size > 400 * 1024);
  {
    // Overwrite 64 bytes in the middle of the file (inside some page's ciphertext).
    std::fstream io(f.db, std::ios::in | std::ios::out | std::ios::binary);
    io.seekp(static_cast<std::streamoff>(size / 2));
    std::string junk(64, '\xAA');
    io.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  }
  auto s = f.Open();  // page 1 is intact: the store opens
  auto check = s->Check();
  if (check.ok()) {
    CHECK_FALSE(check->ok);
    CHECK_FALSE(check->problems.empty());
  } else {
    INFO(check.status().ToString());
    CHECK(check.status().code() == "store_corrupt");
  }
  // Reading every evidence blob hits the damaged page somewhere: a clean error, not garbage.
  bool saw_error = false;
  for (int i = 0; i < 3; ++i) {
    auto ev = s->GetEvidence("sess-" + std::to_string(i));
    if (!ev.ok()) {
      saw_error = true;
      CHECK(ev.status().code() == "store_corrupt");
      CHECK(ev.status().kind() == Status::Kind::kCorruption);
    } else {
      REQUIRE(ev->size() == 1);
      CHECK(ev->at(0).data == jpeg);  // an undamaged blob is intact
    }
  }
  CHECK(saw_error);
}

TEST_CASE("damage to the first page reads as wrong key or corruption / never a crash") {
  StoreFixture f;
  { auto s = f.Open(); }
  {
    std::fstream io(f.db, std::ios::in | std::ios::out | std::ios::binary);
    io.seekp(100);
    std::string junk(64, '\x55');
    io.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  }
  auto s = store::Store::Open(f.Options());
  REQUIRE_FALSE(s.ok());
  CHECK(s.status().code() == "store_key_wrong");  // indistinguishable by design: the page's HMAC fails
  CHECK(Contains(s.status().message(), "damaged"));
}

TEST_CASE("disk full while writing: clear error / earlier decisions intact / store usable") {
  StoreFixture f;
  auto opts = f.Options();
  {
    auto s = f.Open();
    REQUIRE(s->CommitDecision(MakeDecision("sess-0", 1, "ref", FakeJpeg("A", 50 * 1024), Descriptor(1))).ok());
  }
  auto pages = std::filesystem::file_size(f.db) / 4096;
  opts.max_pages = static_cast<std::int64_t>(pages) + 40;  // room for ~150 KB more, not for 1 MB
  auto s = store::Store::Open(opts);
  REQUIRE(s.ok());
  REQUIRE((*s)->CommitDecision(MakeDecision("sess-1", 2, "ref", FakeJpeg("B", 50 * 1024), Descriptor(1))).ok());
  auto big = MakeDecision("sess-2", 3, "ref", FakeJpeg("C", 1024 * 1024), Descriptor(1));
  auto st = (*s)->CommitDecision(big);
  CHECK(st.code() == "disk_full");
  CHECK(st.kind() == Status::Kind::kIo);
  CHECK(st.ExitCode() == 3);
  CHECK((*s)->GetSession("sess-2").status().code() == "not_found");
  CHECK((*s)->GetSession("sess-0").ok());
  CHECK((*s)->GetSession("sess-1").ok());
  CHECK((*s)->ListOutbox(std::nullopt, 10)->size() == 2);
  CHECK((*s)->AuditHead()->seq == 2);
  // A small write still fits: the connection is not wedged by the failure.
  CHECK((*s)->CommitDecision(MakeDecision("sess-3", 4, "ref", FakeJpeg("D", 1000), Descriptor(1))).ok());
  auto check = (*s)->Check();
  REQUIRE(check.ok());
  CHECK(check->ok);
}

TEST_CASE("rekey keeps the data / afterwards only the new key opens the file") {
  StoreFixture f;
  std::string jpeg = FakeJpeg("EVIDENCE-", 100 * 1024);
  auto new_key = f.dir / "new.key";
  REQUIRE(store::GenerateKeyFile(new_key).ok());
  {
    auto s = f.Open();
    for (int i = 0; i < 3; ++i) REQUIRE(s->CommitDecision(MakeDecision("sess-" + std::to_string(i), i, "ref", jpeg, Descriptor(1))).ok());
    REQUIRE(s->Rekey(new_key).ok());
    // The same connection goes on working under the new key.
    REQUIRE(s->CommitDecision(MakeDecision("sess-3", 3, "ref", jpeg, Descriptor(1))).ok());
  }
  auto old_opts = f.Options();
  CHECK(store::Store::Open(old_opts).status().code() == "store_key_wrong");
  auto new_opts = f.Options();
  new_opts.key_file = new_key;
  auto s = store::Store::Open(new_opts);
  REQUIRE(s.ok());
  for (int i = 0; i < 4; ++i) {
    auto ev = (*s)->GetEvidence("sess-" + std::to_string(i));
    REQUIRE(ev.ok());
    REQUIRE(ev->size() == 1);
    CHECK(ev->at(0).data == jpeg);
  }
  auto check = (*s)->Check();
  REQUIRE(check.ok());
  CHECK(check->ok);
  CHECK((*s)->Rekey(f.dir / "absent.key").code() == "store_key_missing");
}

TEST_CASE("threads and a second connection share the store safely") {
  StoreFixture f;
  auto s = f.Open();
  auto other = f.Open();  // like `veridge outbox run` beside `veridge verify`
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        auto& target = (i % 2) ? *s : *other;
        auto st = target.CommitDecision(MakeDecision("t" + std::to_string(t) + "-" + std::to_string(i), i, "ref", FakeJpeg("T", 4000), Descriptor(1)));
        if (!st.ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(failures == 0);
  CHECK(s->ListSessions(1000)->size() == 40);
  CHECK(other->AuditHead()->seq == 40);
  auto rep = audit::Verify(*s);
  REQUIRE(rep.ok());
  CHECK(rep->ok);
  CHECK(rep->events == 40);
}

TEST_CASE("opening without create refuses a missing file / without a hasher refuses audit events") {
  StoreFixture f;
  auto opts = f.Options();
  opts.create_if_missing = false;
  CHECK(store::Store::Open(opts).status().code() == "store_missing");
  opts.create_if_missing = true;
  opts.audit_hasher = nullptr;
  auto s = store::Store::Open(opts);
  REQUIRE(s.ok());
  CHECK((*s)->CommitDecision(MakeDecision("sess-1", 1, "ref", "x", "y")).code() == "audit_hasher_missing");
  CHECK((*s)->GetSession("sess-1").status().code() == "not_found");
}

TEST_CASE("real JPEG evidence (LFW) leaves no JPEG bytes in the raw files") {
  auto dir = SharedData("faces/lfw-view1/images");
  VERIDGE_REQUIRE_PATH(dir, "LFW test images (../shared/data/faces)");
  std::vector<std::string> jpegs;
  for (const auto& person : std::filesystem::directory_iterator(dir)) {
    if (!person.is_directory()) continue;
    for (const auto& img : std::filesystem::directory_iterator(person.path())) {
      if (img.path().extension() == ".jpg") jpegs.push_back(ReadAllBytes(img.path()));
      if (jpegs.size() >= 20) break;
    }
    if (jpegs.size() >= 20) break;
  }
  REQUIRE(jpegs.size() == 20);
  StoreFixture f;
  auto s = f.Open();
  for (size_t i = 0; i < jpegs.size(); ++i) {
    REQUIRE(jpegs[i].substr(0, 3) == "\xFF\xD8\xFF");
    REQUIRE(s->CommitDecision(MakeDecision("lfw-" + std::to_string(i), static_cast<std::int64_t>(i), "ref", jpegs[i], Descriptor(0.1f))).ok());
  }
  std::string raw = f.RawBytes();
  for (const auto& j : jpegs) {
    CHECK_FALSE(Contains(raw, j.substr(0, 16)));               // SOI + APPn header
    CHECK_FALSE(Contains(raw, j.substr(j.size() / 2, 32)));   // a slice of the entropy-coded data
  }
  // FF D8 FF (3 bytes) does occur by chance in ciphertext; it must not occur more often than
  // chance says (expected size / 2^24; allow a generous margin).
  size_t hits = 0;
  for (size_t pos = raw.find("\xFF\xD8\xFF"); pos != std::string::npos; pos = raw.find("\xFF\xD8\xFF", pos + 1)) ++hits;
  CHECK(hits <= 3 + raw.size() / (1u << 24) * 4);
  CHECK(s->GetEvidence("lfw-7")->at(0).data == jpegs[7]);
}

// Regression: several processes (verify, outbox run) opening a brand-new database at once each
// applied migration 1; the second failed with "table sessions already exists".
TEST_CASE("several openers of a new database apply each migration once") {
  StoreFixture f;
  auto options = f.Options();
  std::vector<std::thread> threads;
  std::vector<Status> results(4);
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&, i] {
      auto s = store::Store::Open(options);
      results[i] = s.ok() ? Status::Ok() : s.status();
    });
  for (auto& t : threads) t.join();
  for (const auto& r : results) CHECK(r.ToString() == "ok");
  auto s = f.Open();
  CHECK(*s->SchemaVersion() >= 1);
}
