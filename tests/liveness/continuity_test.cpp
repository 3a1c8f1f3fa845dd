// Model-free tests of IdentityContinuity: tracking cuts, comparable frames, the template and
// re-matching, on synthetic landmarks (synthetic_face.h) and made-up descriptors.
#include <catch2/catch.hpp>

#include "liveness/continuity.h"
#include "synthetic_face.h"

using namespace veridge::liveness;
using veridge::liveness::testing::FaceParams;
using veridge::liveness::testing::Project;

namespace {

using Desc = std::array<float, 128>;

// A descriptor of "person" p with a small per-frame variation (dlib descriptors of one person sit
// ~0.3–0.5 apart; different people ~0.8+). Persons differ in disjoint coordinates.
Desc Person(int p, int frame) {
  Desc d{};
  d[size_t(p * 8)] = 0.5f;
  d[size_t(p * 8 + 1)] = 0.05f * float(frame % 3);
  return d;
}

struct Feed {
  IdentityContinuity c;
  double t = 0;
  int descriptors = 0;
  std::vector<ContinuityStep> steps;
  explicit Feed(ContinuityOptions o = {}) : c(o) {}
  // One face frame at 30 fps: landmarks posed by `f`, shifted by `dx` pixels, of person p.
  ContinuityStep Face(const FaceParams& f, int person, double dx = 0, bool detector = false) {
    t += 1000.0 / 30;
    TrackObservation o;
    o.timestamp_ms = t;
    o.landmarks = Project(f);
    for (auto& p : o.landmarks) p.x += float(dx);
    float x0 = 1e9f, x1 = -1e9f, y0 = 1e9f, y1 = -1e9f;
    for (const auto& p : o.landmarks) { x0 = std::min(x0, p.x); x1 = std::max(x1, p.x); y0 = std::min(y0, p.y); y1 = std::max(y1, p.y); }
    o.box = cv::Rect(int(x0), int(y0), int(x1 - x0), int(y1 - y0));
    if (detector) o.detected = o.box;
    o.pose = EstimateHeadPose(o.landmarks, {640, 480});
    o.sharpness = 10;
    ContinuityStep s = c.OnFace(o);
    if (s.want_descriptor) {
      c.AddDescriptor(t, Person(person, descriptors++));
    }
    steps.push_back(s);
    return s;
  }
  void NoFace(double ms) {
    const double end = t + ms;
    while (t < end) { t += 1000.0 / 30; c.OnNoFace(t); }
  }
};

FaceParams Yaw(double d) { FaceParams f; f.yaw_deg = d; return f; }

}  // namespace

TEST_CASE("continuity: profile frames are never compared, the same person passes", "[continuity]") {
  Feed f;
  for (int i = 0; i < 30; ++i) f.Face(FaceParams{}, 0);
  int profile_descriptors = 0;
  for (int i = 0; i < 30; ++i) profile_descriptors += f.Face(Yaw(60), 0).want_descriptor;  // a full turn
  for (int i = 0; i < 30; ++i) f.Face(FaceParams{}, 0);
  CHECK(profile_descriptors == 0);
  auto s = f.c.Finish();
  INFO(s.detail);
  CHECK(s.passed);
  CHECK(s.cuts == 0);
  CHECK(s.template_members == 3);
  CHECK(s.max_distance < 0.6);
  // Descriptors only when needed: the template fill (every 250 ms) then 1 per second, not per frame.
  CHECK(s.samples <= 8);
}

TEST_CASE("continuity: a jump between neighbouring frames is a cut and the new face must re-match", "[continuity]") {
  Feed f;
  for (int i = 0; i < 30; ++i) f.Face(FaceParams{}, 0);
  REQUIRE(f.c.verified());
  auto s = f.Face(FaceParams{}, 1, 300, true);  // another face, elsewhere, the next frame
  CHECK(s.cut);
  CHECK(s.want_descriptor);  // at once, not a second later
  CHECK(f.c.failed());
  auto sum = f.c.Finish();
  INFO(sum.detail);
  CHECK_FALSE(sum.passed);
  CHECK(sum.cuts == 1);
}

TEST_CASE("continuity: leaving the frame pauses, the same person coming back re-matches", "[continuity]") {
  Feed f;
  for (int i = 0; i < 30; ++i) f.Face(FaceParams{}, 0);
  f.NoFace(2000);
  CHECK(f.c.paused());
  auto s = f.Face(FaceParams{}, 0);
  CHECK(s.cut);
  CHECK(s.cut_reason == "face_returned");
  CHECK(f.c.verified());
  for (int i = 0; i < 10; ++i) f.Face(FaceParams{}, 0);
  auto sum = f.c.Finish();
  INFO(sum.detail);
  CHECK(sum.passed);
  CHECK(sum.rematches == 1);
}

TEST_CASE("continuity: someone else coming back is identity_changed", "[continuity]") {
  Feed f;
  for (int i = 0; i < 30; ++i) f.Face(FaceParams{}, 0);
  f.NoFace(2000);
  f.Face(FaceParams{}, 2);
  CHECK(f.c.failed());
  CHECK_FALSE(f.c.Finish().passed);
}

TEST_CASE("continuity: a returning face that stays in profile stays unverified and fails", "[continuity]") {
  Feed f;
  for (int i = 0; i < 30; ++i) f.Face(FaceParams{}, 0);
  f.NoFace(2000);
  for (int i = 0; i < 60; ++i) f.Face(Yaw(60), 0);  // 2 s, never comparable
  CHECK(f.c.paused());
  auto sum = f.c.Finish();
  INFO(sum.detail);
  CHECK_FALSE(sum.passed);
  CHECK(sum.unverified_ms > 1000);
}
