// veridge db init | db check | db rekey | db purge | db reanchor, veridge audit verify — the store's
// maintenance commands. `audit verify --anchor RESULT` also checks the log against the audit head a
// signed result carries (kept by the lender, outside the box).
//
// Config keys read here: [store].path, [store].key_file, [store].retention_days (default 30).
// Only `db init` (and `keys init`) creates a store; every other command opens an existing one
// (create_if_missing = false), so maintenance never puts an empty database where the operator
// expected one. Every open compares the database with its anchor (store/store.h, "Anchor"): a
// wiped, rolled-back or replaced store fails the command with exit 3 and says how to recover;
// `db reanchor` is the explicit step that accepts a database as it is.
#include <algorithm>
#include <cctype>
#include <chrono>
#include <iostream>

#include "app/cli.h"
#include "app/options.h"
#include "audit/audit.h"
#include "common/clock.h"
#include "common/files.h"
#include "config/config.h"
#include "outbox/signing.h"
#include "store/store.h"

namespace veridge::app {

namespace {

constexpr std::int64_t kDaySeconds = 86400;
constexpr std::int64_t kMaxRetentionDays = 36500;

Result<config::Config> LoadConfig(const std::string& path) {
  if (path.empty()) return Status::InvalidInput("config_missing", "--config FILE is required");
  auto cfg = config::Config::Load(path);
  if (!cfg.ok()) return cfg.status();
  return cfg;
}

Result<std::unique_ptr<store::Store>> OpenFromConfig(const std::string& config_path, store::StoreOptions* out_options = nullptr,
                                                     config::Config* out_cfg = nullptr) {
  auto cfg = LoadConfig(config_path);
  if (!cfg.ok()) return cfg.status();
  auto opts = BuildStoreOptions(cfg.value());
  if (!opts.ok()) return opts.status();
  if (out_options) *out_options = opts.value();
  if (out_cfg) *out_cfg = cfg.value();
  return store::Store::Open(opts.value());
}

std::int64_t NowUnix() { return SystemClock::Instance().NowUnixSeconds(); }

struct Common {
  std::string config;
  bool json = false;
};

std::shared_ptr<Common> AddCommon(CLI::App* cmd) {
  auto c = std::make_shared<Common>();
  cmd->add_option("--config", c->config, "Configuration file ([store].path, [store].key_file)")->required();
  cmd->add_flag("--json", c->json, "Machine-readable output (one JSON object)");
  return c;
}

void RegisterDbCheck(CLI::App* db, CommandContext& ctx) {
  auto* cmd = db->add_subcommand("check", "Check the store: integrity, foreign keys, cipher, schema version");
  auto c = AddCommon(cmd);
  cmd->callback([&ctx, c] {
    auto s = OpenFromConfig(c->config);
    if (!s.ok()) {
      ctx.exit_code = ReportError(s.status(), c->json);
      return;
    }
    auto rep = (*s)->Check();
    if (!rep.ok()) {
      ctx.exit_code = ReportError(rep.status(), c->json);
      return;
    }
    nlohmann::json j = {{"ok", rep->ok},
                        {"cipher_version", rep->cipher_version},
                        {"schema_version", rep->schema_version},
                        {"page_count", rep->page_count},
                        {"freelist_count", rep->freelist_count},
                        {"cipher_check", rep->cipher_check},
                        {"anchor", rep->anchor},
                        {"problems", rep->problems}};
    Status bad = Status::Corruption("store_corrupt", "the database failed its integrity check (" +
                                                         (rep->problems.empty() ? std::string("?") : rep->problems.front()) +
                                                         "); restore it from a backup");
    if (c->json) {
      if (!rep->ok) j.update(ErrorJson(bad));
      PrintJson(j);
    } else {
      std::cout << (rep->ok ? "ok" : "FAILED") << ": SQLCipher " << rep->cipher_version << ", schema " << rep->schema_version << ", "
                << rep->page_count << " pages (" << rep->freelist_count << " free)\n"
                << "cipher: " << rep->cipher_check << "\n";
      if (!rep->anchor.empty()) std::cout << "anchor: " << rep->anchor << "\n";
      for (const auto& p : rep->problems) std::cout << "problem: " << p << "\n";
      if (!rep->ok) std::cerr << "error: " << bad.code() << ": " << bad.message() << std::endl;
    }
    ctx.exit_code = rep->ok ? kExitOk : bad.ExitCode();
  });
}

void RegisterDbInit(CLI::App* db, CommandContext& ctx) {
  auto* cmd = db->add_subcommand("init", "Create the store at [store].path if nothing is there (the key file must exist: veridge keys init)");
  auto c = AddCommon(cmd);
  cmd->callback([&ctx, c] {
    auto cfg = LoadConfig(c->config);
    if (!cfg.ok()) {
      ctx.exit_code = ReportError(cfg.status(), c->json);
      return;
    }
    auto created = InitStore(cfg.value());
    if (!created.ok()) {
      ctx.exit_code = ReportError(created.status(), c->json);
      return;
    }
    const std::string path = cfg->GetPath("store.path").string();
    if (c->json) PrintJson({{"ok", true}, {"created", *created}, {"path", path}});
    else std::cout << (*created ? "created " : "kept    ") << path << (*created ? "" : " (a store is there; it opened and matches its anchor)") << "\n";
    ctx.exit_code = kExitOk;
  });
}

void RegisterDbReanchor(CLI::App* db, CommandContext& ctx) {
  auto* cmd = db->add_subcommand("reanchor",
                                 "Accept the store as it is now: write a new anchor at its audit head (after restoring an older "
                                 "backup on purpose, or for a store made before anchors); recorded in the audit log");
  auto c = AddCommon(cmd);
  auto reason = std::make_shared<std::string>();
  cmd->add_option("--reason", *reason, "Why (kept in the audit event)");
  cmd->callback([&ctx, c, reason] {
    auto cfg = LoadConfig(c->config);
    if (!cfg.ok()) {
      ctx.exit_code = ReportError(cfg.status(), c->json);
      return;
    }
    auto opts = BuildStoreOptions(cfg.value());
    if (!opts.ok()) {
      ctx.exit_code = ReportError(opts.status(), c->json);
      return;
    }
    opts->accept_anchor_mismatch = true;
    auto s = store::Store::Open(*opts);
    if (!s.ok()) {
      ctx.exit_code = ReportError(s.status(), c->json);
      return;
    }
    auto before = (*s)->AnchorState();
    if (!before.ok()) {
      ctx.exit_code = ReportError(before.status(), c->json);
      return;
    }
    auto ev = (*s)->Reanchor(NowUnix(), CliActor(), *reason);
    if (!ev.ok()) {
      ctx.exit_code = ReportError(ev.status(), c->json);
      return;
    }
    const std::string found = before->finding.empty() ? "in_step" : before->finding;
    if (c->json) PrintJson({{"ok", true}, {"found", found}, {"seq", ev->seq}, {"head_hash", ev->hash}});
    else
      std::cout << "ok: the anchor now records audit event " << ev->seq << " (store.reanchored); before, the check found: " << found
                << "\n";
    ctx.exit_code = kExitOk;
  });
}

void RegisterDbRekey(CLI::App* db, CommandContext& ctx) {
  auto* cmd = db->add_subcommand("rekey", "Re-encrypt the store with a new key, then install it as [store].key_file");
  auto c = AddCommon(cmd);
  auto new_key = std::make_shared<std::string>();
  cmd->add_option("--new-key-file", *new_key, "File with the new key (32 random bytes, mode 0600)")->required();
  cmd->callback([&ctx, c, new_key] {
    store::StoreOptions opts;
    auto s = OpenFromConfig(c->config, &opts);
    if (!s.ok()) {
      ctx.exit_code = ReportError(s.status(), c->json);
      return;
    }
    std::error_code ec;
    if (std::filesystem::equivalent(opts.key_file, *new_key, ec)) {
      ctx.exit_code = ReportError(Status::InvalidInput("same_key_file", "--new-key-file is the current key file; give a new key"), c->json);
      return;
    }
    auto key = store::ReadStoreKey(*new_key);
    if (!key.ok()) {
      ctx.exit_code = ReportError(key.status(), c->json);
      return;
    }
    Status st = (*s)->Rekey(*new_key);
    if (!st.ok()) {
      ctx.exit_code = ReportError(st, c->json);
      return;
    }
    // The database now opens only with the new key. Install it in place of the old key file; if
    // this fails, the new key file given on the command line still opens the database.
    st = WriteFileAtomic(opts.key_file, key.value(), 0600);
    if (!st.ok()) {
      ctx.exit_code = ReportError(
          st.WithContext("the store was re-encrypted, but installing the new key failed; copy " + *new_key + " to " + opts.key_file.string()),
          c->json);
      return;
    }
    auto ev = audit::Append(**s, audit::MakeEvent(NowUnix(), CliActor(), "db.rekeyed", opts.path.string()));
    if (!ev.ok()) {
      ctx.exit_code = ReportError(ev.status().WithContext("rekeyed, but recording the audit event failed"), c->json);
      return;
    }
    if (c->json) PrintJson({{"ok", true}, {"key_file", opts.key_file.string()}});
    else std::cout << "ok: re-encrypted; the new key is installed at " << opts.key_file.string() << "; delete " << *new_key << "\n";
    ctx.exit_code = kExitOk;
  });
}

void RegisterDbPurge(CLI::App* db, CommandContext& ctx) {
  auto* cmd = db->add_subcommand("purge", "Delete biometric evidence and descriptors older than [store].retention_days");
  auto c = AddCommon(cmd);
  cmd->callback([&ctx, c] {
    store::StoreOptions opts;
    config::Config cfg = config::Config::Empty();
    auto s = OpenFromConfig(c->config, &opts, &cfg);
    if (!s.ok()) {
      ctx.exit_code = ReportError(s.status(), c->json);
      return;
    }
    std::int64_t days = cfg.GetInt("store.retention_days", 30);
    if (days < 0 || days > kMaxRetentionDays || !cfg.problems().empty()) {
      ctx.exit_code = ReportError(Status::InvalidInput("config_invalid", "[store].retention_days must be an integer from 0 to " +
                                                                             std::to_string(kMaxRetentionDays)),
                                  c->json);
      return;
    }
    const std::int64_t now = NowUnix();
    const std::int64_t cutoff = now - days * kDaySeconds;
    auto rep = (*s)->PurgeBiometrics(cutoff, now);
    if (!rep.ok()) {
      ctx.exit_code = ReportError(rep.status(), c->json);
      return;
    }
    nlohmann::json j = {{"ok", true},
                        {"retention_days", days},
                        {"cutoff", cutoff},
                        {"sessions", rep->sessions},
                        {"evidence", rep->evidence},
                        {"descriptors", rep->descriptors},
                        {"wal_truncated", rep->wal_truncated},
                        {"vacuumed", rep->vacuumed}};
    auto ev = audit::Append(**s, audit::MakeEvent(now, CliActor(), "retention.purged", "", j.dump()));
    if (!ev.ok()) {
      ctx.exit_code = ReportError(ev.status().WithContext("purged, but recording the audit event failed"), c->json);
      return;
    }
    if (c->json) PrintJson(j);
    else
      std::cout << "ok: purged biometric data of " << rep->sessions << " sessions older than " << days << " days (" << rep->evidence
                << " evidence items, " << rep->descriptors << " descriptors)"
                << (rep->wal_truncated ? "" : "; the WAL could not be emptied (another process has the store open): run again") << "\n";
    ctx.exit_code = kExitOk;
  });
}

// Reads the audit anchor out of a signed result a lender kept: the file holds the compact JWS
// (data.attestation), or the whole webhook body / data object with an "attestation" member. The
// JWS must verify AND be signed by this appliance's device key ([device].cert_chain): an anchor
// anyone could have made proves nothing. Codes (exit 2): anchor_unreadable, anchor_not_signed,
// anchor_other_device, anchor_missing (a result signed before results carried the audit head).
Result<store::AuditHeadPoint> ReadAnchorFromResult(const std::string& path, const config::Config& cfg) {
  auto text = ReadFileBounded(path, 4 * 1024 * 1024);
  if (!text.ok()) return text.status().WithContext("reading the anchor " + path);
  std::string compact = *text;
  while (!compact.empty() && std::isspace(static_cast<unsigned char>(compact.back()))) compact.pop_back();
  while (!compact.empty() && std::isspace(static_cast<unsigned char>(compact.front()))) compact.erase(0, 1);
  if (!compact.empty() && compact.front() == '{') {
    auto j = nlohmann::json::parse(compact, nullptr, false);
    const nlohmann::json* holder = &j;
    if (j.is_object() && j.contains("data") && j["data"].is_object()) holder = &j["data"];
    if (!holder->is_object() || !holder->contains("attestation") || !(*holder)["attestation"].is_string())
      return Status::InvalidInput("anchor_unreadable", path + " is JSON but holds no attestation (give the signed result's JWS, "
                                                              "data.attestation of the webhook body)");
    compact = (*holder)["attestation"].get<std::string>();
  }
  auto jws = outbox::VerifyJwsWithX5c(compact);
  if (!jws.ok())
    return Status::InvalidInput("anchor_not_signed", path + " is not a validly signed Veridge result (" + jws.status().message() +
                                                         "); it cannot serve as an anchor");
  auto chain = ReadFileBounded(cfg.GetPath("device.cert_chain"), 1024 * 1024);
  if (!chain.ok()) return chain.status().WithContext("reading [device].cert_chain to check the anchor's signer");
  if (auto pinned = outbox::VerifyX5cPinnedKey(jws->header.value("x5c", nlohmann::json()), *chain); !pinned.ok())
    return Status::InvalidInput("anchor_other_device", path + " was not signed by this appliance's device key (" +
                                                           pinned.message() + ")");
  auto payload = nlohmann::json::parse(jws->payload, nullptr, false);
  if (!payload.is_object() || !payload.contains("audit_head") || !payload["audit_head"].is_object() ||
      !payload["audit_head"].contains("seq") || !payload["audit_head"]["seq"].is_number_integer() ||
      !payload["audit_head"].contains("hash") || !payload["audit_head"]["hash"].is_string())
    return Status::InvalidInput("anchor_missing", path + " carries no audit_head (signed by a Veridge from before results anchored "
                                                        "the audit log); use a newer result");
  return store::AuditHeadPoint{payload["audit_head"]["seq"].get<std::int64_t>(), payload["audit_head"]["hash"].get<std::string>()};
}

void RegisterAuditVerify(CLI::App* audit_cmd, CommandContext& ctx) {
  auto* cmd = audit_cmd->add_subcommand("verify", "Check the audit log's hash chain; name the first bad event");
  auto c = AddCommon(cmd);
  auto anchors = std::make_shared<std::vector<std::string>>();
  cmd->add_option("--anchor", *anchors,
                  "A signed result (JWS, or the webhook body) the lender kept: the stored chain must hold the audit head it "
                  "carries (repeatable)");
  cmd->callback([&ctx, c, anchors] {
    auto s = OpenFromConfig(c->config);
    if (!s.ok()) {
      ctx.exit_code = ReportError(s.status(), c->json);
      return;
    }
    std::vector<store::AuditHeadPoint> points;
    for (const auto& path : *anchors) {
      auto cfg = LoadConfig(c->config);
      if (!cfg.ok()) {
        ctx.exit_code = ReportError(cfg.status(), c->json);
        return;
      }
      auto point = ReadAnchorFromResult(path, *cfg);
      if (!point.ok()) {
        ctx.exit_code = ReportError(point.status(), c->json);
        return;
      }
      points.push_back(*point);
    }
    auto rep = audit::Verify(**s);
    std::size_t checked = 0;
    for (; rep.ok() && rep->ok && checked < points.size(); ++checked) {
      rep = audit::VerifyAnchor(**s, points[checked]);
      if (rep.ok() && !rep->ok) rep->message = (*anchors)[checked] + ": " + rep->message;
    }
    if (!rep.ok()) {
      ctx.exit_code = ReportError(rep.status(), c->json);
      return;
    }
    if (rep->ok && !points.empty()) {
      std::int64_t latest = 0;
      for (const auto& p : points) latest = std::max(latest, p.seq);
      rep->message += "; " + std::to_string(points.size()) + " anchor" + (points.size() == 1 ? "" : "s") + " matched (the latest at event " +
                      std::to_string(latest) + ")";
    }
    if (c->json) {
      nlohmann::json j = {{"ok", rep->ok}, {"events", rep->events}, {"code", rep->code}, {"message", rep->message}, {"head_hash", rep->head_hash}};
      if (!rep->ok) j["first_bad_seq"] = rep->first_bad_seq;
      if (!points.empty()) j["anchors_checked"] = rep->ok ? points.size() : checked;
      PrintJson(j);
    } else {
      std::cout << (rep->ok ? "ok: " : "TAMPERED: ") << rep->message << "\n";
    }
    // A broken chain is a negative verdict about the log (exit 1), not a failure of the command.
    ctx.exit_code = rep->ok ? kExitOk : kExitNegative;
  });
}

}  // namespace

void RegisterStoreCommands(CLI::App& app, CommandContext& ctx) {
  auto* db = app.add_subcommand("db", "Encrypted store maintenance: init, check, rekey, purge, reanchor");
  db->require_subcommand(1);
  RegisterDbInit(db, ctx);
  RegisterDbCheck(db, ctx);
  RegisterDbRekey(db, ctx);
  RegisterDbPurge(db, ctx);
  RegisterDbReanchor(db, ctx);
  auto* audit_cmd = app.add_subcommand("audit", "Audit log");
  audit_cmd->require_subcommand(1);
  RegisterAuditVerify(audit_cmd, ctx);
}

}  // namespace veridge::app
