// verify/verify.h — one verification session: capture → vision → liveness → certificate → policy,
// producing the decision and the result document that store/ persists and outbox/ delivers.
//
// Contract
//  * A Verifier is built once from VerifyOptions (models are loaded then) and runs sessions one at a
//    time: Run() is not reentrant; use one Verifier per thread.
//  * Run() never throws and never approves on doubt: a factor that cannot be computed (no face in
//    the reference, capture unreadable, model missing) is reported as that factor's error and the
//    policy fails closed. Run() returns a non-ok Status only for bad *session input* the caller must
//    fix (a reference image that cannot be read at all) — those are exit 2 in the CLI.
//  * Bounded: at most options.face.max_frames capture frames are read, every sample_every-th one is
//    analysed, so a 10-minute clip costs what its first max_frames frames cost.
//  * Factors other than face plug in through the FactorProvider seam (liveness, certificate), and
//    the result goes out through ResultSink (store + outbox): both optional, so the face-only
//    session works before those modules are configured — the policy then reports them missing.
//  * The result document (SessionResult::ToJson) is the webhook's `data` (ARCHITECTURE.md): session_id,
//    device_id, applicant_ref, created_at, decision, reasons, factors{face{distance,similarity,
//    threshold,matched,quality}, ...}, evidence[{kind,sha256}]. It holds no image and no descriptor.
//  * Fraud checks (SetScreener): the live face template — the descriptor of the capture frame the
//    face factor ranked best, stored as kind "face_live" — is screened 1:N (fraud::Screener:
//    duplicate_identity, identity_history_mismatch, watchlist_hit), each a policy factor
//    (verify/fraud_checks.h) mapped by PolicyOptions::checks. The sink adds the template to the
//    screener's gallery once the session is committed (persist.h).
#pragma once

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "capture/capture.h"
#include "common/clock.h"
#include "common/status.h"
#include "fraud/fraud.h"
#include "policy/policy.h"
#include "liveness/liveness.h"
#include "vision/vision.h"

namespace veridge::verify {

struct FaceFactorOptions {
  double threshold = 0.6;     // [face].threshold: L2 distance, <= is a match
  int max_frames = 300;       // [face].max_frames: capture frames read at most
  int sample_every = 3;       // [face].sample_every: analyse every Nth frame
  int best_frames = 3;        // [face].best_frames: best-quality frames compared to the reference
  // [face].fatal_quality: quality reasons that fail the factor when every compared frame has them.
  std::vector<std::string> fatal_quality = {"multiple_faces", "face_too_small"};
  // A second face counts (multiple_faces) when its box is at least this fraction of the largest
  // face's width: someone behind the applicant, not a poster far away or a detector false hit.
  double secondary_face_ratio = 0.5;
};

struct VerifyOptions {
  std::string device_id = "unconfigured-device";
  vision::VisionOptions vision;
  capture::CaptureOptions capture;
  FaceFactorOptions face;
  policy::PolicyOptions policy;
};

struct SessionRequest {
  std::filesystem::path reference;  // the reference photo (from the application or ID document)
  std::string capture;              // video file, image, image folder or /dev/videoN
  std::string applicant_ref;        // the lender's reference for the applicant (opaque)
};

// The longest applicant_ref accepted, in bytes (the lender's own reference: an id, not a document).
inline constexpr std::size_t kMaxApplicantRefBytes = 256;

// Checks what the caller gave before anything is captured or loaded, so a bad input never costs
// the applicant a whole biometric session: applicant_ref is valid UTF-8, at most
// kMaxApplicantRefBytes, without control characters; reference and capture are named.
// Code bad_applicant_ref or usage (kInvalidInput: exit 2). Run() calls it first; the CLI calls
// it even before models and the store are opened.
Status ValidateSessionRequest(const SessionRequest& request);

// One piece of evidence kept with the session (encrypted in the store, referenced by sha256 in the
// signed result so the lender can ask for it later and check it).
struct Evidence {
  std::string kind;      // "reference_chip", "capture_frame", "capture_chip"
  std::string mime;      // "image/jpeg"
  std::string bytes;     // encoded image
  std::string sha256;    // hex of bytes
};

// A biometric template kept with the session (encrypted in the store, purged by retention).
struct BiometricTemplate {
  std::string kind;   // "face_reference", "face_probe", "face_live" (fraud::kLiveTemplateKind: the 1:N one)
  std::string data;   // raw little-endian float32 × 128
};

struct FactorReport {
  policy::FactorResult result;   // outcome + reason codes for the policy
  nlohmann::json detail;         // what goes under factors.<name> in the result document
};

struct SessionResult {
  std::string session_id;        // random UUID v4
  std::string device_id;
  std::string applicant_ref;
  std::string created_at;        // RFC 3339 UTC
  policy::DecisionResult decision;
  std::vector<FactorReport> factors;
  std::vector<Evidence> evidence;
  std::vector<BiometricTemplate> templates;  // never in the result document
  // Where the signed result went (filled by the ResultSink): e.g. {"stored":true,"outbox_id":..}.
  nlohmann::json delivery = nlohmann::json::object();

  nlohmann::json ToJson() const;
};

// Context handed to extra factors: the session so far and the frames the face factor kept.
struct SessionContext {
  const SessionRequest& request;
  const std::string& session_id;
};

// A factor other than face (liveness, certificate): computed from the request.
class FactorProvider {
 public:
  virtual ~FactorProvider() = default;
  virtual std::string name() const = 0;
  virtual FactorReport Evaluate(const SessionContext& ctx) = 0;
};

// Where a finished session goes (store + outbox, in one transaction). Returns what to report
// under SessionResult::delivery, or an error (the CLI then exits 3: nothing was lost, nothing sent).
class ResultSink {
 public:
  virtual ~ResultSink() = default;
  virtual Result<nlohmann::json> Commit(const SessionResult& result) = 0;
};

class FrameSampler;  // verify.cpp: the face factor's frames and candidates

class Verifier {
 public:
  static Result<std::unique_ptr<Verifier>> Create(const VerifyOptions& options, const Clock& clock = SystemClock::Instance());
  ~Verifier();

  void AddFactor(std::unique_ptr<FactorProvider> provider);
  // Enables the liveness factor. The capture is then read once, by liveness, and the face factor
  // samples the same frames as they are read (for a camera: the same moment, not a second window),
  // within liveness's time bound, and also compares the best frame liveness chose.
  void SetLiveness(std::unique_ptr<liveness::LivenessChecker> checker, liveness::CheckRequest request);
  void SetSink(ResultSink* sink);  // not owned; may be null
  // Enables the 1:N fraud checks on every session. Not owned; may be null (the checks are then
  // not run and the result has no fraud factors).
  void SetScreener(fraud::Screener* screener);

  Result<SessionResult> Run(const SessionRequest& request);

 private:
  Verifier(const VerifyOptions& options, const Clock& clock, std::unique_ptr<vision::FaceAnalyzer> analyzer);
  // The capture is read once: by liveness (which hands each frame to the sampler) when it is on,
  // else by ReadCapture.
  FactorReport LivenessFactor(const SessionRequest& request, FrameSampler& sampler, cv::Mat* best_frame);
  void ReadCapture(const SessionRequest& request, FrameSampler& sampler);
  FactorReport FaceFactor(const vision::FaceAnalysis& reference, const FrameSampler& sampler, SessionResult& out);

  VerifyOptions options_;
  const Clock& clock_;
  std::unique_ptr<vision::FaceAnalyzer> analyzer_;
  std::vector<std::unique_ptr<FactorProvider>> providers_;
  std::unique_ptr<liveness::LivenessChecker> liveness_;
  liveness::CheckRequest liveness_request_;
  ResultSink* sink_ = nullptr;
  fraud::Screener* screener_ = nullptr;
};

// A random RFC 4122 version-4 UUID from the OS CSPRNG.
std::string NewSessionId();
// RFC 3339 UTC with milliseconds: "2026-11-23T20:55:01.123Z".
std::string FormatRfc3339(std::chrono::system_clock::time_point t);

}  // namespace veridge::verify
