// The delivery commands as an operator (and a lender) runs them: the real `veridge` binary.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <sys/wait.h>

#include <fstream>

#include "audit/audit.h"
#include "lender/lender_fixture.h"
#include "pki/device_identity.h"
#include "outbox/signing.h"
#include "outbox/worker.h"
#include "store/store.h"

using namespace veridge;
using namespace veridge::testing;
using nlohmann::json;

namespace {

struct Run {
  int rc = -1;
  std::string out;
  json Json() const { return json::parse(out.substr(0, out.find('\n')), nullptr, false); }
};

Run Veridge(const std::string& args) {
  Run r;
  std::string cmd = "'" + VeridgeBinary().string() + "' " + args + " 2>/dev/null";
  FILE* f = ::popen(cmd.c_str(), "r");
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) r.out.append(buf, n);
  int st = ::pclose(f);
  r.rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

std::string Q(const std::filesystem::path& p) { return "'" + p.string() + "'"; }

void WriteConfig(const TempDir& dir, const std::string& url, const std::filesystem::path& lender_ca) {
  std::ofstream(dir / "veridge.toml") << "[device]\nid = \"kiosk-cli\"\nkey_file = \"keys/device.key\"\n"
                                         "cert_chain = \"keys/device-chain.pem\"\n"
                                         "[store]\npath = \"veridge.db\"\nkey_file = \"keys/store.key\"\n"
                                         "[lender]\nurl = \"" << url << "\"\nwebhook_secret_file = \"keys/lender.whsec\"\n"
                                      << "ca_file = \"" << lender_ca.string() << "\"\n"
                                      << "[outbox]\nretry_schedule = [\"0s\", \"1s\", \"1s\"]\nrequest_timeout = \"5s\"\n";
}

unsigned Mode(const std::filesystem::path& p) {
  struct stat st {};
  ::stat(p.c_str(), &st);
  return st.st_mode & 0777;
}

// Commits decisions straight into the store the config names, as verify/ would.
std::vector<outbox::SignedResult> CommitDecisions(const TempDir& dir, const std::string& url, int n) {
  auto signer = pki::DeviceSigner::Load(dir / "keys/device.key", dir / "keys/device-chain.pem").value();
  store::StoreOptions so;
  so.path = dir / "veridge.db";
  so.key_file = dir / "keys/store.key";
  so.audit_hasher = audit::ChainHasher();  // dead letters and replays are audited
  auto db = store::Store::Open(so).value();
  std::vector<outbox::SignedResult> out;
  const auto now = SystemClock::Instance().NowUnixSeconds();
  for (int i = 0; i < n; ++i) {
    json result = {{"session_id", "cli-" + std::to_string(i)}, {"decision", "review"}, {"reasons", {"liveness_low"}}};
    auto sr = outbox::SignResult(result, signer, now).value();
    store::DecisionRecord r;
    r.session_id = "cli-" + std::to_string(i);
    r.created_at = now;
    r.decision = "review";
    r.reasons_json = "[\"liveness_low\"]";
    r.factors_json = "{}";
    r.result_json = sr.result_json;
    r.outbox = store::OutboxMessageInput{sr.webhook_id, url, sr.body, now};
    REQUIRE(db->CommitDecision(r).ok());
    out.push_back(sr);
  }
  return out;
}

// A config and its keys (keys init) in dir; returns the device's signer.
pki::DeviceSigner KeysInit(const TempDir& dir) {
  WriteConfig(dir, "https://127.0.0.1:9/h", dir / "ca.pem");
  REQUIRE(Veridge("keys init --config " + Q(dir / "veridge.toml")).rc == 0);
  return pki::DeviceSigner::Load(dir / "keys/device.key", dir / "keys/device-chain.pem").value();
}

// The lender's webhook secret as keys init wrote it.
outbox::WebhookSecret LenderSecret(const TempDir& dir) {
  std::string text;
  std::ifstream(dir / "keys/lender.whsec") >> text;
  return outbox::WebhookSecret::Parse(text).value();
}

// A device key and certificate under a dev CA of their own: an impostor the lender must not trust.
pki::DeviceSigner ImpostorDevice(const TempDir& where) {
  pki::KeysInitOptions ko;
  ko.device_id = "impostor";
  ko.device_key_file = where / "k";
  ko.device_cert_chain = where / "c.pem";
  REQUIRE(pki::InitKeys(ko, SystemClock::Instance()).ok());
  return pki::DeviceSigner::Load(ko.device_key_file, ko.device_cert_chain).value();
}

// NAME.body and NAME.headers in dir: one delivery of `body`, signed with the lender secret at ts.
void WriteDelivery(const TempDir& dir, const std::string& name, const std::string& webhook_id, const std::string& body,
                   std::int64_t ts) {
  std::ofstream(dir / (name + ".body")) << body;
  std::ofstream(dir / (name + ".headers")) << "webhook-id: " << webhook_id << "\r\nwebhook-timestamp: " << ts
                                           << "\r\nwebhook-signature: " << outbox::WebhookSignature(LenderSecret(dir), webhook_id, ts, body)
                                           << "\r\n";
}

}  // namespace

TEST_CASE("veridge keys init creates missing keys with mode 0600 and keeps existing ones") {
  REQUIRE(std::filesystem::exists(VeridgeBinary()));
  TempDir dir;
  WriteConfig(dir, "https://127.0.0.1:9/h", dir / "ca.pem");
  auto first = Veridge("keys init --json --config " + Q(dir / "veridge.toml"));
  CHECK(first.rc == 0);
  CHECK(first.Json()["created"].size() == 7);  // store key, device key, dev CA key+cert, chain, the store, webhook secret
  CHECK(Mode(dir / "veridge.db") == 0600);
  CHECK(Mode(dir / "keys/device.key") == 0600);
  CHECK(Mode(dir / "keys/store.key") == 0600);
  CHECK(Mode(dir / "keys/lender.whsec") == 0600);
  auto whsec = std::ifstream(dir / "keys/lender.whsec");
  std::string secret;
  whsec >> secret;
  CHECK(outbox::WebhookSecret::Parse(secret).ok());
  auto second = Veridge("keys init --json --config " + Q(dir / "veridge.toml"));
  CHECK(second.rc == 0);
  CHECK(second.Json()["created"].empty());
  CHECK(second.Json()["kept"].size() == 5);
  auto missing = Veridge("keys init --json --config " + Q(dir / "nope.toml"));
  CHECK(missing.rc == 2);
  CHECK(missing.Json().contains("error"));
}

TEST_CASE("veridge outbox run --until-empty delivers committed results to the lender") {
  auto why = NodeMissingReason();
  if (!why.empty()) VERIDGE_SKIP(why);
  TempDir dir;
  LenderPki pki;
  REQUIRE(MakeLenderPki(dir / "pki", &pki));
  WriteConfig(dir, "https://127.0.0.1:9/h", pki.ca());
  REQUIRE(Veridge("keys init --config " + Q(dir / "veridge.toml")).rc == 0);
  NodeReceiver rx;
  REQUIRE(rx.Start({pki.server_cert(), pki.server_key(), dir / "keys/lender.whsec", dir / "keys/dev-ca.pem", dir / "rx.log", "normal", {}}) == "");
  auto sent = CommitDecisions(dir, rx.url(), 2);
  auto run = Veridge("outbox run --until-empty --json --config " + Q(dir / "veridge.toml"));
  INFO(run.out);
  CHECK(run.rc == 0);
  CHECK(run.Json()["delivered"] == 2);
  CHECK(run.Json()["outbox"]["pending"] == 0);
  int ok = 0;
  for (auto& l : rx.Log()) ok += l.value("ok", false);
  CHECK(ok == 2);
}

TEST_CASE("veridge outbox replay re-sends a dead-lettered result after a 410") {
  auto why = NodeMissingReason();
  if (!why.empty()) VERIDGE_SKIP(why);
  TempDir dir;
  LenderPki pki;
  REQUIRE(MakeLenderPki(dir / "pki", &pki));
  WriteConfig(dir, "https://127.0.0.1:9/h", pki.ca());
  REQUIRE(Veridge("keys init --config " + Q(dir / "veridge.toml")).rc == 0);
  NodeReceiver gone;
  REQUIRE(gone.Start({pki.server_cert(), pki.server_key(), dir / "keys/lender.whsec", dir / "keys/dev-ca.pem", dir / "gone.log", "gone", {}}) == "");
  auto sent = CommitDecisions(dir, gone.url(), 1);
  auto run = Veridge("outbox run --until-empty --json --config " + Q(dir / "veridge.toml"));
  // Every row dead-lettered: the run did not deliver, and its exit status says so (it was 0).
  CHECK(run.rc == 3);
  CHECK(run.Json()["error"]["code"] == "dead_lettered");
  CHECK(run.Json()["dead"] == 1);
  CHECK(run.Json()["endpoints_disabled"] == 1);
  auto replay = Veridge("outbox replay 1 --json --config " + Q(dir / "veridge.toml"));
  CHECK(replay.rc == 0);
  CHECK(replay.Json()["endpoint_reenabled"] == true);
  CHECK(replay.Json()["webhook_id"] == sent[0].webhook_id);
  CHECK(Veridge("outbox replay 99 --json --config " + Q(dir / "veridge.toml")).rc == 2);
}

TEST_CASE("veridge webhook verify accepts a genuine delivery and rejects altered ones") {
  REQUIRE(std::filesystem::exists(VeridgeBinary()));
  TempDir dir;
  auto signer = KeysInit(dir);
  const auto now = SystemClock::Instance().NowUnixSeconds();
  auto sr = outbox::SignResult({{"session_id", "wv-1"}, {"decision", "approved"}}, signer, now).value();
  auto write_delivery = [&](const std::string& name, const std::string& body, std::int64_t ts) {
    WriteDelivery(dir, name, sr.webhook_id, body, ts);
  };
  write_delivery("good", sr.body, now);
  auto verify = [&](const std::string& name, const std::string& extra = "") {
    return Veridge("webhook verify --json --secret-file " + Q(dir / "keys/lender.whsec") + " --headers " + Q(dir / (name + ".headers")) +
                   " --body " + Q(dir / (name + ".body")) + " " + extra);
  };
  auto good = verify("good", "--device-ca " + Q(dir / "keys/dev-ca.pem"));
  INFO(good.out);
  CHECK(good.rc == 0);
  CHECK(good.Json()["valid"] == true);
  CHECK(good.Json()["chain"] == "valid");
  CHECK(good.Json()["kid"] == signer.kid());
  // Body altered in transit (headers unchanged).
  std::string altered = sr.body;
  altered.replace(altered.find("approved"), 8, "rejected");
  std::ofstream(dir / "good.body") << altered;
  auto bad = verify("good");
  CHECK(bad.rc == 1);
  CHECK(bad.Json()["code"] == "signature_mismatch");
  // Re-signed with the webhook secret but not by the device: the JWS catches it.
  write_delivery("forged", altered, now);
  auto forged = verify("forged");
  CHECK(forged.rc == 1);
  CHECK(forged.Json()["code"] == "data_mismatch");
  // Old delivery.
  write_delivery("old", sr.body, now - 3600);
  CHECK(verify("old").Json()["code"] == "timestamp_too_old");
  // A chain from another CA.
  TempDir other;
  ImpostorDevice(other);
  write_delivery("good2", sr.body, now);
  auto wrong_ca = verify("good2", "--device-ca " + Q(other / "dev-ca.pem"));
  CHECK(wrong_ca.rc == 1);
  CHECK(wrong_ca.Json()["code"] == "chain_invalid");
  // Missing input file: bad input, exit 2.
  auto missing = Veridge("webhook verify --json --secret-file " + Q(dir / "keys/lender.whsec") + " --headers " + Q(dir / "nope") +
                         " --body " + Q(dir / "good.body"));
  CHECK(missing.rc == 2);
}

TEST_CASE("veridge webhook verify never says valid without a trust decision about the signer") {
  // Regression (issue 13): a body whose attestation was signed by a self-made key was reported
  // "valid: delivery signature, attestation and data agree", exit 0, when --device-ca was left out.
  REQUIRE(std::filesystem::exists(VeridgeBinary()));
  TempDir dir;
  auto real = KeysInit(dir);
  // The forger: its own key and its own "CA", and the (shared) webhook secret.
  TempDir forger;
  auto fake = ImpostorDevice(forger);
  const auto now = SystemClock::Instance().NowUnixSeconds();
  auto write_delivery = [&](const std::string& name, const pki::DeviceSigner& signer) {
    auto sr = outbox::SignResult({{"session_id", name}, {"decision", "approved"}}, signer, now).value();
    WriteDelivery(dir, name, sr.webhook_id, sr.body, now);
  };
  write_delivery("forged", fake);
  write_delivery("genuine", real);
  auto verify = [&](const std::string& name, const std::string& extra = "") {
    return Veridge("webhook verify --json --secret-file " + Q(dir / "keys/lender.whsec") + " --headers " + Q(dir / (name + ".headers")) +
                   " --body " + Q(dir / (name + ".body")) + " " + extra);
  };
  for (const std::string name : {"forged", "genuine"}) {
    auto r = verify(name);  // no --device-ca, no --device-key
    INFO(name << ": " << r.out);
    CHECK(r.rc == 1);
    CHECK(r.Json()["valid"] == false);
    CHECK(r.Json()["code"] == "signer_not_checked");
    CHECK(r.Json()["signature_only"] == true);
  }
  auto human = Veridge("webhook verify --secret-file " + Q(dir / "keys/lender.whsec") + " --headers " + Q(dir / "forged.headers") +
                       " --body " + Q(dir / "forged.body"));
  CHECK(human.rc == 1);
  CHECK(human.out.find("valid:") == std::string::npos);
  CHECK(human.out.find("signer not checked") != std::string::npos);
  // The trust decision catches the forgery, by CA or by pinned key ...
  CHECK(verify("forged", "--device-ca " + Q(dir / "keys/dev-ca.pem")).Json()["code"] == "chain_invalid");
  auto pinned_forged = verify("forged", "--device-key " + Q(dir / "keys/device-chain.pem"));
  CHECK(pinned_forged.rc == 1);
  CHECK(pinned_forged.Json()["code"] == "key_mismatch");
  // ... and accepts the genuine delivery either way.
  auto by_ca = verify("genuine", "--device-ca " + Q(dir / "keys/dev-ca.pem"));
  CHECK(by_ca.rc == 0);
  CHECK(by_ca.Json()["valid"] == true);
  auto by_pin = verify("genuine", "--device-key " + Q(dir / "keys/device-chain.pem"));
  INFO(by_pin.out);
  CHECK(by_pin.rc == 0);
  CHECK(by_pin.Json()["pinned_key"] == "match");
  REQUIRE(std::system(("openssl x509 -in " + Q(dir / "keys/device-chain.pem") + " -pubkey -noout > " + Q(dir / "pub.pem")).c_str()) == 0);
  CHECK(verify("genuine", "--device-key " + Q(dir / "pub.pem")).rc == 0);
  // An unusable pin or trust file is bad input (exit 2), not a verdict.
  std::ofstream(dir / "junk.pem") << "not a key";
  CHECK(verify("genuine", "--device-key " + Q(dir / "junk.pem")).rc == 2);
  CHECK(verify("genuine", "--device-ca " + Q(dir / "junk.pem")).rc == 2);
}

TEST_CASE("veridge webhook verify: bounded --tolerance and --now, garbage headers are bad input") {
  REQUIRE(std::filesystem::exists(VeridgeBinary()));
  TempDir dir;
  auto signer = KeysInit(dir);
  const auto now = SystemClock::Instance().NowUnixSeconds();
  auto sr = outbox::SignResult({{"session_id", "t-1"}, {"decision", "approved"}}, signer, now).value();
  WriteDelivery(dir, "d", sr.webhook_id, sr.body, now);
  const std::string base = "webhook verify --json --secret-file " + Q(dir / "keys/lender.whsec") + " --device-ca " +
                           Q(dir / "keys/dev-ca.pem") + " --body " + Q(dir / "d.body") + " --headers ";
  CHECK(Veridge(base + Q(dir / "d.headers")).rc == 0);
  // The overflow made a current delivery "too new"; now such a tolerance is refused as usage.
  for (const char* opt : {"--tolerance 9223372036854775807", "--tolerance -1", "--now -5", "--now 0"}) {
    auto r = Veridge(base + Q(dir / "d.headers") + " " + opt);
    INFO(opt << ": " << r.out);
    CHECK(r.rc == 2);
    CHECK(r.Json()["error"]["code"] == "usage");
  }
  CHECK(Veridge(base + Q(dir / "d.headers") + " --tolerance 31622400").rc == 0);  // the largest accepted: no overflow
  // A file that is not a headers file at all: exit 2, not a "missing_header" verdict.
  std::ofstream(dir / "garbage") << std::string("\x89PNG\r\n\x1a\n\0\0binary junk", 21);
  auto g = Veridge(base + Q(dir / "garbage"));
  CHECK(g.rc == 2);
  CHECK(g.Json()["error"]["code"] == "bad_headers");
  std::ofstream(dir / "prose") << "these are not headers\nat all\n";
  CHECK(Veridge(base + Q(dir / "prose")).Json()["error"]["code"] == "bad_headers");
  std::ofstream(dir / "array.json") << "[1,2,3]";
  CHECK(Veridge(base + Q(dir / "array.json")).rc == 2);
  // Well-formed headers that lack the signature are still a verdict on the delivery (exit 1).
  std::ofstream(dir / "partial") << "POST /hook HTTP/1.1\nwebhook-id: " << sr.webhook_id << "\ncontent-type: application/json\n";
  auto partial = Veridge(base + Q(dir / "partial"));
  CHECK(partial.rc == 1);
  CHECK(partial.Json()["code"] == "missing_header");
}

TEST_CASE("veridge outbox run refuses out-of-range delivery settings") {
  REQUIRE(std::filesystem::exists(VeridgeBinary()));
  TempDir dir;
  WriteConfig(dir, "https://127.0.0.1:9/h", dir / "ca.pem");
  REQUIRE(Veridge("keys init --config " + Q(dir / "veridge.toml")).rc == 0);
  std::ofstream(dir / "ca.pem") << "";  // never reached: the bad setting is reported first
  std::ofstream(dir / "veridge.toml", std::ios::app) << "batch = 0\n";
  auto run = Veridge("outbox run --until-empty --json --config " + Q(dir / "veridge.toml"));
  CHECK(run.rc == 2);
  CHECK(run.Json()["error"]["code"] == "config_invalid");
}
