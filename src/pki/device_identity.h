// pki/device_identity.h — the appliance's own identity: its ECDSA P-256 key and certificate
// chain, used to sign every result (compact JWS, ES256) so a lender can prove which device
// produced it; and `keys init`, which creates whatever key material is missing.
//
// Contract
//  * InitKeys never overwrites an existing file: it creates only what is missing and reports
//    what it created and what it kept. Private keys and the store key are written atomically
//    with mode 0600. Without a chain, it issues a *development* chain from a local dev CA (its
//    key kept beside the device key, 0600); real deployments replace the chain with one from the
//    lender's or fleet's CA (CSR flow: docs/lender-integration.md, `MakeCsrPem`).
//  * DeviceSigner::Load reads the key with ReadSecretFile (refuses group/world-readable keys) and
//    checks that the chain's first certificate holds the same public key.
//  * DeviceSigner is immutable after Load; SignJws is thread-safe. Secrets never appear in logs
//    or error messages.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/status.h"

namespace veridge::pki {

struct KeysInitOptions {
  std::string device_id;                        // [device].id, the device certificate's CN
  std::filesystem::path device_key_file;        // [device].key_file
  std::filesystem::path device_cert_chain;      // [device].cert_chain
  std::filesystem::path store_key_file;         // [store].key_file (empty: not created)
  int dev_cert_days = 825;                      // validity of the development device certificate
};

struct KeysInitReport {
  std::vector<std::string> created;  // paths written now
  std::vector<std::string> kept;     // paths that already existed and were left alone
};

// Creates what is missing. Codes: "write_failed", "key_generation_failed", "chain_without_key"
// (a chain exists but the device key does not: refuse to pair a new key with someone else's chain).
Result<KeysInitReport> InitKeys(const KeysInitOptions& options, const Clock& clock);

// A PEM certificate signing request for the device key (subject CN = device_id), for a real CA.
Result<std::string> MakeCsrPem(const std::filesystem::path& device_key_file, const std::string& device_id);

class DeviceSigner {
 public:
  // Codes: secret_file_missing / insecure_permissions (key), file_not_found (chain),
  // "bad_device_key" (not an EC P-256 PEM key), "bad_device_chain" (no PEM certificate, or the
  // first certificate does not match the key).
  static Result<DeviceSigner> Load(const std::filesystem::path& key_file, const std::filesystem::path& chain_file);

  // Compact JWS over `payload` (the caller passes canonical JSON), header
  // {"alg":"ES256","kid":kid(),"x5c":[device cert, CAs...]}. Code "sign_failed".
  Result<std::string> SignJws(std::string_view payload) const;

  // RFC 7638 JWK thumbprint (base64url SHA-256) of the device public key.
  const std::string& kid() const;
  // The chain as x5c entries: standard base64 DER, device certificate first.
  const std::vector<std::string>& x5c() const;

  DeviceSigner(DeviceSigner&&) noexcept;
  DeviceSigner& operator=(DeviceSigner&&) noexcept;
  DeviceSigner(const DeviceSigner&);
  DeviceSigner& operator=(const DeviceSigner&);
  ~DeviceSigner();

 private:
  DeviceSigner();
  struct Impl;
  std::shared_ptr<const Impl> impl_;
};

}  // namespace veridge::pki
