// pki/pki.h — X.509 certificate path validation for the certificate factor (issue 4).
//
// What: validates an end-entity certificate against configured trust anchors, under RFC 5280
// (OpenSSL 3.0's X509_verify_cert is the engine) plus Veridge's stricter policy around it:
//   * path building: when OpenSSL's own chain fails, alternative paths through the untrusted and
//     trusted certificates (cross-signed, reordered, redundant intermediates) are tried, bounded in
//     count and time (kMaxAlternativePaths, kPathBuildingBudget);
//   * profile kStrict (the default) also rejects weak keys (RSA/DSA < 2048 bits, EC curves below
//     P-256), MD5/SHA-1 signatures on any certificate but the trust anchor itself, missing AKI or
//     SKI where RFC 5280 4.2.1.1/4.2.1.2 require them (AKI on every non-self-signed certificate,
//     SKI on every CA certificate), a CA certificate as the leaf under every purpose (CA:TRUE, a v1
//     self-signed root, keyCertSign without basicConstraints, or the trust anchor itself), and a server name
//     found only in the subject CN (the SAN is required for the server profile);
//   * rules OpenSSL 3.0 does not enforce (pki/rules.h, both profiles): serials, SAN dNSName,
//     rfc822Name and iPAddress syntax, name-constraints syntax and placement, AIA, CRL numbers;
//     and strict-only: DSA keys and RSA moduli not a multiple of 8, non-critical
//     policyConstraints, and for kServer the CA/B Forum server rules (EKU, a CN that hides a SAN
//     name, no wildcard on a public suffix, no critical SAN beside a subject, the root's AKI);
//   * name constraints apply to the SAN and the subject DN; the subject CN is checked as a DNS name
//     only when the leaf has no SAN at all (OpenSSL checks it whenever no DNS SAN is present);
//   * profile kRfc5280 is plain RFC 5280 (as NIST PKITS expects: 1024-bit RSA, SHA-1); use it only
//     for conformance tests, never for applicants;
//   * a certificate is valid at exactly its notAfter second (RFC 5280 4.1.2.5: "inclusive"),
//     which OpenSSL 3.0 gets wrong;
//   * revocation from CRLs (indirect and delta CRLs included) and DER OCSP responses; a CRL past
//     its nextUpdate is a named failure "crl_stale", or a "review" verdict when so configured.
//
// Result codes (stable; JSON, tests and policy match on them): ok, expired, not_yet_valid, revoked,
// untrusted_root, path_not_found, bad_signature, bad_key_usage, bad_eku, name_mismatch,
// weak_key, weak_signature, missing_aki, missing_ski, ca_leaf, cn_only_name, crl_stale,
// crl_not_yet_valid, crl_missing, crl_invalid, ocsp_invalid, ocsp_stale, policy_mismatch, pathlen_exceeded,
// name_constraints, unknown_critical_extension, malformed, chain_too_long, invalid_ca,
// revocation_unknown, invalid; from pki/rules.h: bad_serial, bad_dns_name, bad_email_name,
// bad_ip_address, bad_name_constraints,
// bad_policy_constraints, bad_aia, crl_missing_number, unsupported_key, critical_san_with_subject,
// bad_aki, cn_not_in_san, wildcard_public_suffix (and bad_eku for the server EKU rules); too_large for a
// leaf that is a certificate over kMaxObjectBytes (a verdict, not an error).
//
// Input limits: every certificate, CRL or OCSP blob is at most kMaxObjectBytes; every bundle at
// most kMaxObjects objects and kMaxBundleBytes bytes; chains longer than max_depth are refused.
// Oversized or undecodable input is an InvalidInput Status (code too_large, too_many, malformed,
// no_certificate), never a crash; except a leaf that decodes as a certificate but is over
// kMaxObjectBytes: a negative verdict with code too_large (pathological name-constraint inputs).
//
// Thread-safety: a Validator is immutable after Create() and may be used from many threads.
// Ownership: all OpenSSL handles are owned by RAII wrappers inside; nothing leaks to callers.
// Failure: a negative verdict is a ValidationResult with valid=false (not an error Status); a
// Status is returned only when the inputs themselves cannot be used (unreadable, malformed anchors).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace veridge::pki {

inline constexpr std::size_t kMaxObjectBytes = 64 * 1024;        // one certificate / CRL / OCSP response
inline constexpr std::size_t kMaxCrlBytes = 8 * 1024 * 1024;     // one CRL (large CAs publish big ones)
inline constexpr std::size_t kMaxBundleBytes = 16 * 1024 * 1024; // one file of PEM blocks
inline constexpr std::size_t kMaxObjects = 1000;                 // objects in one bundle
inline constexpr int kMaxAlternativePaths = 32;
inline constexpr int kPathBuildingBudgetMs = 1000;
inline constexpr int kMaxDepthCeiling = 32;  // ValidationOptions::max_depth above this is capped to it

enum class Purpose { kAny, kClient, kServer };
enum class Profile { kStrict, kRfc5280 };
// What a CRL past its nextUpdate means: a failure, or a "review" verdict (offline operation on
// cached CRLs that went stale: the rest of the path is still validated).
enum class StaleCrlAction { kReject, kReview };
enum class RevocationMode {
  kRequire,      // every certificate below the anchor needs a CRL or OCSP response (default)
  kIfAvailable,  // check what is given; a certificate without revocation data passes
  kNone,         // no revocation checking (tests, bootstrapping)
};

struct ValidationOptions {
  // Each entry is the bytes of one file: PEM (one or more blocks) or a single DER object.
  std::vector<std::string> trust_anchors;     // required: at least one certificate
  std::vector<std::string> untrusted;          // intermediates (from the card or a file), any order
  std::vector<std::string> crls;               // CRLs (full, delta, indirect)
  std::vector<std::string> ocsp_responses;     // DER OCSP responses (cache or stapled)
  // Validation time, Unix seconds; default: now.
  std::optional<std::int64_t> at_unix;
  Purpose purpose = Purpose::kAny;
  Profile profile = Profile::kStrict;
  RevocationMode revocation = RevocationMode::kRequire;
  StaleCrlAction stale_crl = StaleCrlAction::kReject;
  // Names the leaf must carry (every one listed must match; SAN first, subject CN only under kRfc5280).
  std::vector<std::string> dns_names;
  std::vector<std::string> ip_addresses;
  std::vector<std::string> emails;
  // Required EKUs: serverAuth, clientAuth, emailProtection, codeSigning, timeStamping, OCSPSigning,
  // anyExtendedKeyUsage or a dotted OID. Each must be present (or anyExtendedKeyUsage).
  std::vector<std::string> required_ekus;
  // Required key usage bits: digitalSignature, nonRepudiation (contentCommitment), keyEncipherment,
  // dataEncipherment, keyAgreement, keyCertSign, cRLSign, encipherOnly, decipherOnly.
  std::vector<std::string> required_key_usage;
  // Intermediates between leaf and anchor, self-issued ones (key rollover) not counted; >= 0, values
  // above kMaxDepthCeiling are capped.
  int max_depth = 8;
  // RFC 5280 6.1.1 policy inputs. Empty initial_policy_set means { anyPolicy }.
  std::vector<std::string> initial_policy_set;
  bool explicit_policy = false;
  bool inhibit_policy_mapping = false;
  bool inhibit_any_policy = false;
};

struct ChainEntry {
  std::string subject;
  std::string issuer;
  std::string serial;              // hex, upper case
  std::string sha256_fingerprint;  // hex, lower case, no separators
  std::string not_before;          // RFC 3339 UTC
  std::string not_after;
};

struct ValidationResult {
  bool valid = false;
  bool review = false;  // not valid, but only for a reason configured to go to review (crl_stale)
  std::string code;     // "ok" when valid
  std::string reason;   // human: what failed, on which certificate, what to do
  int failed_depth = -1;  // 0 = leaf; -1 when not tied to one certificate
  std::vector<ChainEntry> chain;  // leaf first, trust anchor last (the path that was validated)
};

class Validator {
 public:
  // Parses anchors, intermediates, CRLs and OCSP responses once. Errors: no_trust_anchor,
  // malformed, too_large, too_many, bad_option (unknown EKU/key usage name, bad policy OID, ...).
  static Result<Validator> Create(const ValidationOptions& options);

  // Validates one leaf (PEM or DER bytes). extra_untrusted: more intermediates for this call only
  // (e.g. read from the card). Returns a verdict; Status only for unusable input (malformed leaf).
  Result<ValidationResult> Validate(std::string_view leaf,
                                    const std::vector<std::string>& extra_untrusted = {}) const;

  Validator(Validator&&) noexcept;
  Validator& operator=(Validator&&) noexcept;
  ~Validator();

 private:
  struct Impl;
  explicit Validator(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// One-shot convenience for verify/: Create + Validate.
Result<ValidationResult> ValidateCertificate(std::string_view leaf, const ValidationOptions& options);

// Reads a certificate/CRL bundle file (bounded by kMaxBundleBytes) through common/files.h: a FIFO,
// device or directory is refused at once. Codes: file_not_found, not_a_file, bad_path,
// permission_denied, file_too_large, read_failed.
Result<std::string> ReadBundleFile(const std::filesystem::path& path);

// Reads every *.pem, *.crt, *.cer, *.der, *.crl file of a directory (trust anchor or CRL cache
// directory), sorted by name, bounded by kMaxObjects files.
Result<std::vector<std::string>> ReadBundleDirectory(const std::filesystem::path& dir);

// Parses an RFC 3339 date-time ("2011-04-15T00:00:00Z", "+hh:mm" / "-hh:mm" offsets, optional
// fraction) to Unix seconds, strictly: two-digit fields of digits only, real calendar dates
// (2025-02-31 is refused, not rolled over), offsets within 23:59. Code bad_time.
Result<std::int64_t> ParseRfc3339(std::string_view text);

// The chain entry for one certificate (PEM or DER); used by `cert prove` and the evidence record.
Result<ChainEntry> DescribeCertificate(std::string_view cert);

const char* PurposeName(Purpose p);
const char* ProfileName(Profile p);

// Drains the calling thread's OpenSSL error queue into one line ("no detail from OpenSSL" when it is
// empty), for error messages in every module that calls OpenSSL (net/, outbox/). Never holds secrets.
std::string OpenSslErrors();

}  // namespace veridge::pki
