// Delivery commands: keys init, outbox run / replay, webhook verify (issue 5).
//   veridge keys init --config FILE [--json]
//   veridge outbox run --config FILE [--until-empty] [--json]
//   veridge outbox replay ID --config FILE [--json]
//   veridge webhook verify --secret-file FILE --headers FILE --body FILE
//                          (--device-ca FILE | --device-key FILE) [--tolerance SECONDS] [--now UNIX] [--json]
#include <algorithm>
#include <csignal>
#include <filesystem>
#include <iostream>
#include <thread>

#include "app/cli.h"
#include "app/delivery.h"
#include "app/options.h"
#include "common/clock.h"
#include "common/files.h"
#include "common/log.h"
#include "config/config.h"
#include "net/https_client.h"
#include "pki/device_identity.h"
#include "outbox/signing.h"
#include "outbox/worker.h"
#include "store/store.h"

namespace veridge::app {
namespace {

std::atomic<bool> g_stop{false};
extern "C" void OnStopSignal(int) { g_stop.store(true); }

// Every delivery command loads through the same checks as verify and doctor.
Result<config::Config> LoadConfig(const std::string& path) { return LoadConfigStrict(path); }

// Headers from a file: a JSON object or "Name: value" lines (outbox::ParseWebhookHeaders says
// which). Anything else is not a headers file (exit 2): a verdict on a delivery is only given when
// its headers could actually be read.
Result<outbox::WebhookHeaders> ReadHeaders(const std::string& path) {
  auto text = ReadFileBounded(path, 64 * 1024);
  if (!text.ok()) return text.status();
  auto h = outbox::ParseWebhookHeaders(*text);
  if (!h.ok()) return h.status().WithContext(path);
  return h;
}

void RegisterKeys(CLI::App& app, CommandContext& ctx) {
  auto* keys = app.add_subcommand("keys", "Device and store keys");
  keys->require_subcommand(1);
  auto* init = keys->add_subcommand("init", "Create what is missing: store key, device key, dev certificate chain (never overwrites)");
  auto config_path = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  init->add_option("--config", *config_path, "Configuration file")->required();
  init->add_flag("--json", *json, "Machine-readable output");
  init->callback([&ctx, config_path, json] {
    auto cfg = LoadConfig(*config_path);
    if (!cfg.ok()) { ctx.exit_code = ReportError(cfg.status(), *json); return; }
    pki::KeysInitOptions o;
    o.device_id = cfg->GetString("device.id", "veridge-device");
    o.device_key_file = cfg->GetPath("device.key_file");
    o.device_cert_chain = cfg->GetPath("device.cert_chain");
    o.store_key_file = cfg->GetPath("store.key_file");
    if (Status st = ConfigProblems(*cfg); !st.ok()) { ctx.exit_code = ReportError(st, *json); return; }
    auto report = pki::InitKeys(o, SystemClock::Instance());
    if (!report.ok()) { ctx.exit_code = ReportError(report.status(), *json); return; }
    // The store (keys init and db init are the only commands that create one): with its key there.
    if (cfg->Has("store.path")) {
      auto created = InitStore(*cfg);
      if (!created.ok()) { ctx.exit_code = ReportError(created.status(), *json); return; }
      (*created ? report->created : report->kept).push_back(cfg->GetPath("store.path").string());
    }
    // A development webhook secret when none exists yet (a real lender hands over its own).
    const auto whsec = cfg->GetPath("lender.webhook_secret_file");
    if (!whsec.empty()) {
      std::error_code ec;
      if (std::filesystem::exists(whsec, ec)) {
        report->kept.push_back(whsec.string());
      } else {
        std::filesystem::create_directories(whsec.parent_path(), ec);
        std::string secret = outbox::WebhookSecret::Generate() + "\n";
        Status st = WriteFileAtomic(whsec, secret, 0600);
        std::fill(secret.begin(), secret.end(), '\0');
        if (!st.ok()) { ctx.exit_code = ReportError(st, *json); return; }
        report->created.push_back(whsec.string());
      }
    }
    if (*json) {
      PrintJson({{"created", report->created}, {"kept", report->kept}});
    } else {
      for (const auto& p : report->created) std::cout << "created " << p << "\n";
      for (const auto& p : report->kept) std::cout << "kept    " << p << " (exists)\n";
      if (!report->created.empty() && std::find_if(report->created.begin(), report->created.end(), [](const std::string& s) {
            return s.find("dev-ca") != std::string::npos;
          }) != report->created.end())
        std::cout << "note: the device certificate comes from a local DEVELOPMENT CA; for production install a chain "
                     "from your CA (docs/lender-integration.md, \"Device certificate\")\n";
    }
    ctx.exit_code = kExitOk;
  });
}

void RegisterOutbox(CLI::App& app, CommandContext& ctx) {
  auto* cmd = app.add_subcommand("outbox", "Deliver signed results to the lender's webhook");
  cmd->require_subcommand(1);

  auto* run = cmd->add_subcommand("run", "Deliver due results; retries on [outbox].retry_schedule (runs until SIGTERM); exit 3 if any result was dead-lettered");
  auto config_path = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  auto until_empty = std::make_shared<bool>(false);
  run->add_option("--config", *config_path, "Configuration file")->required();
  run->add_flag("--until-empty", *until_empty, "Exit once no deliverable result is pending (waits through retries)");
  run->add_flag("--json", *json, "Machine-readable output");
  run->callback([&ctx, config_path, json, until_empty] {
    auto fail = [&](const Status& st) { ctx.exit_code = ReportError(st, *json); };
    auto cfg = LoadConfig(*config_path);
    if (!cfg.ok()) return fail(cfg.status());
    auto runner = DeliveryRunner::Create(*cfg);
    if (!runner.ok()) return fail(runner.status());
    g_stop = false;
    std::signal(SIGINT, OnStopSignal);
    std::signal(SIGTERM, OnStopSignal);
    auto stats = (*runner)->Run(*until_empty, g_stop);
    if (!stats.ok()) return fail(stats.status());
    auto counts = (*runner)->store().CountOutbox(SystemClock::Instance().NowUnixSeconds());
    nlohmann::json out = stats->ToJson();
    if (counts.ok()) out["outbox"] = {{"pending", counts->pending}, {"delivered", counts->delivered}, {"dead", counts->dead}};
    // A result dead-lettered by this run did not reach the lender: the run failed at its job, and a
    // script or unit that only looks at the exit status must see it (exit 3, a dependency failure).
    const Status undelivered =
        stats->dead > 0 ? Status::Unavailable("dead_lettered", std::to_string(stats->dead) + " of " + std::to_string(stats->attempted) +
                                                                   " attempted result(s) were dead-lettered (the lender did not accept them); inspect "
                                                                   "with `veridge db` / the console, resend with `veridge outbox replay ID`")
                        : Status::Ok();
    if (*json) {
      if (!undelivered.ok()) out.update(ErrorJson(undelivered));
      PrintJson(out);
    } else {
      std::cout << "attempted " << stats->attempted << ", delivered " << stats->delivered << ", retried " << stats->retried
                << ", dead-lettered " << stats->dead << "\n";
      if (counts.ok() && counts->dead > 0)
        std::cout << counts->dead << " dead-lettered result(s): inspect with `veridge db` / the console, resend with `veridge outbox replay ID`\n";
      if (!undelivered.ok()) std::cerr << "error: " << undelivered.code() << ": " << undelivered.message() << std::endl;
    }
    ctx.exit_code = undelivered.ok() ? kExitOk : undelivered.ExitCode();
  });

  auto* replay = cmd->add_subcommand("replay", "Send a dead-lettered (or delivered) result again, with its original webhook-id");
  auto replay_id = std::make_shared<std::int64_t>(0);
  auto replay_config = std::make_shared<std::string>();
  auto replay_json = std::make_shared<bool>(false);
  replay->add_option("ID", *replay_id, "Outbox row id")->required();
  replay->add_option("--config", *replay_config, "Configuration file")->required();
  replay->add_flag("--json", *replay_json, "Machine-readable output");
  replay->callback([&ctx, replay_id, replay_config, replay_json] {
    auto fail = [&](const Status& st) { ctx.exit_code = ReportError(st, *replay_json); };
    auto cfg = LoadConfig(*replay_config);
    if (!cfg.ok()) return fail(cfg.status());
    auto store_options = BuildStoreOptions(*cfg);
    if (!store_options.ok()) return fail(store_options.status());
    auto store = store::Store::Open(*store_options);
    if (!store.ok()) return fail(store.status());
    if (Status st = (*store)->QuickCheck(); !st.ok()) return fail(st);  // as outbox run: no write into a damaged store
    auto row = (*store)->GetOutbox(*replay_id);
    if (!row.ok()) return fail(row.status());
    // Replaying is the operator's decision that the endpoint works again (e.g. after a 410).
    bool reenabled = false;
    auto disabled = (*store)->DisabledEndpoints();
    if (!disabled.ok()) return fail(disabled.status());
    for (const auto& e : *disabled)
      if (e.endpoint == row->endpoint) {
        if (Status st = (*store)->EnableEndpoint(e.endpoint, SystemClock::Instance().NowUnixSeconds(), CliActor()); !st.ok())
          return fail(st);
        reenabled = true;
      }
    if (Status st = (*store)->Replay(*replay_id, SystemClock::Instance().NowUnixSeconds(), CliActor()); !st.ok()) return fail(st);
    if (*replay_json) {
      PrintJson({{"id", *replay_id}, {"webhook_id", row->webhook_id}, {"state", "pending"}, {"endpoint_reenabled", reenabled}});
    } else {
      std::cout << "outbox row " << *replay_id << " (" << row->webhook_id << ") is pending again"
                << (reenabled ? "; its endpoint was re-enabled" : "") << "; run `veridge outbox run` to send it\n";
    }
    ctx.exit_code = kExitOk;
  });
}

// The lender-side check of one delivery. It answers "valid" only after a trust decision about the
// attestation's signer: its x5c chain validated to --device-ca, or its key equal to the pinned
// --device-key. Without either, the signatures can still be checked, but anyone can make a key and
// a certificate that sign: the verdict is then "signature only" (code signer_not_checked, exit 1).
void RegisterWebhook(CLI::App& app, CommandContext& ctx) {
  auto* cmd = app.add_subcommand("webhook", "Lender-side tools");
  cmd->require_subcommand(1);
  auto* verify = cmd->add_subcommand(
      "verify", "Check one delivery as a lender would: Standard Webhooks signature, the device's JWS, and its signer (--device-ca or --device-key)");
  struct Opts {
    std::string secret_file, headers_file, body_file, device_ca, device_key;
    std::int64_t tolerance = 300;
    std::int64_t now = 0;
    bool json = false;
  };
  auto o = std::make_shared<Opts>();
  // Bounds: a tolerance over a year or a time past 9999 is a typo, and none may be negative.
  constexpr std::int64_t kMaxTolerance = 366 * 86400, kMaxUnixTime = 253402300799;  // 9999-12-31T23:59:59Z
  verify->add_option("--secret-file", o->secret_file, "File holding the whsec_ secret")->required();
  verify->add_option("--headers", o->headers_file, "Request headers: JSON object or 'Name: value' lines")->required();
  verify->add_option("--body", o->body_file, "The raw request body")->required();
  verify->add_option("--device-ca", o->device_ca, "PEM trust anchors for the device certificate chain (x5c): the trust decision");
  verify->add_option("--device-key", o->device_key, "Pinned device public key (PEM public key or certificate): the trust decision");
  verify->add_option("--tolerance", o->tolerance, "Accepted clock difference in seconds, 0.." + std::to_string(kMaxTolerance) + " (default 300)")
      ->check(CLI::Range(std::int64_t{0}, kMaxTolerance));
  verify->add_option("--now", o->now, "Check as of this unix time (for archived deliveries; default: now)")
      ->check(CLI::Range(std::int64_t{1}, kMaxUnixTime));
  verify->add_flag("--json", o->json, "Machine-readable output");
  verify->callback([&ctx, o] {
    auto fail = [&](const Status& st) { ctx.exit_code = ReportError(st, o->json); };
    // Every input is read before any verdict: an unreadable trust input is exit 2, not a verdict.
    auto secret_text = ReadSecretFile(o->secret_file);
    if (!secret_text.ok()) return fail(secret_text.status());
    auto secret = outbox::WebhookSecret::Parse(*secret_text);
    if (!secret.ok()) return fail(secret.status());
    auto headers = ReadHeaders(o->headers_file);
    if (!headers.ok()) return fail(headers.status());
    auto body = ReadFileBounded(o->body_file, 2 * 1024 * 1024);
    if (!body.ok()) return fail(body.status());
    std::string ca, pinned;
    if (!o->device_ca.empty()) {
      auto r = ReadFileBounded(o->device_ca, 4 * 1024 * 1024);
      if (!r.ok()) return fail(r.status().WithContext("--device-ca"));
      ca = std::move(*r);
    }
    if (!o->device_key.empty()) {
      auto r = ReadFileBounded(o->device_key, 1024 * 1024);
      if (!r.ok()) return fail(r.status().WithContext("--device-key"));
      pinned = std::move(*r);
    }
    const std::int64_t now = o->now ? o->now : SystemClock::Instance().NowUnixSeconds();
    nlohmann::json out = {{"valid", false}, {"webhook_id", headers->id}};
    auto verdict = [&](const Status& st) {
      out["code"] = st.ok() ? "ok" : st.code();
      out["reason"] = st.ok() ? "delivery signature, attestation and data agree, and the signer is trusted (" +
                                    std::string(o->device_ca.empty() ? "pinned device key" : "device CA") + ")"
                              : st.message();
      out["valid"] = st.ok();
      if (o->json) PrintJson(out);
      else std::cout << (st.ok() ? "valid: " : "INVALID: ") << out["code"].get<std::string>() << ": " << out["reason"].get<std::string>() << "\n";
      ctx.exit_code = st.ok() ? kExitOk : kExitNegative;
    };
    Status sig = outbox::VerifyWebhook(*secret, *headers, *body, now, std::chrono::seconds(o->tolerance));
    if (!sig.ok()) return verdict(sig);
    auto event = nlohmann::json::parse(*body, nullptr, false);
    if (!event.is_object() || !event.contains("data") || !event["data"].is_object() || !event["data"].contains("attestation") ||
        !event["data"]["attestation"].is_string())
      return verdict(Status::InvalidInput("no_attestation", "body has no data.attestation JWS"));
    auto jws = outbox::VerifyJwsWithX5c(event["data"]["attestation"].get<std::string>());
    if (!jws.ok()) return verdict(jws.status());
    auto data = event["data"];
    data.erase("attestation");
    auto signed_data = nlohmann::json::parse(jws->payload, nullptr, false);
    if (signed_data != data)
      return verdict(Status::InvalidInput("data_mismatch", "the body's data differs from what the device signed"));
    out["kid"] = jws->header.value("kid", "");
    out["session_id"] = data.value("session_id", "");
    out["decision"] = data.value("decision", "");
    if (!o->device_ca.empty()) {
      Status chain = outbox::VerifyX5cChain(jws->header["x5c"], ca, now);
      if (chain.code() == "bad_trust_anchors") return fail(chain.WithContext("--device-ca " + o->device_ca));
      if (!chain.ok()) return verdict(chain);
      out["chain"] = "valid";
    }
    if (!o->device_key.empty()) {
      Status pin = outbox::VerifyX5cPinnedKey(jws->header["x5c"], pinned);
      if (pin.code() == "bad_pinned_key") return fail(pin.WithContext("--device-key " + o->device_key));
      if (!pin.ok()) return verdict(pin);
      out["pinned_key"] = "match";
    }
    if (o->device_ca.empty() && o->device_key.empty()) {
      // Not "valid": the signatures verify, but nobody decided whether this signer may sign.
      out["chain"] = "not checked";
      out["signature_only"] = true;
      out["code"] = "signer_not_checked";
      out["reason"] = "signature only, signer not checked: the delivery signature and the attestation verify, but the "
                      "attestation's signer was not checked, and anyone can make a key that signs; pass --device-ca FILE "
                      "(the device CA) or --device-key FILE (the pinned device key)";
      if (o->json) PrintJson(out);
      else std::cout << "SIGNATURE ONLY: signer_not_checked: " << out["reason"].get<std::string>() << "\n";
      ctx.exit_code = kExitNegative;
      return;
    }
    verdict(Status::Ok());
  });
}

}  // namespace

void RegisterDeliveryCommands(CLI::App& app, CommandContext& ctx) {
  RegisterKeys(app, ctx);
  RegisterOutbox(app, ctx);
  RegisterWebhook(app, ctx);
}

}  // namespace veridge::app
