// verify/: the 1:N fraud checks on whole sessions — real faces (tv-cast-a) through the real models,
// a real encrypted store (SQLCipher) and the signed result: duplicate_identity,
// identity_history_mismatch, watchlist_hit (through the in-memory seam), the [policy] mapping,
// retention purges and a damaged stored template.
// The duplicate pair is amy2/amy5: 0.308 apart with this pipeline, below the 1:N threshold 0.348
// (list size 1000). Of tv-cast-a's 10 amy pairs it is the only one below it (the next is 0.355):
// docs/fraud.md's FNIR of ~67 % at that threshold, seen on real faces. Different people in the set
// are >= 0.64 apart, so "a different person" is far from every threshold used.
#include <nlohmann/json.hpp>

#include "fraud/fraud.h"
#include "store/store_fixture.h"
#include "verify/fraud_checks.h"
#include "verify/persist.h"
#include "verify/sink_fixture.h"
#include "verify/verify.h"
#include "vision/vision.h"

using namespace veridge;
using veridge::testing::SharedData;

namespace {

#define REQUIRE_FACES()                                                                                      \
  VERIDGE_REQUIRE_PATH(testing::DevModelDir() / "dlib_face_recognition_resnet_model_v1.dat",                \
                       "converted face model (run tools/fetch-models.sh)");                                 \
  VERIDGE_REQUIRE_PATH(SharedData("faces/tv-cast-a/amy/amy1.png"), "tv-cast-a faces")

std::filesystem::path Face(const std::string& name) {
  return SharedData("faces/tv-cast-a/" + name.substr(0, name.find_first_of("0123456789")) + "/" + name + ".png");
}

// One appliance: the real store, the device signer, the gallery built from the store, and a
// face-only verifier whose policy maps the fraud checks as given.
struct Appliance {
  explicit Appliance(policy::CheckAction action = policy::CheckAction::kReview, const fraud::Watchlist* watchlist = nullptr) {
    fraud::ScreenOptions so;
    so.list_size = 1000;  // the example config's default: threshold 0.348
    auto loaded = fraud::Screener::Load(*f.db, so, watchlist);
    REQUIRE(loaded.ok());
    screener = std::move(*loaded);
    Rebuild(action);
  }
  // A verifier with another policy mapping on the same store and gallery.
  void Rebuild(policy::CheckAction action) {
    verify::VerifyOptions o;
    o.vision.model_dir = testing::DevModelDir();
    o.policy.require = {"face"};
    for (auto& [check, a] : o.policy.checks) a = action;
    auto v = verify::Verifier::Create(o);
    REQUIRE(v.ok());
    verifier = std::move(*v);
    verifier->SetSink(&sink);
    verifier->SetScreener(screener.get());
    sink.SetScreener(screener.get());
  }
  verify::SessionResult Run(const std::string& reference, const std::string& capture, const std::string& applicant_ref) {
    auto r = verifier->Run({Face(reference), Face(capture).string(), applicant_ref});
    INFO(r.status().ToString());
    REQUIRE(r.ok());
    return std::move(*r);
  }

  testing::SinkFixture f;
  verify::StoreSink sink{*f.db, *f.signer, "https://lender.test/hook", f.so.path.string(), std::chrono::seconds(0),
                         SystemClock::Instance()};
  std::unique_ptr<fraud::Screener> screener;
  std::unique_ptr<verify::Verifier> verifier;
};

const verify::FactorReport& Factor(const verify::SessionResult& r, const std::string& name) {
  for (const auto& f : r.factors)
    if (f.result.name == name) return f;
  FAIL("no factor " << name);
  throw std::logic_error("unreachable");
}

bool HasReason(const verify::SessionResult& r, const std::string& code) {
  return std::find(r.decision.reasons.begin(), r.decision.reasons.end(), code) != r.decision.reasons.end();
}

// The signed result the lender receives for this session (the JWS payload in the outbox row).
nlohmann::json SignedResult(store::Store& db, const std::string& session_id) {
  auto rows = db.ListOutbox(std::nullopt, 1000);
  REQUIRE(rows.ok());
  for (const auto& row : *rows)
    if (row.session_id == session_id) return nlohmann::json::parse(row.payload)["data"];
  FAIL("no outbox row for " << session_id);
  return {};
}

}  // namespace

TEST_CASE("The same person under two applicant refs is duplicate_identity; a different person is not") {
  REQUIRE_FACES();
  Appliance a;
  auto first = a.Run("amy1", "amy2", "APP-A");
  INFO(first.ToJson().dump());
  CHECK(first.decision.decision == policy::Decision::kApproved);
  CHECK(Factor(first, "duplicate_identity").result.outcome == policy::Outcome::kPassed);
  CHECK(Factor(first, "duplicate_identity").detail["searched"] == 0);
  CHECK(a.screener->size() == 1);  // the commit added the session's live template to the gallery

  auto second = a.Run("amy1", "amy5", "APP-B");
  INFO(second.ToJson().dump());
  const auto& dup = Factor(second, "duplicate_identity");
  CHECK(dup.result.outcome == policy::Outcome::kFailed);
  REQUIRE(dup.detail["hits"].size() == 1);
  CHECK(dup.detail["hits"][0]["session_id"] == first.session_id);
  CHECK(dup.detail["hits"][0]["distance"].get<double>() < 0.348);
  CHECK(dup.detail["threshold"].get<double>() == Approx(0.348));
  CHECK(dup.detail["action"] == "review");
  CHECK(second.decision.decision == policy::Decision::kReview);
  CHECK(HasReason(second, "duplicate_identity"));
  // No history under APP-B yet, and no watchlist on this appliance (import is not built).
  CHECK(Factor(second, "identity_history_mismatch").result.outcome == policy::Outcome::kPassed);
  CHECK(Factor(second, "identity_history_mismatch").detail["earlier_sessions"] == 0);
  CHECK(Factor(second, "watchlist_hit").result.outcome == policy::Outcome::kMissing);
  CHECK(Factor(second, "watchlist_hit").detail["checked"] == false);

  // The hit is in the signed result, by session id and distance; no template is.
  auto signed_doc = SignedResult(*a.f.db, second.session_id);
  CHECK(signed_doc["factors"]["duplicate_identity"]["hits"][0]["session_id"] == first.session_id);
  CHECK(std::find(signed_doc["reasons"].begin(), signed_doc["reasons"].end(), "duplicate_identity") != signed_doc["reasons"].end());
  const std::string text = signed_doc.dump();
  CHECK(text.find("face_live") == std::string::npos);
  CHECK(text.size() < 12000);

  auto other = a.Run("raj1", "raj2", "APP-C");
  INFO(other.ToJson().dump());
  CHECK(Factor(other, "duplicate_identity").result.outcome == policy::Outcome::kPassed);
  CHECK(Factor(other, "duplicate_identity").detail["searched"] == 2);
  CHECK(Factor(other, "duplicate_identity").detail["hits"].empty());
  CHECK(other.decision.decision == policy::Decision::kApproved);
  CHECK_FALSE(HasReason(other, "duplicate_identity"));
}

TEST_CASE("The same applicant_ref with a different person's face is identity_history_mismatch") {
  REQUIRE_FACES();
  Appliance a;
  auto first = a.Run("amy1", "amy2", "APP-7");
  CHECK(first.decision.decision == policy::Decision::kApproved);
  auto again = a.Run("amy1", "amy3", "APP-7");  // the same person comes back: no mismatch
  INFO(again.ToJson().dump());
  CHECK(Factor(again, "identity_history_mismatch").result.outcome == policy::Outcome::kPassed);
  CHECK(Factor(again, "identity_history_mismatch").detail["earlier_sessions"] == 1);
  CHECK(again.decision.decision == policy::Decision::kApproved);

  // Someone else under APP-7, with a reference photo of themselves (so the 1:1 face factor passes).
  auto borrowed = a.Run("raj1", "raj2", "APP-7");
  INFO(borrowed.ToJson().dump());
  CHECK(Factor(borrowed, "face").result.outcome == policy::Outcome::kPassed);
  const auto& mismatch = Factor(borrowed, "identity_history_mismatch");
  CHECK(mismatch.result.outcome == policy::Outcome::kFailed);
  CHECK(mismatch.detail["earlier_sessions"] == 2);
  REQUIRE(mismatch.detail["hits"].size() == 2);
  for (const auto& h : mismatch.detail["hits"]) {
    CHECK((h["session_id"] == first.session_id || h["session_id"] == again.session_id));
    CHECK(h["distance"].get<double>() > 0.6);
  }
  CHECK(borrowed.decision.decision == policy::Decision::kReview);
  CHECK(HasReason(borrowed, "identity_history_mismatch"));
  CHECK_FALSE(HasReason(borrowed, "duplicate_identity"));
}

TEST_CASE("[policy] reject, review and ignore each change the decision on a duplicate as configured") {
  REQUIRE_FACES();
  Appliance a;
  REQUIRE(a.Run("amy1", "amy2", "APP-A").decision.decision == policy::Decision::kApproved);
  const std::pair<policy::CheckAction, policy::Decision> cases[] = {{policy::CheckAction::kReject, policy::Decision::kRejected},
                                                                    {policy::CheckAction::kReview, policy::Decision::kReview},
                                                                    {policy::CheckAction::kIgnore, policy::Decision::kApproved}};
  int n = 0;
  for (const auto& [action, expected] : cases) {
    a.Rebuild(action);
    // A new applicant ref each time, so only the duplicate check has something to say.
    auto r = a.Run("amy1", "amy5", "APP-DUP-" + std::to_string(n++));
    INFO(policy::CheckActionName(action) << ": " << r.ToJson().dump());
    CHECK(Factor(r, "duplicate_identity").result.outcome == policy::Outcome::kFailed);
    CHECK(Factor(r, "duplicate_identity").detail["action"] == policy::CheckActionName(action));
    CHECK(r.decision.decision == expected);
    CHECK(HasReason(r, "duplicate_identity"));  // reported whatever the action
  }
}

TEST_CASE("A retention purge removes the templates from the index: a purged face no longer produces a hit") {
  REQUIRE_FACES();
  Appliance a;
  auto first = a.Run("amy1", "amy2", "APP-A");
  auto hit = a.Run("amy1", "amy5", "APP-B");
  REQUIRE(Factor(hit, "duplicate_identity").result.outcome == policy::Outcome::kFailed);
  const std::int64_t now = SystemClock::Instance().NowUnixSeconds();
  auto rep = a.screener->PurgeBiometrics(now + 1, now + 1);  // every session so far is older than the cutoff
  REQUIRE(rep.ok());
  CHECK(rep->sessions == 2);
  CHECK(a.screener->size() == 0);
  auto after = a.Run("amy1", "amy5", "APP-C");
  INFO(after.ToJson().dump());
  CHECK(Factor(after, "duplicate_identity").result.outcome == policy::Outcome::kPassed);
  CHECK(Factor(after, "duplicate_identity").detail["hits"].empty());
  CHECK(after.decision.decision == policy::Decision::kApproved);
}

TEST_CASE("A damaged stored template fails the checks closed with a clear error, and no hit is invented") {
  REQUIRE_FACES();
  {
    Appliance a;
    a.Run("amy1", "amy2", "APP-A");
    // Someone with the store key (or a bad disk the page HMAC missed) cuts the stored template short.
    REQUIRE(testing::RawExec(a.f.so.path, a.f.so.key_file, "UPDATE descriptors SET data = x'0102' WHERE kind = 'face_live'") == SQLITE_OK);
    // The next start builds the gallery from the store and meets the damage.
    auto rebuilt = fraud::Screener::Load(*a.f.db, fraud::ScreenOptions{});
    REQUIRE(rebuilt.ok());
    a.screener = std::move(*rebuilt);
    a.Rebuild(policy::CheckAction::kReview);
    auto r = a.Run("amy1", "amy5", "APP-B");  // the same person: a hit, had the gallery been sound
    INFO(r.ToJson().dump());
    for (const char* check : policy::kFraudChecks) {
      const auto& f = Factor(r, check);
      CHECK(f.result.outcome == policy::Outcome::kError);
      CHECK(f.result.reasons == std::vector<std::string>{"template_damaged"});
      CHECK(f.detail["message"].get<std::string>().find("stored template 2") != std::string::npos);
      CHECK_FALSE(f.detail.contains("hits"));
      CHECK_FALSE(HasReason(r, check));  // no hit is invented ...
      CHECK(HasReason(r, std::string(check) + "_error"));  // ... and the session is not approved
    }
    CHECK(r.decision.decision == policy::Decision::kReview);
    a.Rebuild(policy::CheckAction::kReject);
    CHECK(a.Run("amy1", "amy5", "APP-C").decision.decision == policy::Decision::kRejected);
  }
}

TEST_CASE("A watchlisted person is watchlist_hit with the entry id and score; a person not on the list is not") {
  REQUIRE_FACES();
  // The watchlist's storage and signed import are issue 15 part 3 (not built): the list is filled
  // here through the seam, from a real photo, as the import will.
  vision::VisionOptions vo;
  vo.model_dir = testing::DevModelDir();
  auto analyzer = vision::FaceAnalyzer::Create(vo);
  REQUIRE(analyzer.ok());
  auto img = vision::DecodeImageFile(Face("amy2"));
  REQUIRE(img.ok());
  auto listed = (*analyzer)->AnalyzeSingleFace(*img);
  REQUIRE(listed.ok());
  fraud::Watchlist list;
  REQUIRE(list.Add("wl-2026-0042", listed->descriptor).ok());

  Appliance a(policy::CheckAction::kReview, &list);
  auto hit = a.Run("amy1", "amy5", "");
  INFO(hit.ToJson().dump());
  const auto& w = Factor(hit, "watchlist_hit");
  CHECK(w.result.outcome == policy::Outcome::kFailed);
  CHECK(w.detail["entries"] == 1);
  REQUIRE(w.detail["hits"].size() == 1);
  CHECK(w.detail["hits"][0]["entry_id"] == "wl-2026-0042");
  CHECK(w.detail["hits"][0]["distance"].get<double>() < 0.348);
  CHECK(hit.decision.decision == policy::Decision::kReview);
  CHECK(HasReason(hit, "watchlist_hit"));
  // Without an applicant_ref the identity checks do not run, and say why.
  CHECK(Factor(hit, "duplicate_identity").result.outcome == policy::Outcome::kMissing);

  auto clean = a.Run("raj1", "raj2", "");
  CHECK(Factor(clean, "watchlist_hit").result.outcome == policy::Outcome::kPassed);
  CHECK(clean.decision.decision == policy::Decision::kApproved);
}

TEST_CASE("FraudFactors: no live template means not run, never passed") {
  auto f = verify::FraudFactors(std::nullopt, policy::PolicyOptions{});
  REQUIRE(f.size() == 3);
  for (const auto& r : f) {
    CHECK(r.result.outcome == policy::Outcome::kMissing);
    CHECK(r.detail["checked"] == false);
  }
}
