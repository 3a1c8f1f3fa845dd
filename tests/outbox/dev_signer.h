// A real device signer for the outbox tests: pki::InitKeys' development key and chain, written
// into `dir` (a test's TempDir), loaded as the appliance loads them.
#pragma once

#include <catch2/catch.hpp>

#include <filesystem>
#include <string>

#include "common/clock.h"
#include "pki/device_identity.h"

namespace veridge::outbox::testing {

inline pki::DeviceSigner DevSigner(const std::filesystem::path& dir, const std::string& device_id = "kiosk-test") {
  pki::KeysInitOptions ko;
  ko.device_id = device_id;
  ko.device_key_file = dir / "keys/device.key";
  ko.device_cert_chain = dir / "keys/device-chain.pem";
  REQUIRE(pki::InitKeys(ko, SystemClock::Instance()).ok());
  auto signer = pki::DeviceSigner::Load(ko.device_key_file, ko.device_cert_chain);
  REQUIRE(signer.ok());
  return std::move(*signer);
}

}  // namespace veridge::outbox::testing
