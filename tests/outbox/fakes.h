// In-memory fakes for the delivery worker's two seams (queue and transport), for unit tests.
#pragma once

#include <deque>
#include <map>
#include <set>

#include "outbox/worker.h"

namespace veridge::outbox::testing {

class FakeQueue final : public OutboxQueue {
 public:
  struct Row {
    store::OutboxMessage msg;
    std::int64_t lease_until = 0;
    std::vector<store::Attempt> attempts;
  };
  std::map<std::int64_t, Row> rows;
  std::set<std::string> disabled;

  std::int64_t Add(const std::string& endpoint, const std::string& payload, std::int64_t due) {
    std::int64_t id = static_cast<std::int64_t>(rows.size()) + 1;
    Row r;
    r.msg.id = id;
    r.msg.webhook_id = "msg_" + std::to_string(id);
    r.msg.endpoint = endpoint;
    r.msg.payload = payload;
    r.msg.next_attempt_at = due;
    rows[id] = r;
    return id;
  }
  Result<std::vector<store::OutboxMessage>> ClaimDue(std::int64_t now, int limit, std::int64_t lease) override {
    std::vector<store::OutboxMessage> out;
    for (auto& [id, r] : rows) {
      if (static_cast<int>(out.size()) >= limit) break;
      if (r.msg.state != store::OutboxState::kPending || r.msg.next_attempt_at > now || r.lease_until > now ||
          disabled.count(r.msg.endpoint))
        continue;
      r.lease_until = now + lease;
      out.push_back(r.msg);
    }
    return out;
  }
  Status RecordAttempt(std::int64_t id, const store::Attempt& a, store::AttemptOutcome o, std::int64_t next,
                       const std::string& reason) override {
    auto& r = rows.at(id);
    r.attempts.push_back(a);
    r.lease_until = 0;
    r.msg.attempts += 1;
    r.msg.last_http_status = a.http_status;
    r.msg.last_error = a.error;
    if (o == store::AttemptOutcome::kDelivered) {
      r.msg.state = store::OutboxState::kDelivered;
      r.msg.delivered_at = a.at;
    } else if (o == store::AttemptOutcome::kDead) {
      r.msg.state = store::OutboxState::kDead;
      r.msg.dead_reason = reason;
    } else {
      r.msg.next_attempt_at = next;
    }
    return Status::Ok();
  }
  Status DisableEndpoint(const std::string& endpoint, const std::string&, std::int64_t) override {
    disabled.insert(endpoint);
    return Status::Ok();
  }
  Result<std::optional<std::int64_t>> NextPendingAt() override {
    std::optional<std::int64_t> next;
    for (auto& [id, r] : rows)
      if (r.msg.state == store::OutboxState::kPending && !disabled.count(r.msg.endpoint) && (!next || r.msg.next_attempt_at < *next))
        next = r.msg.next_attempt_at;
    return next;
  }
};

// Answers from a script: each entry a status code (with optional Retry-After) or a transport error.
class FakeTransport final : public net::HttpTransport {
 public:
  struct Answer {
    int status = 204;
    std::string retry_after;
    std::string error_code;  // non-empty: a transport failure with this code
  };
  std::deque<Answer> script;
  Answer fallback;
  std::vector<net::HttpRequest> requests;

  Result<net::HttpResponse> Send(const net::HttpRequest& r) override {
    requests.push_back(r);
    Answer a = fallback;
    if (!script.empty()) {
      a = script.front();
      script.pop_front();
    }
    if (!a.error_code.empty()) return Status::Unavailable(a.error_code, "injected transport failure");
    net::HttpResponse res;
    res.status = a.status;
    if (!a.retry_after.empty()) res.headers.emplace_back("Retry-After", a.retry_after);
    return res;
  }
  std::string Header(size_t i, const std::string& name) const {
    for (const auto& [k, v] : requests.at(i).headers)
      if (k == name) return v;
    return "";
  }
};

}  // namespace veridge::outbox::testing
