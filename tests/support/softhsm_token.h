// tests/support/softhsm_token.h — a real SoftHSM2 PKCS#11 token in its own temp directory (through
// SOFTHSM2_CONF), with keys and certificates imported by softhsm2-util / pkcs11-tool; shared by the
// pki and verify suites. Tests call HaveSoftHsm() first and skip when SoftHSM2 or OpenSC is missing.
#pragma once

#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <utility>

#include "support/test_support.h"

namespace veridge::testing {

namespace fs = std::filesystem;

inline const fs::path kSoftHsm = "/usr/lib/softhsm/libsofthsm2.so";
inline constexpr const char* kPin = "123456";

inline bool Run(const std::string& cmd) {
  int rc = std::system((cmd + " >/dev/null 2>&1").c_str());
  return WIFEXITED(rc) && WEXITSTATUS(rc) == 0;
}

inline bool HaveSoftHsm() {
  return fs::exists(kSoftHsm) && Run("command -v softhsm2-util") && Run("command -v pkcs11-tool");
}

// One initialised SoftHSM2 token in its own directory.
class Token {
 public:
  explicit Token(const std::string& label = "card1") : label_(label) {
    fs::create_directories(dir_ / "tokens");
    std::ofstream(dir_ / "softhsm2.conf") << "directories.tokendir = " << (dir_ / "tokens").string()
                                           << "\nobjectstore.backend = file\nlog.level = ERROR\n";
    setenv("SOFTHSM2_CONF", (dir_ / "softhsm2.conf").c_str(), 1);
    REQUIRE(Run("softhsm2-util --init-token --free --label " + label + " --so-pin 87654321 --pin " + kPin));
  }
  void ImportKey(const fs::path& key_pem, const std::string& id) {
    auto p8 = dir_ / ("k" + id + ".pem");
    REQUIRE(Run("openssl pkcs8 -topk8 -nocrypt -in " + key_pem.string() + " -out " + p8.string()));
    REQUIRE(Run("softhsm2-util --import " + p8.string() + " --token " + label_ + " --pin " + kPin + " --id " + id +
                " --label k" + id));
  }
  void ImportCert(const fs::path& cert_pem, const std::string& id) {
    auto der = dir_ / ("c" + id + ".der");
    REQUIRE(Run("openssl x509 -in " + cert_pem.string() + " -outform DER -out " + der.string()));
    REQUIRE(Run("pkcs11-tool --module " + kSoftHsm.string() + " --token-label " + label_ + " --login --pin " + kPin +
                " --write-object " + der.string() + " --type cert --id " + id + " --label c" + id));
  }
  // A fresh key + self-signed certificate made with openssl (algorithm: "EC:P-384", "RSA:2048").
  std::pair<fs::path, fs::path> MakeKeyCert(const std::string& name, const std::string& alg) {
    auto key = dir_ / (name + ".key"), cert = dir_ / (name + ".pem");
    std::string opt = alg.rfind("EC:", 0) == 0 ? "-algorithm EC -pkeyopt ec_paramgen_curve:" + alg.substr(3)
                                                : "-algorithm RSA -pkeyopt rsa_keygen_bits:" + alg.substr(4);
    REQUIRE(Run("openssl genpkey " + opt + " -out " + key.string()));
    REQUIRE(Run("openssl req -new -x509 -key " + key.string() + " -subj /CN=" + name + " -days 30 -out " +
                cert.string()));
    return {key, cert};
  }
  const fs::path& dir() const { return dir_.path(); }

 private:
  TempDir dir_;
  std::string label_;
};

}  // namespace veridge::testing
