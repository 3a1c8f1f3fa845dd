// bench-delivery — measures the delivery path with real parts: SQLCipher store, the outbox worker,
// the Beast HTTPS client (keep-alive) and the Node lender receiver the lender tests use
// (tests/lender/node_receiver.h: verifies every delivery with standardwebhooks + jose, or only
// answers 204 in "accept" mode), on 127.0.0.1 with certificates made by tests/lender/make-test-pki.sh.
//
//   bench-delivery [--n 500] [--mode normal|accept] [--latency-n 200] [--interval-ms 20] [--poll-ms 20]
//
// Prints:  throughput: N deliveries committed beforehand, drained by one worker: deliveries/s
//          latency:    a committer commits one decision every interval-ms while a worker polls
//                      every poll-ms: commit-returned -> first attempt started, p50/p90/p99/max.
#include <algorithm>
#include <cmath>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "audit/audit.h"
#include "common/log.h"
#include "lender/node_receiver.h"
#include "net/https_client.h"
#include "pki/device_identity.h"
#include "outbox/signing.h"
#include "outbox/worker.h"
#include "store/store.h"

using namespace veridge;
using namespace std::chrono;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

const char* kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

// Records when each webhook-id was first handed to the transport.
class TimingTransport final : public net::HttpTransport {
 public:
  explicit TimingTransport(net::HttpTransport& inner) : inner_(inner) {}
  Result<net::HttpResponse> Send(const net::HttpRequest& r) override {
    auto t = steady_clock::now();
    for (const auto& [k, v] : r.headers)
      if (k == "webhook-id") {
        std::lock_guard<std::mutex> lock(mu);
        first.emplace(v, t);
      }
    return inner_.Send(r);
  }
  std::mutex mu;
  std::map<std::string, steady_clock::time_point> first;

 private:
  net::HttpTransport& inner_;
};

store::DecisionRecord Decision(const pki::DeviceSigner& signer, const std::string& sid, const std::string& url,
                               std::string* webhook_id) {
  const auto now = SystemClock::Instance().NowUnixSeconds();
  json result = {{"session_id", sid}, {"device_id", "bench"}, {"decision", "approved"}, {"reasons", json::array()},
                 {"decided_at", now}, {"evidence", {{{"kind", "best_frame"}, {"sha256", std::string(64, 'a')}}}}};
  auto sr = outbox::SignResult(result, signer, now).value();
  store::DecisionRecord r;
  r.session_id = sid;
  r.created_at = now;
  r.decision = "approved";
  r.reasons_json = "[]";
  r.factors_json = "{}";
  r.result_json = sr.result_json;
  r.outbox = store::OutboxMessageInput{sr.webhook_id, url, sr.body, now};
  *webhook_id = sr.webhook_id;
  return r;
}

double Pct(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size()))) - 1;
  return v[std::min(i, v.size() - 1)];
}

}  // namespace

int main(int argc, char** argv) {
  int n = 500, latency_n = 200, interval_ms = 20, poll_ms = 20;
  std::string mode = "normal";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--n") n = std::atoi(argv[i + 1]);
    else if (a == "--mode") mode = argv[i + 1];
    else if (a == "--latency-n") latency_n = std::atoi(argv[i + 1]);
    else if (a == "--interval-ms") interval_ms = std::atoi(argv[i + 1]);
    else if (a == "--poll-ms") poll_ms = std::atoi(argv[i + 1]);
  }
  spdlog::set_level(spdlog::level::warn);
  std::string tmpl = (fs::temp_directory_path() / "bench-delivery-XXXXXX").string();
  fs::path dir = ::mkdtemp(tmpl.data());
  auto fail = [&](const std::string& what) {
    std::cerr << "bench-delivery: " << what << "\n";
    fs::remove_all(dir);
    return 3;
  };
  std::string cmd = "bash '" + std::string(VERIDGE_SOURCE_DIR) + "/tests/lender/make-test-pki.sh' '" + (dir / "pki").string() + "'";
  if (std::system(cmd.c_str()) != 0) return fail("test PKI generation failed");
  pki::KeysInitOptions ko;
  ko.device_id = "bench";
  ko.device_key_file = dir / "keys/device.key";
  ko.device_cert_chain = dir / "keys/device-chain.pem";
  ko.store_key_file = dir / "keys/store.key";
  if (!pki::InitKeys(ko, SystemClock::Instance()).ok()) return fail("keys init failed");
  std::ofstream(dir / "lender.whsec") << kSecret << "\n";
  auto signer = pki::DeviceSigner::Load(ko.device_key_file, ko.device_cert_chain).value();
  testing::NodeReceiver rx;
  testing::NodeReceiver::Config rc;
  rc.cert = dir / "pki/server.pem";
  rc.key = dir / "pki/server.key";
  rc.secret_file = dir / "lender.whsec";
  rc.device_ca = dir / "keys/dev-ca.pem";
  rc.log = dir / "rx.log";
  rc.mode = mode;
  if (auto why = rx.Start(rc); !why.empty())
    return fail("could not start the Node receiver (node, tools/setup-node.sh): " + why);
  const std::string url = rx.url();
  store::StoreOptions so;
  so.path = dir / "veridge.db";
  so.key_file = ko.store_key_file;
  so.audit_hasher = audit::ChainHasher();  // dead letters and replays are audited
  so.create_if_missing = true;             // as keys init would
  auto committer = store::Store::Open(so).value();   // verify/'s connection
  auto deliverer = store::Store::Open(so).value();   // outbox run's connection
  net::HttpsClientOptions co;
  co.tls.ca_file = dir / "pki/ca.pem";
  auto client = net::HttpsClient::Create(co).value();
  auto secret = outbox::WebhookSecret::Parse(kSecret).value();
  std::cout << "bench-delivery: receiver mode=" << mode
            << (mode == "normal" ? " (the lender verifies HMAC + JWS + x5c chain on every delivery)\n" : " (the lender answers 204 without checking)\n");

  // 1. Throughput: drain a backlog of n results over one kept-alive connection.
  {
    std::string id;
    for (int i = 0; i < n; ++i)
      if (!committer->CommitDecision(Decision(signer, "t-" + std::to_string(i), url, &id)).ok()) return fail("commit failed");
    outbox::StoreOutboxQueue queue(*deliverer);
    outbox::DeliveryWorker worker(queue, *client, secret, SystemClock::Instance(), {});
    auto t0 = steady_clock::now();
    auto stats = worker.RunUntilEmpty([](milliseconds d) { std::this_thread::sleep_for(d); });
    double secs = duration<double>(steady_clock::now() - t0).count();
    if (!stats.ok()) return fail(stats.status().ToString());
    std::printf("throughput: %d delivered of %d in %.2f s = %.1f deliveries/s (keep-alive, one worker, store updates included)\n",
                stats->delivered, n, secs, stats->delivered / secs);
  }

  // 2. Latency: commit while a worker polls.
  {
    TimingTransport timing(*client);
    outbox::StoreOutboxQueue queue(*deliverer);
    outbox::DeliveryWorker worker(queue, timing, secret, SystemClock::Instance(), {});
    std::atomic<bool> stop{false};
    std::thread worker_thread([&] {
      (void)worker.RunForever([](milliseconds d) { std::this_thread::sleep_for(d); }, [&] { return stop.load(); }, milliseconds(poll_ms));
    });
    std::map<std::string, steady_clock::time_point> committed;
    for (int i = 0; i < latency_n; ++i) {
      std::string id;
      auto rec = Decision(signer, "l-" + std::to_string(i), url, &id);
      if (!committer->CommitDecision(rec).ok()) return fail("commit failed");
      committed[id] = steady_clock::now();
      std::this_thread::sleep_for(milliseconds(interval_ms));
    }
    for (int i = 0; i < 100; ++i) {
      std::lock_guard<std::mutex> lock(timing.mu);
      if (timing.first.size() >= committed.size()) break;
      std::this_thread::sleep_for(milliseconds(50));
    }
    stop = true;
    worker_thread.join();
    std::vector<double> ms;
    for (auto& [id, t] : committed) {
      auto it = timing.first.find(id);
      if (it != timing.first.end()) ms.push_back(duration<double, std::milli>(it->second - t).count());
    }
    std::printf("latency: commit -> first attempt over %zu of %d results (commit every %d ms, worker poll %d ms): "
                "p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms\n",
                ms.size(), latency_n, interval_ms, poll_ms, Pct(ms, 50), Pct(ms, 90), Pct(ms, 99), Pct(ms, 100));
  }
  fs::remove_all(dir);
  return 0;
}
