// Outbox repository: claim with lease, attempts, delivered, retry, dead letter, replay, endpoints.
#include <nlohmann/json.hpp>

#include "store/store_fixture.h"

using namespace veridge;
using namespace veridge::testing;

namespace {
void AddDecision(store::Store& s, const std::string& id, std::int64_t due, const std::string& endpoint = "https://lender.test/hook") {
  auto r = MakeDecision(id, 1000, "ref", FakeJpeg("J", 500), "desc");
  r.outbox->next_attempt_at = due;
  r.outbox->endpoint = endpoint;
  REQUIRE(s.CommitDecision(r).ok());
}

// The audit events after the decisions' own, as "action actor subject".
std::vector<std::string> DeliveryAudit(store::Store& s) {
  std::vector<std::string> out;
  const auto events = s.ListAudit(0, 100).value();
  for (const auto& e : events)
    if (e.action != "session.decided") out.push_back(e.action + " " + e.actor + " " + e.subject);
  return out;
}
}  // namespace

TEST_CASE("ClaimDue returns due rows oldest first and leases them") {
  StoreFixture f;
  auto s = f.Open();
  AddDecision(*s, "a", 100);
  AddDecision(*s, "b", 50);
  AddDecision(*s, "c", 500);  // not due yet
  auto due = s->ClaimDue(200, 10, 60);
  REQUIRE(due.ok());
  REQUIRE(due->size() == 2);
  CHECK(due->at(0).webhook_id == "msg_b");
  CHECK(due->at(1).webhook_id == "msg_a");
  CHECK(due->at(0).payload == R"({"type":"verification.completed"})");
  // Leased: a second worker gets nothing until the lease runs out (worker died).
  CHECK(s->ClaimDue(200, 10, 60)->empty());
  CHECK(s->NextClaimableAt().value() == 260);  // a and b leased until 200 + 60; c due at 500
  CHECK(s->ClaimDue(261, 10, 60)->size() == 2);
  CHECK(s->ClaimDue(10000, 1, 60)->size() == 1);  // limit respected
  CHECK(s->ClaimDue(0, 0).status().code() == "bad_limit");
}

TEST_CASE("attempts: retry / then delivered / counts and history") {
  StoreFixture f;
  auto s = f.Open();
  AddDecision(*s, "a", 100);
  auto id = s->ClaimDue(100, 1)->at(0).id;
  REQUIRE(s->RecordAttempt(id, {1, 100, 500, "", 12}, store::AttemptOutcome::kRetry, 105).ok());
  auto m = s->GetOutbox(id);
  REQUIRE(m.ok());
  CHECK(m->attempts == 1);
  CHECK(m->last_http_status == 500);
  CHECK(m->next_attempt_at == 105);
  CHECK(m->state == store::OutboxState::kPending);
  CHECK(s->ClaimDue(104, 10)->empty());  // lease cleared, but not due before 105
  REQUIRE(s->ClaimDue(105, 10)->size() == 1);
  REQUIRE(s->RecordAttempt(id, {2, 105, 0, "connection refused", 3}, store::AttemptOutcome::kRetry, 400).ok());
  CHECK_FALSE(s->GetOutbox(id)->last_http_status.has_value());
  CHECK(s->GetOutbox(id)->last_error == "connection refused");
  REQUIRE(s->MarkDelivered(id, {3, 400, 204, "", 8}).ok());
  m = s->GetOutbox(id);
  CHECK(m->state == store::OutboxState::kDelivered);
  CHECK(m->delivered_at == 400);
  CHECK(m->attempts == 3);
  auto hist = s->ListAttempts(id);
  REQUIRE(hist.ok());
  REQUIRE(hist->size() == 3);
  CHECK(hist->at(0).attempt.http_status == 500);
  CHECK(hist->at(1).attempt.error == "connection refused");
  CHECK(hist->at(2).attempt.http_status == 204);
  CHECK(s->ClaimDue(100000, 10)->empty());
  CHECK_FALSE(s->NextClaimableAt().value().has_value());  // nothing pending
  // A delivered row takes no more attempts.
  CHECK(s->RecordAttempt(id, {4, 500, 200, "", 1}, store::AttemptOutcome::kDelivered).code() == "not_pending");
  CHECK(s->RecordAttempt(9999, {1, 500, 200, "", 1}, store::AttemptOutcome::kDelivered).code() == "not_found");
  auto c = s->CountOutbox(1000);
  REQUIRE(c.ok());
  CHECK(c->delivered == 1);
  CHECK(c->pending == 0);
}

TEST_CASE("dead letter and replay keep the webhook id") {
  StoreFixture f;
  auto s = f.Open();
  AddDecision(*s, "a", 100);
  AddDecision(*s, "b", 100);
  auto rows = s->ClaimDue(100, 10);
  REQUIRE(rows->size() == 2);
  REQUIRE(s->RecordAttempt(rows->at(0).id, {8, 100, 503, "", 1}, store::AttemptOutcome::kDead, 0, "retries exhausted after 8 attempts").ok());
  REQUIRE(s->DeadLetter(rows->at(1).id, "payload refused", 100).ok());
  CHECK(s->DeadLetter(rows->at(1).id, "again", 100).code() == "not_found");
  auto dead = s->ListOutbox(store::OutboxState::kDead, 10);
  REQUIRE(dead->size() == 2);
  CHECK(s->GetOutbox(rows->at(0).id)->dead_reason == "retries exhausted after 8 attempts");
  CHECK(s->GetOutbox(rows->at(0).id)->dead_at == 100);
  CHECK(s->GetOutbox(rows->at(1).id)->dead_at == 100);
  auto c = s->CountOutbox(100);
  CHECK(c->dead == 2);
  CHECK(c->due == 0);
  REQUIRE(s->Replay(rows->at(0).id, 200, "cli").ok());
  auto m = s->GetOutbox(rows->at(0).id);
  CHECK(m->state == store::OutboxState::kPending);
  CHECK(m->attempts == 0);
  CHECK(m->webhook_id == "msg_a");
  CHECK(m->dead_reason.empty());
  CHECK_FALSE(m->dead_at.has_value());
  auto again = s->ClaimDue(200, 10);
  REQUIRE(again->size() == 1);
  CHECK(again->at(0).webhook_id == "msg_a");
  CHECK(s->Replay(rows->at(0).id, 200, "cli").code() == "not_found");  // already pending
  // Each change is in the audit chain, with who did it and the session it concerns; a refused
  // change (the second dead letter, the second replay) left no event.
  CHECK(DeliveryAudit(*s) == std::vector<std::string>{"outbox.dead_lettered system:outbox a",
                                                      "outbox.dead_lettered system:outbox b",
                                                      "outbox.replayed cli a"});
  auto events = s->ListAudit(0, 100).value();
  auto detail = nlohmann::json::parse(events.back().detail_json);
  CHECK(detail["webhook_id"] == "msg_a");
  CHECK(detail["previous_state"] == "dead");
  CHECK(detail["previous_attempts"] == 1);
  CHECK(nlohmann::json::parse(events[events.size() - 3].detail_json)["reason"] == "retries exhausted after 8 attempts");
  auto verified = audit::Verify(*s);
  REQUIRE(verified.ok());
  CHECK(verified->ok);
}

TEST_CASE("a store opened without the audit hasher refuses to dead-letter, and the row stays pending") {
  StoreFixture f;
  f.Open().reset();
  store::StoreOptions o = f.Options();
  o.audit_hasher = nullptr;
  auto s = store::Store::Open(o);
  REQUIRE(s.ok());
  auto r = MakeDecision("a", 1000, "ref", FakeJpeg("J", 500), "desc");
  r.audit.clear();
  REQUIRE((*s)->CommitDecision(r).ok());
  const auto id = (*s)->ClaimDue(2000, 1)->at(0).id;
  CHECK((*s)->DeadLetter(id, "payload refused", 2000).code() == "audit_hasher_missing");
  CHECK((*s)->GetOutbox(id)->state == store::OutboxState::kPending);
}

TEST_CASE("a disabled endpoint (410) is skipped until enabled") {
  StoreFixture f;
  auto s = f.Open();
  AddDecision(*s, "a", 100, "https://gone.test/hook");
  AddDecision(*s, "b", 100, "https://lender.test/hook");
  REQUIRE(s->DisableEndpoint("https://gone.test/hook", "HTTP 410 Gone", 100).ok());
  auto due = s->ClaimDue(100, 10);
  REQUIRE(due->size() == 1);
  CHECK(due->at(0).webhook_id == "msg_b");
  CHECK(s->CountOutbox(100)->due == 1);  // b only: a's endpoint is disabled
  auto dis = s->DisabledEndpoints();
  REQUIRE(dis->size() == 1);
  CHECK(dis->at(0).reason == "HTTP 410 Gone");
  CHECK(s->NextClaimableAt().value() == 160);  // b leased until 100 + 60; a's endpoint is off
  REQUIRE(s->EnableEndpoint("https://gone.test/hook", 300, "cli").ok());
  CHECK(s->NextClaimableAt().value() == 100);
  due = s->ClaimDue(100, 10);
  REQUIRE(due->size() == 1);
  CHECK(due->at(0).webhook_id == "msg_a");
  REQUIRE(s->EnableEndpoint("https://gone.test/hook", 400, "cli").ok());  // not disabled: no change, no event
  CHECK(DeliveryAudit(*s) == std::vector<std::string>{"endpoint.disabled system:outbox https://gone.test/hook",
                                                      "endpoint.enabled cli https://gone.test/hook"});
}
