// StoreOutboxQueue: the worker's queue over store::Store (kept in its own file so that code using
// only the worker seam does not pull in the store library).
#include <algorithm>
#include <set>

#include "outbox/worker.h"

namespace veridge::outbox {

Result<std::vector<store::OutboxMessage>> StoreOutboxQueue::ClaimDue(std::int64_t now, int limit, std::int64_t lease_seconds) {
  return store_.ClaimDue(now, limit, lease_seconds);
}

Status StoreOutboxQueue::RecordAttempt(std::int64_t id, const store::Attempt& attempt, store::AttemptOutcome outcome,
                                       std::int64_t next_attempt_at, const std::string& dead_reason) {
  return store_.RecordAttempt(id, attempt, outcome, next_attempt_at, dead_reason);
}

Status StoreOutboxQueue::DisableEndpoint(const std::string& endpoint, const std::string& reason, std::int64_t at) {
  return store_.DisableEndpoint(endpoint, reason, at);
}

Result<std::optional<std::int64_t>> StoreOutboxQueue::NextPendingAt() {
  auto disabled = store_.DisabledEndpoints();
  if (!disabled.ok()) return disabled.status();
  std::set<std::string> off;
  for (const auto& e : *disabled) off.insert(e.endpoint);
  // Bounded scan: the 1000 oldest pending rows are enough to know whether any is deliverable
  // (a backlog that large is being worked through anyway).
  auto pending = store_.ListOutbox(store::OutboxState::kPending, 1000);
  if (!pending.ok()) return pending.status();
  std::optional<std::int64_t> next;
  for (const auto& m : *pending) {
    if (off.count(m.endpoint)) continue;
    if (!next || m.next_attempt_at < *next) next = m.next_attempt_at;
  }
  return next;
}

}  // namespace veridge::outbox
