// veridge liveness check [--json] [--challenge LIST] [--passive-only] [--model-dir DIR] VIDEO|IMAGE_DIR
//
// Without --challenge: passive PAD + injection / static-stream checks on a recorded clip.
// With --challenge blink,turn_left,...: the clip is also checked against that fixed sequence (tests,
// offline review). --passive-only states the passive mode explicitly and refuses --challenge.
// Exit codes: 0 live, 1 not live, 2 bad input (usage, unreadable or corrupt source, bad challenge
// list), 3 models missing or internal failure.
#include <cstdlib>
#include <iostream>
#include <memory>

#include "app/cli.h"
#include "app/install_layout.h"
#include "capture/capture.h"
#include "liveness/liveness.h"

namespace veridge::app {
namespace {

struct LivenessArgs {
  std::string source;
  std::string challenge;
  std::string model_dir;
  bool passive_only = false;
  bool json = false;
};

std::string ModelDir(const LivenessArgs& a) {
  if (!a.model_dir.empty()) return a.model_dir;
  if (const char* env = std::getenv("VERIDGE_MODEL_DIR"); env != nullptr && *env != '\0') return env;
  return DefaultModelDir().string();
}

int Run(const LivenessArgs& a) {
  liveness::CheckRequest req;
  if (!a.challenge.empty()) {
    if (a.passive_only)
      return ReportError(Status::InvalidInput("usage", "--passive-only and --challenge exclude each other: pick one"), a.json);
    auto seq = liveness::ParseChallengeList(a.challenge);
    if (!seq.ok()) return ReportError(seq.status(), a.json);
    req.challenges = *seq;
  }
  auto src = capture::OpenSource(a.source);
  if (!src.ok()) return ReportError(src.status(), a.json);
  liveness::LivenessOptions o;
  o.model_dir = ModelDir(a);
  auto checker = liveness::LivenessChecker::Create(o);
  if (!checker.ok()) {
    ReportError(checker.status(), a.json);
    return kExitInternal;  // missing or broken models are a dependency failure
  }
  auto r = (*checker)->Check(**src, req);
  if (!r.ok()) return ReportError(r.status(), a.json);
  if (a.json) {
    nlohmann::json j = liveness::ToJson(*r);
    j["source"] = a.source;
    if (!req.challenges.empty()) j["challenge"] = liveness::FormatChallengeList(req.challenges);
    PrintJson(j);
  } else {
    std::cout << (r->live ? "LIVE" : "NOT LIVE") << "  score " << r->score << "  (" << r->face_frames << "/" << r->frames
              << " frames with a face)\n";
    for (const auto& c : r->checks)
      std::cout << (c.passed ? "  ok    " : "  FAIL  ") << c.name << ": " << c.detail << "\n";
    if (!r->reasons.empty()) {
      std::cout << "reasons:";
      for (const auto& s : r->reasons) std::cout << " " << s;
      std::cout << "\n";
    }
  }
  return r->live ? kExitOk : kExitNegative;
}

}  // namespace

void RegisterLivenessCommands(CLI::App& app, CommandContext& ctx) {
  auto* group = app.add_subcommand("liveness", "Liveness and presentation-attack detection");
  group->require_subcommand(1);
  auto* cmd = group->add_subcommand("check", "Check a recorded clip or image folder for liveness (passive PAD, injection checks, optional challenges)");
  auto a = std::make_shared<LivenessArgs>();
  cmd->add_option("source", a->source, "Video file or folder of images")->required();
  cmd->add_option("--challenge", a->challenge, "Fixed challenge sequence to check, e.g. blink,turn_left (blink, turn_left, turn_right, look_up, open_mouth)");
  cmd->add_flag("--passive-only", a->passive_only, "Only passive PAD and injection checks (the default without --challenge)");
  cmd->add_option("--model-dir", a->model_dir, "Model directory (default: $VERIDGE_MODEL_DIR, else " + DefaultModelDir().string() + ")");
  cmd->add_flag("--json", a->json, "One JSON object per line");
  cmd->callback([&ctx, a] { ctx.exit_code = Run(*a); });
}

}  // namespace veridge::app
