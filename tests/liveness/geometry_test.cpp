#include <catch2/catch.hpp>

#include <cmath>

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

TEST_CASE("contour asymmetry is 0 frontal, grows with the turn, and has the yaw sign", "[geometry]") {
  CHECK(std::abs(YawAsymmetry(Project({}))) < 0.02);
  double previous = -2;
  for (double yaw : {-40.0, -25.0, -10.0, 0.0, 10.0, 25.0, 40.0}) {
    FaceParams f;
    f.yaw_deg = yaw;
    const double r = YawAsymmetry(Project(f));
    INFO("yaw " << yaw << " asymmetry " << r);
    CHECK(r > previous);  // monotonic in the turn
    previous = r;
    if (yaw != 0.0) CHECK((r > 0) == (yaw > 0));  // the subject's left is positive, as HeadPose::yaw_deg
  }
  // A turn of 25° clears the challenge threshold (0.30); 10° stays inside the neutral band (0.15).
  FaceParams turned, slight;
  turned.yaw_deg = 25;
  slight.yaw_deg = 10;
  CHECK(YawAsymmetry(Project(turned)) > 0.30);
  CHECK(YawAsymmetry(Project(slight)) < 0.15);
}

TEST_CASE("contour asymmetry ignores roll and a nod, and a collapsed contour reads 0", "[geometry]") {
  FaceParams f;
  f.yaw_deg = 25;
  const auto upright = Project(f);
  // The same landmarks rolled by 20° about the nose tip.
  Landmarks68 rolled = upright;
  const double c = std::cos(20 * CV_PI / 180), s = std::sin(20 * CV_PI / 180);
  for (auto& p : rolled) {
    const cv::Point2f d = p - upright[30];
    p = upright[30] + cv::Point2f(float(c * d.x - s * d.y), float(s * d.x + c * d.y));
  }
  CHECK(YawAsymmetry(rolled) == Approx(YawAsymmetry(upright)).margin(1e-4));
  FaceParams nod;
  nod.pitch_deg = 15;
  CHECK(std::abs(YawAsymmetry(Project(nod))) < 0.05);
  Landmarks68 zero{};
  CHECK(YawAsymmetry(zero) == 0.0);
}
