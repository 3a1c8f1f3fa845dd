// pki/rules.h — internal to pki/: the certificate and path rules Veridge adds to OpenSSL's RFC 5280
// engine (issue 18). validate.cpp runs them on every path OpenSSL accepted, before the verdict.
//
// What: two groups, each rule with a stable reason code (listed in pki.h and certs/README.md):
//   * RFC 5280 rules OpenSSL 3.0 does not enforce (both profiles): serial numbers (positive, at most
//     20 octets), the syntax of the leaf's SAN names (dNSName, rfc822Name, iPAddress),
//     name-constraints syntax and placement, a decodable AIA, CRLs with a CRL number;
//   * strict-profile rules for every purpose: RSA modulus sizes (DSA is refused with the weak keys
//     in validate.cpp), policyConstraints criticality (PKITS has non-critical ones);
//   * strict-profile, Purpose::kServer only: the CA/Browser Forum (webpki) server-certificate
//     rules (EKU present, not critical, no anyExtendedKeyUsage, no EKU on the root; a CN that is
//     an address in non-canonical text, a case variant or a Unicode form of a SAN name; no
//     wildcard on a public suffix; no critical SAN beside a subject; the root's AKI only its own
//     keyIdentifier). A smart-card client certificate (kClient) is not a web server's and keeps
//     the rules that make sense for it; see certs/README.md for the split.
// Input: the chain OpenSSL built, leaf first, trust anchor last; CRLs that were supplied.
// Failure: the first rule broken, as a Violation (code, human reason naming the certificate, depth);
// nothing is thrown and nothing is logged. Thread-safe: pure functions over const inputs.
#pragma once

#include <openssl/x509.h>

#include <optional>
#include <string>
#include <vector>

#include "pki/pki.h"

namespace veridge::pki::rules {

struct Violation {
  std::string code;
  std::string reason;
  int depth = -1;  // 0 = leaf; -1 when not tied to one certificate (a CRL)
};

std::optional<Violation> CheckChain(STACK_OF(X509) * chain, Profile profile, Purpose purpose);

// The CRLs issued by a CA of the path (by issuer name) must carry a CRL number (RFC 5280 5.2.3).
std::optional<Violation> CheckCrls(STACK_OF(X509) * chain, const std::vector<X509_CRL*>& crls);

// Helpers, exposed for the tests of their edge cases.
// RFC 1034 preferred name syntax (LDH labels of 1..63, at most 253 characters); a leftmost "*"
// label only when allow_wildcard.
bool IsHostName(const std::string& name, bool allow_wildcard);
// RFC 5321 4.1.2 Mailbox: a Dot-string of atext atoms or a Quoted-string (local part <= 64
// characters), "@", and a host name (address literals are not accepted).
bool IsMailbox(const std::string& name);
// The canonical text of an address SAN: dotted decimal (RFC 3986) or RFC 5952 IPv6; "" otherwise.
std::string CanonicalAddress(const unsigned char* bytes, int len);

}  // namespace veridge::pki::rules
