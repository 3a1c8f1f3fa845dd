#include "outbox/worker.h"

#include <openssl/rand.h>

#include <algorithm>
#include <cmath>
#include <ctime>
#include <random>

#include "common/base64.h"
#include "common/crash_point.h"
#include "common/log.h"
#include "pki/canonical_json.h"

namespace veridge::outbox {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

std::string Rfc3339(std::int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

double DefaultRandom() {
  thread_local std::mt19937_64 gen{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(gen);
}

// A short, single-line account of a failed attempt for the outbox row (shown in the console).
std::string Truncate(std::string s, size_t n) {
  if (s.size() > n) s.resize(n);
  return s;
}

}  // namespace

std::vector<milliseconds> DefaultRetrySchedule() {
  using namespace std::chrono_literals;
  return {0ms, 5s, 5min, 30min, 2h, 5h, 10h, 10h};
}

nlohmann::json RunStats::ToJson() const {
  return {{"attempted", attempted}, {"delivered", delivered}, {"retried", retried}, {"dead", dead},
          {"endpoints_disabled", endpoints_disabled}};
}

std::optional<seconds> ParseRetryAfter(const std::string& value, std::int64_t now_unix) {
  if (value.empty() || value.size() > 64) return std::nullopt;
  if (std::all_of(value.begin(), value.end(), ::isdigit)) {
    if (value.size() > 9) return seconds(999'999'999);
    return seconds(std::stoll(value));
  }
  std::tm tm{};
  const char* end = strptime(value.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (!end || *end != '\0') return std::nullopt;
  std::int64_t at = timegm(&tm);
  return seconds(std::max<std::int64_t>(0, at - now_unix));
}

DeliveryWorker::DeliveryWorker(OutboxQueue& queue, net::HttpTransport& transport, WebhookSecret secret, const Clock& clock,
                               DeliveryOptions options, Random random)
    : queue_(queue),
      transport_(transport),
      secret_(std::move(secret)),
      clock_(clock),
      options_(std::move(options)),
      random_(random ? std::move(random) : Random(DefaultRandom)) {
  if (options_.retry_schedule.empty()) options_.retry_schedule = {milliseconds(0)};
}

std::optional<milliseconds> DeliveryWorker::RetryDelay(int attempt_no, std::optional<seconds> retry_after) {
  if (attempt_no >= static_cast<int>(options_.retry_schedule.size())) return std::nullopt;
  double base = static_cast<double>(options_.retry_schedule[static_cast<size_t>(attempt_no)].count());
  // Jitter spreads the retries of many rows (e.g. after a lender outage) so they do not all
  // arrive in the same second.
  double scaled = base * (1.0 + options_.jitter * (2.0 * random_() - 1.0));
  auto delay = milliseconds(static_cast<std::int64_t>(std::llround(std::max(0.0, scaled))));
  if (retry_after) {
    auto ra = std::min<seconds>(*retry_after, options_.max_retry_after);
    delay = std::max<milliseconds>(delay, ra);
  }
  return delay;
}

Status DeliveryWorker::DeliverOne(const store::OutboxMessage& m, RunStats& stats) {
  const int attempt_no = m.attempts + 1;
  const std::int64_t ts = clock_.NowUnixSeconds();
  net::HttpRequest req;
  req.method = "POST";
  req.url = m.endpoint;
  req.headers = {{"content-type", "application/json"},
                 {"webhook-id", m.webhook_id},
                 {"webhook-timestamp", std::to_string(ts)},
                 {"webhook-signature", WebhookSignature(secret_, m.webhook_id, ts, m.payload)}};
  req.body = m.payload;
  const auto t0 = clock_.Monotonic();
  auto res = transport_.Send(req);
  CrashPoint(crash_points::kOutboxAfterResponse);  // the lender may have the result; the store does not know
  store::Attempt attempt;
  attempt.attempt_no = attempt_no;
  attempt.at = ts;
  attempt.duration_ms = std::chrono::duration_cast<milliseconds>(clock_.Monotonic() - t0).count();
  ++stats.attempted;
  std::optional<seconds> retry_after;
  if (res.ok()) {
    attempt.http_status = res->status;
    if (res->status >= 200 && res->status < 300) {
      ++stats.delivered;
      spdlog::info("outbox: {} delivered (HTTP {}, attempt {})", m.webhook_id, res->status, attempt_no);
      return queue_.RecordAttempt(m.id, attempt, store::AttemptOutcome::kDelivered, 0, "");
    }
    if (res->status == 410) {
      // The lender says this endpoint is gone for good: stop sending anything there.
      const std::string reason = "lender answered 410 Gone: endpoint disabled; fix [lender].url, re-enable it and replay";
      ++stats.dead;
      ++stats.endpoints_disabled;
      spdlog::warn("outbox: {} got 410 from {}; endpoint disabled", m.webhook_id, m.endpoint);
      VERIDGE_RETURN_IF_ERROR(queue_.DisableEndpoint(m.endpoint, "HTTP 410 Gone", ts));
      return queue_.RecordAttempt(m.id, attempt, store::AttemptOutcome::kDead, 0, reason);
    }
    if (auto ra = res->Header("retry-after")) retry_after = ParseRetryAfter(*ra, ts);
    attempt.error = "HTTP " + std::to_string(res->status);
  } else {
    attempt.error = Truncate(res.status().ToString(), 500);
  }
  auto delay = RetryDelay(attempt_no, retry_after);
  if (!delay) {
    ++stats.dead;
    const std::string reason = "no success after " + std::to_string(attempt_no) + " attempts (last: " + attempt.error +
                               "); replay with: veridge outbox replay " + std::to_string(m.id);
    spdlog::warn("outbox: {} dead-lettered: {}", m.webhook_id, reason);
    return queue_.RecordAttempt(m.id, attempt, store::AttemptOutcome::kDead, 0, reason);
  }
  ++stats.retried;
  // Whole seconds in the store; round up so a retry never comes early.
  const std::int64_t next = ts + (delay->count() + 999) / 1000;
  spdlog::info("outbox: {} attempt {} failed ({}); next at +{} ms", m.webhook_id, attempt_no, attempt.error, delay->count());
  return queue_.RecordAttempt(m.id, attempt, store::AttemptOutcome::kRetry, next, "");
}

Result<RunStats> DeliveryWorker::RunOnce() {
  RunStats stats;
  auto due = queue_.ClaimDue(clock_.NowUnixSeconds(), options_.batch, options_.lease_seconds);
  if (!due.ok()) return due.status();
  std::vector<std::string> gone;  // endpoints that answered 410 during this batch
  for (const auto& m : *due) {
    // Rows of an endpoint disabled a moment ago in this batch are left alone (their lease lapses;
    // ClaimDue skips them until the endpoint is re-enabled) rather than sent to a 410 endpoint.
    if (std::find(gone.begin(), gone.end(), m.endpoint) != gone.end()) continue;
    const int before = stats.endpoints_disabled;
    VERIDGE_RETURN_IF_ERROR(DeliverOne(m, stats));
    if (stats.endpoints_disabled != before) gone.push_back(m.endpoint);
  }
  return stats;
}

namespace {
void Add(RunStats& a, const RunStats& b) {
  a.attempted += b.attempted;
  a.delivered += b.delivered;
  a.retried += b.retried;
  a.dead += b.dead;
  a.endpoints_disabled += b.endpoints_disabled;
}
}  // namespace

Result<RunStats> DeliveryWorker::RunUntilEmpty(const Sleeper& sleep, const std::function<bool()>& stop) {
  RunStats total;
  while (!(stop && stop())) {
    auto once = RunOnce();
    if (!once.ok()) return once.status();
    Add(total, *once);
    if (once->attempted == options_.batch) continue;  // more may be due right now
    auto next = queue_.NextPendingAt();
    if (!next.ok()) return next.status();
    if (!*next) break;
    const std::int64_t now = clock_.NowUnixSeconds();
    if (**next > now) sleep(std::chrono::seconds(**next - now));
    else if (once->attempted == 0) sleep(milliseconds(200));  // due but leased by another worker
  }
  return total;
}

Result<RunStats> DeliveryWorker::RunForever(const Sleeper& sleep, const std::function<bool()>& stop, milliseconds poll) {
  RunStats total;
  while (!stop()) {
    auto once = RunOnce();
    if (!once.ok()) {
      // A busy or briefly unavailable store must not kill the daemon: log and try again later.
      spdlog::error("outbox: {}", once.status().ToString());
      sleep(poll);
      continue;
    }
    Add(total, *once);
    if (once->attempted < options_.batch) sleep(poll);
  }
  return total;
}

Result<SignedResult> SignResult(const nlohmann::json& result, const pki::DeviceSigner& signer, std::int64_t now_unix) {
  if (!result.is_object() || result.contains("attestation"))
    return Status::InvalidInput("bad_result", "the result must be a JSON object without an attestation member");
  auto canon = pki::CanonicalJson(result);
  if (!canon.ok()) return canon.status();
  auto jws = signer.SignJws(*canon);
  if (!jws.ok()) return jws.status();
  nlohmann::json data = result;
  data["attestation"] = *jws;
  nlohmann::json body = {{"type", "verification.completed"}, {"timestamp", Rfc3339(now_unix)}, {"data", data}};
  auto body_text = pki::CanonicalJson(body);
  if (!body_text.ok()) return body_text.status();
  std::string id(16, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(id.data()), 16) != 1)
    return Status::Internal("sign_failed", "no randomness for the webhook id");
  SignedResult out;
  out.result_json = std::move(*canon);
  out.webhook_id = "msg_" + Base64UrlEncode(id);
  out.body = std::move(*body_text);
  return out;
}

}  // namespace veridge::outbox
