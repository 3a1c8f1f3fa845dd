// tests/lender/lender_fixture.h — the lender side for tests: the Node receiver (node_receiver.h) and
// the throw-away TLS PKI it serves with (tests/lender/make-test-pki.sh, generated at test time).
// Shared by tests/net, tests/outbox, tests/app and tests/lender.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "lender/node_receiver.h"
#include "support/test_support.h"

namespace veridge::testing {

// Empty when Node and the npm packages are installed; else why the lender tests must skip.
inline std::string NodeMissingReason() {
  if (std::system("node --version >/dev/null 2>&1") != 0) return "node is not installed (tools/setup-debian.sh)";
  if (!std::filesystem::exists(SourceDir() / "tools/node/node_modules/jose") ||
      !std::filesystem::exists(SourceDir() / "tools/node/node_modules/standardwebhooks"))
    return "npm packages jose/standardwebhooks not installed (run tools/setup-node.sh)";
  return "";
}

struct LenderPki {
  std::filesystem::path dir;
  std::filesystem::path ca() const { return dir / "ca.pem"; }
  std::filesystem::path other_ca() const { return dir / "other-ca.pem"; }
  std::filesystem::path server_cert() const { return dir / "server.pem"; }
  std::filesystem::path server_key() const { return dir / "server.key"; }
  std::filesystem::path wrongname_cert() const { return dir / "wrongname.pem"; }
  std::filesystem::path expired_cert() const { return dir / "expired.pem"; }
  std::filesystem::path client_cert() const { return dir / "client.pem"; }
  std::filesystem::path client_key() const { return dir / "client.key"; }
};

inline bool MakeLenderPki(const std::filesystem::path& dir, LenderPki* pki) {
  pki->dir = dir;
  std::string cmd = "bash '" + (SourceDir() / "tests/lender/make-test-pki.sh").string() + "' '" + dir.string() + "'";
  return std::system(cmd.c_str()) == 0;
}

// "sha256/<base64>" of a certificate's SubjectPublicKeyInfo, computed with the openssl CLI.
inline std::string SpkiPinOf(const std::filesystem::path& cert) {
  std::string cmd = "openssl x509 -in '" + cert.string() +
                    "' -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64";
  std::string out;
  if (FILE* f = ::popen(cmd.c_str(), "r")) {
    char buf[128];
    while (fgets(buf, sizeof buf, f)) out += buf;
    ::pclose(f);
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return "sha256/" + out;
}

}  // namespace veridge::testing
