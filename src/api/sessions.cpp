// api/sessions.cpp — the lender's session routes of /v1 (contract in api/api.h, "Routes").
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <set>

#include "api/api.h"
#include "api/internal.h"
#include "common/hex.h"
#include "common/log.h"
#include "common/base64.h"
#include "common/sha256.h"

namespace veridge::api {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxApplicantRefBytes = 256;
constexpr std::size_t kMaxIdempotencyKeyBytes = 128;
// base64 of the largest reference image, plus slack for line breaks some encoders add.
constexpr std::size_t kMaxReferenceBase64Bytes = (store::kMaxReferenceImageBytes + 2) / 3 * 4 + 4096;

Result<std::string> NewSessionId() {
  auto hex = RandomHex(16);
  if (!hex.ok()) return hex.status();
  return "ses_" + *hex;
}

// Stored JSON text as a value; null if it does not parse (never the parser's "discarded" marker).
json StoredJson(const std::string& text) {
  auto j = json::parse(text, nullptr, false);
  return j.is_discarded() ? json() : j;
}

std::string MediaType(const std::string& bytes) {
  if (bytes.size() >= 3 && static_cast<unsigned char>(bytes[0]) == 0xFF && static_cast<unsigned char>(bytes[1]) == 0xD8 &&
      static_cast<unsigned char>(bytes[2]) == 0xFF)
    return "image/jpeg";
  if (bytes.size() >= 8 && bytes.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0) return "image/png";
  return "";
}

json SessionJson(const store::SessionRequestRecord& r) {
  json j = {{"id", r.id},           {"state", r.state},           {"applicant_ref", r.applicant_ref},
            {"factors", StoredJson(r.factors_json)}, {"locale", r.locale}, {"created_at", r.created_at},
            {"expires_at", r.expires_at}};
  if (!r.terminal_reason.empty()) j["terminal_reason"] = r.terminal_reason;
  if (!r.consent_json.empty()) j["consent"] = StoredJson(r.consent_json);
  return j;
}

struct Api {
  store::Store& store;
  SessionApiOptions options;
  const Clock& clock() const { return options.clock ? *options.clock : SystemClock::Instance(); }

  net::Response Create(const net::Request& req, const Principal& who) const {
    auto body = json::parse(req.body, nullptr, false);
    if (body.is_discarded() || !body.is_object()) return Err(400, "bad_request", "the body must be a JSON object");
    static const std::set<std::string> kFields = {"applicant_ref", "reference_image", "factors", "locale", "expires_in"};
    for (auto it = body.begin(); it != body.end(); ++it)
      if (!kFields.count(it.key()))
        return Err(400, "unknown_field", "unknown field '" + it.key().substr(0, 64) + "' (fields: applicant_ref, reference_image, factors, locale, expires_in)");
    auto invalid = [](const std::string& field, const std::string& why) { return Err(400, "invalid_field", field + ": " + why); };

    const auto& ref = body.value("applicant_ref", json());
    if (!ref.is_string() || ref.get<std::string>().empty() || ref.get<std::string>().size() > kMaxApplicantRefBytes)
      return invalid("applicant_ref", "a string of 1..256 bytes is required");
    const std::string applicant_ref = ref.get<std::string>();
    if (std::any_of(applicant_ref.begin(), applicant_ref.end(), [](unsigned char c) { return c < 0x20 || c == 0x7F; }))
      return invalid("applicant_ref", "control characters are not allowed");

    const auto& factors = body.value("factors", json());
    static const std::set<std::string> kFactors = {"face", "liveness", "certificate"};
    if (!factors.is_array() || factors.empty() || factors.size() > kFactors.size())
      return invalid("factors", "a non-empty array of face, liveness, certificate is required");
    std::set<std::string> seen;
    for (const auto& f : factors)
      if (!f.is_string() || !kFactors.count(f.get<std::string>()) || !seen.insert(f.get<std::string>()).second)
        return invalid("factors", "each factor is one of face, liveness, certificate, named once");

    const auto& locale = body.value("locale", json());
    if (!locale.is_string() || (locale != "zh-CN" && locale != "en")) return invalid("locale", "must be \"zh-CN\" or \"en\"");

    std::int64_t expires_in = options.default_expires_in;
    if (body.contains("expires_in")) {
      const auto& e = body["expires_in"];
      if (!e.is_number_integer() || e.get<std::int64_t>() < options.min_expires_in || e.get<std::int64_t>() > options.max_expires_in)
        return invalid("expires_in", "whole seconds within " + std::to_string(options.min_expires_in) + ".." + std::to_string(options.max_expires_in));
      expires_in = e.get<std::int64_t>();
    }

    const auto& image = body.value("reference_image", json());
    if (!image.is_string() || image.get<std::string>().empty()) return invalid("reference_image", "base64 of a JPEG or PNG photo is required");
    if (image.get<std::string>().size() > kMaxReferenceBase64Bytes)
      return Err(413, "reference_image_too_large", "the reference image is over 4 MiB; send a smaller JPEG or PNG");
    auto bytes = Base64Decode(image.get<std::string>());
    if (!bytes.ok()) return invalid("reference_image", "not valid base64");
    if (bytes->size() > store::kMaxReferenceImageBytes)
      return Err(413, "reference_image_too_large", "the reference image is over 4 MiB; send a smaller JPEG or PNG");
    const std::string media_type = MediaType(*bytes);
    if (media_type.empty()) return Err(422, "unsupported_image_format", "the reference image must be a JPEG or PNG");

    std::string idempotency_key;
    if (auto k = req.Header("Idempotency-Key")) {
      idempotency_key = *k;
      if (!SafeId(idempotency_key, kMaxIdempotencyKeyBytes, "._:-"))
        return Err(400, "bad_idempotency_key", "an Idempotency-Key is 1..128 characters of A-Z a-z 0-9 . _ : -");
    }

    // The photo is checked before anything is stored (a bad one never starts a session). An
    // idempotent replay of an accepted photo passes this check again, identically.
    if (!options.check_reference)
      return Err(503, "reference_check_unavailable", "the face models are not loaded, so a reference photo cannot be checked; see /readyz");
    if (Status st = options.check_reference(*bytes); !st.ok()) {
      if (st.kind() == Status::Kind::kInvalidInput || st.kind() == Status::Kind::kNotFound) return Err(422, st.code(), "reference_image: " + st.message());
      spdlog::error("api: reference check failed: {}", st.ToString());
      return Err(503, "reference_check_unavailable", "the reference photo could not be checked right now; retry later");
    }

    auto id = NewSessionId();
    if (!id.ok()) return StoreTrouble("making a session id", id.status());
    store::SessionRequestInput in;
    in.id = *id;
    in.token_id = who.token_id;
    in.applicant_ref = applicant_ref;
    in.factors_json = factors.dump();
    in.locale = locale.get<std::string>();
    in.created_at = clock().NowUnixSeconds();
    in.expires_at = in.created_at + expires_in;
    in.reference_media_type = media_type;
    in.reference_image = std::move(*bytes);
    in.idempotency_key = idempotency_key;
    in.request_sha256 = Sha256Hex(body.dump());  // keys sorted: the same request hashes the same
    auto created = store.CreateSessionRequest(in, "api:" + who.token_id);
    if (!created.ok() && created.status().code() == "idempotency_key_reused")
      return Err(422, "idempotency_key_reused", created.status().message());
    if (!created.ok()) return StoreTrouble("creating a session", created.status());
    json j = {{"id", created->record.id}, {"kiosk_code", created->kiosk_code}, {"expires_at", created->record.expires_at},
              {"state", created->record.state}};
    auto r = net::Response::Json(201, j.dump());
    if (created->replayed) r.headers.emplace_back("Idempotent-Replayed", "true");
    return r;
  }

  net::Response Get(const net::Request& req) const {
    const std::string& id = req.params.at("id");
    if (!SafeId(id, 128)) return Err(400, "bad_session_id", "a session id is 1..128 characters of A-Z a-z 0-9 . _ -");
    auto s = store.GetSessionRequest(id, clock().NowUnixSeconds());
    json j;
    if (s.ok()) {
      j = SessionJson(*s);
      if (s->state != "completed") return net::Response::Json(200, j.dump());
    } else if (s.status().code() != "not_found") {
      return StoreTrouble("reading session " + id, s.status());
    }
    // Completed: the decided row (same id). A `veridge verify` session has only that row.
    auto d = store.GetSession(id);
    if (!d.ok() && d.status().code() == "not_found") {
      if (s.ok()) return net::Response::Json(200, j.dump());
      return Err(404, "session_not_found", "no session with this id");
    }
    if (!d.ok()) return StoreTrouble("reading session " + id, d.status());
    if (!s.ok()) j = {{"id", d->session_id}, {"state", "completed"}, {"created_at", d->created_at}};
    j["state"] = "completed";
    j["decision"] = d->decision;
    j["result"] = StoredJson(d->result_json);
    return net::Response::Json(200, j.dump());
  }

  net::Response Cancel(const net::Request& req, const Principal& who) const {
    const std::string& id = req.params.at("id");
    if (!SafeId(id, 128)) return Err(400, "bad_session_id", "a session id is 1..128 characters of A-Z a-z 0-9 . _ -");
    auto s = store.CancelSessionRequest(id, clock().NowUnixSeconds(), "cancelled_by_lender", "api:" + who.token_id);
    if (!s.ok() && s.status().code() == "not_found") return Err(404, "session_not_found", "no session with this id");
    if (!s.ok() && s.status().code() == "invalid_state") return Err(409, "invalid_state", s.status().message());
    if (!s.ok()) return StoreTrouble("cancelling session " + id, s.status());
    return net::Response::Json(200, SessionJson(*s).dump());
  }
};

}  // namespace

Status AddV1Routes(net::Router& router, store::Store& store, SessionApiOptions options) {
  auto api = std::make_shared<Api>(Api{store, std::move(options)});
  VERIDGE_RETURN_IF_ERROR(router.Add({net::Method::kPost, "/v1/sessions", "create a session for the kiosk: id, kiosk_code, expires_at (bearer token)",
                                      RequireBearer(store, [api](const net::Request& r, const Principal& p) { return api->Create(r, p); }),
                                      true}));
  VERIDGE_RETURN_IF_ERROR(router.Add({net::Method::kGet, "/v1/sessions/{id}", "a session's state and, once completed, its result (bearer token)",
                                      RequireBearer(store, [api](const net::Request& r, const Principal&) { return api->Get(r); })}));
  VERIDGE_RETURN_IF_ERROR(router.Add({net::Method::kPost, "/v1/sessions/{id}/cancel", "cancel a session that has not ended (bearer token)",
                                      RequireBearer(store, [api](const net::Request& r, const Principal& p) { return api->Cancel(r, p); }),
                                      true}));
  return router.Add({net::Method::kGet, "/v1/openapi.json", "the OpenAPI 3.1 document of this API (bearer token)",
                     RequireBearer(store, [](const net::Request&, const Principal&) {
                       return net::Response::Json(200, std::string(OpenApiDocument()));
                     })});
}

}  // namespace veridge::api
