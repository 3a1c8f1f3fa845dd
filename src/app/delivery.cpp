#include "app/delivery.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include "app/options.h"
#include "common/clock.h"
#include "common/files.h"
#include "outbox/signing.h"

namespace veridge::app {

Result<std::unique_ptr<DeliveryRunner>> DeliveryRunner::Create(const config::Config& cfg) {
  auto client_opts = BuildHttpsClientOptions(cfg);
  if (!client_opts.ok()) return client_opts.status();
  auto delivery = BuildDeliveryOptions(cfg);
  if (!delivery.ok()) return delivery.status();
  auto secret_path = cfg.GetPath("lender.webhook_secret_file");
  VERIDGE_RETURN_IF_ERROR(ConfigProblems(cfg));
  if (secret_path.empty()) return Status::InvalidInput("missing_config", "[lender].webhook_secret_file is not set");
  auto secret_text = ReadSecretFile(secret_path);
  if (!secret_text.ok()) return secret_text.status().WithContext("lender webhook secret");
  auto secret = outbox::WebhookSecret::Parse(*secret_text);
  std::fill(secret_text->begin(), secret_text->end(), '\0');
  if (!secret.ok()) return secret.status().WithContext(secret_path.string());
  std::unique_ptr<DeliveryRunner> r(new DeliveryRunner());
  auto client = net::HttpsClient::Create(*client_opts);
  if (!client.ok()) return client.status();
  r->client_ = std::move(*client);
  auto store_options = BuildStoreOptions(cfg);
  if (!store_options.ok()) return store_options.status();
  auto store = store::Store::Open(*store_options);
  if (!store.ok()) return store.status();
  // Never write delivery state into a store that `db check` would call corrupt: every page in use
  // is read and verified once, before the first write (cost: docs/store-integrity.md).
  if (Status st = (*store)->QuickCheck(); !st.ok()) return st;
  r->store_ = std::move(*store);
  r->queue_ = std::make_unique<outbox::StoreOutboxQueue>(*r->store_);
  r->worker_ = std::make_unique<outbox::DeliveryWorker>(*r->queue_, *r->client_, *secret, SystemClock::Instance(), *delivery);
  return r;
}

Result<outbox::RunStats> DeliveryRunner::Run(bool until_empty, const std::atomic<bool>& stop) {
  // Sleeps in short slices so a stop request ends a long wait promptly.
  auto sleep = [&stop](std::chrono::milliseconds d) {
    const auto until = std::chrono::steady_clock::now() + d;
    while (!stop.load() && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::min<std::chrono::milliseconds>(
          std::chrono::milliseconds(100),
          std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now()) + std::chrono::milliseconds(1)));
  };
  auto stopped = [&stop] { return stop.load(); };
  return until_empty ? worker_->RunUntilEmpty(sleep, stopped) : worker_->RunForever(sleep, stopped, std::chrono::seconds(1));
}

}  // namespace veridge::app
