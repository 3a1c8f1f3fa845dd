#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>

#include "common/files.h"
#include "outbox/device_identity.h"
#include "outbox/signing.h"
#include "support/test_support.h"

using namespace veridge;
using namespace veridge::outbox;
using veridge::testing::TempDir;

namespace {
unsigned Mode(const std::filesystem::path& p) {
  struct stat st {};
  ::stat(p.c_str(), &st);
  return st.st_mode & 0777;
}
KeysInitOptions Opts(const TempDir& dir) {
  KeysInitOptions o;
  o.device_id = "branch-042-kiosk-1";
  o.device_key_file = dir / "keys/device.key";
  o.device_cert_chain = dir / "keys/device-chain.pem";
  o.store_key_file = dir / "keys/store.key";
  return o;
}
}  // namespace

TEST_CASE("keys init creates the store key, device key and a dev chain that openssl accepts") {
  TempDir dir;
  auto o = Opts(dir);
  auto report = InitKeys(o, SystemClock::Instance());
  REQUIRE(report.ok());
  CHECK(report->created.size() == 5);  // store key, device key, dev CA key + cert, chain
  CHECK(report->kept.empty());
  CHECK(Mode(o.device_key_file) == 0600);
  CHECK(Mode(o.store_key_file) == 0600);
  CHECK(Mode(dir / "keys/dev-ca.key") == 0600);
  CHECK(std::filesystem::file_size(o.store_key_file) == 32);
  // The chain validates with the stock openssl CLI against the dev CA, as a lender would check it.
  std::string cmd = "openssl verify -CAfile '" + (dir / "keys/dev-ca.pem").string() + "' '" + o.device_cert_chain.string() +
                    "' >/dev/null 2>&1";
  CHECK(std::system(cmd.c_str()) == 0);
  auto signer = DeviceSigner::Load(o.device_key_file, o.device_cert_chain);
  REQUIRE(signer.ok());
  CHECK(signer->x5c().size() == 2);
  CHECK(signer->kid().size() == 43);  // base64url of 32 bytes
}

TEST_CASE("keys init never overwrites existing files") {
  TempDir dir;
  auto o = Opts(dir);
  REQUIRE(InitKeys(o, SystemClock::Instance()).ok());
  auto key_before = ReadFileBounded(o.device_key_file, 1 << 20).value();
  auto store_before = ReadFileBounded(o.store_key_file, 1 << 20).value();
  auto chain_before = ReadFileBounded(o.device_cert_chain, 1 << 20).value();
  auto again = InitKeys(o, SystemClock::Instance());
  REQUIRE(again.ok());
  CHECK(again->created.empty());
  CHECK(again->kept.size() == 3);
  CHECK(ReadFileBounded(o.device_key_file, 1 << 20).value() == key_before);
  CHECK(ReadFileBounded(o.store_key_file, 1 << 20).value() == store_before);
  CHECK(ReadFileBounded(o.device_cert_chain, 1 << 20).value() == chain_before);
  // Lost chain: reissued for the kept key from the kept dev CA.
  std::filesystem::remove(o.device_cert_chain);
  auto reissue = InitKeys(o, SystemClock::Instance());
  REQUIRE(reissue.ok());
  CHECK(reissue->created == std::vector<std::string>{o.device_cert_chain.string()});
  CHECK(DeviceSigner::Load(o.device_key_file, o.device_cert_chain).ok());
  // Lost key but chain present: refuse rather than pair a new key with a stale certificate.
  std::filesystem::remove(o.device_key_file);
  CHECK(InitKeys(o, SystemClock::Instance()).status().code() == "chain_without_key");
}

TEST_CASE("DeviceSigner refuses a world-readable key and a chain for another key") {
  TempDir dir;
  auto o = Opts(dir);
  REQUIRE(InitKeys(o, SystemClock::Instance()).ok());
  ::chmod(o.device_key_file.c_str(), 0644);
  CHECK(DeviceSigner::Load(o.device_key_file, o.device_cert_chain).status().code() == "insecure_permissions");
  ::chmod(o.device_key_file.c_str(), 0600);
  TempDir other;
  auto o2 = Opts(other);
  REQUIRE(InitKeys(o2, SystemClock::Instance()).ok());
  CHECK(DeviceSigner::Load(o.device_key_file, o2.device_cert_chain).status().code() == "bad_device_chain");
  CHECK(DeviceSigner::Load(o.device_key_file, o.device_key_file).status().code() == "bad_device_chain");
}

TEST_CASE("SignJws produces an ES256 compact JWS with raw r||s that verifies, and tampering breaks it") {
  TempDir dir;
  auto o = Opts(dir);
  REQUIRE(InitKeys(o, SystemClock::Instance()).ok());
  auto signer = DeviceSigner::Load(o.device_key_file, o.device_cert_chain);
  REQUIRE(signer.ok());
  const std::string payload = R"({"decision":"approved","session_id":"s-1"})";
  auto jws = signer->SignJws(payload);
  REQUIRE(jws.ok());
  auto verified = VerifyJwsWithX5c(*jws);
  REQUIRE(verified.ok());
  CHECK(verified->payload == payload);
  CHECK(verified->signature.size() == 64);
  CHECK(verified->header["alg"] == "ES256");
  CHECK(verified->header["kid"] == signer->kid());
  CHECK(verified->header["x5c"].size() == 2);
  // ECDSA is randomised: two signatures differ, both verify.
  auto jws2 = signer->SignJws(payload);
  CHECK(*jws2 != *jws);
  CHECK(VerifyJwsWithX5c(*jws2).ok());
  // Swap in another payload, keep the signature.
  auto dot1 = jws->find('.'), dot2 = jws->rfind('.');
  std::string forged = jws->substr(0, dot1 + 1) + Base64UrlEncode(R"({"decision":"rejected","session_id":"s-1"})") + jws->substr(dot2);
  CHECK(VerifyJwsWithX5c(forged).status().code() == "signature_mismatch");
}

TEST_CASE("MakeCsrPem yields a CSR that openssl verifies") {
  TempDir dir;
  auto o = Opts(dir);
  REQUIRE(InitKeys(o, SystemClock::Instance()).ok());
  auto csr = MakeCsrPem(o.device_key_file, o.device_id);
  REQUIRE(csr.ok());
  {
    std::ofstream(dir / "device.csr") << *csr;
  }
  std::string cmd = "openssl req -verify -noout -in '" + (dir / "device.csr").string() + "' >/dev/null 2>&1";
  CHECK(std::system(cmd.c_str()) == 0);
}
