// tests/verify/sink_fixture.h — a device identity (dev CA), a store key and an opened real
// encrypted store (SQLCipher) in a temp dir: what a StoreSink needs, for the verify suites.
#pragma once

#include <memory>

#include "audit/audit.h"
#include "common/clock.h"
#include "pki/device_identity.h"
#include "store/store.h"
#include "support/test_support.h"

namespace veridge::testing {

// A device identity, a store key and an opened encrypted store in a temp dir.
struct SinkFixture {
  SinkFixture() {
    pki::KeysInitOptions ko;
    ko.device_id = "test-kiosk";
    ko.device_key_file = dir / "device.key";
    ko.device_cert_chain = dir / "device-chain.pem";
    ko.store_key_file = dir / "store.key";
    REQUIRE(pki::InitKeys(ko, SystemClock::Instance()).ok());
    auto loaded = pki::DeviceSigner::Load(ko.device_key_file, ko.device_cert_chain);
    REQUIRE(loaded.ok());
    signer = std::make_unique<pki::DeviceSigner>(std::move(*loaded));
    so.path = dir / "veridge.db";
    so.key_file = ko.store_key_file;
    so.create_if_missing = true;  // as keys init would
    so.audit_hasher = audit::ChainHasher();
    auto opened = store::Store::Open(so);
    REQUIRE(opened.ok());
    db = std::move(*opened);
  }
  TempDir dir;
  store::StoreOptions so;
  std::unique_ptr<pki::DeviceSigner> signer;
  std::unique_ptr<store::Store> db;
};

}  // namespace veridge::testing
