// Path-validation rules around OpenSSL (issue 18): name constraints and the subject CN,
// pathological inputs, and the strict/RFC 5280 rules, each on certificates generated here
// (cert_forge.h), never copied from a conformance corpus. One TEST_CASE per rule; the reason codes
// are the stable ones listed in pki/pki.h and certs/README.md.
#include <sys/wait.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iterator>

#include "cert_forge.h"
#include "pki/pki.h"
#include "pki/rules.h"
#include "support/test_support.h"

namespace forge = veridge::testing::forge;
using forge::Cert;
using forge::Spec;
using veridge::pki::Purpose;
using veridge::pki::ValidationOptions;
using veridge::pki::ValidationResult;

namespace {

constexpr std::int64_t kAt = 1780272000;  // 2026-06-01T00:00:00Z

Spec Named(const std::string& cn, std::vector<std::pair<std::string, std::string>> ext) {
  Spec s;
  if (!cn.empty()) s.subject = {{"O", "Veridge Rules Test"}, {"CN", cn}};
  s.ext = std::move(ext);
  return s;
}

Cert Root(const std::string& cn = "Rules Root CA", std::vector<std::pair<std::string, std::string>> more = {}) {
  auto ext = forge::CaExt(true);
  for (auto& e : more) ext.push_back(std::move(e));
  return forge::Issue(Named(cn, ext), nullptr);
}

Cert Ca(const Cert& issuer, const std::string& cn, std::vector<std::pair<std::string, std::string>> more = {}) {
  auto ext = forge::CaExt(false);
  for (auto& e : more) ext.push_back(std::move(e));
  return forge::Issue(Named(cn, ext), &issuer);
}

// A server leaf for cn with the given SAN (openssl.cnf syntax).
Cert Leaf(const Cert& issuer, const std::string& cn, const std::string& san) {
  return forge::Issue(Named(cn, forge::ServerExt(san)), &issuer);
}

// Validates leaf under the strict profile, purpose server, no revocation, at kAt; tweak adjusts.
ValidationResult Verify(const Cert& leaf, const std::vector<const Cert*>& trust,
                        const std::vector<const Cert*>& untrusted,
                        const std::function<void(ValidationOptions&)>& tweak = {}) {
  ValidationOptions o;
  for (const Cert* c : trust) o.trust_anchors.push_back(c->Pem());
  for (const Cert* c : untrusted) o.untrusted.push_back(c->Pem());
  o.at_unix = kAt;
  o.purpose = Purpose::kServer;
  o.revocation = veridge::pki::RevocationMode::kNone;
  if (tweak) tweak(o);
  auto r = veridge::pki::ValidateCertificate(leaf.Pem(), o);
  INFO(r.status().ToString());
  REQUIRE(r.ok());
  return *r;
}

void ExpectValid(const ValidationResult& r) {
  INFO(r.code << ": " << r.reason);
  CHECK(r.valid);
  CHECK(r.code == "ok");
}

void ExpectCode(const ValidationResult& r, const std::string& code) {
  INFO(r.code << ": " << r.reason);
  CHECK_FALSE(r.valid);
  CHECK(r.code == code);
  CHECK_FALSE(r.reason.empty());
}

std::string Write(const veridge::testing::TempDir& dir, const std::string& name, const std::string& text) {
  auto p = dir / name;
  std::ofstream(p) << text;
  return p.string();
}

// `veridge cert verify --json ARGS`, its stdout kept in dir: exit code and output.
std::pair<int, std::string> Cli(const veridge::testing::TempDir& dir, const std::string& args) {
  auto out = dir / "verify.out";
  int st = std::system((veridge::testing::VeridgeBinary().string() + " cert verify --json " + args + " > " +
                        out.string() + " 2>&1")
                           .c_str());
  std::ifstream in(out);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, text};
}

}  // namespace

// ---- kind 1: the subject CN and name constraints ---------------------------------------------

TEST_CASE("name constraints: an IP SAN with the address written as the CN passes DNS+IP constraints") {
  Cert root = Root();
  Cert ica = Ca(root, "Constrained CA",
                {{"nameConstraints", "critical,permitted;DNS:example.com,permitted;IP:192.0.2.0/255.255.255.0"}});
  Cert leaf = Leaf(ica, "192.0.2.7", "IP:192.0.2.7");
  ExpectValid(Verify(leaf, {&root}, {&ica}, [](ValidationOptions& o) { o.ip_addresses = {"192.0.2.7"}; }));
  // The SAN itself is still constrained: an address outside the permitted subnet fails.
  Cert outside = Leaf(ica, "198.51.100.7", "IP:198.51.100.7");
  ExpectCode(Verify(outside, {&root}, {&ica}), "name_constraints");
}

TEST_CASE("name constraints: a DNS-looking CN beside an e-mail SAN is not a DNS name (client path)") {
  Cert root = Root();
  Cert ica = Ca(root, "Constrained CA", {{"nameConstraints", "critical,permitted;DNS:example.com,permitted;email:example.com"}});
  auto ext = forge::ServerExt("email:alice@example.com");
  ext[2] = {"extendedKeyUsage", "clientAuth"};
  Cert leaf = forge::Issue(Named("alice.smith.applicant", ext), &ica);
  ExpectValid(Verify(leaf, {&root}, {&ica}, [](ValidationOptions& o) { o.purpose = Purpose::kClient; }));
}

TEST_CASE("name constraints: without any SAN the CN is still checked as a legacy host name") {
  Cert root = Root();
  Cert ica = Ca(root, "Constrained CA", {{"nameConstraints", "critical,permitted;DNS:example.com"}});
  auto ext = forge::ServerExt("DNS:unused.example.com");
  ext.pop_back();  // no subjectAltName at all
  Cert leaf = forge::Issue(Named("host.evil.test", ext), &ica);
  ExpectCode(Verify(leaf, {&root}, {&ica}), "name_constraints");
}

TEST_CASE("name constraints x subject CN x SAN: the SAN decides, a CN beside a SAN never does") {
  // Every combination of a subject CN (none, a host inside or outside the DNS tree, an address
  // inside or outside the range), a SAN (one or two names, inside or outside), and four kinds of
  // constraints, validated for a TLS server. Expected from RFC 5280 4.2.1.10 / RFC 9525: valid
  // exactly when the requested name is in the SAN and every SAN name satisfies the constraints.
  struct Name {
    const char* text;
    bool dns;
    bool inside;
  };
  const Name in_host{"host.permitted.test", true, true}, out_host{"host.other.test", true, false};
  const Name in_ip{"192.0.2.7", false, true}, out_ip{"198.51.100.7", false, false};
  const std::vector<const Name*> cns = {nullptr, &in_host, &out_host, &in_ip, &out_ip};
  const std::vector<std::vector<const Name*>> sans = {{&in_host},          {&out_host},         {&in_ip},
                                                      {&out_ip},           {&in_host, &in_ip},  {&in_host, &out_ip},
                                                      {&out_host, &in_ip}, {&in_ip, &out_host}};
  struct Constraints {
    const char* nc;
    bool dns_out_ok;  // may a name outside the tree / range appear?
    bool ip_out_ok;
  };
  const std::vector<Constraints> ncs = {
      {"critical,permitted;DNS:permitted.test,permitted;IP:192.0.2.0/255.255.255.0", false, false},
      {"critical,excluded;DNS:other.test,excluded;IP:198.51.100.0/255.255.255.0", false, false},
      {"critical,permitted;DNS:permitted.test", false, true},
      {"critical,permitted;IP:192.0.2.0/255.255.255.0", true, false},
  };
  Cert root = Root();
  int cases = 0, valid = 0;
  for (const auto& c : ncs) {
    Cert ica = Ca(root, "Matrix CA", {{"nameConstraints", c.nc}});
    for (const Name* cn : cns) {
      for (const auto& names : sans) {
        std::string san;
        bool has_in_host = false, has_in_ip = false, allowed = true;
        for (const Name* n : names) {
          san += std::string(san.empty() ? "" : ",") + (n->dns ? "DNS:" : "IP:") + n->text;
          has_in_host |= n == &in_host;
          has_in_ip |= n == &in_ip;
          allowed &= n->inside || (n->dns ? c.dns_out_ok : c.ip_out_ok);
        }
        Spec spec = Named(cn ? cn->text : "no CN", forge::ServerExt(san));
        if (!cn) spec.subject.pop_back();  // the organisation only: a subject without a CN
        Cert leaf = forge::Issue(spec, &ica);
        // The peer asks for the host when the SAN names it, else for the address, else for the host.
        bool ask_ip = !has_in_host && has_in_ip;
        auto r = Verify(leaf, {&root}, {&ica}, [&](ValidationOptions& o) {
          if (ask_ip) o.ip_addresses = {in_ip.text};
          else o.dns_names = {in_host.text};
        });
        bool expect = allowed && (has_in_host || has_in_ip);
        INFO("constraints " << c.nc << "; CN " << (cn ? cn->text : "(none)") << "; SAN " << san << " -> " << r.code
                            << ": " << r.reason);
        CHECK(r.valid == expect);
        if (!allowed) CHECK(r.code == "name_constraints");
        ++cases;
        valid += r.valid ? 1 : 0;
      }
    }
  }
  CHECK(cases == 160);
  CHECK(valid == 75);
}

// ---- kind 5: pathological inputs end in a verdict --------------------------------------------

TEST_CASE("pathological: a cycle of two distinct CAs with a max depth of 255 is a clean failure") {
  Cert root = Root();
  forge::Key k1 = forge::EcKey(), k2 = forge::EcKey();
  Spec stub = Named("Cycle CA 2", forge::CaExt(true));
  stub.key = k2;
  Cert ca2_stub = forge::Issue(stub, nullptr);  // only to sign ca1; never given to the validator
  Spec s1 = Named("Cycle CA 1", forge::CaExt(false));
  s1.key = k1;
  Cert ca1 = forge::Issue(s1, &ca2_stub);
  Spec s2 = Named("Cycle CA 2", forge::CaExt(false));
  s2.key = k2;
  Cert ca2 = forge::Issue(s2, &ca1);
  Cert leaf = Leaf(ca1, "cycle.example.com", "DNS:cycle.example.com");
  auto t0 = std::chrono::steady_clock::now();
  auto r = Verify(leaf, {&root}, {&ca1, &ca2}, [](ValidationOptions& o) { o.max_depth = 255; });
  CHECK_FALSE(r.valid);
  CHECK((r.code == "path_not_found" || r.code == "untrusted_root"));
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(1500));
  ValidationOptions bad;
  bad.trust_anchors = {root.Pem()};
  bad.max_depth = -1;
  CHECK(veridge::pki::ValidateCertificate(leaf.Pem(), bad).status().code() == "bad_option");

  if (!std::filesystem::exists(veridge::testing::VeridgeBinary())) VERIDGE_SKIP("veridge binary not built");
  veridge::testing::TempDir dir;
  auto [rc, out] = Cli(dir, "--at 2026-06-01T00:00:00Z --revocation if-available --purpose server --max-depth 255 --trust " +
                       Write(dir, "root.pem", root.Pem()) + " --untrusted " +
                       Write(dir, "cas.pem", ca1.Pem() + ca2.Pem()) + " " + Write(dir, "leaf.pem", leaf.Pem()));
  INFO(out);
  CHECK(rc == 1);  // a negative verdict, not a usage or input error (2)
  CHECK(out.find("\"valid\":false") != std::string::npos);
}

TEST_CASE("pathological: thousands of names against thousands of name constraints end in a verdict") {
  // A root with 2048 permitted + 2048 excluded DNS constraints; leaves with 2048 SAN names and/or
  // 2048 emailAddress subject attributes. The check would be quadratic: each case must end in a
  // negative verdict (never an input error) and quickly.
  std::string nc = "critical", san;
  for (int i = 0; i < 2048; ++i) {
    nc += ",permitted;DNS:t" + std::to_string(i) + ".test";
    san += std::string(i ? "," : "") + "DNS:t" + std::to_string(i) + ".test";
  }
  nc += ",permitted;DNS:test";
  for (int i = 0; i < 2048; ++i) nc += ",excluded;DNS:x" + std::to_string(i) + ".test";
  Cert root = Root("Many Constraints Root", {{"nameConstraints", nc}});
  std::vector<std::pair<std::string, std::string>> many_emails;
  for (int i = 0; i < 2048; ++i) many_emails.emplace_back("emailAddress", "t" + std::to_string(i) + "@test");
  many_emails.emplace_back("CN", "t0.test");

  Spec sans_only = Named("", forge::ServerExt("critical," + san));  // empty subject, critical SAN
  Spec subjects_only = Named("", forge::ServerExt("DNS:unused.test"));
  subjects_only.ext.pop_back();  // no SAN
  subjects_only.subject = many_emails;
  Spec both = Named("", forge::ServerExt(san));
  both.subject = many_emails;  // over the 64 KiB certificate bound
  for (const Spec* s : {&sans_only, &subjects_only, &both}) {
    Cert leaf = forge::Issue(*s, &root);
    auto t0 = std::chrono::steady_clock::now();
    auto r = Verify(leaf, {&root}, {}, [](ValidationOptions& o) { o.dns_names = {"t0.test"}; });
    INFO(r.code << ": " << r.reason);
    CHECK_FALSE(r.valid);
    CHECK((r.code == "name_constraints" || r.code == "too_large"));
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(1500));
  }
  // The oversized leaf is refused by its size: a verdict naming the bound.
  auto r = Verify(forge::Issue(both, &root), {&root}, {});
  CHECK(r.code == "too_large");
  CHECK(r.failed_depth == 0);
}

// ---- RFC 5280 rules (both profiles) ----------------------------------------------------------

namespace {
Cert LeafSpec(const Cert& issuer, Spec s) { return forge::Issue(std::move(s), &issuer); }
void Rfc5280(ValidationOptions& o) { o.profile = veridge::pki::Profile::kRfc5280; }
}  // namespace

TEST_CASE("bad_serial: a zero, a negative and a 21-octet serial are refused, 20 octets pass") {
  Cert root = Root();
  Spec s = Named("serial.example.com", forge::ServerExt("DNS:serial.example.com"));
  s.serial_hex = "00";
  ExpectCode(Verify(LeafSpec(root, s), {&root}, {}), "bad_serial");
  ExpectCode(Verify(LeafSpec(root, s), {&root}, {}, Rfc5280), "bad_serial");
  s.serial_hex = "01" + std::string(40, '0');  // 21 octets
  ExpectCode(Verify(LeafSpec(root, s), {&root}, {}), "bad_serial");
  s.serial_hex = "7f" + std::string(38, 'a');  // 20 octets, high bit clear
  ExpectValid(Verify(LeafSpec(root, s), {&root}, {}));
  s.serial_hex = "-2a";  // a negative INTEGER
  ExpectCode(Verify(LeafSpec(root, s), {&root}, {}), "bad_serial");
  ExpectCode(Verify(LeafSpec(root, s), {&root}, {}, Rfc5280), "bad_serial");
}

TEST_CASE("bad_dns_name: an underscore in a SAN dNSName is refused") {
  Cert root = Root();
  ExpectCode(Verify(Leaf(root, "my_host.example.com", "DNS:my_host.example.com"), {&root}, {}), "bad_dns_name");
  ExpectCode(Verify(Leaf(root, "Host", "DNS:my_host.example.com"), {&root}, {}, Rfc5280), "bad_dns_name");
  ExpectValid(Verify(Leaf(root, "my-host.example.com", "DNS:my-host.example.com"), {&root}, {}));
}

namespace {
// A smart-card style leaf (clientAuth) with the given SAN, validated for the client purpose.
Cert CardLeaf(const Cert& issuer, const std::string& cn, const std::string& san) {
  auto ext = forge::ServerExt(san);
  ext[2] = {"extendedKeyUsage", "clientAuth"};
  return forge::Issue(Named(cn, ext), &issuer);
}
void Client(ValidationOptions& o) { o.purpose = Purpose::kClient; }
}  // namespace

TEST_CASE("bad_email_name: a SAN rfc822Name that is not a mailbox, even where a constraint permits it") {
  Cert root = Root();
  // OpenSSL reads "invalid@address@example.com" as a mailbox at example.com, which an e-mail
  // constraint on example.com then permits.
  Cert ica = Ca(root, "Mail Constrained CA", {{"nameConstraints", "critical,permitted;email:example.com"}});
  Cert bad = CardLeaf(ica, "Card Holder", "email:good@example.com,email:invalid@address@example.com");
  ExpectCode(Verify(bad, {&root}, {&ica}, [](ValidationOptions& o) {
               o.purpose = Purpose::kClient;
               o.emails = {"good@example.com"};
             }),
             "bad_email_name");
  ExpectCode(Verify(bad, {&root}, {&ica}, [](ValidationOptions& o) {
               Rfc5280(o);
               Client(o);
             }),
             "bad_email_name");
  for (const char* s : {"email:@example.com", "email:a..b@example.com", "email:a b@example.com", "email:alice",
                        "email:alice@exa_mple.com", "email:.alice@example.com"}) {
    INFO(s);
    ExpectCode(Verify(CardLeaf(root, "Card Holder", s), {&root}, {}, Client), "bad_email_name");
  }
  // atext includes '*', '+', '/', '='; a quoted local part may hold what a dot-string may not.
  for (const char* s : {"email:*@example.com", "email:user*@example.com", "email:first.last+tag@example.com",
                        "email:\"a..b\"@example.com"}) {
    INFO(s);
    ExpectValid(Verify(CardLeaf(ica, "Card Holder", s), {&root}, {&ica}, Client));
  }
  CHECK(veridge::pki::rules::IsMailbox("\"a\\\"b\"@example.com"));  // an escaped quote
  CHECK_FALSE(veridge::pki::rules::IsMailbox("\"unterminated@example.com"));
  CHECK_FALSE(veridge::pki::rules::IsMailbox(std::string(65, 'a') + "@example.com"));
  CHECK(veridge::pki::rules::IsMailbox(std::string(64, 'a') + "@example.com"));
  CHECK_FALSE(veridge::pki::rules::IsMailbox(std::string("a\0b@example.com", 15)));
}

TEST_CASE("bad_ip_address: a SAN iPAddress that is not 4 or 16 octets (a range written as an address)") {
  Cert root = Root();
  // SAN { iPAddress 192.0.2.0 255.255.255.0 }: 8 octets, a name-constraint range, not an address.
  const std::string range_san = "DER:30:0a:87:08:c0:00:02:00:ff:ff:ff:00";
  ExpectCode(Verify(CardLeaf(root, "Range Holder", range_san), {&root}, {}, Client), "bad_ip_address");
  ExpectCode(Verify(Leaf(root, "Range Host", range_san), {&root}, {}, Rfc5280), "bad_ip_address");
  // Under an address constraint OpenSSL refuses it first; either way the chain is not valid.
  Cert ica = Ca(root, "IP Constrained CA", {{"nameConstraints", "critical,permitted;IP:192.0.2.0/255.255.255.0"}});
  auto r = Verify(Leaf(ica, "Range Host", range_san), {&root}, {&ica});
  CHECK_FALSE(r.valid);
  ExpectValid(Verify(Leaf(ica, "Address Host", "IP:192.0.2.1"), {&root}, {&ica}));
}

TEST_CASE("bad_name_constraints: leading period, invalid names, empty, and constraints in a leaf") {
  Cert root = Root();
  Cert leading = Ca(root, "Leading Period CA", {{"nameConstraints", "critical,permitted;DNS:.example.com"}});
  ExpectCode(Verify(Leaf(leading, "a.example.com", "DNS:a.example.com"), {&root}, {&leading}), "bad_name_constraints");
  Cert invalid_dns = Ca(root, "Invalid DNS CA",
                        {{"nameConstraints", "critical,permitted;DNS:example.com,permitted;DNS:bad_name.test"}});
  ExpectCode(Verify(Leaf(invalid_dns, "a.example.com", "DNS:a.example.com"), {&root}, {&invalid_dns}),
             "bad_name_constraints");
  Cert invalid_email = Ca(root, "Invalid Email CA",
                          {{"nameConstraints", "critical,permitted;DNS:example.com,permitted;email:@example.com"}});
  ExpectCode(Verify(Leaf(invalid_email, "a.example.com", "DNS:a.example.com"), {&root}, {&invalid_email}, Rfc5280),
             "bad_name_constraints");
  Cert empty = Ca(root, "Empty NC CA", {{"nameConstraints", "critical,DER:30:00"}});
  ExpectCode(Verify(Leaf(empty, "a.example.com", "DNS:a.example.com"), {&root}, {&empty}), "bad_name_constraints");
  // Both subtrees present as empty sequences: [0] {} [1] {}.
  Cert empty_seqs = Ca(root, "Empty Subtrees CA", {{"nameConstraints", "critical,DER:30:04:a0:00:a1:00"}});
  ExpectCode(Verify(Leaf(empty_seqs, "a.example.com", "DNS:a.example.com"), {&root}, {&empty_seqs}),
             "bad_name_constraints");
  // Each malformed base sits beside a good one that permits the leaf, so OpenSSL passes the path
  // and only the syntax rule can refuse it.
  Cert wildcard = Ca(root, "Wildcard NC CA",
                     {{"nameConstraints", "critical,permitted;DNS:example.com,permitted;DNS:*.example.com"}});
  ExpectCode(Verify(Leaf(wildcard, "a.example.com", "DNS:a.example.com"), {&root}, {&wildcard}),
             "bad_name_constraints");
  Cert two_ats = Ca(root, "Two At CA", {{"nameConstraints",
                                         "critical,permitted;email:example.com,permitted;email:invalid@invalid@example.com"}});
  ExpectCode(Verify(CardLeaf(two_ats, "Card Holder", "email:a@example.com"), {&root}, {&two_ats}, Client),
             "bad_name_constraints");
  // iPAddress constraints: 4 octets (an address, not a range), and a mask that is not a prefix
  // (255.0.255.0). The leaf has only a DNS name, so OpenSSL never compares against them.
  for (const char* der : {"critical,DER:30:0a:a0:08:30:06:87:04:7f:00:00:01",
                          "critical,DER:30:0e:a0:0c:30:0a:87:08:c0:00:02:00:ff:00:ff:00"}) {
    INFO(der);
    Cert ip = Ca(root, "Bad IP NC CA", {{"nameConstraints", der}});
    ExpectCode(Verify(Leaf(ip, "a.example.com", "DNS:a.example.com"), {&root}, {&ip}), "bad_name_constraints");
  }
  auto ext = forge::ServerExt("DNS:a.example.com");
  ext.emplace_back("nameConstraints", "critical,permitted;DNS:example.com");
  ExpectCode(Verify(LeafSpec(root, Named("a.example.com", ext)), {&root}, {}), "bad_name_constraints");
  // Well-formed constraints (a mailbox, a host, a .domain for e-mail) pass.
  Cert good = Ca(root, "Good NC CA",
                 {{"nameConstraints",
                   "critical,permitted;DNS:example.com,permitted;email:.example.com,excluded;email:x@example.com"}});
  ExpectValid(Verify(Leaf(good, "a.example.com", "DNS:a.example.com"), {&root}, {&good}));
}

TEST_CASE("bad_policy_constraints: a non-critical policyConstraints in an intermediate") {
  Cert root = Root();
  Cert ica = Ca(root, "Policy CA", {{"policyConstraints", "inhibitPolicyMapping:0"}});
  ExpectCode(Verify(Leaf(ica, "p.example.com", "DNS:p.example.com"), {&root}, {&ica}), "bad_policy_constraints");
  // NIST PKITS issues non-critical ones: the conformance profile tolerates them.
  ExpectValid(Verify(Leaf(ica, "p.example.com", "DNS:p.example.com"), {&root}, {&ica}, Rfc5280));
  Cert ok = Ca(root, "Critical Policy CA", {{"policyConstraints", "critical,inhibitPolicyMapping:0"}});
  ExpectValid(Verify(Leaf(ok, "p.example.com", "DNS:p.example.com"), {&root}, {&ok}));
}

TEST_CASE("bad_aia: an empty or undecodable authorityInfoAccess") {
  Cert root = Root();
  for (const char* der : {"DER:30:00", "DER:04:01:00"}) {
    auto ext = forge::ServerExt("DNS:aia.example.com");
    ext.emplace_back("authorityInfoAccess", der);
    ExpectCode(Verify(LeafSpec(root, Named("aia.example.com", ext)), {&root}, {}), "bad_aia");
  }
  auto ext = forge::ServerExt("DNS:aia.example.com");
  ext.emplace_back("authorityInfoAccess", "caIssuers;URI:http://ca.example.com/int.crt");
  ExpectValid(Verify(LeafSpec(root, Named("aia.example.com", ext)), {&root}, {}));
}

TEST_CASE("crl_missing_number: a CRL without a CRL number is refused, with one it is used") {
  Cert root = Root();
  Cert leaf = Leaf(root, "crl.example.com", "DNS:crl.example.com");
  auto with_crl = [&](bool number) {
    return [&root, number](ValidationOptions& o) {
      o.revocation = veridge::pki::RevocationMode::kRequire;
      o.crls = {forge::Crl(root, number)};
    };
  };
  ExpectCode(Verify(leaf, {&root}, {}, with_crl(false)), "crl_missing_number");
  ExpectValid(Verify(leaf, {&root}, {}, with_crl(true)));
}

TEST_CASE("a pathLenConstraint in the leaf is ignored") {
  Cert root = Root();
  auto ext = forge::ServerExt("DNS:plen.example.com");
  ext[0] = {"basicConstraints", "critical,CA:FALSE,pathlen:0"};
  ExpectValid(Verify(LeafSpec(root, Named("plen.example.com", ext)), {&root}, {}));
  ExpectValid(Verify(LeafSpec(root, Named("plen.example.com", ext)), {&root}, {}, Rfc5280));
}

TEST_CASE("a CA as the last certificate under a pathlen:0 CA: valid under rfc5280, ca_leaf under strict") {
  // RFC 5280 4.2.1.9: the last certificate is not an intermediate, so a pathlen:0 CA may certify
  // another CA that ends the path. The strict profile refuses any CA as the leaf (issue 13).
  Cert root = Root();
  Cert first = forge::Issue(Named("First PathLen CA", forge::CaExt(false, "critical,CA:TRUE,pathlen:0")), &root);
  Cert second = forge::Issue(Named("Second PathLen CA", forge::CaExt(false, "critical,CA:TRUE,pathlen:0")), &first);
  ExpectValid(Verify(second, {&root}, {&first}, [](ValidationOptions& o) {
    o.profile = veridge::pki::Profile::kRfc5280;
    o.purpose = Purpose::kAny;
  }));
  for (auto purpose : {Purpose::kAny, Purpose::kClient, Purpose::kServer})
    ExpectCode(Verify(second, {&root}, {&first}, [purpose](ValidationOptions& o) { o.purpose = purpose; }), "ca_leaf");
}

// ---- strict profile (all purposes) -----------------------------------------------------------

TEST_CASE("unsupported_key: DSA keys and RSA moduli that are not a multiple of 8 bits") {
  Cert root = Root();
  Spec rsa = Named("rsa.example.com", forge::ServerExt("DNS:rsa.example.com"));
  rsa.key = forge::RsaKey(2052);
  ExpectCode(Verify(LeafSpec(root, rsa), {&root}, {}), "unsupported_key");
  Spec dsa = Named("dsa.example.com", forge::ServerExt("DNS:dsa.example.com"));
  dsa.key = forge::DsaKey();
  REQUIRE(dsa.key);
  ExpectCode(Verify(LeafSpec(root, dsa), {&root}, {}), "unsupported_key");
}

TEST_CASE("critical_san_with_subject: a server certificate's critical SAN is only for an empty subject") {
  Cert root = Root();
  ExpectCode(Verify(Leaf(root, "crit.example.com", "critical,DNS:crit.example.com"), {&root}, {}),
             "critical_san_with_subject");
  ExpectValid(Verify(Leaf(root, "", "critical,DNS:crit.example.com"), {&root}, {}));
  ExpectValid(Verify(Leaf(root, "crit.example.com", "critical,DNS:crit.example.com"), {&root}, {}, Rfc5280));
  // A server-certificate rule (CA/B BR; RFC 5280 only says SHOULD): a card is not refused for it.
  ExpectValid(Verify(CardLeaf(root, "Card Holder", "critical,email:holder@example.com"), {&root}, {}, Client));
}

TEST_CASE("bad_aki (server): a root AKI without keyIdentifier, with issuer and serial, or naming another key") {
  Cert root = Root("AKI Root", {{"authorityKeyIdentifier", "DER:30:00"}});
  Cert leaf = Leaf(root, "aki.example.com", "DNS:aki.example.com");
  ExpectCode(Verify(leaf, {&root}, {}), "bad_aki");
  ExpectValid(Verify(leaf, {&root}, {}, Rfc5280));
  Cert with_issuer = Root("AKI Issuer Root", {{"authorityKeyIdentifier", "keyid:always,issuer:always"}});
  ExpectCode(Verify(Leaf(with_issuer, "aki.example.com", "DNS:aki.example.com"), {&with_issuer}, {}), "bad_aki");
  // keyIdentifier 01:02:03:04 (SEQUENCE { [0] 01020304 }): not the root's own SKI.
  Cert other_key = Root("AKI Mismatch Root", {{"authorityKeyIdentifier", "DER:30:06:80:04:01:02:03:04"}});
  ExpectCode(Verify(Leaf(other_key, "aki.example.com", "DNS:aki.example.com"), {&other_key}, {}), "bad_aki");
  Cert own_key = Root("AKI Own Root", {{"authorityKeyIdentifier", "keyid:always"}});
  ExpectValid(Verify(Leaf(own_key, "aki.example.com", "DNS:aki.example.com"), {&own_key}, {}));
  // A web PKI root rule: a corporate or eID root with issuer and serial in its AKI (as older
  // Microsoft CAs write it) still anchors smart cards.
  ExpectValid(Verify(CardLeaf(with_issuer, "Card Holder", "email:holder@example.com"), {&with_issuer}, {}, Client));
  ExpectValid(Verify(CardLeaf(root, "Card Holder", "email:holder@example.com"), {&root}, {}, Client));
}

TEST_CASE("ca_leaf: basicConstraints CA=TRUE in the leaf, even without keyCertSign") {
  Cert root = Root();
  auto ext = forge::ServerExt("DNS:ca.example.com");
  ext[0] = {"basicConstraints", "critical,CA:TRUE"};
  ExpectCode(Verify(LeafSpec(root, Named("ca.example.com", ext)), {&root}, {}), "ca_leaf");
}

// ---- strict profile, server purpose only -----------------------------------------------------

TEST_CASE("cn_not_in_san: an address CN in non-canonical text, a case variant, a Unicode domain") {
  Cert root = Root();
  const std::vector<std::pair<std::string, std::string>> mismatches = {
      {"Example.COM", "DNS:example.com"},                          // case
      {"test-\xe6\xb8\xac\xe8\xa9\xa6.com", "DNS:xn--test--wg5h0h.com"},  // U-label vs A-label
      {"192.168.001.001", "IP:192.168.1.1"},                       // IPv4 leading zeros
      {"0xC0A80101", "IP:192.168.1.1"},                            // IPv4 as hex
      {"2001:DB8::1", "IP:2001:db8::1"},                           // IPv6 upper case
      {"2001:0db8:0000:0000:0000:0000:0000:0001", "IP:2001:db8::1"},  // IPv6 uncompressed
      {"2001:db8:0:0:1:0:0:1", "IP:2001:db8::1:0:0:1"},            // IPv6 not RFC 5952
      {"010.0.0.1", "DNS:example.com"},                            // octal-looking, no SAN address
  };
  for (const auto& [cn, san] : mismatches) {
    INFO(cn << " vs " << san);
    ExpectCode(Verify(Leaf(root, cn, san), {&root}, {}), "cn_not_in_san");
  }
  ExpectValid(Verify(Leaf(root, "2001:db8::1:0:0:1", "IP:2001:db8::1:0:0:1"), {&root}, {}));
  ExpectValid(Verify(Leaf(root, "192.168.1.1", "IP:192.168.1.1"), {&root}, {}));
  ExpectValid(Verify(Leaf(root, "test-style-ee", "DNS:example.com"), {&root}, {}));
  // A DNS CN absent from the SAN is not refused (RFC 5280 ignores the CN beside a SAN), nor a CN
  // that is not an address beside an address SAN.
  ExpectValid(Verify(Leaf(root, "example.com", "DNS:*.example.com"), {&root}, {}));
  ExpectValid(Verify(Leaf(root, "example.com", "DNS:foo.bar.example.com"), {&root}, {}));
  ExpectValid(Verify(Leaf(root, "example.com", "IP:127.0.0.1"), {&root}, {}));
  ExpectValid(Verify(Leaf(root, "1 Main Street", "DNS:example.com"), {&root}, {}));
  ExpectValid(Verify(Leaf(root, "12345", "DNS:example.com"), {&root}, {}));  // a number, not an address
  // Nor an address CN in canonical text that is simply absent from the SAN: another host's
  // address beside the SAN address, or an address beside a DNS-only SAN.
  ExpectValid(Verify(Leaf(root, "1.1.1.1", "IP:127.0.0.1"), {&root}, {}));
  ExpectValid(Verify(Leaf(root, "127.0.0.1", "DNS:test.localhost"), {&root}, {}));
  ExpectValid(Verify(Leaf(root, "2001:db8::2", "IP:2001:db8::1"), {&root}, {}));
  // A smart card's CN names a person; the client path does not compare it.
  auto ext = forge::ServerExt("DNS:example.com");
  ext[2] = {"extendedKeyUsage", "clientAuth"};
  ExpectValid(Verify(LeafSpec(root, Named("Other.Example.COM", ext)), {&root}, {},
                     [](ValidationOptions& o) { o.purpose = Purpose::kClient; }));
}

TEST_CASE("bad_eku for servers: no EKU, anyExtendedKeyUsage, a critical EKU, an EKU in the root") {
  Cert root = Root();
  auto with_eku = [&](const std::string& eku) {
    auto ext = forge::ServerExt("DNS:eku.example.com");
    if (eku.empty()) ext.erase(ext.begin() + 2);
    else ext[2] = {"extendedKeyUsage", eku};
    return LeafSpec(root, Named("eku.example.com", ext));
  };
  ExpectCode(Verify(with_eku(""), {&root}, {}), "bad_eku");
  ExpectCode(Verify(with_eku("serverAuth,anyExtendedKeyUsage"), {&root}, {}), "bad_eku");
  ExpectCode(Verify(with_eku("critical,serverAuth"), {&root}, {}), "bad_eku");
  Cert eku_root = Root("EKU Root", {{"extendedKeyUsage", "serverAuth"}});
  auto r = Verify(Leaf(eku_root, "eku.example.com", "DNS:eku.example.com"), {&eku_root}, {});
  ExpectCode(r, "bad_eku");
  CHECK(r.failed_depth == 1);
  // The client path keeps RFC 5280's reading: no EKU means any use.
  ExpectValid(Verify(with_eku(""), {&root}, {}, [](ValidationOptions& o) { o.purpose = Purpose::kClient; }));
}

TEST_CASE("wildcard_public_suffix: no wildcard over a TLD or a registry suffix") {
  Cert root = Root();
  ExpectCode(Verify(Leaf(root, "Wildcard Leaf", "DNS:*.com"), {&root}, {}), "wildcard_public_suffix");
  ExpectCode(Verify(Leaf(root, "Wildcard Leaf", "DNS:*.co.uk"), {&root}, {}), "wildcard_public_suffix");
  ExpectCode(Verify(Leaf(root, "Wildcard Leaf", "DNS:*.github.io"), {&root}, {}), "wildcard_public_suffix");
  ExpectValid(Verify(Leaf(root, "Wildcard Leaf", "DNS:*.example.com"), {&root}, {}));
}

TEST_CASE("max depth counts logical intermediates: a self-issued rollover CA is not one") {
  Cert root = Root();
  Cert old_key = Ca(root, "Rollover CA");
  Cert new_key = Ca(old_key, "Rollover CA");  // self-issued: same subject, next key
  Cert leaf = Leaf(new_key, "roll.example.com", "DNS:roll.example.com");
  ExpectValid(Verify(leaf, {&root}, {&old_key, &new_key}, [](ValidationOptions& o) { o.max_depth = 1; }));
  Cert first = Ca(root, "First CA");
  Cert second = Ca(first, "Second CA");
  Cert deep = Leaf(second, "deep.example.com", "DNS:deep.example.com");
  ExpectCode(Verify(deep, {&root}, {&first, &second}, [](ValidationOptions& o) { o.max_depth = 1; }), "chain_too_long");
  ExpectValid(Verify(deep, {&root}, {&first, &second}, [](ValidationOptions& o) { o.max_depth = 2; }));
}

// ---- valid chains that must not be refused ---------------------------------------------------

TEST_CASE("a CRL issuer without a keyUsage extension may sign CRLs (RFC 5280: no keyUsage, any use)") {
  auto ext = forge::CaExt(true);
  ext.erase(ext.begin() + 1);  // no keyUsage
  Cert root = forge::Issue(Named("No KU Root", ext), nullptr);
  Cert leaf = Leaf(root, "noku.example.com", "DNS:noku.example.com");
  ExpectValid(Verify(leaf, {&root}, {}, [&root](ValidationOptions& o) {
    o.revocation = veridge::pki::RevocationMode::kRequire;
    o.crls = {forge::Crl(root, true)};
  }));
}

TEST_CASE("an issuing CA configured as the trust anchor, its root given among the intermediates") {
  Cert root = Root();
  Cert ica = Ca(root, "Anchor Issuing CA");
  Cert leaf = Leaf(ica, "anchor.example.com", "DNS:anchor.example.com");
  ExpectValid(Verify(leaf, {&ica}, {}));
  ExpectValid(Verify(leaf, {&ica}, {&root}));
  ExpectValid(Verify(leaf, {&root}, {&root, &ica}));  // root first in the bundle
}

TEST_CASE("two trusted roots and an expired cross-certificate: the direct path is found") {
  Cert root = Root("Chain Root");
  Cert root2 = Root("Chain Root 2");
  Spec cross = Named("Chain Root", forge::CaExt(false));
  cross.key = root.key;  // root's key, certified by root2, long expired
  cross.not_before = 315532800;  // 1980-01-01
  cross.not_after = 596419200;   // 1988-11-25
  Cert expired = forge::Issue(cross, &root2);
  Cert leaf = Leaf(root, "pain.example.com", "DNS:pain.example.com");
  ExpectValid(Verify(leaf, {&root, &root2}, {&expired}));
  ExpectValid(Verify(leaf, {&root2, &root}, {&expired}));
}

TEST_CASE("a trusted root that is also cross-signed in a cycle of three CAs: the path is found") {
  // leaf -> A1 -> Root A (trusted); A, B and C also cross-certify each other and each has a
  // subordinate CA. Path building must end at the trusted A, not wander the A-B-C cycle.
  auto with_key = [](const std::string& cn, bool root, const forge::Key& key) {
    Spec s = Named(cn, forge::CaExt(root));
    s.ext[1] = {"keyUsage", "keyCertSign"};  // non-critical, no cRLSign: allowed, and common
    s.key = key;
    return s;
  };
  Cert a = Root("Root A");
  Cert b_self = Root("Root B"), c_self = Root("Root C");  // sign the cross-certificates only
  Cert a1 = forge::Issue(with_key("Intermediate A1", false, forge::EcKey()), &a);
  Cert a_by_b = forge::Issue(with_key("Root A", false, a.key), &b_self);
  Cert a_by_c = forge::Issue(with_key("Root A", false, a.key), &c_self);
  Cert b_by_a = forge::Issue(with_key("Root B", false, b_self.key), &a);
  Cert b_by_c = forge::Issue(with_key("Root B", false, b_self.key), &c_self);
  Cert c_by_a = forge::Issue(with_key("Root C", false, c_self.key), &a);
  Cert c_by_b = forge::Issue(with_key("Root C", false, c_self.key), &b_self);
  Cert b1 = Ca(b_self, "Intermediate B1"), c1 = Ca(c_self, "Intermediate C1");
  Cert leaf = Leaf(a1, "", "critical,DNS:cycle3.example.com");
  auto r = Verify(leaf, {&a}, {&a1, &a_by_b, &a_by_c, &b1, &b_by_a, &b_by_c, &c1, &c_by_a, &c_by_b},
                  [](ValidationOptions& o) { o.dns_names = {"cycle3.example.com"}; });
  ExpectValid(r);
  CHECK(r.chain.size() == 3);
}

TEST_CASE("server names: no SAN at all is cn_only_name, an IP literal as the host name matches the IP SAN") {
  Cert root = Root();
  auto ext = forge::ServerExt("DNS:unused.example.com");
  ext.pop_back();
  ExpectCode(Verify(forge::Issue(Named("nosan.example.com", ext), &root), {&root}, {}), "cn_only_name");
  Cert leaf = Leaf(root, "192.0.2.9", "IP:192.0.2.9");
  ExpectValid(Verify(leaf, {&root}, {}, [](ValidationOptions& o) { o.dns_names = {"192.0.2.9"}; }));
  ExpectCode(Verify(leaf, {&root}, {}, [](ValidationOptions& o) { o.dns_names = {"192.0.2.10"}; }), "name_mismatch");
  // An address CN never stands in for the SAN.
  Cert dns_only = Leaf(root, "192.0.2.9", "DNS:host.example.com");
  auto r = Verify(dns_only, {&root}, {}, [](ValidationOptions& o) { o.dns_names = {"192.0.2.9"}; });
  CHECK_FALSE(r.valid);
}
