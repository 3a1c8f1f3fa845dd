#include "verify/verify.h"

#include <sys/random.h>

#include <algorithm>
#include <cstring>
#include <cstdio>
#include <ctime>
#include <functional>
#include <optional>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "common/sha256.h"
#include "verify/fraud_checks.h"
#include "vision/models.h"

namespace veridge::verify {

std::string NewSessionId() {
  unsigned char b[16];
  size_t got = 0;
  while (got < sizeof b) {
    ssize_t n = ::getrandom(b + got, sizeof b - got, 0);
    if (n > 0) got += static_cast<size_t>(n);
  }
  b[6] = (b[6] & 0x0F) | 0x40;  // version 4
  b[8] = (b[8] & 0x3F) | 0x80;  // RFC 4122 variant
  char out[37];
  std::snprintf(out, sizeof out, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2],
                b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
  return out;
}

namespace {

// Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF. Control
// characters (C0, DEL) are refused too: the reference ends up in logs, JSON and the console.
bool IsCleanUtf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7F) return false;
    if (c < 0x80) {
      ++i;
      continue;
    }
    int len = 0;
    std::uint32_t cp = 0;
    if (c >= 0xC2 && c <= 0xDF) len = 2, cp = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF) len = 3, cp = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4) len = 4, cp = c & 0x07;
    else return false;
    if (i + static_cast<std::size_t>(len) > s.size()) return false;
    for (int k = 1; k < len; ++k) {
      const unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    if (cp >= 0x80 && cp <= 0x9F) return false;  // C1 controls
    i += static_cast<std::size_t>(len);
  }
  return true;
}

}  // namespace

Status ValidateSessionRequest(const SessionRequest& request) {
  if (request.reference.empty()) return Status::InvalidInput("usage", "no reference image given");
  if (request.capture.empty()) return Status::InvalidInput("usage", "no capture given (video file, image, image folder or /dev/videoN)");
  if (request.applicant_ref.size() > kMaxApplicantRefBytes)
    return Status::InvalidInput("bad_applicant_ref", "the applicant reference is " + std::to_string(request.applicant_ref.size()) +
                                                         " bytes, over the limit of " + std::to_string(kMaxApplicantRefBytes) +
                                                         "; give the lender's id for the applicant, not a document");
  if (!IsCleanUtf8(request.applicant_ref))
    return Status::InvalidInput("bad_applicant_ref", "the applicant reference is not valid UTF-8 text (or holds control characters); "
                                                     "give the lender's id for the applicant as plain text");
  return Status::Ok();
}

std::string FormatRfc3339(std::chrono::system_clock::time_point t) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
  return buf;
}

namespace {

Evidence MakeEvidence(const std::string& kind, const cv::Mat& image, int max_side) {
  cv::Mat img = image;
  int longest = std::max(img.cols, img.rows);
  if (longest > max_side) {
    double s = static_cast<double>(max_side) / longest;
    cv::resize(image, img, cv::Size(), s, s, cv::INTER_AREA);
  }
  std::vector<uchar> buf;
  cv::imencode(".jpg", img, buf, {cv::IMWRITE_JPEG_QUALITY, 90});
  Evidence e{kind, "image/jpeg", std::string(buf.begin(), buf.end()), ""};
  e.sha256 = Sha256Hex(e.bytes);
  return e;
}

nlohmann::json QualityJson(const vision::QualityReport& q) {
  return {{"face_px", q.face_px},       {"sharpness", q.sharpness},   {"brightness", q.brightness},
          {"yaw_ratio", q.yaw_ratio},   {"eye_aspect", q.eye_aspect}, {"face_count", q.face_count},
          {"reasons", q.reasons}};
}

// A frame kept as a candidate for the comparison.
struct Candidate {
  std::int64_t frame_index = 0;
  double timestamp_ms = 0;
  vision::Landmarks68 landmarks{};
  cv::Mat chip;
  cv::Mat frame;
  vision::QualityReport quality;
  // Ranking: frames without quality problems first, then sharper and larger faces.
  double Score() const {
    return (quality.ok() ? 1e9 : 0.0) - 1e6 * static_cast<double>(quality.reasons.size()) +
           quality.sharpness * std::min(quality.face_px, 300);
  }
};

// A second face counts only when it is at least `ratio` of the largest face's width (boxes come
// largest first): someone behind the applicant, not a poster far away or a false detection.
bool SeveralFaces(const std::vector<cv::Rect>& boxes, double ratio) {
  return boxes.size() > 1 && boxes[1].width >= ratio * boxes[0].width;
}

bool Contains(const std::vector<std::string>& v, const std::string& s) { return std::find(v.begin(), v.end(), s) != v.end(); }

// Hands every frame it reads to an observer as well, so that liveness and the face factor see the
// same frames from ONE read of the capture. For a camera this is what makes the match come from
// the moment liveness judged live: reading the device twice would give two different moments.
class TeeSource : public capture::FrameSource {
 public:
  TeeSource(capture::FrameSource& inner, std::function<void(const capture::Frame&)> observer)
      : inner_(inner), observer_(std::move(observer)) {}
  Result<std::optional<capture::Frame>> Next() override {
    auto next = inner_.Next();
    if (!next.ok()) error_ = next.status();
    else if (next->has_value()) observer_(**next);
    return next;
  }
  const capture::SourceInfo& info() const override { return inner_.info(); }
  bool truncated() const override { return inner_.truncated(); }
  const Status& error() const { return error_; }  // the read error that ended the stream, if any

 private:
  capture::FrameSource& inner_;
  std::function<void(const capture::Frame&)> observer_;
  Status error_;
};

}  // namespace

// The face factor's view of the capture, fed one frame at a time (by its own read, or alongside
// liveness): analyses every sample_every-th frame of the first max_frames (and of the first
// max_duration_ms of source time) and keeps the best_frames best candidates. Stops at the first
// analysis error, which the factor then reports.
class FrameSampler {
 public:
  FrameSampler(vision::FaceAnalyzer& analyzer, const FaceFactorOptions& options, double max_duration_ms)
      : analyzer_(analyzer), options_(options), max_duration_ms_(max_duration_ms) {}

  void Offer(const capture::Frame& frame) {
    if (!error.ok()) return;
    if (frames_read == 0) first_timestamp_ms_ = frame.timestamp_ms;
    if (frames_read >= options_.max_frames || frame.timestamp_ms - first_timestamp_ms_ > max_duration_ms_) {
      cut = true;
      return;
    }
    if (frames_read++ % options_.sample_every != 0) return;
    ++analysed;
    auto boxes = analyzer_.Detect(frame.bgr);
    if (!boxes.ok()) {
      error = boxes.status();
      return;
    }
    if (boxes->empty()) {
      ++without;
      return;
    }
    const bool several = SeveralFaces(*boxes, options_.secondary_face_ratio);
    if (several) ++with_several;
    else ++with_one_face;
    auto c = MakeCandidate(frame.bgr, *boxes, several);
    if (!c) return;
    c->frame_index = frame.index;
    c->timestamp_ms = frame.timestamp_ms;
    if (static_cast<int>(best.size()) < options_.best_frames || c->Score() > best.back().Score()) {
      c->frame = frame.bgr.clone();
      Keep(std::move(*c));
    }
  }

  // The frame liveness chose competes with the sampled ones (it is inside the live segment too).
  void OfferLivenessFrame(const cv::Mat& frame) {
    auto boxes = analyzer_.Detect(frame);
    if (!boxes.ok() || boxes->empty()) return;
    const bool several = SeveralFaces(*boxes, options_.secondary_face_ratio);
    auto c = MakeCandidate(frame, *boxes, several);
    if (!c) return;
    if (several) ++with_several;
    c->frame_index = -1;
    c->frame = frame;
    Keep(std::move(*c));
  }

  std::vector<Candidate> best;  // at most best_frames, best first
  int frames_read = 0, analysed = 0, with_one_face = 0, with_several = 0, without = 0;
  bool cut = false;       // frames past max_frames / max_duration_ms were left out
  Status error;           // analysis error (the detector failed)
  Status capture_error;   // the capture could not be opened or read to its end
  bool truncated = false; // the capture source itself was cut at its bounds

 private:
  std::optional<Candidate> MakeCandidate(const cv::Mat& bgr, const std::vector<cv::Rect>& boxes, bool several) {
    const cv::Rect& box = boxes.front();  // largest first
    auto lm = analyzer_.Landmarks(bgr, box);
    if (!lm.ok()) return std::nullopt;
    auto chip = analyzer_.AlignChip(bgr, *lm);
    if (!chip.ok()) return std::nullopt;
    Candidate c;
    c.landmarks = *lm;
    c.chip = *chip;
    c.quality = analyzer_.Quality(box, *lm, *chip, several ? static_cast<int>(boxes.size()) : 1);
    return c;
  }

  void Keep(Candidate c) {
    best.push_back(std::move(c));
    std::sort(best.begin(), best.end(), [](const Candidate& a, const Candidate& b) { return a.Score() > b.Score(); });
    if (static_cast<int>(best.size()) > options_.best_frames) best.pop_back();
  }

  vision::FaceAnalyzer& analyzer_;
  const FaceFactorOptions& options_;
  double max_duration_ms_;
  double first_timestamp_ms_ = 0;
};

nlohmann::json SessionResult::ToJson() const {
  nlohmann::json factors_json = nlohmann::json::object();
  for (const auto& f : factors) {
    nlohmann::json d = f.detail.is_object() ? f.detail : nlohmann::json::object();
    d["outcome"] = policy::OutcomeName(f.result.outcome);
    d["reasons"] = f.result.reasons;
    factors_json[f.result.name] = d;
  }
  nlohmann::json ev = nlohmann::json::array();
  for (const auto& e : evidence) ev.push_back({{"kind", e.kind}, {"mime", e.mime}, {"sha256", e.sha256}, {"bytes", e.bytes.size()}});
  nlohmann::json j = {{"session_id", session_id},
                      {"device_id", device_id},
                      {"applicant_ref", applicant_ref},
                      {"created_at", created_at},
                      {"decision", policy::DecisionName(decision.decision)},
                      {"reasons", decision.reasons},
                      {"factors", factors_json},
                      {"evidence", ev}};
  if (!delivery.empty()) j["delivery"] = delivery;
  return j;
}

Verifier::Verifier(const VerifyOptions& options, const Clock& clock, std::unique_ptr<vision::FaceAnalyzer> analyzer)
    : options_(options), clock_(clock), analyzer_(std::move(analyzer)) {}
Verifier::~Verifier() = default;

Result<std::unique_ptr<Verifier>> Verifier::Create(const VerifyOptions& options, const Clock& clock) {
  if (options.face.sample_every < 1 || options.face.best_frames < 1 || options.face.max_frames < 1)
    return Status::InvalidInput("bad_option", "[face] sample_every, best_frames and max_frames must be at least 1");
  auto analyzer = vision::FaceAnalyzer::Create(options.vision);
  if (!analyzer.ok()) return analyzer.status();
  return std::unique_ptr<Verifier>(new Verifier(options, clock, std::move(*analyzer)));
}

void Verifier::AddFactor(std::unique_ptr<FactorProvider> provider) { providers_.push_back(std::move(provider)); }
void Verifier::SetSink(ResultSink* sink) { sink_ = sink; }
void Verifier::SetScreener(fraud::Screener* screener) { screener_ = screener; }

void Verifier::SetLiveness(std::unique_ptr<liveness::LivenessChecker> checker, liveness::CheckRequest request) {
  liveness_ = std::move(checker);
  liveness_request_ = std::move(request);
}

FactorReport Verifier::LivenessFactor(const SessionRequest& request, FrameSampler& sampler, cv::Mat* best_frame) {
  FactorReport rep;
  rep.result.name = "liveness";
  auto source = capture::OpenSource(request.capture, options_.capture);
  if (!source.ok()) {
    sampler.capture_error = source.status();
    rep.result.outcome = policy::Outcome::kError;
    rep.result.reasons.push_back(source.status().code());
    rep.detail["message"] = source.status().message();
    return rep;
  }
  TeeSource tee(**source, [&sampler](const capture::Frame& f) { sampler.Offer(f); });
  auto r = liveness_->Check(tee, liveness_request_);
  sampler.capture_error = tee.error();
  sampler.truncated = tee.truncated();
  if (!r.ok()) {
    rep.result.outcome = policy::Outcome::kError;
    rep.result.reasons.push_back(r.status().code());
    rep.detail["message"] = r.status().message();
    return rep;
  }
  rep.detail = liveness::ToJson(*r);
  rep.detail.erase("reasons");  // carried in result.reasons
  rep.result.outcome = r->live ? policy::Outcome::kPassed : policy::Outcome::kFailed;
  rep.result.reasons = r->reasons;
  if (r->live && !r->best_frame.empty()) *best_frame = r->best_frame;
  return rep;
}

void Verifier::ReadCapture(const SessionRequest& request, FrameSampler& sampler) {
  capture::CaptureOptions co = options_.capture;
  co.max_frames = std::min<std::int64_t>(co.max_frames, options_.face.max_frames);
  auto source = capture::OpenSource(request.capture, co);
  if (!source.ok()) {
    sampler.capture_error = source.status();
    return;
  }
  while (true) {
    auto next = (*source)->Next();
    if (!next.ok()) {
      sampler.capture_error = next.status();
      return;
    }
    if (!next->has_value()) break;
    sampler.Offer(**next);
  }
  sampler.truncated = (*source)->truncated();
}

FactorReport Verifier::FaceFactor(const vision::FaceAnalysis& reference, const FrameSampler& sampler, SessionResult& out) {
  std::vector<Evidence>& evidence = out.evidence;
  FactorReport rep;
  rep.result.name = "face";
  const auto& fo = options_.face;
  auto fail = [&](policy::Outcome o, const std::string& code, const std::string& message) {
    rep.result.outcome = o;
    rep.result.reasons.push_back(code);
    rep.detail["message"] = message;
    return rep;
  };
  for (const Status* st : {&sampler.capture_error, &sampler.error})
    if (!st->ok()) return fail(policy::Outcome::kError, st->code(), st->message());
  rep.detail["frames"] = {{"read", sampler.frames_read},         {"analysed", sampler.analysed},
                          {"one_face", sampler.with_one_face},   {"several_faces", sampler.with_several},
                          {"no_face", sampler.without},          {"truncated", sampler.truncated || sampler.cut}};
  const std::vector<Candidate>& best = sampler.best;
  const int with_several = sampler.with_several;
  if (best.empty()) return fail(policy::Outcome::kFailed, "no_face_in_capture", "no face was found in the capture; ask the applicant to face the camera");

  std::vector<double> distances;
  for (const auto& c : best) {
    auto d = analyzer_->Describe(c.chip);
    if (!d.ok()) return fail(policy::Outcome::kError, d.status().code(), d.status().message());
    distances.push_back(vision::Distance(reference.descriptor, *d));
    std::string bytes(reinterpret_cast<const char*>(d->data()), sizeof(float) * d->size());
    // The best-ranked frame's descriptor is also the session's live template for the 1:N checks.
    if (&c == &best.front()) out.templates.push_back({fraud::kLiveTemplateKind, bytes});
    out.templates.push_back({"face_probe", std::move(bytes)});
  }
  // The median of the best frames' distances: one lucky frame cannot carry a match, one bad one
  // cannot sink it.
  std::vector<double> sorted = distances;
  std::sort(sorted.begin(), sorted.end());
  double median = sorted.size() % 2 ? sorted[sorted.size() / 2]
                                    : 0.5 * (sorted[sorted.size() / 2 - 1] + sorted[sorted.size() / 2]);
  // Same similarity scale and match rule as `veridge face compare` (vision::Compare).
  const vision::Comparison cmp = vision::CompareDistance(median, fo.threshold);

  const Candidate& top = best.front();
  std::vector<std::string> quality_reasons = top.quality.reasons;
  if (with_several > 0 && !Contains(quality_reasons, "multiple_faces")) quality_reasons.push_back("multiple_faces");
  rep.detail["distance"] = cmp.distance;
  rep.detail["similarity"] = cmp.similarity;
  rep.detail["threshold"] = cmp.threshold;
  rep.detail["matched"] = cmp.match;
  rep.detail["frame_distances"] = distances;
  rep.detail["best_frame"] = {{"index", top.frame_index}, {"timestamp_ms", top.timestamp_ms},
                              {"chosen_by", top.frame_index < 0 ? "liveness" : "face"}};
  nlohmann::json q = QualityJson(top.quality);
  q["reasons"] = quality_reasons;
  q["reference"] = QualityJson(reference.quality);
  rep.detail["quality"] = q;

  evidence.push_back(MakeEvidence("capture_chip", top.chip, 150));
  evidence.push_back(MakeEvidence("capture_frame", top.frame, 640));

  std::vector<std::string> fatal;
  for (const auto& r : quality_reasons)
    if (Contains(fo.fatal_quality, r)) fatal.push_back(r);
  for (const auto& r : reference.quality.reasons)
    if (Contains(fo.fatal_quality, r)) fatal.push_back("reference_" + r);
  if (!cmp.match) {
    rep.result.outcome = policy::Outcome::kFailed;
    rep.result.reasons.push_back("no_match");
  } else if (!fatal.empty()) {
    rep.result.outcome = policy::Outcome::kFailed;
  } else {
    rep.result.outcome = policy::Outcome::kPassed;
  }
  for (const auto& r : fatal) rep.result.reasons.push_back("quality_" + r);
  return rep;
}

Result<SessionResult> Verifier::Run(const SessionRequest& request) {
  VERIDGE_RETURN_IF_ERROR(ValidateSessionRequest(request));
  SessionResult out;
  out.session_id = NewSessionId();
  out.device_id = options_.device_id;
  out.applicant_ref = request.applicant_ref;
  out.created_at = FormatRfc3339(clock_.Now());

  // The reference is the caller's input: if it cannot be used, the session cannot start (exit 2).
  auto ref_img = vision::DecodeImageFile(request.reference, options_.vision.limits);
  if (!ref_img.ok()) return ref_img.status().WithContext("reference image " + request.reference.string());
  auto reference = analyzer_->AnalyzeSingleFace(*ref_img);
  if (!reference.ok()) return reference.status().WithContext("reference image " + request.reference.string());
  out.evidence.push_back(MakeEvidence("reference_chip", reference->chip, 150));
  out.templates.push_back({"face_reference", std::string(reinterpret_cast<const char*>(reference->descriptor.data()),
                                                         sizeof(float) * reference->descriptor.size())});

  // One read of the capture feeds both factors. With liveness on, the face factor samples the very
  // frames liveness reads, within its time bound (the match comes from the live segment), and the
  // best frame liveness chose competes with them.
  FrameSampler sampler(*analyzer_, options_.face,
                       liveness_ ? std::min(options_.capture.max_duration_ms, liveness_->options().max_session_ms)
                                 : options_.capture.max_duration_ms);
  std::optional<FactorReport> live;
  if (liveness_) {
    cv::Mat live_best_frame;
    live = LivenessFactor(request, sampler, &live_best_frame);
    if (!live_best_frame.empty() && sampler.capture_error.ok() && sampler.error.ok())
      sampler.OfferLivenessFrame(live_best_frame);
  } else {
    ReadCapture(request, sampler);
  }
  out.factors.push_back(FaceFactor(*reference, sampler, out));
  if (live) out.factors.push_back(std::move(*live));
  SessionContext ctx{request, out.session_id};
  for (auto& p : providers_) out.factors.push_back(p->Evaluate(ctx));
  if (screener_) {
    std::optional<Result<fraud::ScreenResult>> screened;
    for (const auto& t : out.templates) {
      if (t.kind != fraud::kLiveTemplateKind) continue;
      std::vector<float> live(t.data.size() / sizeof(float));
      std::memcpy(live.data(), t.data.data(), live.size() * sizeof(float));
      screened.emplace(screener_->Screen(live, request.applicant_ref));
      std::fill(live.begin(), live.end(), 0.0f);
    }
    for (auto& f : FraudFactors(screened, options_.policy)) out.factors.push_back(std::move(f));
  }

  std::vector<policy::FactorResult> results;
  for (const auto& f : out.factors) results.push_back(f.result);
  out.decision = policy::Decide(results, options_.policy);

  if (sink_) {
    auto delivered = sink_->Commit(out);
    if (!delivered.ok()) return delivered.status().WithContext("persisting session " + out.session_id);
    out.delivery = *delivered;
  }
  return out;
}

}  // namespace veridge::verify
