// The rules Veridge adds around OpenSSL's path validation (contract in rules.h).
#include "pki/rules.h"

#include <arpa/inet.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <set>

#include "pki/ossl.h"

namespace veridge::pki::rules {

namespace {

std::string At(X509* x, int depth) {
  return " (certificate at depth " + std::to_string(depth) + ", subject \"" +
         ossl::NameToString(X509_get_subject_name(x)) + "\")";
}

std::optional<Violation> Broken(const std::string& code, const std::string& what, X509* x, int depth,
                                const std::string& why) {
  return Violation{code, what + At(x, depth) + "; " + why, depth};
}

std::string Ia5(const ASN1_STRING* s) {
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)), static_cast<std::size_t>(ASN1_STRING_length(s)));
}

bool Critical(X509* x, int nid) {
  int idx = X509_get_ext_by_NID(x, nid, -1);
  return idx >= 0 && X509_EXTENSION_get_critical(X509_get_ext(x, idx)) == 1;
}
bool Has(X509* x, int nid) { return X509_get_ext_by_NID(x, nid, -1) >= 0; }

struct SanFree {
  void operator()(GENERAL_NAMES* g) const { GENERAL_NAMES_free(g); }
};
using SanPtr = std::unique_ptr<GENERAL_NAMES, SanFree>;
SanPtr Sans(X509* x) {
  return SanPtr(static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(x, NID_subject_alt_name, nullptr, nullptr)));
}

// RFC 5280 4.1.2.2: a positive integer of at most 20 octets (its DER content octets).
std::optional<Violation> SerialRule(X509* x, int d) {
  const ASN1_INTEGER* sn = X509_get0_serialNumber(x);
  const unsigned char* p = ASN1_STRING_get0_data(sn);
  int len = ASN1_STRING_length(sn);
  bool zero = std::all_of(p, p + len, [](unsigned char c) { return c == 0; });
  if (zero)
    return Broken("bad_serial", "the serial number is zero", x, d, "RFC 5280 4.1.2.2 requires a positive serial");
  if (ASN1_STRING_type(sn) == V_ASN1_NEG_INTEGER)
    return Broken("bad_serial", "the serial number is negative", x, d, "RFC 5280 4.1.2.2 requires a positive serial");
  int octets = len + ((p[0] & 0x80) ? 1 : 0);  // DER adds a 0x00 before a high bit
  if (octets > 20)
    return Broken("bad_serial", "the serial number is " + std::to_string(octets) + " octets long", x, d,
                  "RFC 5280 4.1.2.2 allows at most 20 octets");
  return std::nullopt;
}

// An iPAddress constraint is an address and a mask of the same family (8 or 32 octets), the mask
// a CIDR prefix: ones, then only zeros (RFC 5280 4.2.1.10).
bool IsAddressRange(const ASN1_OCTET_STRING* base) {
  int len = ASN1_STRING_length(base);
  if (len != 8 && len != 32) return false;
  const unsigned char* mask = ASN1_STRING_get0_data(base) + len / 2;
  bool zeros = false;
  for (int i = 0; i < len / 2; ++i)
    for (int bit = 7; bit >= 0; --bit) {
      bool one = (mask[i] >> bit) & 1;
      if (one && zeros) return false;
      zeros = zeros || !one;
    }
  return true;
}

// RFC 5280 4.2.1.10: constraints only in CA certificates, not an empty sequence, and each DNS,
// e-mail or address base a valid name of its form (a DNS constraint is "host.example.com", never
// with a leading period; an e-mail constraint is a mailbox, a host, or ".domain"; an address
// constraint a CIDR range).
std::optional<Violation> NameConstraintsRule(X509* x, int d) {
  if (!Has(x, NID_name_constraints)) return std::nullopt;
  if (d == 0 && (X509_get_extension_flags(x) & EXFLAG_CA) == 0)
    return Broken("bad_name_constraints", "an end-entity certificate carries name constraints", x, d,
                  "RFC 5280 4.2.1.10 allows them only in CA certificates");
  auto* nc = static_cast<NAME_CONSTRAINTS*>(X509_get_ext_d2i(x, NID_name_constraints, nullptr, nullptr));
  if (!nc) return Broken("bad_name_constraints", "the name constraints cannot be decoded", x, d, "the CA must reissue it");
  std::optional<Violation> out;
  int total = 0;
  for (STACK_OF(GENERAL_SUBTREE)* trees : {nc->permittedSubtrees, nc->excludedSubtrees}) {
    for (int i = 0; trees && i < sk_GENERAL_SUBTREE_num(trees) && !out; ++i, ++total) {
      GENERAL_NAME* base = sk_GENERAL_SUBTREE_value(trees, i)->base;
      if (base->type == GEN_DNS) {
        std::string s = Ia5(base->d.dNSName);
        if (!s.empty() && (s[0] == '.' || !IsHostName(s, false)))
          out = Broken("bad_name_constraints", "the DNS name constraint \"" + s + "\" is not a host name", x, d,
                       s[0] == '.' ? "a DNS constraint has no leading period (RFC 5280 4.2.1.10)"
                                   : "RFC 5280 4.2.1.10 needs a DNS name in preferred syntax");
      } else if (base->type == GEN_EMAIL) {
        std::string s = Ia5(base->d.rfc822Name);
        bool ok = s.find('@') != std::string::npos ? IsMailbox(s)
                                                   : IsHostName(!s.empty() && s[0] == '.' ? s.substr(1) : s, false);
        if (!ok)
          out = Broken("bad_name_constraints", "the e-mail name constraint \"" + s + "\" is not a mailbox, host or domain",
                       x, d, "RFC 5280 4.2.1.10");
      } else if (base->type == GEN_IPADD && !IsAddressRange(base->d.iPAddress)) {
        out = Broken("bad_name_constraints", "an iPAddress name constraint is not an address range (" +
                                                 std::to_string(ASN1_STRING_length(base->d.iPAddress)) + " octets)",
                     x, d, "RFC 5280 4.2.1.10 needs an address and a CIDR mask: 8 octets for IPv4, 32 for IPv6");
      }
    }
  }
  NAME_CONSTRAINTS_free(nc);
  if (!out && total == 0)
    out = Broken("bad_name_constraints", "the name constraints have neither permitted nor excluded subtrees", x, d,
                 "RFC 5280 4.2.1.10 forbids an empty sequence");
  return out;
}

// RFC 5280 4.2.1.6: each SAN name of a form we read is well formed. A name outside its form's
// syntax cannot be matched or constrained reliably: OpenSSL reads "a@b@example.com" as a mailbox at
// example.com and lets an e-mail constraint on example.com permit it.
std::optional<Violation> SanRule(X509* x, int d) {
  auto sans = Sans(x);
  for (int i = 0; sans && i < sk_GENERAL_NAME_num(sans.get()); ++i) {
    GENERAL_NAME* gn = sk_GENERAL_NAME_value(sans.get(), i);
    if (gn->type == GEN_DNS) {
      std::string s = Ia5(gn->d.dNSName);
      if (!IsHostName(s, true))
        return Broken("bad_dns_name", "the SAN dNSName \"" + s + "\" is not a host name", x, d,
                      "RFC 5280 4.2.1.6 requires the preferred name syntax (letters, digits, hyphens)");
    } else if (gn->type == GEN_EMAIL) {
      std::string s = Ia5(gn->d.rfc822Name);
      if (!IsMailbox(s))
        return Broken("bad_email_name", "the SAN rfc822Name \"" + s + "\" is not a mailbox", x, d,
                      "RFC 5280 4.2.1.6 requires an RFC 5321 Mailbox (local-part@domain)");
    } else if (gn->type == GEN_IPADD) {
      int len = ASN1_STRING_length(gn->d.iPAddress);
      if (len != 4 && len != 16)
        return Broken("bad_ip_address", "a SAN iPAddress is " + std::to_string(len) + " octets long", x, d,
                      "RFC 5280 4.2.1.6 requires 4 octets (IPv4) or 16 (IPv6); a range belongs in a name constraint");
    }
  }
  return std::nullopt;
}

std::optional<Violation> RfcRules(X509* x, int d, int n) {
  bool anchor = d == n - 1;
  if (!anchor)
    if (auto v = SerialRule(x, d)) return v;
  if (auto v = NameConstraintsRule(x, d)) return v;
  if (!anchor && Has(x, NID_info_access)) {
    auto* aia = static_cast<AUTHORITY_INFO_ACCESS*>(X509_get_ext_d2i(x, NID_info_access, nullptr, nullptr));
    bool bad = !aia || sk_ACCESS_DESCRIPTION_num(aia) == 0;
    AUTHORITY_INFO_ACCESS_free(aia);
    if (bad)
      return Broken("bad_aia", "the authorityInfoAccess extension is malformed or empty", x, d,
                    "RFC 5280 4.2.2.1 needs a SEQUENCE of one or more access descriptions");
  }
  if (d == 0) return SanRule(x, d);
  return std::nullopt;
}

// The canonical text of a CN that reads as an IP address in any form inet_aton / inet_pton accept
// (dotted decimal, hex, octal-looking leading zeros, IPv6 in any case or compression); nullopt
// when the CN is not an address. Only address characters, and a dot, a colon or a 0x prefix, so
// that "1 Main Street" or an employee number "12345" is not read as an address.
std::optional<std::string> AddressText(const std::string& cn) {
  if (cn.empty() || cn.find_first_not_of("0123456789abcdefABCDEFxX.:") != std::string::npos) return std::nullopt;
  if (cn.find_first_of(".:") == std::string::npos && cn.rfind("0x", 0) != 0 && cn.rfind("0X", 0) != 0)
    return std::nullopt;
  in_addr a4;
  in6_addr a6;
  if (inet_pton(AF_INET6, cn.c_str(), &a6) == 1) return CanonicalAddress(a6.s6_addr, 16);
  if (inet_aton(cn.c_str(), &a4) == 1) return CanonicalAddress(reinterpret_cast<const unsigned char*>(&a4.s_addr), 4);
  return std::nullopt;
}

// Public suffixes a wildcard must not cover: every single label (a TLD) and the most used
// two-label registry suffixes. Not the whole Public Suffix List: the appliance is offline and the
// lender's servers are named by the lender's configuration.
bool PublicSuffix(const std::string& s) {
  static const std::set<std::string> kRegistrySuffixes = {
      "co.uk",   "org.uk",  "ac.uk",  "gov.uk", "ltd.uk", "me.uk",  "com.au", "net.au", "org.au", "co.nz", "co.jp",
      "ne.jp",   "com.br",  "com.cn", "com.mx", "co.in",  "co.za",  "com.tr",
      // private-section suffixes where anyone can register a name
      "s3.amazonaws.com", "github.io", "herokuapp.com", "appspot.com", "blogspot.com", "cloudfront.net",
      "azurewebsites.net", "netlify.app", "vercel.app"};
  std::string lower = s;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  return lower.find('.') == std::string::npos || kRegistrySuffixes.count(lower) > 0;
}

std::optional<Violation> ServerRules(STACK_OF(X509) * chain) {
  int n = sk_X509_num(chain);
  X509* leaf = sk_X509_value(chain, 0);
  if (Critical(leaf, NID_subject_alt_name) && X509_NAME_entry_count(X509_get_subject_name(leaf)) > 0)
    return Broken("critical_san_with_subject", "the SAN is critical although the subject is not empty", leaf, 0,
                  "CA/B Forum BR 7.1.2.7.12 (RFC 5280 4.2.1.6: SHOULD): critical only for an empty subject");
  // CA/B Forum BR 7.1.2.1.3: a root's AKI, when present, is its own keyIdentifier and nothing else.
  X509* anchor = sk_X509_value(chain, n - 1);
  bool root = X509_NAME_cmp(X509_get_subject_name(anchor), X509_get_issuer_name(anchor)) == 0;
  if (n > 1 && root && Has(anchor, NID_authority_key_identifier)) {
    const ASN1_OCTET_STRING* kid = X509_get0_authority_key_id(anchor);
    const ASN1_OCTET_STRING* ski = X509_get0_subject_key_id(anchor);
    const char* what = nullptr;
    if (!kid) what = "has no keyIdentifier";
    else if (X509_get0_authority_issuer(anchor) || X509_get0_authority_serial(anchor))
      what = "carries authorityCertIssuer/authorityCertSerialNumber";
    else if (ski && ASN1_OCTET_STRING_cmp(kid, ski) != 0) what = "names a keyIdentifier other than the root's own SKI";
    if (what)
      return Broken("bad_aki", std::string("the root's authorityKeyIdentifier ") + what, anchor, n - 1,
                    "CA/B Forum BR 7.1.2.1.3 allows only the root's own keyIdentifier there");
  }
  if (!Has(leaf, NID_ext_key_usage))
    return Broken("bad_eku", "the server certificate has no extendedKeyUsage", leaf, 0,
                  "a TLS server certificate must name serverAuth (CA/B Forum BR 7.1.2.7.10)");
  if (Critical(leaf, NID_ext_key_usage))
    return Broken("bad_eku", "the server certificate's extendedKeyUsage is critical", leaf, 0,
                  "CA/B Forum BR 7.1.2.7.10 requires it non-critical");
  auto* eku = static_cast<EXTENDED_KEY_USAGE*>(X509_get_ext_d2i(leaf, NID_ext_key_usage, nullptr, nullptr));
  bool any = false;
  for (int i = 0; eku && i < sk_ASN1_OBJECT_num(eku); ++i)
    any |= OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, i)) == NID_anyExtendedKeyUsage;
  sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
  if (any)
    return Broken("bad_eku", "the server certificate carries anyExtendedKeyUsage", leaf, 0,
                  "CA/B Forum BR 7.1.2.7.10 forbids it in a subscriber certificate");
  if (n > 1 && (X509_get_extension_flags(anchor) & EXFLAG_SS) && Has(anchor, NID_ext_key_usage))
    return Broken("bad_eku", "the root certificate carries an extendedKeyUsage", anchor, n - 1,
                  "CA/B Forum BR 7.1.2.1 forbids EKU in a root; the root must be replaced");

  auto sans = Sans(leaf);
  std::set<std::string> dns, addresses;  // the SAN entries; addresses in their canonical text
  for (int i = 0; sans && i < sk_GENERAL_NAME_num(sans.get()); ++i) {
    GENERAL_NAME* gn = sk_GENERAL_NAME_value(sans.get(), i);
    if (gn->type == GEN_DNS) {
      std::string s = Ia5(gn->d.dNSName);
      dns.insert(s);
      if (s.size() > 2 && s.compare(0, 2, "*.") == 0 && PublicSuffix(s.substr(2)))
        return Broken("wildcard_public_suffix", "the SAN \"" + s + "\" is a wildcard over a public suffix", leaf, 0,
                      "CA/B Forum BR 3.2.2.6 forbids it");
    } else if (gn->type == GEN_IPADD) {
      addresses.insert(CanonicalAddress(ASN1_STRING_get0_data(gn->d.iPAddress), ASN1_STRING_length(gn->d.iPAddress)));
    }
  }
  if (!sans)
    return Broken("cn_only_name", "the server certificate has no subjectAltName", leaf, 0,
                  "a TLS server's names must be in the SAN (CA/B Forum BR 7.1.2.7.12); the CN alone is not used");
  X509_NAME* subject = X509_get_subject_name(leaf);
  for (int i = X509_NAME_get_index_by_NID(subject, NID_commonName, -1); i >= 0;
       i = X509_NAME_get_index_by_NID(subject, NID_commonName, i)) {
    unsigned char* utf8 = nullptr;
    int len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, i)));
    if (len < 0) return Broken("malformed", "the subject CN cannot be decoded", leaf, 0, "the CA must reissue it");
    std::string cn(reinterpret_cast<char*>(utf8), static_cast<std::size_t>(len));
    OPENSSL_free(utf8);
    // CA/B Forum BR 7.1.4.3: a CN is a character-for-character copy of a SAN dNSName (A-labels,
    // never U-labels) or the canonical text of a SAN address. Refused here are the CNs that hide
    // a name: an address in non-canonical text (parsers disagree on "010.0.0.1" or "0xC0A80101"),
    // a case variant of a SAN name, a Unicode domain. A CN simply absent from the SAN, DNS name or
    // canonical address, is not refused: RFC 5280 validators ignore the CN beside a SAN, and
    // conformance suites hold valid chains whose CN is another host (BetterTLS name constraints:
    // CN 1.1.1.1 beside SAN IP 127.0.0.1) or a parent domain of the SAN names.
    const char* why = nullptr;
    if (auto text = AddressText(cn)) {
      if (*text != cn)
        why = addresses.count(*text) ? "is a SAN address, but not in its canonical text (RFC 3986 / RFC 5952)"
                                     : "is an address in non-canonical text (RFC 3986 / RFC 5952)";
    } else if (dns.count(cn) == 0) {
      for (const auto& d : dns)
        if (d.size() == cn.size() && std::equal(d.begin(), d.end(), cn.begin(), [](unsigned char a, unsigned char b) {
              return std::tolower(a) == std::tolower(b);
            }))
          why = "differs from a SAN dNSName in letter case";
      bool non_ascii = std::any_of(cn.begin(), cn.end(), [](unsigned char c) { return c >= 0x80; });
      if (!why && non_ascii && cn.find('.') != std::string::npos)
        why = "is an internationalised name in Unicode form; a SAN dNSName is always the A-label (xn--) form";
    }
    if (why)
      return Broken("cn_not_in_san", "the subject CN \"" + cn + "\" " + why, leaf, 0,
                    "CA/B Forum BR 7.1.4.3 requires the CN to be an exact copy of a SAN entry");
  }
  return std::nullopt;
}

std::optional<Violation> StrictRules(STACK_OF(X509) * chain, Purpose purpose) {
  int n = sk_X509_num(chain);
  for (int d = 0; d < n; ++d) {
    X509* x = sk_X509_value(chain, d);
    EVP_PKEY* pk = X509_get0_pubkey(x);
    int id = pk ? EVP_PKEY_get_base_id(pk) : EVP_PKEY_NONE;
    if ((id == EVP_PKEY_RSA || id == EVP_PKEY_RSA_PSS) && EVP_PKEY_get_bits(pk) % 8 != 0)
      return Broken("unsupported_key", "RSA modulus of " + std::to_string(EVP_PKEY_get_bits(pk)) + " bits", x, d,
                    "the modulus size must be a multiple of 8 bits (CA/B Forum BR 6.1.5)");
  }
  // RFC 5280 4.2.1.11 says MUST be critical, but NIST PKITS itself issues non-critical ones, so
  // the rfc5280 (conformance) profile tolerates them and the strict profile does not.
  for (int d = 1; d + 1 < n; ++d) {
    X509* x = sk_X509_value(chain, d);
    if (Has(x, NID_policy_constraints) && !Critical(x, NID_policy_constraints))
      return Broken("bad_policy_constraints", "the policyConstraints extension is not critical", x, d,
                    "RFC 5280 4.2.1.11 requires it to be critical");
  }
  if (purpose == Purpose::kServer) return ServerRules(chain);
  return std::nullopt;
}

}  // namespace

bool IsHostName(const std::string& name, bool allow_wildcard) {
  if (name.empty() || name.size() > 253) return false;
  std::size_t start = 0;
  bool first = true;
  while (true) {
    std::size_t dot = name.find('.', start);
    std::string label = name.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    bool wildcard = first && allow_wildcard && label == "*" && dot != std::string::npos;
    if (!wildcard) {
      if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
      for (unsigned char c : label)
        if (!std::isalnum(c) && c != '-') return false;
    }
    if (dot == std::string::npos) return true;
    start = dot + 1;
    first = false;
  }
}

bool IsMailbox(const std::string& s) {
  auto atext = [](unsigned char c) { return std::isalnum(c) || (c != 0 && std::strchr("!#$%&'*+-/=?^_`{|}~", c)); };
  std::size_t i = 0;
  if (!s.empty() && s[0] == '"') {  // Quoted-string: qtextSMTP or quoted-pair, printable ASCII
    for (i = 1; i < s.size() && s[i] != '"'; ++i) {
      unsigned char c = s[i];
      if (c == '\\') c = (++i < s.size()) ? s[i] : 0;
      if (c < 32 || c > 126) return false;
    }
    if (i >= s.size()) return false;
    ++i;  // the closing quote
  } else {  // Dot-string: atoms of atext joined by single dots
    bool atom = false;
    for (; i < s.size() && s[i] != '@'; ++i) {
      if (s[i] == '.') {
        if (!atom) return false;
        atom = false;
      } else if (atext(s[i])) {
        atom = true;
      } else {
        return false;
      }
    }
    if (!atom) return false;
  }
  if (i > 64 || i >= s.size() || s[i] != '@') return false;  // RFC 5321 4.5.3.1.1: local part <= 64
  return IsHostName(s.substr(i + 1), false);
}

std::string CanonicalAddress(const unsigned char* bytes, int len) {
  char buf[INET6_ADDRSTRLEN] = {0};
  if (len == 4) return inet_ntop(AF_INET, bytes, buf, sizeof buf) ? buf : "";
  if (len == 16) return inet_ntop(AF_INET6, bytes, buf, sizeof buf) ? buf : "";  // glibc writes RFC 5952 text
  return "";
}

std::optional<Violation> CheckChain(STACK_OF(X509) * chain, Profile profile, Purpose purpose) {
  int n = sk_X509_num(chain);
  for (int d = 0; d < n; ++d)
    if (auto v = RfcRules(sk_X509_value(chain, d), d, n)) return v;
  if (profile == Profile::kStrict) return StrictRules(chain, purpose);
  return std::nullopt;
}

std::optional<Violation> CheckCrls(STACK_OF(X509) * chain, const std::vector<X509_CRL*>& crls) {
  int n = sk_X509_num(chain);
  for (int d = 1; d < n; ++d) {
    X509* ca = sk_X509_value(chain, d);
    for (X509_CRL* crl : crls) {
      if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(ca)) != 0) continue;
      if (X509_CRL_verify(crl, X509_get0_pubkey(ca)) != 1) continue;  // another CA of the same name
      if (X509_CRL_get_ext_by_NID(crl, NID_crl_number, -1) < 0) {
        ERR_clear_error();
        return Violation{"crl_missing_number",
                         "a CRL issued by \"" + ossl::NameToString(X509_get_subject_name(ca)) +
                             "\" has no CRL number; RFC 5280 5.2.3 requires one (fetch a conforming CRL)",
                         -1};
      }
    }
  }
  ERR_clear_error();
  return std::nullopt;
}

}  // namespace veridge::pki::rules
