#include "verify/certificate_factor.h"

#include <openssl/crypto.h>

#include "common/files.h"

namespace veridge::verify {

FactorReport CertificateFactor::Evaluate(const SessionContext& ctx) {
  FactorReport rep;
  rep.result.name = "certificate";
  auto fail = [&](policy::Outcome o, const std::string& code, const std::string& message) {
    rep.result.outcome = o;
    rep.result.reasons.push_back(code);
    rep.detail["message"] = message;
    return rep;
  };

  auto pin = ReadSecretFile(options_.pin_file, 256);
  if (!pin.ok()) return fail(policy::Outcome::kError, pin.status().code(), pin.status().message());
  pki::ProveOptions po;
  po.module_path = options_.module_path;
  po.token_label = options_.token_label;
  po.pin = *pin;
  while (!po.pin.empty() && (po.pin.back() == '\n' || po.pin.back() == '\r')) po.pin.pop_back();
  OPENSSL_cleanse(pin->data(), pin->size());
  po.session_id = ctx.session_id;
  po.allow_pkcs1v15 = options_.allow_pkcs1v15;
  auto proof = pki::ProvePossession(std::move(po));
  if (!proof.ok()) {
    // A refused or locked PIN, or a card without what we need, is the applicant's card failing
    // the factor; a module or reader that cannot be used is an error. Both reject (fail closed).
    const auto kind = proof.status().kind();
    const bool card_failed = kind == Status::Kind::kPermission || kind == Status::Kind::kInvalidInput;
    return fail(card_failed ? policy::Outcome::kFailed : policy::Outcome::kError, proof.status().code(),
                proof.status().message());
  }
  rep.detail["possession"] = {{"proven", proof->proven},          {"code", proof->code},
                              {"mechanism", proof->mechanism},    {"token_label", proof->token_label},
                              {"challenge", proof->challenge_hex}, {"signature", proof->signature_hex}};
  if (!proof->proven) return fail(policy::Outcome::kFailed, proof->code, proof->reason);

  pki::ValidationOptions vo = options_.validation;
  vo.purpose = pki::Purpose::kClient;
  auto v = pki::ValidateCertificate(proof->certificate_der, vo);
  if (!v.ok()) return fail(policy::Outcome::kError, v.status().code(), v.status().message());
  nlohmann::json chain = nlohmann::json::array();
  for (const auto& c : v->chain)
    chain.push_back({{"subject", c.subject}, {"issuer", c.issuer}, {"serial", c.serial},
                     {"sha256", c.sha256_fingerprint}, {"not_before", c.not_before}, {"not_after", c.not_after}});
  rep.detail["validation"] = {{"valid", v->valid}, {"code", v->code}, {"reason", v->reason}, {"chain", chain}};
  if (v->valid) {
    rep.result.outcome = policy::Outcome::kPassed;
  } else if (v->review) {
    rep.result.outcome = policy::Outcome::kReview;
    rep.result.reasons.push_back(v->code);
  } else {
    rep.result.outcome = policy::Outcome::kFailed;
    rep.result.reasons.push_back(v->code);
  }
  return rep;
}

}  // namespace veridge::verify
