#include "audit/audit.h"

#include <string_view>

#include "common/sha256.h"

namespace veridge::audit {

namespace {

constexpr const char* kZeroHash = "0000000000000000000000000000000000000000000000000000000000000000";

void Field(std::string& out, std::string_view v) {
  out += std::to_string(v.size());
  out += ':';
  out.append(v.data(), v.size());
  out += ';';
}

}  // namespace

std::string CanonicalBytes(const store::AuditEvent& e) {
  std::string out = "veridge-audit-v1;";
  Field(out, std::to_string(e.seq));
  Field(out, std::to_string(e.at));
  Field(out, e.actor);
  Field(out, e.action);
  Field(out, e.subject);
  Field(out, e.detail_json);
  Field(out, e.prev_hash);
  return out;
}

std::string EventHash(const store::AuditEvent& e) { return Sha256Hex(CanonicalBytes(e)); }

store::AuditHasher ChainHasher() { return [](const store::AuditEvent& e) { return EventHash(e); }; }

store::AuditEvent MakeEvent(std::int64_t at, std::string actor, std::string action, std::string subject, std::string detail_json) {
  store::AuditEvent e;
  e.at = at;
  e.actor = std::move(actor);
  e.action = std::move(action);
  e.subject = std::move(subject);
  e.detail_json = detail_json.empty() ? "{}" : std::move(detail_json);
  return e;
}

Result<store::AuditEvent> Append(store::Store& store, const store::AuditEvent& event) { return store.AppendAudit(event); }

Result<VerifyReport> Verify(store::Store& store) {
  auto head = store.AuditHead();
  if (!head.ok()) return head.status();
  VerifyReport rep;
  rep.head_hash = kZeroHash;
  std::int64_t expected = 1;
  std::string prev = kZeroHash;
  auto fail = [&](std::int64_t seq, const char* code, std::string msg) {
    rep.ok = false;
    rep.first_bad_seq = seq;
    rep.code = code;
    rep.message = std::move(msg);
    return rep;
  };
  for (;;) {
    auto page = store.ListAudit(expected - 1, 1000);
    if (!page.ok()) return page.status();
    if (page->empty()) break;
    for (const auto& ev : page.value()) {
      ++rep.events;
      if (ev.seq != expected)
        return fail(expected, "audit_event_deleted",
                    "audit event " + std::to_string(expected) + " is missing (the next stored event is " + std::to_string(ev.seq) + ")");
      if (EventHash(ev) != ev.hash) {
        // Is it an intact event moved to another position? Its content then hashes correctly
        // under the seq it was written with. One O(n) search, only at the first bad event.
        for (std::int64_t k = 1; k <= std::max(head->seq, ev.seq) + 1; ++k) {
          if (k == ev.seq) continue;
          store::AuditEvent moved = ev;
          moved.seq = k;
          if (EventHash(moved) == ev.hash)
            return fail(ev.seq, "audit_event_reordered",
                        "audit event at position " + std::to_string(ev.seq) + " is the event written as number " + std::to_string(k) +
                            ": events were reordered");
        }
        return fail(ev.seq, "audit_event_edited",
                    "audit event " + std::to_string(ev.seq) + " (" + ev.action + ") does not match its hash: it was edited");
      }
      if (ev.prev_hash != prev)
        return fail(ev.seq, "audit_chain_broken",
                    "audit event " + std::to_string(ev.seq) + " does not link to the event before it: an event was removed, "
                    "inserted or re-hashed");
      prev = ev.hash;
      rep.head_hash = ev.hash;
      ++expected;
    }
  }
  const std::int64_t last = expected - 1;
  if (last < head->seq)
    return fail(last + 1, "audit_event_deleted",
                "audit events " + std::to_string(last + 1) + ".." + std::to_string(head->seq) + " are missing (the log was truncated)");
  if (last > head->seq)
    return fail(head->seq + 1, "audit_chain_broken",
                "audit event " + std::to_string(head->seq + 1) + " was added outside the store (the recorded head is " +
                    std::to_string(head->seq) + ")");
  if (last > 0 && prev != head->hash)
    return fail(last, "audit_chain_broken", "the last audit event does not match the head the store recorded");
  rep.ok = true;
  rep.code = "ok";
  rep.message = std::to_string(rep.events) + " audit events verified";
  return rep;
}

Result<VerifyReport> VerifyAnchor(store::Store& store, const store::AuditHeadPoint& anchor) {
  const bool hex64 = anchor.hash.size() == 64 &&
                     anchor.hash.find_first_not_of("0123456789abcdef") == std::string::npos;
  if (anchor.seq < 0 || !hex64)
    return Status::InvalidInput("bad_anchor", "an audit anchor is a sequence number >= 0 and a 64-digit lowercase hex hash");
  auto chain = Verify(store);
  if (!chain.ok() || !chain->ok) return chain;
  VerifyReport rep = *chain;
  const std::string at = "audit event " + std::to_string(anchor.seq);
  auto fail = [&](const char* code, std::string msg) {
    rep.ok = false;
    rep.code = code;
    rep.first_bad_seq = anchor.seq;
    rep.message = std::move(msg);
    return rep;
  };
  if (anchor.seq == 0) {
    if (anchor.hash != kZeroHash) return fail("audit_anchor_mismatch", "the anchor names event 0 (the empty log) with a non-zero hash");
  } else if (anchor.seq > rep.events) {
    return fail("audit_anchor_ahead", "the signed result was committed at " + at + ", but the stored log ends at event " +
                                          std::to_string(rep.events) +
                                          ": events were removed or an older copy of the store was put back");
  } else {
    auto page = store.ListAudit(anchor.seq - 1, 1);
    if (!page.ok()) return page.status();
    if (page->empty() || page->front().seq != anchor.seq)  // Verify just saw it: only a concurrent rewrite gets here
      return fail("audit_anchor_ahead", at + " is not in the stored log any more");
    if (page->front().hash != anchor.hash)
      return fail("audit_anchor_mismatch", at + " in the store has hash " + page->front().hash +
                                               ", the signed result recorded " + anchor.hash +
                                               ": the history up to that event was rewritten after the result was signed");
  }
  rep.message = "the stored log matches the anchor at " + at + ", and all " + std::to_string(rep.events) + " audit events verify";
  return rep;
}

}  // namespace veridge::audit
