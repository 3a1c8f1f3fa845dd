// The device identity (pki/device_identity.h): keys init, the signer, the CSR, with real OpenSSL
// keys in a temporary directory and the stock openssl CLI as the independent check.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>

#include <nlohmann/json.hpp>

#include "common/base64.h"
#include "common/files.h"
#include "pki/canonical_json.h"
#include "pki/device_identity.h"
#include "support/test_support.h"

using namespace veridge;
using namespace veridge::pki;
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

TEST_CASE("SignJws writes a compact JWS: the signer's canonical ES256 header, the payload, a raw 64-byte r||s") {
  TempDir dir;
  auto o = Opts(dir);
  REQUIRE(InitKeys(o, SystemClock::Instance()).ok());
  auto signer = DeviceSigner::Load(o.device_key_file, o.device_cert_chain);
  REQUIRE(signer.ok());
  const std::string payload = R"({"decision":"approved","session_id":"s-1"})";
  auto jws = signer->SignJws(payload);
  REQUIRE(jws.ok());
  auto dot1 = jws->find('.'), dot2 = jws->rfind('.');
  REQUIRE(dot1 != std::string::npos);
  REQUIRE(dot2 != dot1);
  auto header_bytes = Base64UrlDecode(jws->substr(0, dot1));
  REQUIRE(header_bytes.ok());
  auto header = nlohmann::json::parse(*header_bytes);
  CHECK(header["alg"] == "ES256");
  CHECK(header["kid"] == signer->kid());
  CHECK(header["x5c"] == nlohmann::json(signer->x5c()));
  CHECK(*header_bytes == CanonicalJson(header).value());  // the header is signed in canonical form
  CHECK(Base64UrlDecode(jws->substr(dot1 + 1, dot2 - dot1 - 1)).value() == payload);
  CHECK(Base64UrlDecode(jws->substr(dot2 + 1)).value().size() == 64);
  // ECDSA is randomised: two signatures of one payload differ. (The signature's validity is checked
  // by the outbox's verifier in tests/outbox/signing_test.cpp, which is what a lender runs.)
  CHECK(signer->SignJws(payload).value() != *jws);
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
