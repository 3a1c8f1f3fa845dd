#include <catch2/catch.hpp>

#include "dev_signer.h"
#include "fakes.h"
#include "outbox/worker.h"
#include "pki/canonical_json.h"
#include "support/test_support.h"

using namespace veridge;
using namespace veridge::outbox;
using namespace veridge::outbox::testing;
using namespace std::chrono_literals;

namespace {
const char* kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const std::string kUrl = "https://lender.test/hooks";

struct Rig {
  FakeQueue queue;
  FakeTransport transport;
  FakeClock clock{1'800'000'000};
  DeliveryOptions options;
  double rnd = 0.5;  // no jitter unless a test changes it
  std::unique_ptr<DeliveryWorker> worker;
  explicit Rig(std::vector<std::chrono::milliseconds> schedule = {0s, 5s, 5min}) {
    options.retry_schedule = std::move(schedule);
  }
  DeliveryWorker& W() {
    if (!worker)
      worker = std::make_unique<DeliveryWorker>(queue, transport, WebhookSecret::Parse(kSecret).value(), clock, options,
                                                [this] { return rnd; });
    return *worker;
  }
  DeliveryWorker::Sleeper Sleeper() {
    return [this](std::chrono::milliseconds d) { clock.Advance(d); };
  }
};
}  // namespace

TEST_CASE("A due row is POSTed with Standard Webhooks headers and marked delivered on 2xx") {
  Rig rig;
  auto id = rig.queue.Add(kUrl, R"({"type":"verification.completed"})", rig.clock.NowUnixSeconds());
  auto stats = rig.W().RunOnce();
  REQUIRE(stats.ok());
  CHECK(stats->delivered == 1);
  REQUIRE(rig.transport.requests.size() == 1);
  const auto& req = rig.transport.requests[0];
  CHECK(req.method == "POST");
  CHECK(req.url == kUrl);
  CHECK(req.body == R"({"type":"verification.completed"})");
  WebhookHeaders h{rig.transport.Header(0, "webhook-id"), rig.transport.Header(0, "webhook-timestamp"),
                   rig.transport.Header(0, "webhook-signature")};
  CHECK(h.id == "msg_1");
  CHECK(h.timestamp == std::to_string(rig.clock.NowUnixSeconds()));
  CHECK(VerifyWebhook(WebhookSecret::Parse(kSecret).value(), h, req.body, rig.clock.NowUnixSeconds()).ok());
  CHECK(rig.queue.rows[id].msg.state == store::OutboxState::kDelivered);
  // Nothing left: a second run sends nothing.
  CHECK(rig.W().RunOnce()->attempted == 0);
}

TEST_CASE("500s then success: retried on the schedule, same webhook-id, fresh timestamp each attempt") {
  Rig rig;
  rig.transport.script = {{500, "", ""}, {500, "", ""}, {204, "", ""}};
  const auto t0 = rig.clock.NowUnixSeconds();
  auto id = rig.queue.Add(kUrl, "{}", t0);
  auto stats = rig.W().RunUntilEmpty(rig.Sleeper());
  REQUIRE(stats.ok());
  CHECK(stats->attempted == 3);
  CHECK(stats->retried == 2);
  CHECK(stats->delivered == 1);
  const auto& row = rig.queue.rows[id];
  CHECK(row.msg.state == store::OutboxState::kDelivered);
  REQUIRE(row.attempts.size() == 3);
  CHECK(row.attempts[0].at == t0);
  CHECK(row.attempts[1].at == t0 + 5);
  CHECK(row.attempts[2].at == t0 + 5 + 300);
  CHECK(row.attempts[0].http_status == 500);
  CHECK(row.attempts[0].error == "HTTP 500");
  for (size_t i = 0; i < 3; ++i) CHECK(rig.transport.Header(i, "webhook-id") == "msg_1");
  CHECK(rig.transport.Header(0, "webhook-timestamp") != rig.transport.Header(1, "webhook-timestamp"));
  CHECK(rig.transport.Header(0, "webhook-signature") != rig.transport.Header(1, "webhook-signature"));
}

TEST_CASE("After the last scheduled attempt the row is dead-lettered with a reason") {
  Rig rig({0s, 1s, 1s});
  rig.transport.fallback = {0, "", "connection_refused"};
  auto id = rig.queue.Add(kUrl, "{}", rig.clock.NowUnixSeconds());
  auto stats = rig.W().RunUntilEmpty(rig.Sleeper());
  REQUIRE(stats.ok());
  CHECK(stats->attempted == 3);
  CHECK(stats->dead == 1);
  const auto& row = rig.queue.rows[id];
  CHECK(row.msg.state == store::OutboxState::kDead);
  CHECK(row.msg.dead_reason.find("3 attempts") != std::string::npos);
  CHECK(row.msg.dead_reason.find("connection_refused") != std::string::npos);
  CHECK(row.attempts.back().http_status == 0);
}

TEST_CASE("410 Gone dead-letters the row and disables the endpoint for the others") {
  Rig rig;
  rig.transport.fallback = {410, "", ""};
  auto a = rig.queue.Add(kUrl, "{}", rig.clock.NowUnixSeconds());
  auto b = rig.queue.Add(kUrl, "{}", rig.clock.NowUnixSeconds() + 10);
  auto c = rig.queue.Add("https://other.test/h", "{}", rig.clock.NowUnixSeconds() + 10);
  rig.transport.script = {{410, "", ""}};
  rig.transport.fallback = {200, "", ""};
  auto stats = rig.W().RunUntilEmpty(rig.Sleeper());
  REQUIRE(stats.ok());
  CHECK(stats->endpoints_disabled == 1);
  CHECK(rig.queue.rows[a].msg.state == store::OutboxState::kDead);
  CHECK(rig.queue.rows[a].msg.dead_reason.find("410") != std::string::npos);
  CHECK(rig.queue.disabled.count(kUrl) == 1);
  CHECK(rig.queue.rows[b].msg.state == store::OutboxState::kPending);  // waits for re-enable
  CHECK(rig.queue.rows[b].attempts.empty());
  CHECK(rig.queue.rows[c].msg.state == store::OutboxState::kDelivered);  // other lenders unaffected
}

TEST_CASE("Retry-After lengthens the wait, capped by max_retry_after") {
  Rig rig;
  rig.transport.script = {{503, "120", ""}, {429, "999999", ""}, {204, "", ""}};
  rig.options.max_retry_after = 3600s;
  const auto t0 = rig.clock.NowUnixSeconds();
  auto id = rig.queue.Add(kUrl, "{}", t0);
  REQUIRE(rig.W().RunUntilEmpty(rig.Sleeper()).ok());
  const auto& at = rig.queue.rows[id].attempts;
  REQUIRE(at.size() == 3);
  CHECK(at[1].at == t0 + 120);           // schedule says 5 s, the lender asked for 120 s
  CHECK(at[2].at == t0 + 120 + 3600);    // 999999 s capped at an hour (schedule said 5 min)
}

TEST_CASE("Jitter stays within the configured fraction") {
  Rig rig;
  rig.rnd = 0.0;
  CHECK(rig.W().RetryDelay(1, std::nullopt) == 4500ms);
  rig.rnd = 0.999999;
  CHECK(rig.W().RetryDelay(1, std::nullopt).value() > 5400ms);
  CHECK(rig.W().RetryDelay(1, std::nullopt).value() <= 5500ms);
  CHECK_FALSE(rig.W().RetryDelay(3, std::nullopt).has_value());  // schedule of 3: dead after attempt 3
}

TEST_CASE("ParseRetryAfter reads seconds and HTTP-dates and ignores junk") {
  CHECK(ParseRetryAfter("120", 0) == std::chrono::seconds(120));
  // Sun, 06 Nov 1994 08:49:37 GMT = 784111777
  CHECK(ParseRetryAfter("Sun, 06 Nov 1994 08:49:37 GMT", 784111777 - 30) == std::chrono::seconds(30));
  CHECK(ParseRetryAfter("Sun, 06 Nov 1994 08:49:37 GMT", 784111777 + 30) == std::chrono::seconds(0));
  CHECK_FALSE(ParseRetryAfter("soon", 0).has_value());
  CHECK_FALSE(ParseRetryAfter("-5", 0).has_value());
  CHECK_FALSE(ParseRetryAfter("", 0).has_value());
}

TEST_CASE("A leased row is not sent twice while its lease runs, and comes back after") {
  Rig rig;
  auto id = rig.queue.Add(kUrl, "{}", rig.clock.NowUnixSeconds());
  // Another worker claimed it and died.
  REQUIRE(rig.queue.ClaimDue(rig.clock.NowUnixSeconds(), 10, 60)->size() == 1);
  CHECK(rig.W().RunOnce()->attempted == 0);
  rig.clock.Advance(61s);
  CHECK(rig.W().RunOnce()->delivered == 1);
  CHECK(rig.queue.rows[id].msg.state == store::OutboxState::kDelivered);
}

TEST_CASE("SignResult builds a canonical body whose attestation signs exactly the data") {
  veridge::testing::TempDir dir;
  auto signer = DevSigner(dir.path());
  nlohmann::json result = {{"session_id", "s-42"}, {"decision", "approved"}, {"score", 0.25},
                           {"evidence", {{{"kind", "best_frame"}, {"sha256", std::string(64, 'a')}}}}};
  auto signed_result = SignResult(result, signer, 1'800'000'000);
  REQUIRE(signed_result.ok());
  CHECK(signed_result->webhook_id.rfind("msg_", 0) == 0);
  CHECK(signed_result->webhook_id.size() == 4 + 22);
  auto body = nlohmann::json::parse(signed_result->body);
  CHECK(body["type"] == "verification.completed");
  CHECK(body["timestamp"] == "2027-01-15T08:00:00Z");
  CHECK(pki::CanonicalJson(body).value() == signed_result->body);
  auto jws = VerifyJwsWithX5c(body["data"]["attestation"].get<std::string>());
  REQUIRE(jws.ok());
  CHECK(jws->payload == signed_result->result_json);
  auto data = body["data"];
  data.erase("attestation");
  CHECK(nlohmann::json::parse(jws->payload) == data);
  CHECK(SignResult(nlohmann::json::array(), signer, 0).status().code() == "bad_result");
  CHECK(SignResult({{"attestation", "x"}}, signer, 0).status().code() == "bad_result");
}
