// liveness/face_geometry.h — measurements over one face's 68 landmarks (iBUG 300-W order, the
// layout dlib's shape_predictor_68_face_landmarks produces): eye aspect ratio, mouth aspect ratio,
// head yaw/pitch from cv::solvePnP against a generic 3D face model, inter-ocular distance.
//
// Contract
//  * Pure functions over points; no state, thread-safe.
//  * Landmark indices: jaw 0–16, brows 17–26, nose 27–35 (tip 30), the subject's right eye 36–41
//    (image left in an unmirrored camera frame), left eye 42–47, outer lip 48–59, inner lip 60–67.
//  * Angles are in degrees in the camera's (unmirrored) frame: yaw > 0 when the subject turns to
//    *their* left (the nose moves towards image right), pitch > 0 when the subject looks up.
//    Absolute angles carry the generic model's bias; callers compare against the person's own
//    baseline (see ChallengeSession).
//  * HeadPose returns std::nullopt when solvePnP does not converge or the points are degenerate.
#pragma once

#include <opencv2/core.hpp>

#include <array>
#include <optional>

namespace veridge::liveness {

using Landmarks68 = std::array<cv::Point2f, 68>;

struct HeadPose {
  double yaw_deg = 0.0;    // + = subject's left
  double pitch_deg = 0.0;  // + = up
  double roll_deg = 0.0;   // in-plane rotation, + = clockwise in the image
};

// Eye aspect ratio (Soukupová & Čech 2016), mean of both eyes: ~0.25–0.35 open, < ~0.15 closed.
double EyeAspectRatio(const Landmarks68& p);
// Inner-lip opening over mouth width: ~0 closed, > ~0.3 wide open.
double MouthAspectRatio(const Landmarks68& p);
// Mouth width over inter-ocular distance (rises with a smile).
double MouthWidthRatio(const Landmarks68& p);
// Distance between the outer eye corners (36, 45), in pixels: the scale of the face.
double InterOcularDistance(const Landmarks68& p);
// Head pose for a frame of the given size (focal length approximated by the image width).
std::optional<HeadPose> EstimateHeadPose(const Landmarks68& p, cv::Size image_size);
// Left-right asymmetry of the face contour about the nose tip, along the eye axis (so roll does not
// change it): (a − b) / (a + b), a = nose tip − mean of contour points 1–3 (image left), b = mean of
// contour points 13–15 − nose tip. 0 for a frontal face, > 0 when the nose moves towards image right
// (the subject turns to *their* left, the same sign as HeadPose::yaw_deg), about ±0.3 at 20–25° and
// ±0.6 past 35°. Why beside solvePnP: the 6-point fit against a generic head is biased per person
// (+25..+35° on a frontal subject-c) and jitters ±15° between frontal frames, while this ratio stays
// within ±0.15 of the person's own frontal value. Neither survives full profile: past ~60° the
// 68-point model returns mirrored shapes, which callers must not read as a turn (see challenge.h).
double YawAsymmetry(const Landmarks68& p);

// The 3D model points (millimetre-ish units, camera-aligned: x right, y down, z away from the
// camera, nose tip at the origin) and the landmark index each corresponds to; exposed so tests can
// synthesise landmarks for known poses.
struct ModelPoint {
  int landmark;
  cv::Point3f xyz;
};
const std::array<ModelPoint, 6>& FaceModel3D();

}  // namespace veridge::liveness
