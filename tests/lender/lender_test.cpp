// End to end, the lender's way: decisions committed to a real SQLCipher store, delivered by the
// outbox worker over real HTTPS to tests/lender/receiver.mjs, which verifies them with the npm
// packages a lender would use (standardwebhooks, jose) and the openssl CLI.
#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <fstream>

#include "audit/audit.h"
#include "lender/lender_fixture.h"
#include "pki/device_identity.h"
#include "outbox/signing.h"
#include "outbox/worker.h"
#include "store/store.h"

using namespace veridge;
using namespace veridge::testing;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

const char* kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

struct Rig {
  TempDir dir;
  LenderPki pki;
  NodeReceiver receiver;
  std::string skip, error;
  std::optional<pki::DeviceSigner> signer;
  std::unique_ptr<store::Store> db;
  std::filesystem::path secret_file;

  explicit Rig(const std::string& mode = "normal") {
    skip = NodeMissingReason();
    if (!skip.empty()) return;
    if (!MakeLenderPki(dir / "pki", &pki)) { error = "test PKI generation failed"; return; }
    pki::KeysInitOptions ko;
    ko.device_id = "kiosk-e2e";
    ko.device_key_file = dir / "keys/device.key";
    ko.device_cert_chain = dir / "keys/device-chain.pem";
    ko.store_key_file = dir / "keys/store.key";
    auto init = pki::InitKeys(ko, SystemClock::Instance());
    if (!init.ok()) { error = init.status().ToString(); return; }
    auto s = pki::DeviceSigner::Load(ko.device_key_file, ko.device_cert_chain);
    if (!s.ok()) { error = s.status().ToString(); return; }
    signer = std::move(*s);
    store::StoreOptions so;
    so.path = dir / "veridge.db";
    so.key_file = ko.store_key_file;
    so.create_if_missing = true;             // as keys init would
    so.audit_hasher = audit::ChainHasher();  // dead letters and replays are audited
    auto opened = store::Store::Open(so);
    if (!opened.ok()) { error = opened.status().ToString(); return; }
    db = std::move(*opened);
    secret_file = dir / "lender.whsec";
    std::ofstream(secret_file) << kSecret << "\n";
    std::filesystem::permissions(secret_file, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    NodeReceiver::Config c;
    c.cert = pki.server_cert();
    c.key = pki.server_key();
    c.secret_file = secret_file;
    c.device_ca = dir / "keys/dev-ca.pem";
    c.log = dir / "receiver.log";
    c.mode = mode;
    error = receiver.Start(c);
  }

  // Commits one decision with its signed outbox row, as verify/ does.
  outbox::SignedResult Commit(const std::string& session_id, std::int64_t now) {
    json result = {{"session_id", session_id}, {"device_id", "kiosk-e2e"}, {"decision", "approved"},
                   {"reasons", json::array()}, {"decided_at", now},
                   {"factors", {{"face", {{"passed", true}, {"distance", 0.41}}}}}};
    auto signed_result = outbox::SignResult(result, *signer, now).value();
    store::DecisionRecord r;
    r.session_id = session_id;
    r.applicant_ref = "APP-" + session_id;
    r.created_at = now;
    r.decision = "approved";
    r.reasons_json = "[]";
    r.factors_json = "{}";
    r.result_json = signed_result.result_json;
    r.outbox = store::OutboxMessageInput{signed_result.webhook_id, receiver.url(), signed_result.body, now};
    Status st = db->CommitDecision(r);
    INFO(st.ToString());
    REQUIRE(st.ok());
    return signed_result;
  }

  std::unique_ptr<net::HttpsClient> Client() {
    net::HttpsClientOptions o;
    o.tls.ca_file = pki.ca();
    o.total_timeout = 10s;
    return std::move(net::HttpsClient::Create(o).value());
  }
};

#define RIG_READY(r)                                  \
  if (!(r).skip.empty()) VERIDGE_SKIP((r).skip);      \
  INFO((r).error);                                    \
  REQUIRE((r).error.empty())

std::vector<json> Accepted(const NodeReceiver& rx) {
  std::vector<json> out;
  for (auto& l : rx.Log())
    if (l.value("ok", false)) out.push_back(l);
  return out;
}

}  // namespace

TEST_CASE("Committed decisions are delivered and the lender verifies signature, JWS and chain") {
  Rig rig;
  RIG_READY(rig);
  const auto now = SystemClock::Instance().NowUnixSeconds();
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(rig.Commit("s-" + std::to_string(i), now).webhook_id);
  auto client = rig.Client();
  outbox::StoreOutboxQueue queue(*rig.db);
  outbox::DeliveryWorker worker(queue, *client, outbox::WebhookSecret::Parse(kSecret).value(), SystemClock::Instance(), {});
  auto stats = worker.RunUntilEmpty([](std::chrono::milliseconds) { FAIL("nothing should wait"); });
  REQUIRE(stats.ok());
  CHECK(stats->delivered == 3);
  auto ok = Accepted(rig.receiver);
  REQUIRE(ok.size() == 3);
  for (size_t i = 0; i < 3; ++i) {
    CHECK(ok[i]["id"] == ids[i]);
    CHECK(ok[i]["kid"] == rig.signer->kid());
    CHECK(ok[i]["session_id"] == "s-" + std::to_string(i));
    CHECK(ok[i]["decision"] == "approved");
    CHECK(ok[i]["duplicate"] == false);
  }
  auto counts = rig.db->CountOutbox(now + 1);
  REQUIRE(counts.ok());
  CHECK(counts->delivered == 3);
  CHECK(counts->pending == 0);
}

TEST_CASE("The lender rejects a tampered body, a wrong secret, an old timestamp and a re-signed forgery") {
  Rig rig;
  RIG_READY(rig);
  const auto now = SystemClock::Instance().NowUnixSeconds();
  auto sr = rig.Commit("s-t", now);
  auto client = rig.Client();
  auto secret = outbox::WebhookSecret::Parse(kSecret).value();
  auto send = [&](const std::string& body, std::int64_t ts, const outbox::WebhookSecret& key) {
    net::HttpRequest req;
    req.url = rig.receiver.url();
    req.headers = {{"content-type", "application/json"}, {"webhook-id", sr.webhook_id},
                   {"webhook-timestamp", std::to_string(ts)},
                   {"webhook-signature", outbox::WebhookSignature(key, sr.webhook_id, ts, body)}};
    req.body = body;
    return client->Send(req).value().status;
  };
  std::string tampered = sr.body;
  tampered.replace(tampered.find("approved"), 8, "rejected");
  auto wrong = outbox::WebhookSecret::Parse(outbox::WebhookSecret::Generate()).value();
  // Tampered body, signed with the right secret over the ORIGINAL body (the wire was altered).
  {
    net::HttpRequest req;
    req.url = rig.receiver.url();
    req.headers = {{"webhook-id", sr.webhook_id}, {"webhook-timestamp", std::to_string(now)},
                   {"webhook-signature", outbox::WebhookSignature(secret, sr.webhook_id, now, sr.body)}};
    req.body = tampered;
    CHECK(client->Send(req).value().status == 400);
  }
  CHECK(send(sr.body, now, wrong) == 400);        // wrong secret
  CHECK(send(sr.body, now - 3600, secret) == 400);  // replayed an hour later
  // Someone holding the webhook secret (not the device key) rewrites the decision and re-signs the
  // delivery: the JWS catches it.
  CHECK(send(tampered, now, secret) == 400);
  CHECK(Accepted(rig.receiver).empty());
  CHECK(send(sr.body, now, secret) == 204);       // the genuine one
  CHECK(send(sr.body, now, secret) == 200);       // a duplicate: deduplicated by webhook-id
  auto log = rig.receiver.Log();
  REQUIRE(log.size() == 6);
  CHECK(log[0]["reason"].get<std::string>().find("signature") != std::string::npos);
  CHECK(log[3]["reason"] == "body data differs from the signed result");
  CHECK(log[5]["duplicate"] == true);
}

TEST_CASE("A device chain from another CA is rejected by the lender") {
  Rig rig;
  RIG_READY(rig);
  // Re-key the device under a different dev CA; the receiver trusts only the first one.
  TempDir other;
  pki::KeysInitOptions ko;
  ko.device_id = "impostor";
  ko.device_key_file = other / "device.key";
  ko.device_cert_chain = other / "chain.pem";
  REQUIRE(pki::InitKeys(ko, SystemClock::Instance()).ok());
  rig.signer = pki::DeviceSigner::Load(ko.device_key_file, ko.device_cert_chain).value();
  const auto now = SystemClock::Instance().NowUnixSeconds();
  rig.Commit("s-imp", now);
  auto client = rig.Client();
  outbox::StoreOutboxQueue queue(*rig.db);
  outbox::DeliveryOptions opts;
  opts.retry_schedule = {0s};
  outbox::DeliveryWorker worker(queue, *client, outbox::WebhookSecret::Parse(kSecret).value(), SystemClock::Instance(), opts);
  auto stats = worker.RunOnce();
  REQUIRE(stats.ok());
  CHECK(stats->dead == 1);  // 400 on the only scheduled attempt
  auto log = rig.receiver.Log();
  REQUIRE(log.size() == 1);
  CHECK(log[0]["reason"].get<std::string>().find("chain") != std::string::npos);
}

TEST_CASE("500s then success over real HTTPS: one webhook-id, delivered on the third attempt") {
  Rig rig("fail:2");
  RIG_READY(rig);
  FakeClock clock(SystemClock::Instance().NowUnixSeconds());
  auto sr = rig.Commit("s-500", clock.NowUnixSeconds());
  auto client = rig.Client();
  outbox::StoreOutboxQueue queue(*rig.db);
  outbox::DeliveryOptions opts;
  opts.retry_schedule = {0s, 2s, 2s, 2s};
  outbox::DeliveryWorker worker(queue, *client, outbox::WebhookSecret::Parse(kSecret).value(), clock, opts);
  auto stats = worker.RunUntilEmpty([&](std::chrono::milliseconds d) { clock.Advance(d); });
  REQUIRE(stats.ok());
  CHECK(stats->attempted == 3);
  CHECK(stats->delivered == 1);
  auto log = rig.receiver.Log();
  REQUIRE(log.size() == 3);
  for (auto& l : log) CHECK(l["id"] == sr.webhook_id);
  CHECK(log[2]["ok"] == true);
  auto rows = rig.db->ListOutbox(std::nullopt, 10);
  REQUIRE(rows.ok());
  REQUIRE(rows->size() == 1);
  auto attempts = rig.db->ListAttempts((*rows)[0].id);
  REQUIRE(attempts.ok());
  REQUIRE(attempts->size() == 3);
  CHECK((*attempts)[0].attempt.http_status == 500);
  CHECK((*attempts)[2].attempt.http_status == 204);
}

TEST_CASE("410 over real HTTPS dead-letters, disables the endpoint, and replay keeps the webhook-id") {
  Rig rig("gone");
  RIG_READY(rig);
  const auto now = SystemClock::Instance().NowUnixSeconds();
  auto sr = rig.Commit("s-410", now);
  rig.Commit("s-410b", now);
  auto client = rig.Client();
  outbox::StoreOutboxQueue queue(*rig.db);
  outbox::DeliveryWorker worker(queue, *client, outbox::WebhookSecret::Parse(kSecret).value(), SystemClock::Instance(), {});
  auto stats = worker.RunUntilEmpty([](std::chrono::milliseconds) {});
  REQUIRE(stats.ok());
  CHECK(stats->attempted == 1);  // the second row waits: its endpoint is disabled
  CHECK(stats->endpoints_disabled == 1);
  auto disabled = rig.db->DisabledEndpoints();
  REQUIRE(disabled.ok());
  REQUIRE(disabled->size() == 1);
  CHECK((*disabled)[0].endpoint == rig.receiver.url());
  auto dead = rig.db->ListOutbox(store::OutboxState::kDead, 10);
  REQUIRE(dead.ok());
  REQUIRE(dead->size() == 1);
  CHECK((*dead)[0].webhook_id == sr.webhook_id);
  CHECK((*dead)[0].dead_reason.find("410") != std::string::npos);
  REQUIRE(rig.db->Replay((*dead)[0].id, now, "cli").ok());
  auto again = rig.db->GetOutbox((*dead)[0].id);
  REQUIRE(again.ok());
  CHECK(again->state == store::OutboxState::kPending);
  CHECK(again->webhook_id == sr.webhook_id);
  // The 410, the dead letter and the replay are in the audit chain, in that order, and it verifies.
  std::vector<std::string> actions;
  const auto events = rig.db->ListAudit(0, 100).value();
  for (const auto& e : events) actions.push_back(e.action + " " + e.actor);
  CHECK(actions == std::vector<std::string>{"endpoint.disabled system:outbox", "outbox.dead_lettered system:outbox",
                                            "outbox.replayed cli"});
  auto verified = audit::Verify(*rig.db);
  REQUIRE(verified.ok());
  CHECK(verified->ok);
}

TEST_CASE("Lender down: the row stays pending with the transport error recorded") {
  Rig rig;
  RIG_READY(rig);
  const auto now = SystemClock::Instance().NowUnixSeconds();
  rig.Commit("s-down", now);
  rig.receiver.Stop();
  auto client = rig.Client();
  outbox::StoreOutboxQueue queue(*rig.db);
  outbox::DeliveryWorker worker(queue, *client, outbox::WebhookSecret::Parse(kSecret).value(), SystemClock::Instance(), {});
  auto stats = worker.RunOnce();
  REQUIRE(stats.ok());
  CHECK(stats->retried == 1);
  auto rows = rig.db->ListOutbox(store::OutboxState::kPending, 10);
  REQUIRE(rows.ok());
  REQUIRE(rows->size() == 1);
  CHECK((*rows)[0].last_error.find("connection_refused") != std::string::npos);
  CHECK((*rows)[0].next_attempt_at >= now + 4);  // 5 s ± 10 %
}

TEST_CASE("A redirecting lender or a TLS 1.1-only lender: the row stays pending, never sent elsewhere") {
  for (const std::string mode : {"redirect", "tls1.1"}) {
    DYNAMIC_SECTION(mode) {
      Rig rig(mode);
      RIG_READY(rig);
      const auto now = SystemClock::Instance().NowUnixSeconds();
      rig.Commit("s-" + mode, now);
      auto client = rig.Client();
      outbox::StoreOutboxQueue queue(*rig.db);
      outbox::DeliveryWorker worker(queue, *client, outbox::WebhookSecret::Parse(kSecret).value(), SystemClock::Instance(), {});
      auto stats = worker.RunOnce();
      REQUIRE(stats.ok());
      CHECK(stats->delivered == 0);
      CHECK(stats->retried == 1);
      auto rows = rig.db->ListOutbox(store::OutboxState::kPending, 10);
      REQUIRE(rows.ok());
      REQUIRE(rows->size() == 1);
      const auto& err = (*rows)[0].last_error;
      INFO(err);
      if (mode == "redirect") {
        CHECK(err == "HTTP 307");
        // The redirect was not followed: the lender saw one request, at the configured path.
        auto log = rig.receiver.Log();
        REQUIRE(log.size() == 1);
        CHECK(log[0]["path"] == "/hooks/veridge");
      } else {
        CHECK(err.find("tls_protocol_too_old") != std::string::npos);
        CHECK(rig.receiver.Log().empty());
      }
    }
  }
}
