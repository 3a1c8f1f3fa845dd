// outbox/worker.h — durable delivery of signed results to the lender's webhook.
//
// Contract
//  * At-least-once: a row is claimed with a lease (store::Store::ClaimDue), POSTed, and its state
//    changes only after the response (RecordAttempt). A worker killed mid-flight leaves the row
//    leased; it becomes claimable again when the lease ends and is sent again with the SAME
//    webhook-id (the lender's idempotency key) and a new webhook-timestamp/signature.
//  * Each attempt is signed per Standard Webhooks 1.0 (webhook-id, webhook-timestamp,
//    webhook-signature). Only 2xx counts as delivered. 410 Gone dead-letters the row and disables
//    the endpoint (its other rows wait until it is re-enabled). Any other answer or a transport
//    error is retried on the schedule: attempt k+1 waits retry_schedule[k] (± jitter) after attempt
//    k; entry 0 is the delay before the first attempt (applied when the row is enqueued). A
//    Retry-After header (seconds or HTTP-date) lengthens the wait up to max_retry_after. After the
//    last scheduled attempt the row is dead-lettered (replayable with store::Store::Replay).
//  * Time comes from the Clock seam; the worker never sleeps (RunOnce) except in RunUntilEmpty /
//    RunForever, which sleep through the injected Sleeper so tests do not.
//  * Thread-safety: one worker per thread; several workers (or processes) may share one store:
//    the lease keeps them off each other's rows.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "common/status.h"
#include "net/https_client.h"
#include "outbox/signing.h"
#include "pki/device_identity.h"
#include "store/store.h"

namespace veridge::outbox {

// Standard Webhooks' example schedule (Svix): ~24 h 35 min in all, then dead-letter.
std::vector<std::chrono::milliseconds> DefaultRetrySchedule();

struct DeliveryOptions {
  std::vector<std::chrono::milliseconds> retry_schedule = DefaultRetrySchedule();  // [outbox].retry_schedule
  double jitter = 0.1;                                  // each retry delay is scaled by 1 ± jitter
  std::chrono::seconds max_retry_after{std::chrono::hours(24)};  // cap on a lender's Retry-After
  int batch = 32;                                       // rows claimed at a time
  std::int64_t lease_seconds = 60;                      // > the HTTPS total timeout
};

// The part of the store the worker needs (store::Store in production, a fake in unit tests).
class OutboxQueue {
 public:
  virtual ~OutboxQueue() = default;
  virtual Result<std::vector<store::OutboxMessage>> ClaimDue(std::int64_t now, int limit, std::int64_t lease_seconds) = 0;
  virtual Status RecordAttempt(std::int64_t id, const store::Attempt& attempt, store::AttemptOutcome outcome,
                               std::int64_t next_attempt_at, const std::string& dead_reason) = 0;
  virtual Status DisableEndpoint(const std::string& endpoint, const std::string& reason, std::int64_t at) = 0;
  // Earliest next_attempt_at among pending rows whose endpoint is enabled; nullopt when none.
  virtual Result<std::optional<std::int64_t>> NextPendingAt() = 0;
};

// Adapter over the real store.
class StoreOutboxQueue final : public OutboxQueue {
 public:
  explicit StoreOutboxQueue(store::Store& store) : store_(store) {}
  Result<std::vector<store::OutboxMessage>> ClaimDue(std::int64_t now, int limit, std::int64_t lease_seconds) override;
  Status RecordAttempt(std::int64_t id, const store::Attempt& attempt, store::AttemptOutcome outcome,
                       std::int64_t next_attempt_at, const std::string& dead_reason) override;
  Status DisableEndpoint(const std::string& endpoint, const std::string& reason, std::int64_t at) override;
  Result<std::optional<std::int64_t>> NextPendingAt() override;

 private:
  store::Store& store_;
};

struct RunStats {
  int attempted = 0;
  int delivered = 0;
  int retried = 0;
  int dead = 0;
  int endpoints_disabled = 0;
  nlohmann::json ToJson() const;
};

class DeliveryWorker {
 public:
  using Sleeper = std::function<void(std::chrono::milliseconds)>;
  // Uniform in [0,1); injectable so tests get a fixed jitter.
  using Random = std::function<double()>;

  DeliveryWorker(OutboxQueue& queue, net::HttpTransport& transport, WebhookSecret secret, const Clock& clock,
                 DeliveryOptions options, Random random = nullptr);

  // Claims the rows due now (one batch) and attempts each once. Store errors end the run (the
  // rows stay leased and come back after the lease); transport errors are attempts, not errors.
  Result<RunStats> RunOnce();
  // Repeats RunOnce, sleeping until the next due row, until no deliverable row is pending (rows
  // of a disabled endpoint do not count) or `stop()` returns true.
  Result<RunStats> RunUntilEmpty(const Sleeper& sleep, const std::function<bool()>& stop = nullptr);
  // The daemon loop: like RunUntilEmpty but keeps polling every `poll` for new rows until stop().
  Result<RunStats> RunForever(const Sleeper& sleep, const std::function<bool()>& stop, std::chrono::milliseconds poll);

  // The delay before attempt `attempt_no + 1` after attempt `attempt_no` failed, with jitter and
  // Retry-After applied; nullopt when the schedule is exhausted (dead-letter).
  std::optional<std::chrono::milliseconds> RetryDelay(int attempt_no, std::optional<std::chrono::seconds> retry_after);

 private:
  Status DeliverOne(const store::OutboxMessage& m, RunStats& stats);

  OutboxQueue& queue_;
  net::HttpTransport& transport_;
  WebhookSecret secret_;
  const Clock& clock_;
  DeliveryOptions options_;
  Random random_;
};

// Parses a Retry-After value: delta-seconds or an IMF-fixdate HTTP-date (relative to now_unix).
std::optional<std::chrono::seconds> ParseRetryAfter(const std::string& value, std::int64_t now_unix);

// ---- building the signed result (called by verify/ before CommitDecision) --------------------
struct SignedResult {
  std::string result_json;  // canonical JSON of the result: what the JWS signs (store: result_json)
  std::string webhook_id;   // "msg_<base64url 16 random bytes>" (store: outbox.webhook_id)
  std::string body;         // the exact POST body (store: outbox.payload)
};
// body = canonical {"type":"verification.completed","timestamp":<RFC 3339 UTC>,
//                   "data":{...result..., "attestation":"<compact JWS over result_json>"}}.
// `result` must be an object without an "attestation" member. Codes: not_canonicalizable,
// bad_result, sign_failed.
Result<SignedResult> SignResult(const nlohmann::json& result, const pki::DeviceSigner& signer, std::int64_t now_unix);

}  // namespace veridge::outbox
