// bench-cert PKI_DIR [SECONDS] — validations per second for the test PKI's 3-certificate chain
// (leaf-valid <- int <- root) with CRLs for every CA, strict profile:
//   1. veridge pki::Validator reused (anchors/CRLs parsed once, as the appliance does),
//   2. veridge one-shot ValidateCertificate (parse everything per call),
//   3. plain OpenSSL X509_verify_cert in-process with the same flags (the baseline engine),
//   4. `openssl verify -crl_check_all` as a process per validation (what a script would do).
// Generate PKI_DIR with tools/pki/make-test-pki.sh. Prints one line per variant.
#include <openssl/pem.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>

#include "pki/pki.h"

namespace {

std::string Slurp(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void Measure(const char* name, double seconds, const std::function<bool()>& once) {
  using clock = std::chrono::steady_clock;
  if (!once()) {
    std::printf("%-48s FAILED (the chain did not validate)\n", name);
    return;
  }
  long n = 0;
  auto start = clock::now();
  double elapsed = 0;
  do {
    for (int i = 0; i < 10; ++i) once();
    n += 10;
    elapsed = std::chrono::duration<double>(clock::now() - start).count();
  } while (elapsed < seconds);
  std::printf("%-48s %10.0f validations/s  (%8.1f us each, %ld runs)\n", name, n / elapsed, 1e6 * elapsed / n, n);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: bench-cert PKI_DIR [SECONDS]\n");
    return 2;
  }
  std::string dir = argv[1];
  double seconds = argc > 2 ? std::atof(argv[2]) : 2.0;
  veridge::pki::ValidationOptions o;
  o.trust_anchors = {Slurp(dir + "/root.pem")};
  o.untrusted = {Slurp(dir + "/int.pem")};
  o.crls = {Slurp(dir + "/crls.pem")};
  o.at_unix = *veridge::pki::ParseRfc3339("2026-06-01T00:00:00Z");
  o.purpose = veridge::pki::Purpose::kClient;
  const std::string leaf = Slurp(dir + "/leaf-valid.pem");

  auto v = veridge::pki::Validator::Create(o);
  if (!v.ok()) {
    std::fprintf(stderr, "%s\n", v.status().ToString().c_str());
    return 3;
  }
  std::printf("chain: leaf-valid <- int <- root (EC P-256, SHA-256), CRLs: %zu bytes; %.1f s per variant\n",
              o.crls[0].size(), seconds);
  Measure("veridge Validator (reused, strict profile)", seconds, [&] {
    auto r = v->Validate(leaf);
    return r.ok() && r->valid;
  });
  Measure("veridge ValidateCertificate (one-shot)", seconds, [&] {
    auto r = veridge::pki::ValidateCertificate(leaf, o);
    return r.ok() && r->valid;
  });

  // Plain OpenSSL with the same inputs, parsed once.
  auto read_x = [&](const std::string& f) {
    BIO* b = BIO_new_file((dir + "/" + f).c_str(), "r");
    X509* x = PEM_read_bio_X509(b, nullptr, nullptr, nullptr);
    BIO_free(b);
    return x;
  };
  X509* root = read_x("root.pem");
  X509* inter = read_x("int.pem");
  X509_STORE* store = X509_STORE_new();
  X509_STORE_add_cert(store, root);
  BIO* cb = BIO_new_file((dir + "/crls.pem").c_str(), "r");
  STACK_OF(X509_CRL)* crls = sk_X509_CRL_new_null();
  while (X509_CRL* c = PEM_read_bio_X509_CRL(cb, nullptr, nullptr, nullptr)) sk_X509_CRL_push(crls, c);
  BIO_free(cb);
  STACK_OF(X509)* untrusted = sk_X509_new_null();
  sk_X509_push(untrusted, inter);
  Measure("OpenSSL X509_verify_cert (in-process)", seconds, [&] {
    // Same work as one veridge call: the leaf arrives as PEM bytes each time.
    BIO* lb = BIO_new_mem_buf(leaf.data(), static_cast<int>(leaf.size()));
    X509* fresh = PEM_read_bio_X509(lb, nullptr, nullptr, nullptr);
    BIO_free(lb);
    X509_STORE_CTX* ctx = X509_STORE_CTX_new();
    X509_STORE_CTX_init(ctx, store, fresh, untrusted);
    X509_STORE_CTX_set0_crls(ctx, crls);
    X509_VERIFY_PARAM* p = X509_STORE_CTX_get0_param(ctx);
    X509_VERIFY_PARAM_set_flags(p, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL |
                                       X509_V_FLAG_EXTENDED_CRL_SUPPORT | X509_V_FLAG_USE_DELTAS |
                                       X509_V_FLAG_X509_STRICT | X509_V_FLAG_POLICY_CHECK);
    X509_VERIFY_PARAM_set_time(p, static_cast<time_t>(*o.at_unix));
    X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT);
    bool ok = X509_verify_cert(ctx) == 1;
    X509_STORE_CTX_free(ctx);
    X509_free(fresh);
    return ok;
  });
  std::string cmd = "openssl verify -x509_strict -crl_check_all -purpose sslclient -attime " +
                    std::to_string(*o.at_unix) + " -CAfile " + dir + "/root.pem -untrusted " + dir +
                    "/int.pem -CRLfile " + dir + "/crls.pem " + dir + "/leaf-valid.pem >/dev/null 2>&1";
  Measure("openssl verify (one process per validation)", seconds, [&] { return std::system(cmd.c_str()) == 0; });
  sk_X509_CRL_pop_free(crls, X509_CRL_free);
  sk_X509_pop_free(untrusted, X509_free);
  X509_STORE_free(store);
  X509_free(root);
  return 0;
}
