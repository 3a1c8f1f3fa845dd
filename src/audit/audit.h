// audit/audit.h — the append-only, hash-chained audit log.
//
// Contract
//  * Every event carries prev_hash = the hash of the event before it (64 zeros for the first) and
//    hash = SHA-256 (lowercase hex) over a canonical serialisation of
//    (seq, at, actor, action, subject, detail_json, prev_hash): each field written as
//    "<decimal byte length>:<bytes>;" after the tag "veridge-audit-v1;". Length prefixes make the
//    encoding unambiguous, so no two different events serialise to the same bytes.
//  * store/ persists the rows and assigns seq/prev_hash inside its transaction; this module
//    supplies the hash function (ChainHasher) and the verifier. Open the store with
//    `options.audit_hasher = audit::ChainHasher();` to write audit events (also inside
//    Store::CommitDecision).
//  * The table has triggers refusing UPDATE and DELETE; Verify() detects tampering that goes
//    around them (raw SQL with the key): an edited event, a deleted event (gap, or a truncated tail
//    against the head the store recorded), a reordered event, or a broken link. It names the FIRST
//    bad event (by seq) and stops there. Limitation: someone with the store key who rewrites the
//    whole chain from some point on and the head consistently is not detectable from inside the
//    database. That is what anchors are for: every signed result carries the audit head
//    ("audit_head": {"seq","hash"}) it was committed onto, and the lender keeps it;
//    VerifyAnchor() then checks the stored chain against such a point held outside the box.
//  * Thread-safety: free functions; thread-safe as the Store they are given.
//  * Failure: Verify returns a Status only when the store cannot be read; a broken chain is a
//    successful call with report.ok == false.
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"
#include "store/store.h"

namespace veridge::audit {

// The exact bytes hashed for an event (exposed for tests and for lenders' offline checks).
std::string CanonicalBytes(const store::AuditEvent& event);
// Lowercase hex SHA-256 of CanonicalBytes(event).
std::string EventHash(const store::AuditEvent& event);
// The hasher to put in StoreOptions::audit_hasher.
store::AuditHasher ChainHasher();

// Builds an event to append (seq, prev_hash and hash are assigned by the store).
store::AuditEvent MakeEvent(std::int64_t at, std::string actor, std::string action, std::string subject,
                            std::string detail_json = "{}");
// Appends one event in its own transaction; returns it as stored (with seq and hash).
Result<store::AuditEvent> Append(store::Store& store, const store::AuditEvent& event);

struct VerifyReport {
  bool ok = false;
  std::int64_t events = 0;         // events checked (up to and including the first bad one)
  std::int64_t first_bad_seq = 0;  // 0 when ok
  // "ok", "audit_event_edited", "audit_event_deleted", "audit_event_reordered", "audit_chain_broken"
  std::string code = "ok";
  std::string message;             // what is wrong, in words
  std::string head_hash;           // hash of the last good event (64 zeros for an empty log)
};

// Walks the whole chain in seq order (bounded memory: pages of 1000 events).
Result<VerifyReport> Verify(store::Store& store);

// Checks the stored chain against a point kept outside the appliance (the "audit_head" of a
// signed result): the whole chain verifies (Verify) AND the event stored at anchor.seq has exactly
// anchor.hash. Since each hash covers the one before it, a match proves events 1..seq are the
// ones that existed when the result was signed. report.code on failure: Verify's codes (the chain
// itself is broken), "audit_anchor_ahead" (the chain is shorter than the anchor: events were
// removed or an older store was put back), "audit_anchor_mismatch" (the event at that seq has
// another hash: history up to it was rewritten). Codes of the Status: bad_anchor (seq < 0, or a
// hash that is not 64 lowercase hex digits) and the store's read errors.
Result<VerifyReport> VerifyAnchor(store::Store& store, const store::AuditHeadPoint& anchor);

}  // namespace veridge::audit
