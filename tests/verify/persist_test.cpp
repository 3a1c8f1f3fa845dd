// verify/persist: a finished session lands in the real encrypted store, signed and queued, in one
// transaction. No face models needed: the session result is built by hand.
#include "common/sha256.h"
#include "verify/persist.h"
#include "verify/sink_fixture.h"

#include "audit/audit.h"
#include "outbox/signing.h"
#include "vision/models.h"
#include "support/test_support.h"

using namespace veridge;

namespace {

verify::SessionResult SampleResult() {
  verify::SessionResult r;
  r.session_id = verify::NewSessionId();
  r.device_id = "test-kiosk";
  r.applicant_ref = "APPLICANT-7731";
  r.created_at = "2026-11-23T12:00:00.000Z";
  r.decision.decision = policy::Decision::kApproved;
  verify::FactorReport face;
  face.result = {"face", policy::Outcome::kPassed, {}};
  face.detail = {{"distance", 0.41}, {"similarity", 0.795}, {"threshold", 0.6}, {"matched", true}};
  r.factors.push_back(face);
  r.evidence.push_back({"capture_chip", "image/jpeg", std::string("\xFF\xD8\xFF\xE0 fake jpeg bytes", 20), ""});
  r.evidence.back().sha256 = veridge::Sha256Hex(r.evidence.back().bytes);
  r.templates.push_back({"face_probe", std::string(512, '\x42')});
  return r;
}

}  // namespace

TEST_CASE("StoreSink commits decision, evidence, templates, audit event and a signed outbox row together") {
  testing::SinkFixture f;

  verify::StoreSink sink(*f.db, *f.signer, "https://lender.test/hook", f.so.path.string(), std::chrono::seconds(0),
                         SystemClock::Instance());
  auto result = SampleResult();
  auto delivered = sink.Commit(result);
  REQUIRE(delivered.ok());
  CHECK((*delivered)["state"] == "queued");

  auto session = f.db->GetSession(result.session_id);
  REQUIRE(session.ok());
  CHECK(session->decision == "approved");
  CHECK(session->applicant_ref == "APPLICANT-7731");
  CHECK(f.db->GetEvidence(result.session_id)->size() == 1);
  CHECK(f.db->GetDescriptors(result.session_id)->size() == 1);

  auto rows = f.db->ListOutbox(store::OutboxState::kPending, 10);
  REQUIRE(rows.ok());
  REQUIRE(rows->size() == 1);
  const auto& row = rows->front();
  CHECK(row.webhook_id == (*delivered)["webhook_id"].get<std::string>());
  CHECK(row.endpoint == "https://lender.test/hook");
  // The body is the Standard Webhooks envelope; its attestation verifies with the device key and
  // signs exactly the stored canonical result.
  auto body = nlohmann::json::parse(row.payload);
  CHECK(body["type"] == "verification.completed");
  CHECK(body["data"]["session_id"] == result.session_id);
  CHECK(body["data"]["evidence"][0]["sha256"] == result.evidence[0].sha256);
  auto jws = outbox::VerifyJwsWithX5c(body["data"]["attestation"].get<std::string>());
  REQUIRE(jws.ok());
  CHECK(jws->payload == session->result_json);
  CHECK(row.payload.find("\x42\x42\x42\x42") == std::string::npos);  // templates never leave the store

  auto report = audit::Verify(*f.db);
  REQUIRE(report.ok());
  CHECK(report->ok);
  CHECK(report->events == 1);
}

TEST_CASE("A failed commit writes nothing and says so") {
  testing::SinkFixture f;
  verify::StoreSink sink(*f.db, *f.signer, "https://lender.test/hook", f.so.path.string(), std::chrono::seconds(0),
                         SystemClock::Instance());
  auto result = SampleResult();
  REQUIRE(sink.Commit(result).ok());
  auto again = sink.Commit(result);  // same session id: refused as a whole
  REQUIRE_FALSE(again.ok());
  CHECK(again.status().code() == "duplicate");
  CHECK(f.db->ListOutbox(std::nullopt, 10)->size() == 1);
  CHECK(audit::Verify(*f.db)->events == 1);
}

TEST_CASE("Each signed result carries the audit head its own event was appended onto") {
  testing::SinkFixture f;
  verify::StoreSink sink(*f.db, *f.signer, "https://lender.test/hook", f.so.path.string(), std::chrono::seconds(0),
                         SystemClock::Instance());
  auto first = SampleResult();
  REQUIRE(sink.Commit(first).ok());
  REQUIRE(audit::Append(*f.db, audit::MakeEvent(1, "cli", "db.rekeyed", "x")).ok());  // another writer in between
  auto second = SampleResult();
  REQUIRE(sink.Commit(second).ok());

  auto events = f.db->ListAudit(0, 10);
  REQUIRE(events->size() == 3);
  auto head_in = [&](const std::string& session_id) {
    auto session = f.db->GetSession(session_id);
    REQUIRE(session.ok());
    auto doc = nlohmann::json::parse(session->result_json);  // exactly what the JWS signs
    return doc.at("audit_head");
  };
  auto h1 = head_in(first.session_id);
  CHECK(h1["seq"] == 0);
  CHECK(h1["hash"] == std::string(64, '0'));
  auto h2 = head_in(second.session_id);
  CHECK(h2["seq"] == 2);
  CHECK(h2["hash"] == events->at(1).hash);
  CHECK(events->at(2).prev_hash == events->at(1).hash);  // the session's own event follows the anchored one
  CHECK(events->at(2).subject == second.session_id);
  REQUIRE(audit::VerifyAnchor(*f.db, {2, h2["hash"].get<std::string>()}).ok());
  CHECK(audit::VerifyAnchor(*f.db, {2, h2["hash"].get<std::string>()})->ok);
}
