// pki/possession.h — proof of possession of a smart card's / USB token's private key (PKCS#11).
//
// What: loads the PKCS#11 module named by configuration through p11-kit (OpenSC for real cards,
// SoftHSM2 in tests), finds the token, logs in with the PIN, finds a certificate and the private
// key with the same CKA_ID, has the token sign a fresh random 32-byte challenge bound to the
// session id, and verifies that signature against the certificate's public key with OpenSSL.
// What is signed: SHA-256 (P-256, RSA) or SHA-384 (P-384 and larger curves) of
//   "veridge-pop-v1" 0x00 session_id 0x00 challenge(32 bytes)
// with ECDSA (CKM_ECDSA over the digest) or RSA-PSS (CKM_RSA_PKCS_PSS, MGF1 with the same hash,
// salt = hash length); RSA PKCS#1 v1.5 only when allow_pkcs1v15 is set.
//
// PIN: taken from the caller (a 0600 file or the kiosk), passed only to C_Login, never logged,
// never put in a message, wiped from our copy after use. A refused PIN is never retried: the
// caller gets pin_incorrect (with the token's "few tries left"/"final try" flags when it reports
// them) or pin_locked.
//
// Failures (Status codes): module_load_failed, pkcs11_error (kUnavailable), no_token,
// ambiguous_token, token_removed (kUnavailable), pin_incorrect, pin_locked, pin_empty
// (kPermission/kInvalidInput), no_certificate. A token that answers but cannot prove possession is
// a verdict (PossessionResult.proven=false): no_matching_key, signature_mismatch,
// unsupported_key.
//
// Thread-safety: one call at a time per module (PKCS#11 modules are process-global); the function
// initialises and finalises the module itself. Bounded: at most kMaxObjects objects inspected,
// certificates at most 64 KiB.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

#include "common/status.h"

namespace veridge::pki {

struct ProveOptions {
  std::filesystem::path module_path;  // the PKCS#11 .so (config [pki] pkcs11_module / --module)
  std::string token_label;            // empty: the one token present (several -> ambiguous_token)
  std::string pin;                    // secret: never logged
  std::string session_id;             // bound into what the token signs
  bool allow_pkcs1v15 = false;
  // Test seam (fault injection): called with the PKCS#11 function name before each call; a
  // non-zero return is used as that call's CK_RV instead of calling the module ("the Nth I/O
  // fails": token removed, PIN locked). Leave empty in production.
  std::function<unsigned long(const char* call)> fault;
};

struct PossessionResult {
  bool proven = false;
  std::string code;    // "ok" or the failure code
  std::string reason;  // human
  std::string token_label;
  std::string token_serial;
  std::string mechanism;        // "ECDSA-SHA256", "ECDSA-SHA384", "RSA-PSS-SHA256", "RSA-PKCS1-SHA256"
  std::string certificate_der;  // the token certificate used (validate it with pki::Validator)
  std::string challenge_hex;    // the 32 random bytes
  std::string signature_hex;
};

Result<PossessionResult> ProvePossession(ProveOptions options);

}  // namespace veridge::pki
