#include "app/options.h"

#include <cstdlib>

#include "policy/policy.h"

namespace veridge::app {

std::filesystem::path ModelDir(const config::Config& cfg) {
  if (cfg.Has("models.dir")) return cfg.GetPath("models.dir");
  if (const char* env = std::getenv("VERIDGE_MODEL_DIR")) return env;
  return VERIDGE_DEFAULT_MODEL_DIR;
}

verify::VerifyOptions BuildVerifyOptions(const config::Config& cfg) {
  verify::VerifyOptions o;
  o.device_id = cfg.GetString("device.id", o.device_id);
  o.vision.model_dir = ModelDir(cfg);
  o.vision.detector = cfg.GetString("face.detector", o.vision.detector);
  o.face.threshold = cfg.GetDouble("face.threshold", o.face.threshold);
  o.face.max_frames = static_cast<int>(cfg.GetInt("face.max_frames", o.face.max_frames));
  o.face.sample_every = static_cast<int>(cfg.GetInt("face.sample_every", o.face.sample_every));
  o.face.best_frames = static_cast<int>(cfg.GetInt("face.best_frames", o.face.best_frames));
  o.face.fatal_quality = cfg.GetStringList("face.fatal_quality", o.face.fatal_quality);
  o.face.secondary_face_ratio = cfg.GetDouble("face.secondary_face_ratio", o.face.secondary_face_ratio);
  o.policy.require = cfg.GetStringList("policy.require", o.policy.require);
  o.policy.review_on_optional_failure = cfg.GetBool("policy.review_on_optional_failure", o.policy.review_on_optional_failure);
  return o;
}

Result<LivenessSetup> BuildLivenessSetup(const config::Config& cfg) {
  LivenessSetup s;
  s.enabled = cfg.GetBool("liveness.enabled", true);
  s.options.model_dir = ModelDir(cfg);
  s.options.detector = cfg.GetString("liveness.detector", s.options.detector);
  s.options.pad_threshold = cfg.GetDouble("liveness.pad_threshold", s.options.pad_threshold);
  s.options.max_session_ms = static_cast<double>(cfg.GetDuration("liveness.max_session", std::chrono::milliseconds(30000)).count());
  std::string mode = cfg.GetString("liveness.mode", "passive");
  if (mode == "active") {
    std::string list;
    for (const auto& c : cfg.GetStringList("liveness.challenges", {"blink", "turn_left", "turn_right"}))
      list += (list.empty() ? "" : ",") + c;
    auto parsed = liveness::ParseChallengeList(list);
    if (!parsed.ok()) return parsed.status().WithContext("[liveness].challenges");
    s.request.challenges = *parsed;
  } else if (mode != "passive") {
    return Status::InvalidInput("config_invalid", "[liveness].mode must be \"passive\" or \"active\", not \"" + mode + "\"");
  }
  return s;
}

Result<config::Config> LoadConfigStrict(const std::string& path) {
  auto cfg = config::Config::Load(path);
  if (!cfg.ok()) return cfg.status();
  // Touch every key the app reads so type errors surface now, not halfway through a session.
  BuildVerifyOptions(*cfg);
  if (auto l = BuildLivenessSetup(*cfg); !l.ok()) return l.status();
  for (const auto& f : cfg->GetStringList("policy.require"))
    if (!policy::IsKnownFactor(f))
      return Status::InvalidInput("config_invalid", path + ": [policy].require names unknown factor \"" + f +
                                                        "\"; use face, liveness or certificate");
  auto problems = cfg->problems();
  if (!problems.empty()) {
    std::string msg = path + ": ";
    for (size_t i = 0; i < problems.size(); ++i) msg += (i ? "; " : "") + problems[i];
    return Status::InvalidInput("config_invalid", msg + " (config/veridge.example.toml documents every key)");
  }
  return cfg;
}

}  // namespace veridge::app
