#include <catch2/catch.hpp>

#include "liveness/face_geometry.h"
#include "synthetic_face.h"

using namespace veridge::liveness;
using veridge::liveness::testing::FaceParams;
using veridge::liveness::testing::Project;

TEST_CASE("eye aspect ratio falls when the eyes close", "[geometry]") {
  const double open = EyeAspectRatio(Project({}));
  FaceParams shut;
  shut.eye_open = 0.1;
  const double closed = EyeAspectRatio(Project(shut));
  CHECK(open == Approx(40.0 / 130.0).epsilon(0.05));
  CHECK(closed < 0.25 * open);
}

TEST_CASE("mouth aspect ratio rises when the mouth opens", "[geometry]") {
  FaceParams wide;
  wide.mouth_open = 80;
  CHECK(MouthAspectRatio(Project({})) < 0.1);
  CHECK(MouthAspectRatio(Project(wide)) > 0.35);
}

TEST_CASE("head pose recovers yaw and pitch with the documented signs", "[geometry]") {
  for (double yaw : {-30.0, -15.0, 0.0, 15.0, 30.0}) {
    for (double pitch : {-15.0, 0.0, 15.0}) {
      FaceParams f;
      f.yaw_deg = yaw;
      f.pitch_deg = pitch;
      auto pose = EstimateHeadPose(Project(f), {640, 480});
      INFO("yaw " << yaw << " pitch " << pitch);
      REQUIRE(pose.has_value());
      CHECK(pose->yaw_deg == Approx(yaw).margin(2.0));
      // Pitch is the elevation of the face's axis seen from the side: with the head also turned, a
      // nod of p degrees reads as atan(tan p / cos yaw) (yaw applied after pitch).
      const double expected = std::atan(std::tan(pitch * CV_PI / 180) / std::cos(yaw * CV_PI / 180)) * 180 / CV_PI;
      CHECK(pose->pitch_deg == Approx(expected).margin(2.0));
    }
  }
}

TEST_CASE("turning to the subject's left moves the nose towards image right", "[geometry]") {
  FaceParams left;
  left.yaw_deg = 20;
  const auto a = Project({}), b = Project(left);
  // Nose tip relative to the midpoint of the outer eye corners.
  auto rel = [](const Landmarks68& p) { return p[30].x - 0.5f * (p[36].x + p[45].x); };
  CHECK(rel(b) > rel(a) + 5);
}

TEST_CASE("head pose refuses degenerate landmarks", "[geometry]") {
  Landmarks68 zero{};
  CHECK_FALSE(EstimateHeadPose(zero, {640, 480}).has_value());
  CHECK_FALSE(EstimateHeadPose(Project({}), {0, 0}).has_value());
}
