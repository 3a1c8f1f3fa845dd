// verify/: whole sessions on real faces and a real clip, through the real models.
#include "common/sha256.h"
#include "verify/verify.h"

#include <opencv2/imgcodecs.hpp>

#include "liveness/liveness.h"
#include "vision/models.h"
#include "support/test_support.h"

using namespace veridge;
using veridge::testing::SharedData;

namespace {

verify::VerifyOptions FaceOnly() {
  verify::VerifyOptions o;
  o.vision.model_dir = testing::DevModelDir();
  o.policy.require = {"face"};
  return o;
}

#define REQUIRE_MODELS()                                                                                      \
  VERIDGE_REQUIRE_PATH(testing::DevModelDir() / "dlib_face_recognition_resnet_model_v1.dat",                 \
                       "converted face model (run tools/fetch-models.sh)")

const verify::FactorReport* Factor(const verify::SessionResult& r, const std::string& name) {
  for (const auto& f : r.factors)
    if (f.result.name == name) return &f;
  return nullptr;
}

}  // namespace

TEST_CASE("Same person: the face factor passes and the session is approved") {
  REQUIRE_MODELS();
  auto ref = SharedData("faces/tv-cast-a/amy/amy1.png");
  VERIDGE_REQUIRE_PATH(ref, "tv-cast-a faces");
  auto v = verify::Verifier::Create(FaceOnly());
  REQUIRE(v.ok());
  auto r = (*v)->Run({ref, SharedData("faces/tv-cast-a/amy/amy2.png").string(), "APP-1"});
  REQUIRE(r.ok());
  const auto* face = Factor(*r, "face");
  REQUIRE(face);
  INFO(face->detail.dump());
  CHECK(face->result.outcome == policy::Outcome::kPassed);
  CHECK(face->detail["distance"].get<double>() < 0.6);
  CHECK(face->detail["matched"].get<bool>());
  // The same similarity scale as `veridge face compare`: 1 − distance / (2 · threshold).
  const double d = face->detail["distance"].get<double>();
  CHECK(face->detail["similarity"].get<double>() == Approx(vision::CompareDistance(d, 0.6).similarity));
  CHECK(face->detail["similarity"].get<double>() == Approx(1.0 - d / 1.2));
  CHECK(r->decision.decision == policy::Decision::kApproved);
  auto j = r->ToJson();
  CHECK(j["decision"] == "approved");
  CHECK(j["applicant_ref"] == "APP-1");
  CHECK(j["session_id"].get<std::string>().size() == 36);
  // Evidence is referenced by hash only: no image bytes and no descriptor in the result document.
  REQUIRE(j["evidence"].size() == 3);
  for (const auto& e : r->evidence) CHECK(e.sha256 == veridge::Sha256Hex(e.bytes));
  CHECK(j.dump().find("embedding") == std::string::npos);
  CHECK(j.dump().size() < 8000);
  CHECK(r->templates.size() >= 2);  // reference + probe descriptors, for the encrypted store only
}

TEST_CASE("Different person: no_match and the session is rejected") {
  REQUIRE_MODELS();
  auto ref = SharedData("faces/tv-cast-a/amy/amy1.png");
  VERIDGE_REQUIRE_PATH(ref, "tv-cast-a faces");
  auto v = verify::Verifier::Create(FaceOnly());
  REQUIRE(v.ok());
  auto r = (*v)->Run({ref, SharedData("faces/tv-cast-a/raj/raj1.png").string(), ""});
  REQUIRE(r.ok());
  const auto* face = Factor(*r, "face");
  REQUIRE(face);
  CHECK(face->result.outcome == policy::Outcome::kFailed);
  CHECK(face->detail["distance"].get<double>() > 0.6);
  CHECK(r->decision.decision == policy::Decision::kRejected);
  CHECK(std::find(r->decision.reasons.begin(), r->decision.reasons.end(), "face:no_match") != r->decision.reasons.end());
}

TEST_CASE("A reference without a face is bad input, not a verdict") {
  REQUIRE_MODELS();
  testing::TempDir dir;
  cv::Mat gradient(400, 400, CV_8UC3);
  for (int y = 0; y < 400; ++y) gradient.row(y).setTo(cv::Scalar(y / 2, 100, 200 - y / 2));
  REQUIRE(cv::imwrite((dir / "landscape.png").string(), gradient));
  auto v = verify::Verifier::Create(FaceOnly());
  REQUIRE(v.ok());
  auto r = (*v)->Run({dir / "landscape.png", (dir / "landscape.png").string(), ""});
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == "no_face");
  CHECK(r.status().ExitCode() == 2);
}

TEST_CASE("An unreadable capture fails closed") {
  REQUIRE_MODELS();
  auto ref = SharedData("faces/tv-cast-a/amy/amy1.png");
  VERIDGE_REQUIRE_PATH(ref, "tv-cast-a faces");
  testing::TempDir dir;
  auto v = verify::Verifier::Create(FaceOnly());
  REQUIRE(v.ok());
  auto r = (*v)->Run({ref, (dir / "missing.mp4").string(), ""});
  REQUIRE(r.ok());
  CHECK(Factor(*r, "face")->result.outcome == policy::Outcome::kError);
  CHECK(r->decision.decision == policy::Decision::kRejected);
}

TEST_CASE("A required factor that was not run is reported missing and rejects") {
  REQUIRE_MODELS();
  auto ref = SharedData("faces/tv-cast-a/amy/amy1.png");
  VERIDGE_REQUIRE_PATH(ref, "tv-cast-a faces");
  auto o = FaceOnly();
  o.policy.require = {"face", "liveness", "certificate"};
  auto v = verify::Verifier::Create(o);
  REQUIRE(v.ok());
  auto r = (*v)->Run({ref, SharedData("faces/tv-cast-a/amy/amy2.png").string(), ""});
  REQUIRE(r.ok());
  CHECK(r->decision.decision == policy::Decision::kRejected);
  auto& rs = r->decision.reasons;
  CHECK(std::find(rs.begin(), rs.end(), "liveness_missing") != rs.end());
  CHECK(std::find(rs.begin(), rs.end(), "certificate_missing") != rs.end());
}

TEST_CASE("Face + liveness on a real clip: approved, on its phone replay rejected") {
  REQUIRE_MODELS();
  auto real = SharedData("liveness/subject-b/real.mp4");
  auto replay = SharedData("liveness/subject-b/replay.mp4");
  VERIDGE_REQUIRE_PATH(real, "liveness clip subject-b/real.mp4");
  VERIDGE_REQUIRE_PATH(testing::DevModelDir() / "MiniFASNetV2.onnx", "PAD model (tools/fetch-models.sh with ../shared)");
  testing::TempDir dir;
  // The reference "photo": one frame of the real clip.
  auto src = capture::OpenSource(real.string());
  REQUIRE(src.ok());
  cv::Mat ref;
  for (int i = 0; i <= 15; ++i) ref = (**(*src)->Next()).bgr;
  REQUIRE(cv::imwrite((dir / "ref.jpg").string(), ref));

  auto o = FaceOnly();
  o.policy.require = {"face", "liveness"};
  auto v = verify::Verifier::Create(o);
  REQUIRE(v.ok());
  liveness::LivenessOptions lo;
  lo.model_dir = testing::DevModelDir();
  auto checker = liveness::LivenessChecker::Create(lo);
  REQUIRE(checker.ok());
  (*v)->SetLiveness(std::move(*checker), {});

  auto live = (*v)->Run({dir / "ref.jpg", real.string(), ""});
  REQUIRE(live.ok());
  INFO(live->ToJson().dump());
  CHECK(Factor(*live, "liveness")->result.outcome == policy::Outcome::kPassed);
  CHECK(Factor(*live, "face")->result.outcome == policy::Outcome::kPassed);
  CHECK(live->decision.decision == policy::Decision::kApproved);
  // One read of the clip fed both factors: the face factor saw exactly the frames liveness
  // analysed (for a camera, the same moment rather than a second window after it).
  const auto& face_frames = Factor(*live, "face")->detail["frames"];
  CHECK(face_frames["read"] == Factor(*live, "liveness")->detail["frames"]);
  CHECK(face_frames["analysed"] == (face_frames["read"].get<int>() + 2) / 3);  // every 3rd frame

  auto attack = (*v)->Run({dir / "ref.jpg", replay.string(), ""});
  REQUIRE(attack.ok());
  INFO(attack->ToJson().dump());
  CHECK(Factor(*attack, "liveness")->result.outcome == policy::Outcome::kFailed);
  CHECK(attack->decision.decision == policy::Decision::kRejected);
}

TEST_CASE("Session ids are random v4 UUIDs, timestamps are RFC 3339 UTC") {
  auto a = verify::NewSessionId(), b = verify::NewSessionId();
  CHECK(a != b);
  CHECK(a[14] == '4');
  CHECK(verify::FormatRfc3339(std::chrono::system_clock::time_point(std::chrono::milliseconds(1614265330123))) ==
        "2021-02-25T15:02:10.123Z");
}

TEST_CASE("ValidateSessionRequest refuses a bad applicant reference before any capture") {
  // Regression (issue 13): a non-UTF-8 or 100 KB reference was refused only after the whole session.
  const std::filesystem::path ref = "ref.jpg";
  CHECK(verify::ValidateSessionRequest({ref, "clip.mp4", ""}).ok());
  CHECK(verify::ValidateSessionRequest({ref, "clip.mp4", "APP-2026-0042"}).ok());
  CHECK(verify::ValidateSessionRequest({ref, "clip.mp4", "Zhāng Wěi 张伟 🙂"}).ok());
  CHECK(verify::ValidateSessionRequest({ref, "clip.mp4", std::string(verify::kMaxApplicantRefBytes, 'a')}).ok());
  for (const std::string& bad : {std::string(verify::kMaxApplicantRefBytes + 1, 'a'), std::string(100 * 1024, 'a'),
                                 std::string("\xff"), std::string("a\xc3"), std::string("\xc0\xaf"),  // truncated, overlong
                                 std::string("\xed\xa0\x80"),                                        // a UTF-16 surrogate
                                 std::string("\xf4\x90\x80\x80"),                                    // above U+10FFFF
                                 std::string("line\nbreak"), std::string("nul\0x", 5), std::string("\xc2\x85")}) {
    auto st = verify::ValidateSessionRequest({ref, "clip.mp4", bad});
    INFO(bad.size());
    CHECK(st.code() == "bad_applicant_ref");
    CHECK(st.ExitCode() == 2);
  }
  CHECK(verify::ValidateSessionRequest({"", "clip.mp4", ""}).code() == "usage");
  CHECK(verify::ValidateSessionRequest({ref, "", ""}).code() == "usage");
}

TEST_CASE("Run refuses a bad applicant reference before reading the reference or the capture") {
  REQUIRE_MODELS();
  testing::TempDir dir;
  auto v = verify::Verifier::Create(FaceOnly());
  REQUIRE(v.ok());
  // Neither file exists: had Run read them, the error would be about them, not the reference.
  auto r = (*v)->Run({dir / "missing.jpg", (dir / "missing.mp4").string(), std::string("\xff\xfe")});
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == "bad_applicant_ref");
}
