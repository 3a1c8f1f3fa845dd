// veridge cert verify | cert prove — the certificate factor on the command line (issue 4).
#include <iostream>
#include <map>

#include "app/cli.h"
#include "pki/pki.h"
#include "pki/possession.h"

#include <openssl/rand.h>

#include "common/files.h"
#include "common/hex.h"

namespace veridge::app {

namespace {

nlohmann::json ChainJson(const std::vector<pki::ChainEntry>& chain) {
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& e : chain)
    arr.push_back({{"subject", e.subject},
                   {"issuer", e.issuer},
                   {"serial", e.serial},
                   {"sha256", e.sha256_fingerprint},
                   {"not_before", e.not_before},
                   {"not_after", e.not_after}});
  return arr;
}

// Reads a file the CLI contract says holds PEM; where allow_dir, a directory is read as a cache of
// PEM/DER files. Every file goes through common/files.h (regular files only, bounded, never blocks).
Status ReadPemInputs(const std::string& path, const char* what, std::vector<std::string>* out, bool allow_dir = true) {
  std::error_code ec;
  if (allow_dir && std::filesystem::is_directory(path, ec)) {
    auto all = pki::ReadBundleDirectory(path);
    if (!all.ok()) return all.status().WithContext(what);
    for (auto& b : *all) out->push_back(std::move(b));
    return Status::Ok();
  }
  auto b = pki::ReadBundleFile(path);
  if (!b.ok()) return b.status().WithContext(what);
  if (b->find("-----BEGIN ") == std::string::npos) {
    if (!b->empty() && static_cast<unsigned char>((*b)[0]) == 0x30)
      return Status::InvalidInput("expected_pem", std::string(what) + " " + path +
                                                      " is DER, not PEM; convert it with `openssl x509 -inform DER "
                                                      "-in FILE -out FILE.pem` (or `openssl crl -inform DER ...`)");
    return Status::InvalidInput("malformed", std::string(what) + " " + path + " holds no PEM block");
  }
  out->push_back(std::move(*b));
  return Status::Ok();
}

// The trust anchors, intermediates and CRLs that `cert verify` and `cert prove` both take.
Status ReadChainInputs(const std::string& trust, const std::vector<std::string>& untrusted,
                       const std::vector<std::string>& crls, pki::ValidationOptions* o) {
  Status st = ReadPemInputs(trust, "trust anchors", &o->trust_anchors);
  for (const auto& u : untrusted)
    if (st.ok()) st = ReadPemInputs(u, "untrusted intermediates", &o->untrusted);
  for (const auto& c : crls)
    if (st.ok()) st = ReadPemInputs(c, "CRL", &o->crls);
  return st;
}

struct VerifyArgs {
  std::string trust, at, purpose = "any", profile = "strict", revocation = "require",
                                    stale_crl = "reject", key_usage, leaf;
  std::vector<std::string> untrusted, crls, ocsp, dns, ips, emails, ekus, policies;
  int max_depth = 8;
  bool explicit_policy = false, inhibit_map = false, inhibit_any = false, json = false;
};

int RunVerify(const VerifyArgs& a) {
  pki::ValidationOptions o;
  Status st = ReadChainInputs(a.trust, a.untrusted, a.crls, &o);
  for (const auto& f : a.ocsp) {
    if (!st.ok()) break;
    auto b = pki::ReadBundleFile(f);  // OCSP responses are DER (as served by responders)
    if (!b.ok()) st = b.status().WithContext("OCSP response");
    else o.ocsp_responses.push_back(std::move(*b));
  }
  std::vector<std::string> leaf;
  // LEAF is one certificate: a directory is refused (not_a_file), never searched for a first file.
  if (st.ok()) st = ReadPemInputs(a.leaf, "leaf certificate", &leaf, /*allow_dir=*/false);
  if (!st.ok()) return ReportError(st, a.json);
  if (!a.at.empty()) {
    auto t = pki::ParseRfc3339(a.at);
    if (!t.ok()) return ReportError(t.status(), a.json);
    o.at_unix = *t;
  }
  static const std::map<std::string, pki::Purpose> kPurposes = {
      {"any", pki::Purpose::kAny}, {"client", pki::Purpose::kClient}, {"server", pki::Purpose::kServer}};
  static const std::map<std::string, pki::Profile> kProfiles = {
      {"strict", pki::Profile::kStrict}, {"rfc5280", pki::Profile::kRfc5280}, {"pkits", pki::Profile::kRfc5280}};
  static const std::map<std::string, pki::RevocationMode> kRev = {{"require", pki::RevocationMode::kRequire},
                                                                  {"if-available", pki::RevocationMode::kIfAvailable},
                                                                  {"none", pki::RevocationMode::kNone}};
  static const std::map<std::string, pki::StaleCrlAction> kStale = {{"reject", pki::StaleCrlAction::kReject},
                                                                    {"review", pki::StaleCrlAction::kReview}};
  o.purpose = kPurposes.at(a.purpose);
  o.profile = kProfiles.at(a.profile);
  o.revocation = kRev.at(a.revocation);
  o.stale_crl = kStale.at(a.stale_crl);
  o.dns_names = a.dns;
  o.ip_addresses = a.ips;
  o.emails = a.emails;
  o.required_ekus = a.ekus;
  if (!a.key_usage.empty()) {
    std::string cur;
    for (char c : a.key_usage + ",") {
      if (c == ',') {
        if (!cur.empty()) o.required_key_usage.push_back(cur);
        cur.clear();
      } else {
        cur.push_back(c);
      }
    }
  }
  o.max_depth = a.max_depth;
  o.initial_policy_set = a.policies;
  o.explicit_policy = a.explicit_policy;
  o.inhibit_policy_mapping = a.inhibit_map;
  o.inhibit_any_policy = a.inhibit_any;

  auto r = pki::ValidateCertificate(leaf.front(), o);
  if (!r.ok()) return ReportError(r.status(), a.json);
  if (a.json) {
    PrintJson({{"valid", r->valid},
               {"code", r->code},
               {"reason", r->reason},
               {"review", r->review},
               {"failed_depth", r->failed_depth},
               {"profile", pki::ProfileName(o.profile)},
               {"chain", ChainJson(r->chain)}});
  } else {
    std::cout << (r->valid ? "valid" : (r->review ? "review" : "INVALID")) << " (" << r->code << "): " << r->reason
              << "\n";
    for (std::size_t i = 0; i < r->chain.size(); ++i)
      std::cout << "  [" << i << "] " << r->chain[i].subject << "  serial " << r->chain[i].serial << "  "
                << r->chain[i].not_before << " .. " << r->chain[i].not_after << "\n";
  }
  return r->valid ? kExitOk : kExitNegative;
}

void RegisterVerify(CLI::App& cert, CommandContext& ctx) {
  auto* cmd = cert.add_subcommand("verify", "Validate a certificate path to the trust anchors (RFC 5280 + policy)");
  auto a = std::make_shared<VerifyArgs>();
  cmd->add_option("--trust", a->trust, "Trust anchors: PEM bundle file or directory")->required();
  cmd->add_option("--untrusted", a->untrusted, "Intermediate certificates (PEM), any order; repeatable");
  cmd->add_option("--crl", a->crls, "CRL file (PEM) or CRL cache directory; repeatable");
  cmd->add_option("--ocsp", a->ocsp, "DER OCSP response (cached or stapled); repeatable");
  cmd->add_option("--at", a->at, "Validation time, RFC 3339 (default: now)");
  cmd->add_option("--purpose", a->purpose, "client|server|any")->check(CLI::IsMember({"client", "server", "any"}));
  cmd->add_option("--profile", a->profile,
                  "strict (default: weak keys/SHA-1/AKI-SKI/CA leaf/CN-only rejected) | rfc5280 (plain RFC 5280; "
                  "alias pkits, for conformance suites only)")
      ->check(CLI::IsMember({"strict", "rfc5280", "pkits"}));
  cmd->add_option("--revocation", a->revocation, "require (default) | if-available | none")
      ->check(CLI::IsMember({"require", "if-available", "none"}));
  cmd->add_option("--stale-crl", a->stale_crl, "reject (default) | review: what a CRL past nextUpdate means")
      ->check(CLI::IsMember({"reject", "review"}));
  cmd->add_option("--dns", a->dns, "DNS name the certificate must carry; repeatable");
  cmd->add_option("--ip", a->ips, "IP address the certificate must carry; repeatable");
  cmd->add_option("--email", a->emails, "E-mail address the certificate must carry; repeatable");
  cmd->add_option("--eku", a->ekus, "Required EKU (name or OID); repeatable");
  cmd->add_option("--key-usage", a->key_usage, "Required key usage bits, comma-separated");
  cmd->add_option("--max-depth", a->max_depth, "Maximum number of intermediates (values above 32 are capped at 32)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--policy", a->policies, "Initial policy set OID; repeatable (default anyPolicy)");
  cmd->add_flag("--explicit-policy", a->explicit_policy, "Require an acceptable policy (RFC 5280 initial-explicit-policy)");
  cmd->add_flag("--inhibit-policy-mapping", a->inhibit_map, "RFC 5280 initial-policy-mapping-inhibit");
  cmd->add_flag("--inhibit-any-policy", a->inhibit_any, "RFC 5280 initial-any-policy-inhibit");
  cmd->add_flag("--json", a->json, "Machine-readable output");
  cmd->add_option("LEAF", a->leaf, "End-entity certificate (PEM)")->required();
  cmd->callback([&ctx, a] { ctx.exit_code = RunVerify(*a); });
}

struct ProveArgs {
  std::string module, token, pin_file, trust, session_id, at, profile = "strict", revocation = "require";
  std::vector<std::string> untrusted, crls;
  bool allow_pkcs1v15 = false, json = false;
};

int RunProve(const ProveArgs& a) {
  pki::ProveOptions po;
  po.module_path = a.module;
  po.token_label = a.token;
  po.allow_pkcs1v15 = a.allow_pkcs1v15;
  po.session_id = a.session_id;
  if (po.session_id.empty()) {
    unsigned char r[16];
    RAND_bytes(r, sizeof r);
    po.session_id = ToHex(r, sizeof r);
  }
  // The PIN comes from a 0600 file (never argv, never logged); one trailing newline is not part of it.
  auto pin = ReadSecretFile(a.pin_file, 1024);
  if (!pin.ok()) return ReportError(pin.status().WithContext("PIN file"), a.json);
  po.pin = std::move(*pin);
  if (!po.pin.empty() && po.pin.back() == '\n') po.pin.pop_back();
  if (!po.pin.empty() && po.pin.back() == '\r') po.pin.pop_back();
  const std::string session_id = po.session_id;
  auto r = pki::ProvePossession(std::move(po));
  if (!r.ok()) return ReportError(r.status(), a.json);
  nlohmann::json j = {{"proven", r->proven},
                      {"code", r->code},
                      {"reason", r->reason},
                      {"token", {{"label", r->token_label}, {"serial", r->token_serial}}},
                      {"mechanism", r->mechanism},
                      {"session_id", session_id},
                      {"challenge", r->challenge_hex},
                      {"signature", r->signature_hex}};
  bool ok = r->proven;
  if (!r->certificate_der.empty()) {
    auto d = pki::DescribeCertificate(r->certificate_der);
    if (d.ok()) j["certificate"] = ChainJson({*d})[0];
  }
  if (r->proven && !a.trust.empty()) {
    pki::ValidationOptions o;
    Status st = ReadChainInputs(a.trust, a.untrusted, a.crls, &o);
    if (!st.ok()) return ReportError(st, a.json);
    if (!a.at.empty()) {
      auto t = pki::ParseRfc3339(a.at);
      if (!t.ok()) return ReportError(t.status(), a.json);
      o.at_unix = *t;
    }
    o.purpose = pki::Purpose::kClient;
    o.profile = a.profile == "strict" ? pki::Profile::kStrict : pki::Profile::kRfc5280;
    o.revocation = a.revocation == "require"  ? pki::RevocationMode::kRequire
                   : a.revocation == "none"   ? pki::RevocationMode::kNone
                                              : pki::RevocationMode::kIfAvailable;
    auto v = pki::ValidateCertificate(r->certificate_der, o);
    if (!v.ok()) return ReportError(v.status(), a.json);
    j["validation"] = {{"valid", v->valid}, {"code", v->code}, {"reason", v->reason}, {"review", v->review},
                       {"chain", ChainJson(v->chain)}};
    ok = ok && v->valid;
  }
  if (a.json) {
    PrintJson(j);
  } else {
    std::cout << (r->proven ? "proven" : "NOT PROVEN") << " (" << r->code << "): " << r->reason << "\n";
    if (j.contains("validation"))
      std::cout << "certificate: " << (j["validation"]["valid"].get<bool>() ? "valid" : "INVALID") << " ("
                << j["validation"]["code"].get<std::string>() << "): " << j["validation"]["reason"].get<std::string>()
                << "\n";
  }
  return ok ? kExitOk : kExitNegative;
}

void RegisterProve(CLI::App& cert, CommandContext& ctx) {
  auto* cmd = cert.add_subcommand("prove", "Proof of possession: the token signs a fresh challenge (PKCS#11)");
  auto a = std::make_shared<ProveArgs>();
  cmd->add_option("--module", a->module, "PKCS#11 module (absolute path to the .so)")->required();
  cmd->add_option("--token", a->token, "Token label (default: the only token present)");
  cmd->add_option("--pin-file", a->pin_file, "File holding the PIN (mode 0600; never pass a PIN in argv)")->required();
  cmd->add_option("--session-id", a->session_id, "Session id bound into the challenge (default: random)");
  cmd->add_option("--trust", a->trust, "Also validate the token's certificate to these anchors (client profile)");
  cmd->add_option("--untrusted", a->untrusted, "Intermediates for that validation; repeatable");
  cmd->add_option("--crl", a->crls, "CRLs for that validation; repeatable");
  cmd->add_option("--at", a->at, "Validation time, RFC 3339 (default: now)");
  cmd->add_option("--profile", a->profile, "strict|rfc5280")->check(CLI::IsMember({"strict", "rfc5280"}));
  cmd->add_option("--revocation", a->revocation, "require|if-available|none")
      ->check(CLI::IsMember({"require", "if-available", "none"}));
  cmd->add_flag("--allow-pkcs1v15", a->allow_pkcs1v15, "Sign RSA with PKCS#1 v1.5 instead of PSS");
  cmd->add_flag("--json", a->json, "Machine-readable output");
  cmd->callback([&ctx, a] { ctx.exit_code = RunProve(*a); });
}

}  // namespace

void RegisterCertCommands(CLI::App& app, CommandContext& ctx) {
  auto* cert = app.add_subcommand("cert", "Certificate factor: path validation and proof of possession");
  cert->require_subcommand(1);
  RegisterVerify(*cert, ctx);
  RegisterProve(*cert, ctx);
}

}  // namespace veridge::app
