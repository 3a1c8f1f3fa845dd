// The pipeline on real faces (../shared/data/faces) with the real converted models.
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <fstream>

#include "fixture.h"

using namespace veridge;
using namespace veridge::vision;
using veridge::testing::SharedData;

namespace {
Descriptor Embed(FaceAnalyzer& fa, const std::filesystem::path& p) {
  auto img = DecodeImageFile(p);
  REQUIRE(img.ok());
  auto a = fa.AnalyzeSingleFace(*img);
  INFO(p.string() << ": " << a.status().ToString());
  REQUIRE(a.ok());
  return a->descriptor;
}
// Calls fn(image) for every photo of tv-cast-a (8 people × 5).
template <typename Fn>
void ForEachTvCastImage(Fn fn) {
  for (const auto& person : std::filesystem::directory_iterator(SharedData("faces/tv-cast-a")))
    for (const auto& file : std::filesystem::directory_iterator(person.path())) {
      auto img = DecodeImageFile(file.path());
      INFO(file.path().string());
      REQUIRE(img.ok());
      fn(*img);
    }
}
std::filesystem::path Lfw(const std::string& name, int n) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "_%04d.jpg", n);
  return SharedData("faces/lfw-view1/images/" + name + "/" + name + buf);
}
}  // namespace

TEST_CASE("models: a missing model file is model_missing, a wrong one model_checksum_mismatch") {
  if (!testing::DevModelsPresent()) VERIDGE_SKIP("face models not in dev model dir: run tools/fetch-models.sh");
  testing::TempDir dir;
  VisionOptions o;
  o.model_dir = dir.path();
  auto missing = FaceAnalyzer::Create(o);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().code() == "model_missing");
  CHECK(missing.status().message().find("fetch-models.sh") != std::string::npos);

  std::filesystem::create_symlink(testing::DevModelDir() / std::string(kLandmarkModelFile), dir / std::string(kLandmarkModelFile));
  // Same size as the real descriptor model, one byte changed: only the hash can tell.
  std::filesystem::copy_file(testing::DevModelDir() / std::string(kDescriptorModelFile), dir / std::string(kDescriptorModelFile));
  {
    std::fstream f(dir / std::string(kDescriptorModelFile), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(1000);
    f.put('\x5a');
  }
  auto bad = FaceAnalyzer::Create(o);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().code() == "model_checksum_mismatch");
  CHECK(bad.status().ExitCode() == 3);

  auto yunet = [&] { VisionOptions y = o; y.detector = "yunet"; y.verify_checksums = false; return FaceAnalyzer::Create(y); }();
  CHECK(yunet.status().code() == "model_missing");
}

TEST_CASE("pipeline: same person < 0.6, different people > 0.6 on LFW pairs") {
  VERIDGE_REQUIRE_PATH(SharedData("faces/lfw-view1/images"), "LFW View 1 (shared data)");
  VERIDGE_REQUIRE_ANALYZER(fa);
  const auto a1 = Embed(*fa, Lfw("Aaron_Peirsol", 1));
  const auto a2 = Embed(*fa, Lfw("Aaron_Peirsol", 2));
  const auto s1 = Embed(*fa, Lfw("Aaron_Sorkin", 1));
  const auto s2 = Embed(*fa, Lfw("Aaron_Sorkin", 2));
  CHECK(Distance(a1, a2) < 0.6);
  CHECK(Distance(s1, s2) < 0.6);
  CHECK(Distance(a1, s1) > 0.6);
  CHECK(Distance(a2, s2) > 0.6);
  const Comparison c = Compare(a1, a2);
  CHECK(c.match);
  CHECK(c.threshold == 0.6);
  CHECK(c.similarity > 0.5);
  CHECK(Compare(a1, s1).similarity < 0.5);
  CHECK_FALSE(Compare(a1, s1).match);
}

TEST_CASE("pipeline: same/different person on tv-cast-a") {
  VERIDGE_REQUIRE_PATH(SharedData("faces/tv-cast-a"), "tv-cast-a (shared data)");
  VERIDGE_REQUIRE_ANALYZER(fa);
  const auto amy1 = Embed(*fa, SharedData("faces/tv-cast-a/amy/amy1.png"));
  const auto amy2 = Embed(*fa, SharedData("faces/tv-cast-a/amy/amy2.png"));
  const auto raj1 = Embed(*fa, SharedData("faces/tv-cast-a/raj/raj1.png"));
  const auto sheldon1 = Embed(*fa, SharedData("faces/tv-cast-a/sheldon/sheldon1.png"));
  CHECK(Distance(amy1, amy2) < 0.6);
  CHECK(Distance(amy1, raj1) > 0.6);
  CHECK(Distance(amy1, sheldon1) > 0.6);
  CHECK(Distance(raj1, sheldon1) > 0.6);
}

TEST_CASE("pipeline: stage calls give the same result as AnalyzeSingleFace, and Clone agrees") {
  VERIDGE_REQUIRE_PATH(SharedData("faces/tv-cast-a"), "tv-cast-a (shared data)");
  VERIDGE_REQUIRE_ANALYZER(fa);
  auto img = DecodeImageFile(SharedData("faces/tv-cast-a/penny/penny1.png"));
  REQUIRE(img.ok());
  auto faces = fa->Detect(*img);
  REQUIRE(faces.ok());
  REQUIRE(faces->size() == 1);
  auto lm = fa->Landmarks(*img, (*faces)[0]);
  REQUIRE(lm.ok());
  // Landmarks may leave the detector's box a little (the chin, the brows), never by half its size.
  const cv::Rect box = (*faces)[0];
  const cv::Rect near_box(box.x - box.width / 2, box.y - box.height / 2, box.width * 2, box.height * 2);
  for (const auto& p : *lm) CHECK(near_box.contains(cv::Point(p)));
  auto chip = fa->AlignChip(*img, *lm);
  REQUIRE(chip.ok());
  CHECK(chip->rows == 150);
  CHECK(chip->cols == 150);
  auto d = fa->Describe(*chip);
  REQUIRE(d.ok());
  auto whole = fa->AnalyzeSingleFace(*img);
  REQUIRE(whole.ok());
  CHECK(Distance(*d, whole->descriptor) < 1e-6);
  auto clone = fa->Clone();
  auto d2 = clone->Describe(*chip);
  REQUIRE(d2.ok());
  CHECK(Distance(*d, *d2) < 1e-6);
  CHECK(fa->Describe(cv::Mat(10, 10, CV_8UC3)).status().code() == "bad_chip");
  CHECK(fa->Detect(cv::Mat(10, 10, CV_8UC1)).status().code() == "bad_image_type");
}

TEST_CASE("bad input: a landscape with no face is no_face") {
  VERIDGE_REQUIRE_ANALYZER(fa);
  // Sky gradient over a darker "ground" with a few soft hills: structure, but nothing face-like.
  cv::Mat img(480, 640, CV_8UC3);
  for (int y = 0; y < img.rows; ++y)
    for (int x = 0; x < img.cols; ++x)
      img.at<cv::Vec3b>(y, x) = y < 300 ? cv::Vec3b(uchar(255 - y / 3), uchar(200 - y / 4), uchar(120 + y / 5))
                                        : cv::Vec3b(40, uchar(120 + (x % 97) / 4), 60);
  cv::ellipse(img, cv::Point(200, 300), cv::Size(180, 60), 0, 180, 360, cv::Scalar(50, 110, 70), -1);
  cv::GaussianBlur(img, img, cv::Size(5, 5), 0);
  auto r = fa->AnalyzeSingleFace(img);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == "no_face");
  CHECK(r.status().ExitCode() == 2);
}

TEST_CASE("bad input: a group photo is multiple_faces") {
  VERIDGE_REQUIRE_PATH(SharedData("faces/deepface/selfie-many-people.jpg"), "deepface group photo (shared data)");
  VERIDGE_REQUIRE_ANALYZER(fa);
  auto img = DecodeImageFile(SharedData("faces/deepface/selfie-many-people.jpg"));
  REQUIRE(img.ok());
  auto faces = fa->Detect(*img);
  REQUIRE(faces.ok());
  CHECK(faces->size() >= 3);
  auto r = fa->AnalyzeSingleFace(*img);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == "multiple_faces");
}

TEST_CASE("bad input: a tiny 40x40 face is flagged face_too_small") {
  VERIDGE_REQUIRE_PATH(SharedData("faces/tv-cast-a/amy/amy1.png"), "tv-cast-a (shared data)");
  VERIDGE_REQUIRE_ANALYZER(fa);
  auto img = DecodeImageFile(SharedData("faces/tv-cast-a/amy/amy1.png"));
  REQUIRE(img.ok());
  auto faces = fa->Detect(*img);
  REQUIRE(faces.ok());
  REQUIRE(faces->size() == 1);
  const cv::Rect f = (*faces)[0];
  // Shrink the whole image so the face is 40 px wide, and place it on a plain canvas.
  const double s = 40.0 / f.width;
  cv::Mat small;
  cv::resize(*img, small, cv::Size(), s, s, cv::INTER_AREA);
  cv::Mat canvas(240, 240, CV_8UC3, cv::Scalar(128, 128, 128));
  small.copyTo(canvas(cv::Rect(0, 0, std::min(small.cols, 240), std::min(small.rows, 240))));
  auto r = fa->AnalyzeSingleFace(canvas);
  // Found (the detector upsamples small images) and flagged: never a clean pass.
  REQUIRE(r.ok());
  CHECK(r->box.width < 60);
  REQUIRE_FALSE(r->quality.reasons.empty());
  CHECK(r->quality.reasons.front() == "face_too_small");
  // A 40x40 *image* of the face crop is a face too small as well.
  cv::Mat crop;
  cv::resize((*img)(f), crop, cv::Size(40, 40), 0, 0, cv::INTER_AREA);
  auto r2 = fa->AnalyzeSingleFace(crop);
  REQUIRE(r2.ok());
  REQUIRE_FALSE(r2->quality.reasons.empty());
  CHECK(r2->quality.reasons.front() == "face_too_small");
  // The CLI refuses it with its own code (exit 2).
  testing::TempDir dir;
  REQUIRE(cv::imwrite((dir / "tiny.png").string(), crop));
  if (std::filesystem::exists(testing::VeridgeBinary())) {
    const std::string cmd = "'" + testing::VeridgeBinary().string() + "' face embed --json --model-dir '" +
                            testing::DevModelDir().string() + "' '" + (dir / "tiny.png").string() + "' 2>/dev/null";
    FILE* p = ::popen(cmd.c_str(), "r");
    REQUIRE(p != nullptr);
    char buf[4096] = {0};
    const size_t n = std::fread(buf, 1, sizeof buf - 1, p);
    const int st = ::pclose(p);
    CHECK(std::string(buf, n).find("\"code\":\"face_too_small\"") != std::string::npos);
    CHECK(WEXITSTATUS(st) == 2);
  }
}

TEST_CASE("quality: a good photo passes, blur and darkness are reported") {
  VERIDGE_REQUIRE_PATH(SharedData("faces/tv-cast-a/amy/amy1.png"), "tv-cast-a (shared data)");
  VERIDGE_REQUIRE_ANALYZER(fa);
  auto img = DecodeImageFile(SharedData("faces/tv-cast-a/amy/amy1.png"));
  REQUIRE(img.ok());
  auto good = fa->AnalyzeSingleFace(*img);
  REQUIRE(good.ok());
  INFO("sharpness " << good->quality.sharpness << " brightness " << good->quality.brightness << " yaw "
                    << good->quality.yaw_ratio << " ear " << good->quality.eye_aspect);
  CHECK(good->quality.ok());

  cv::Mat blurred;
  cv::GaussianBlur(*img, blurred, cv::Size(0, 0), 6.0);
  auto b = fa->AnalyzeSingleFace(blurred);
  if (b.ok()) {
    INFO("blurred sharpness " << b->quality.sharpness);
    CHECK(std::find(b->quality.reasons.begin(), b->quality.reasons.end(), "blurred") != b->quality.reasons.end());
  }
  cv::Mat dark;
  img->convertTo(dark, -1, 0.25, 0);
  auto d = fa->AnalyzeSingleFace(dark);
  REQUIRE(d.ok());
  INFO("dark brightness " << d->quality.brightness);
  CHECK(std::find(d->quality.reasons.begin(), d->quality.reasons.end(), "too_dark") != d->quality.reasons.end());
  cv::Mat bright;
  img->convertTo(bright, -1, 1.0, 140);
  auto br = fa->AnalyzeSingleFace(bright);
  if (br.ok()) {
    INFO("bright brightness " << br->quality.brightness);
    CHECK(std::find(br->quality.reasons.begin(), br->quality.reasons.end(), "too_bright") != br->quality.reasons.end());
  }
}

TEST_CASE("quality: eyes closed, head turned, several faces, tiny box from landmarks") {
  VERIDGE_REQUIRE_ANALYZER(fa);
  Landmarks68 lm{};
  for (int i = 0; i <= 16; ++i) lm[i] = cv::Point2f(40.f + 7.5f * i, 120.f);
  lm[30] = cv::Point2f(100.f, 120.f);
  auto eyes = [&](float open) {
    for (int o : {36, 42}) {
      const float cx = o == 36 ? 75.f : 125.f;
      lm[o + 0] = {cx - 12, 90};
      lm[o + 1] = {cx - 4, 90 - open};
      lm[o + 2] = {cx + 4, 90 - open};
      lm[o + 3] = {cx + 12, 90};
      lm[o + 4] = {cx + 4, 90 + open};
      lm[o + 5] = {cx - 4, 90 + open};
    }
  };
  eyes(6.f);
  const cv::Rect box(40, 60, 120, 120);
  CHECK(fa->Quality(box, lm, cv::Mat(), 1).ok());
  eyes(1.f);
  CHECK(fa->Quality(box, lm, cv::Mat(), 1).reasons == std::vector<std::string>{"eyes_closed"});
  eyes(6.f);
  lm[30].x = 150.f;
  CHECK(fa->Quality(box, lm, cv::Mat(), 1).reasons == std::vector<std::string>{"head_turned"});
  lm[30].x = 100.f;
  CHECK(fa->Quality(box, lm, cv::Mat(), 3).reasons == std::vector<std::string>{"multiple_faces"});
  CHECK(fa->Quality(cv::Rect(0, 0, 30, 30), lm, cv::Mat(), 1).reasons == std::vector<std::string>{"face_too_small"});
}

TEST_CASE("pipeline: the YuNet detector (when its model is present) finds and matches the same faces") {
  VERIDGE_REQUIRE_PATH(SharedData("faces/tv-cast-a"), "tv-cast-a (shared data)");
  VERIDGE_REQUIRE_PATH(testing::DevModelDir() / std::string(kYunetModelFile), "YuNet model (copied from ../shared/models by fetch-models.sh)");
  if (!testing::DevModelsPresent()) VERIDGE_SKIP("face models not in dev model dir: run tools/fetch-models.sh");
  VisionOptions o;
  o.model_dir = testing::DevModelDir();
  o.detector = "yunet";
  auto fa = FaceAnalyzer::Create(o);
  REQUIRE(fa.ok());
  CHECK((*fa)->detector_name() == "yunet");
  const auto amy1 = Embed(**fa, SharedData("faces/tv-cast-a/amy/amy1.png"));
  const auto amy3 = Embed(**fa, SharedData("faces/tv-cast-a/amy/amy3.png"));
  const auto raj1 = Embed(**fa, SharedData("faces/tv-cast-a/raj/raj1.png"));
  CHECK(Distance(amy1, amy3) < 0.6);
  CHECK(Distance(amy1, raj1) > 0.6);
  auto couple = DecodeImageFile(SharedData("faces/deepface/couple.jpg"));
  REQUIRE(couple.ok());
  CHECK((*fa)->AnalyzeSingleFace(*couple).status().code() == "multiple_faces");
}

TEST_CASE("descriptor engines: oneDNN and OpenCV rebuilds agree with dlib's forward pass within 1e-3 per component on real faces") {
  VERIDGE_REQUIRE_PATH(SharedData("faces/tv-cast-a"), "tv-cast-a (shared data)");
  VERIDGE_REQUIRE_ANALYZER(fa);
  REQUIRE(fa->options().descriptor_engine == "onednn");
  VisionOptions o = fa->options();
  o.descriptor_engine = "dlib";
  auto reference = FaceAnalyzer::Create(o);
  REQUIRE(reference.ok());
  o.descriptor_engine = "opencv";
  auto opencv = FaceAnalyzer::Create(o);
  REQUIRE(opencv.ok());
  int faces = 0;
  double worst_onednn = 0.0, worst_opencv = 0.0;
  ForEachTvCastImage([&](const cv::Mat& img) {
    auto a = fa->AnalyzeSingleFace(img);
    if (!a.ok()) return;
    auto d = (*reference)->Describe(a->chip);
    auto c = (*opencv)->Describe(a->chip);
    REQUIRE(d.ok());
    REQUIRE(c.ok());
    for (size_t i = 0; i < 128; ++i) {
      worst_onednn = std::max(worst_onednn, double(std::abs(a->descriptor[i] - (*d)[i])));
      worst_opencv = std::max(worst_opencv, double(std::abs((*c)[i] - (*d)[i])));
    }
    ++faces;
  });
  INFO("faces compared: " << faces << ", largest difference in one component: onednn " << worst_onednn
                          << ", opencv " << worst_opencv);
  CHECK(faces >= 30);
  CHECK(worst_onednn < 1e-3);
  CHECK(worst_opencv < 1e-3);
  // And on a clone (which rebuilds the oneDNN primitives from the shared weights).
  auto img = DecodeImageFile(SharedData("faces/tv-cast-a/raj/raj1.png"));
  REQUIRE(img.ok());
  auto a = fa->AnalyzeSingleFace(*img);
  REQUIRE(a.ok());
  auto clone = fa->Clone();
  auto d = clone->Describe(a->chip);
  REQUIRE(d.ok());
  CHECK(Distance(*d, a->descriptor) < 1e-6);
  // Describe() is repeatable: no state carries over from one chip to the next.
  auto again = fa->Describe(a->chip);
  REQUIRE(again.ok());
  CHECK(Distance(*again, a->descriptor) < 1e-6);
}

TEST_CASE("descriptor engines: an unknown engine is bad_option") {
  VisionOptions o;
  o.model_dir = testing::DevModelDir();
  o.descriptor_engine = "tensorflow";
  auto a = FaceAnalyzer::Create(o);
  REQUIRE_FALSE(a.ok());
  CHECK(a.status().code() == "bad_option");
}

TEST_CASE("models: the fast-loading landmark model and serialised HOG detector give exactly dlib's landmarks and boxes") {
  VERIDGE_REQUIRE_PATH(SharedData("faces/tv-cast-a"), "tv-cast-a (shared data)");
  VERIDGE_REQUIRE_ANALYZER(fa);
  for (auto file : {kLandmarkFlatModelFile, kHogDetectorFile})
    if (!std::filesystem::exists(testing::DevModelDir() / std::string(file)))
      VERIDGE_SKIP(std::string(file) << " not in the dev model dir: run tools/fetch-models.sh BUILD_DIR");
  // A model dir with only dlib's own files: the .dat landmark model, the built-in HOG detector.
  testing::TempDir dir;
  for (auto file : {kLandmarkModelFile, kDescriptorModelFile})
    std::filesystem::create_symlink(testing::DevModelDir() / std::string(file), dir / std::string(file));
  VisionOptions o = fa->options();
  o.model_dir = dir.path();
  auto plain = FaceAnalyzer::Create(o);
  REQUIRE(plain.ok());
  int faces = 0;
  ForEachTvCastImage([&](const cv::Mat& img) {
    auto fast_boxes = fa->Detect(img);
    auto plain_boxes = (*plain)->Detect(img);
    REQUIRE(fast_boxes.ok());
    REQUIRE(plain_boxes.ok());
    REQUIRE(*fast_boxes == *plain_boxes);
    if (fast_boxes->empty()) return;
    auto fast_lm = fa->Landmarks(img, fast_boxes->front());
    auto plain_lm = (*plain)->Landmarks(img, fast_boxes->front());
    REQUIRE(fast_lm.ok());
    REQUIRE(plain_lm.ok());
    CHECK(*fast_lm == *plain_lm);
    ++faces;
  });
  CHECK(faces >= 30);
}

TEST_CASE("models: a damaged flat landmark model is refused with a message, not loaded") {
  if (!testing::DevModelsPresent()) VERIDGE_SKIP("face models not in dev model dir: run tools/fetch-models.sh");
  const auto flat = testing::DevModelDir() / std::string(kLandmarkFlatModelFile);
  if (!std::filesystem::exists(flat)) VERIDGE_SKIP("no flat landmark model: run tools/fetch-models.sh BUILD_DIR");
  testing::TempDir dir;
  std::filesystem::create_symlink(testing::DevModelDir() / std::string(kDescriptorModelFile), dir / std::string(kDescriptorModelFile));
  std::filesystem::create_symlink(testing::DevModelDir() / std::string(kLandmarkModelFile), dir / std::string(kLandmarkModelFile));
  {
    std::ifstream in(flat, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    bytes.resize(bytes.size() / 2);  // truncated copy
    std::ofstream(dir / std::string(kLandmarkFlatModelFile), std::ios::binary) << bytes;
  }
  VisionOptions o;
  o.model_dir = dir.path();
  auto checked = FaceAnalyzer::Create(o);
  REQUIRE_FALSE(checked.ok());
  CHECK(checked.status().code() == "model_checksum_mismatch");
  o.verify_checksums = false;  // the parser itself must refuse it too
  auto unchecked = FaceAnalyzer::Create(o);
  REQUIRE_FALSE(unchecked.ok());
  CHECK(unchecked.status().code() == "model_load_failed");
  CHECK(unchecked.status().message().find("fetch-models.sh") != std::string::npos);
}

TEST_CASE("detection: a face HOG scores below its threshold is found by the retry threshold, and only then") {
  VERIDGE_REQUIRE_PATH(SharedData("faces/lfw-view1/images"), "LFW View 1 (shared data)");
  VERIDGE_REQUIRE_ANALYZER(fa);
  // One of the 31 LFW View 1 images where a scan at threshold 0 finds nothing (eval-face --hog-retry 0).
  auto img = DecodeImageFile(Lfw("Jon_Stewart", 1));
  REQUIRE(img.ok());
  auto with_retry = fa->AnalyzeSingleFace(*img);
  REQUIRE(with_retry.ok());
  VisionOptions o = fa->options();
  o.hog_retry_threshold = o.hog_threshold;  // retry off
  auto strict = FaceAnalyzer::Create(o);
  REQUIRE(strict.ok());
  auto without = (*strict)->AnalyzeSingleFace(*img);
  REQUIRE_FALSE(without.ok());
  CHECK(without.status().code() == "no_face");
  // The retry never adds a weak second face next to a confident one.
  auto one = DecodeImageFile(SharedData("faces/tv-cast-a/penny/penny1.png"));
  REQUIRE(one.ok());
  auto faces = fa->Detect(*one);
  REQUIRE(faces.ok());
  CHECK(faces->size() == 1);
}

TEST_CASE("descriptor: jitter averages passes deterministically and keeps same/different apart") {
  VERIDGE_REQUIRE_PATH(SharedData("faces/tv-cast-a"), "tv-cast-a (shared data)");
  VERIDGE_REQUIRE_ANALYZER(fa);
  VisionOptions o = fa->options();
  o.jitter = 10;
  auto jittered = FaceAnalyzer::Create(o);
  REQUIRE(jittered.ok());
  auto embed = [&](FaceAnalyzer& a, const char* file) {
    auto img = DecodeImageFile(SharedData(std::string("faces/tv-cast-a/") + file));
    REQUIRE(img.ok());
    auto r = a.AnalyzeSingleFace(*img);
    REQUIRE(r.ok());
    return r->descriptor;
  };
  const auto amy1 = embed(**jittered, "amy/amy1.png");
  CHECK(Distance(amy1, embed(**jittered, "amy/amy1.png")) == 0.0);  // same chip, same descriptor
  const auto plain = embed(*fa, "amy/amy1.png");
  CHECK(Distance(amy1, plain) > 0.0);   // the passes did change it...
  CHECK(Distance(amy1, plain) < 0.15);  // ...by a small fraction of the 0.6 threshold
  CHECK(Distance(amy1, embed(**jittered, "amy/amy2.png")) < 0.6);
  CHECK(Distance(amy1, embed(**jittered, "raj/raj1.png")) > 0.6);
  for (int bad : {0, 101}) {
    o.jitter = bad;
    auto refused = FaceAnalyzer::Create(o);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.status().code() == "bad_option");
  }
}
