// tests/store/store_fixture.h — helpers for the store and audit suites: a real SQLCipher file in
// a TempDir with a real 0600 key file, plus raw access for tampering and byte scans.
#pragma once

#define SQLITE_HAS_CODEC 1
#include <sqlcipher/sqlite3.h>
#include <sys/stat.h>

#include <fstream>
#include <iterator>
#include <memory>
#include <string>

#include "audit/audit.h"
#include "store/store.h"
#include "support/test_support.h"

namespace veridge::testing {

inline std::string ReadAllBytes(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline bool Contains(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

struct StoreFixture {
  TempDir dir;
  std::filesystem::path db = dir / "veridge.db";
  std::filesystem::path key = dir / "store.key";

  StoreFixture() { REQUIRE(store::GenerateKeyFile(key).ok()); }

  store::StoreOptions Options() const {
    store::StoreOptions o;
    o.path = db;
    o.key_file = key;
    o.create_if_missing = true;  // the fixture makes its store (as keys init / db init would)
    o.audit_hasher = audit::ChainHasher();
    return o;
  }

  std::unique_ptr<store::Store> Open() {
    auto s = store::Store::Open(Options());
    INFO(s.status().ToString());
    REQUIRE(s.ok());
    return std::move(s.value());
  }

  // Both files on disk as they are now (main file + WAL, if any).
  std::string RawBytes() const {
    std::string all = ReadAllBytes(db);
    std::filesystem::path wal = db;
    wal += "-wal";
    if (std::filesystem::exists(wal)) all += ReadAllBytes(wal);
    return all;
  }
};

// Runs SQL on the database through a separate raw SQLCipher connection keyed like the store (the
// way an attacker holding the key could): for tampering tests. Returns the SQLite result code.
inline int RawExec(const std::filesystem::path& db, const std::filesystem::path& key_file, const std::string& sql) {
  auto key = store::ReadStoreKey(key_file);
  REQUIRE(key.ok());
  static const char* d = "0123456789abcdef";
  std::string spec = "x'";
  for (unsigned char c : key.value()) {
    spec += d[c >> 4];
    spec += d[c & 15];
  }
  spec += "'";
  sqlite3* h = nullptr;
  sqlite3_open(db.c_str(), &h);
  sqlite3_key_v2(h, "main", spec.data(), static_cast<int>(spec.size()));
  sqlite3_exec(h, "PRAGMA cipher_page_size = 4096", nullptr, nullptr, nullptr);
  int rc = sqlite3_exec(h, sql.c_str(), nullptr, nullptr, nullptr);
  sqlite3_close(h);
  return rc;
}

// A decision with evidence, descriptor, factors, one audit event and an outbox row.
inline store::DecisionRecord MakeDecision(const std::string& session_id, std::int64_t created_at, const std::string& applicant_ref,
                                          const std::string& evidence_bytes, const std::string& descriptor_bytes) {
  store::DecisionRecord r;
  r.session_id = session_id;
  r.applicant_ref = applicant_ref;
  r.created_at = created_at;
  r.decision = "approved";
  r.reasons_json = "[]";
  r.factors_json = R"({"face":true,"liveness":true,"certificate":true})";
  r.result_json = R"({"decision":"approved","session_id":")" + session_id + R"("})";
  r.factors = {{"face", true, 0.41, R"({"distance":0.41})"}, {"liveness", true, 0.97, "{}"}, {"certificate", true, 1.0, "{}"}};
  r.evidence = {{"best_frame", "image/jpeg", evidence_bytes, ""}};
  r.descriptors = {{"face_probe", descriptor_bytes}};
  r.audit = {audit::MakeEvent(created_at, "kiosk", "session.decided", session_id, R"({"decision":"approved"})")};
  r.outbox = store::OutboxMessageInput{"msg_" + session_id, "https://lender.test/hook", R"({"type":"verification.completed"})", created_at};
  return r;
}

// JPEG-looking bytes: SOI + APP0 "JFIF" header, then a recognisable marker and filler.
inline std::string FakeJpeg(const std::string& marker, size_t size) {
  std::string j("\xFF\xD8\xFF\xE0\x00\x10JFIF\x00", 11);
  while (j.size() + marker.size() < size) j += marker;
  j += "\xFF\xD9";
  return j;
}

// A lender's session request as api/ would hand it to the store: created at `created_at`, live for
// 600 s, a 1000-byte stand-in for the reference image.
inline store::SessionRequestInput SampleSessionRequest(const std::string& id, std::int64_t created_at, const std::string& key = "",
                                                       const std::string& hash = std::string(64, 'a')) {
  store::SessionRequestInput in;
  in.id = id;
  in.token_id = "tok_1";
  in.applicant_ref = "app-" + id;
  in.factors_json = R"(["face","liveness"])";
  in.locale = "en";
  in.created_at = created_at;
  in.expires_at = created_at + 600;
  in.reference_media_type = "image/jpeg";
  in.reference_image = std::string(1000, '\xff');
  in.idempotency_key = key;
  in.request_sha256 = hash;
  return in;
}

}  // namespace veridge::testing
