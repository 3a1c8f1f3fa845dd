// verify/persist.h — where a finished session goes: the encrypted store and the outbox, in ONE
// transaction (decision + factor results + evidence + biometric templates + audit event + outbox
// row). After Commit returns ok the decision is durable (synchronous=FULL) and will be delivered
// by `veridge outbox run` with retries; if it fails, nothing was written and nothing will be sent.
//
// The signed result (outbox::SignResult): the canonical result document signed by the device key
// as a compact JWS (ES256, x5c = device chain), wrapped in the Standard Webhooks body. Evidence is
// referenced in it by SHA-256 only. It carries "audit_head": {"seq","hash"}, the audit chain's
// head the session's own audit event is appended onto, in the same transaction (the store checks
// the head has not moved; if it has, the result is signed again on the new head). A lender that
// keeps results thereby holds points of the chain that `veridge audit verify --anchor` checks.
// Fraud gallery (SetScreener): once the commit has stored the session's live template
// (fraud::kLiveTemplateKind), Commit adds it to the screener's in-memory gallery under the row id
// the commit returned, before it returns — so the next session of this process is screened
// against it. A commit that fails adds nothing. (The screener also reads, before each screen,
// whatever other processes committed: fraud.h.)
// Thread-safety: as the Store (calls are serialised); the signer is immutable.
#pragma once

#include <string>

#include "common/clock.h"
#include "fraud/fraud.h"
#include "pki/device_identity.h"
#include "store/store.h"
#include "verify/verify.h"

namespace veridge::verify {

class StoreSink final : public ResultSink {
 public:
  // `first_attempt_delay` is [outbox].retry_schedule[0]. None of the references are owned.
  StoreSink(store::Store& store, const pki::DeviceSigner& signer, std::string endpoint,
            std::string store_path, std::chrono::milliseconds first_attempt_delay, const Clock& clock);
  // Returns {"stored": <db path>, "webhook_id", "endpoint", "state": "queued", "first_attempt_at"}.
  Result<nlohmann::json> Commit(const SessionResult& result) override;
  void SetScreener(fraud::Screener* screener);  // not owned; may be null

 private:
  Result<nlohmann::json> CommitAt(const SessionResult& result, const store::AuditHeadPoint& head);
  store::Store& store_;
  const pki::DeviceSigner& signer_;
  std::string endpoint_;
  std::string store_path_;
  std::chrono::milliseconds first_delay_;
  const Clock& clock_;
  fraud::Screener* screener_ = nullptr;
};

}  // namespace veridge::verify
