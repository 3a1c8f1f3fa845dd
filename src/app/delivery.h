// app/delivery.h — the delivery worker built from config, shared by `veridge outbox run` and the
// worker thread of `veridge serve`, so both deliver with exactly the same code and settings.
//
// Contract: Create() reads [lender] and [outbox] (with app/options.h's builders, as doctor does), the webhook secret (ReadSecretFile) and the TLS
// settings, creates the HTTPS client and opens a store connection of its own — everything that
// can fail does so here, before a thread starts. Run() then delivers until the store holds nothing
// deliverable (until_empty) or until `stop` becomes true; waits are sliced so a stop is seen within
// ~100 ms (an attempt in flight still runs to its [outbox].request_timeout). One DeliveryRunner is
// used by one thread at a time. Codes: config_invalid, missing_config, and those of the secret
// file, the HTTPS client and the store.
#pragma once

#include <atomic>
#include <memory>

#include "config/config.h"
#include "net/https_client.h"
#include "outbox/worker.h"
#include "store/store.h"

namespace veridge::app {

class DeliveryRunner {
 public:
  static Result<std::unique_ptr<DeliveryRunner>> Create(const config::Config& cfg);
  Result<outbox::RunStats> Run(bool until_empty, const std::atomic<bool>& stop);
  store::Store& store() { return *store_; }

 private:
  DeliveryRunner() = default;
  std::unique_ptr<net::HttpsClient> client_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<outbox::StoreOutboxQueue> queue_;
  std::unique_ptr<outbox::DeliveryWorker> worker_;
};

}  // namespace veridge::app
