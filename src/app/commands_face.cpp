// veridge face embed | compare — the face pipeline from the command line (vision/).
//
// Model directory: --model-dir, else $VERIDGE_MODEL_DIR, else DefaultModelDir() (app/install_layout.h).
// Exit codes: embed 0 all images embedded / 2 some image is bad input / 3 models missing or broken;
// compare 0 match / 1 no match / 2 bad input / 3 models missing or broken.
// A face below the minimum size is refused (face_too_small): its descriptor is not reliable. Other
// quality reasons are reported, not fatal: the verify policy decides.
#include <cstdlib>
#include <iostream>
#include <memory>

#include "app/cli.h"
#include "app/install_layout.h"
#include "vision/vision.h"

namespace veridge::app {
namespace {

constexpr size_t kMaxImages = 1000;  // bound per call

struct FaceArgs {
  std::string model_dir;
  std::string detector = "hog";
  std::string engine = "onednn";
  int jitter = 1;
  bool json = false;
};

void AddCommon(CLI::App* cmd, const std::shared_ptr<FaceArgs>& a) {
  cmd->add_flag("--json", a->json, "One JSON object per line");
  cmd->add_option("--model-dir", a->model_dir, "Model directory (default: $VERIDGE_MODEL_DIR, else " + DefaultModelDir().string() + ")");
  cmd->add_option("--detector", a->detector, "Face detector: hog (default), yunet, auto")->check(CLI::IsMember({"hog", "yunet", "auto"}));
  cmd->add_option("--engine", a->engine, "Descriptor engine: onednn (default, fastest), opencv, or dlib (the reference)")
      ->check(CLI::IsMember(std::vector<std::string>(vision::kDescriptorEngines.begin(), vision::kDescriptorEngines.end())));
  cmd->add_option("--jitter", a->jitter, "Descriptor passes averaged (1 = one; 10 = the chip and 9 jittered copies)")
      ->check(CLI::Range(1, 100));
}

// Model errors are dependency failures (exit 3) whatever their Status kind.
Result<std::unique_ptr<vision::FaceAnalyzer>> LoadAnalyzer(const FaceArgs& a) {
  vision::VisionOptions o;
  if (!a.model_dir.empty()) {
    o.model_dir = a.model_dir;
  } else if (const char* env = std::getenv("VERIDGE_MODEL_DIR"); env != nullptr && *env != '\0') {
    o.model_dir = env;
  } else {
    o.model_dir = DefaultModelDir();
  }
  o.detector = a.detector;
  o.descriptor_engine = a.engine;
  o.jitter = a.jitter;
  return vision::FaceAnalyzer::Create(o);
}

int ReportModelError(const Status& st, bool json) {
  ReportError(st, json);
  return kExitInternal;
}

nlohmann::json QualityJson(const vision::QualityReport& q) {
  return {{"ok", q.ok()},
          {"reasons", q.reasons},
          {"face_px", q.face_px},
          {"sharpness", q.sharpness},
          {"brightness", q.brightness},
          {"yaw_ratio", q.yaw_ratio},
          {"eye_aspect", q.eye_aspect},
          {"face_count", q.face_count}};
}

// Decode + analyse one image, refusing faces too small to describe reliably.
Result<vision::FaceAnalysis> Analyze(vision::FaceAnalyzer& fa, const std::string& path) {
  auto img = vision::DecodeImageFile(path, fa.options().limits);
  if (!img.ok()) return img.status();
  auto a = fa.AnalyzeSingleFace(*img);
  if (!a.ok()) return a.status();
  const auto& r = a->quality.reasons;
  if (std::find(r.begin(), r.end(), "face_too_small") != r.end())
    return Status::InvalidInput("face_too_small", "the face is " + std::to_string(a->quality.face_px) +
                                                      " px wide, below the minimum of " +
                                                      std::to_string(fa.options().quality.min_face_px) +
                                                      ": move closer to the camera or use a larger photo");
  return a;
}

nlohmann::json BoxJson(const cv::Rect& b) { return nlohmann::json::array({b.x, b.y, b.width, b.height}); }

}  // namespace

void RegisterFaceCommands(CLI::App& app, CommandContext& ctx) {
  auto* face = app.add_subcommand("face", "Face descriptors and 1:1 comparison");
  face->require_subcommand(1);

  auto* embed = face->add_subcommand("embed", "Detect one face per image and print its 128-D descriptor and quality");
  auto ea = std::make_shared<FaceArgs>();
  auto images = std::make_shared<std::vector<std::string>>();
  AddCommon(embed, ea);
  embed->add_option("IMAGE", *images, "Image files (JPEG, PNG, BMP, PNM, WebP)")->required();
  embed->callback([&ctx, ea, images] {
    if (images->size() > kMaxImages) {
      ctx.exit_code = ReportError(Status::InvalidInput("too_many_images", "at most " + std::to_string(kMaxImages) + " images per call"), ea->json);
      return;
    }
    auto fa = LoadAnalyzer(*ea);
    if (!fa.ok()) {
      ctx.exit_code = ReportModelError(fa.status(), ea->json);
      return;
    }
    int exit_code = kExitOk;
    for (const auto& path : *images) {
      auto a = Analyze(**fa, path);
      if (!a.ok()) {
        exit_code = std::max(exit_code, a.status().ExitCode());
        if (ea->json) {
          PrintJson({{"image", path}, {"error", {{"code", a.status().code()}, {"message", a.status().message()}}}});
        } else {
          std::cout << path << ": error: " << a.status().code() << ": " << a.status().message() << "\n";
        }
        continue;
      }
      if (ea->json) {
        PrintJson({{"image", path},
                   {"box", BoxJson(a->box)},
                   {"embedding", std::vector<float>(a->descriptor.begin(), a->descriptor.end())},
                   {"quality", QualityJson(a->quality)}});
      } else {
        std::string reasons;
        for (const auto& r : a->quality.reasons) reasons += (reasons.empty() ? "" : ",") + r;
        std::cout << path << ": face at " << a->box.x << "," << a->box.y << " " << a->box.width << "x" << a->box.height
                  << ", quality " << (reasons.empty() ? "ok" : reasons) << "\n";
      }
    }
    ctx.exit_code = exit_code;
  });

  auto* compare = face->add_subcommand("compare", "Compare the face in REFERENCE with the face in PROBE (exit 0 match, 1 no match)");
  auto ca = std::make_shared<FaceArgs>();
  auto ref = std::make_shared<std::string>();
  auto probe = std::make_shared<std::string>();
  auto threshold = std::make_shared<double>(0.6);
  AddCommon(compare, ca);
  compare->add_option("--threshold", *threshold, "Match when the descriptor distance is below this (default 0.6)")
      ->check(CLI::Range(0.05, 1.5));
  compare->add_option("REFERENCE", *ref, "Reference photo (application or ID document)")->required();
  compare->add_option("PROBE", *probe, "Probe photo (the live capture)")->required();
  compare->callback([&ctx, ca, ref, probe, threshold] {
    auto fa = LoadAnalyzer(*ca);
    if (!fa.ok()) {
      ctx.exit_code = ReportModelError(fa.status(), ca->json);
      return;
    }
    auto r = Analyze(**fa, *ref);
    auto p = r.ok() ? Analyze(**fa, *probe) : Result<vision::FaceAnalysis>(r.status());
    if (!r.ok() || !p.ok()) {
      const Status& st = !r.ok() ? r.status() : p.status();
      const std::string& which = !r.ok() ? *ref : *probe;
      if (ca->json) {
        PrintJson({{"image", which}, {"error", {{"code", st.code()}, {"message", st.message()}}}});
      } else {
        std::cerr << "error: " << which << ": " << st.code() << ": " << st.message() << std::endl;
      }
      ctx.exit_code = st.ExitCode();
      return;
    }
    const vision::Comparison c = vision::Compare(r->descriptor, p->descriptor, *threshold);
    if (ca->json) {
      PrintJson({{"distance", c.distance},
                 {"similarity", c.similarity},
                 {"threshold", c.threshold},
                 {"match", c.match},
                 {"reference", {{"image", *ref}, {"box", BoxJson(r->box)}, {"quality", QualityJson(r->quality)}}},
                 {"probe", {{"image", *probe}, {"box", BoxJson(p->box)}, {"quality", QualityJson(p->quality)}}}});
    } else {
      std::cout << (c.match ? "match" : "no match") << ": distance " << c.distance << " (threshold " << c.threshold
                << "), similarity " << c.similarity << "\n";
    }
    ctx.exit_code = c.match ? kExitOk : kExitNegative;
  });
}

}  // namespace veridge::app
