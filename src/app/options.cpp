#include "app/options.h"

#include <cstdlib>

#include "app/install_layout.h"
#include "audit/audit.h"
#include "common/files.h"
#include "policy/policy.h"

namespace veridge::app {

std::filesystem::path ModelDir(const config::Config& cfg) {
  if (cfg.Has("models.dir")) return cfg.GetPath("models.dir");
  if (const char* env = std::getenv("VERIDGE_MODEL_DIR")) return env;
  return DefaultModelDir();
}

bool IsOptionalModel(const std::string& name) {
  return name.rfind("yunet", 0) == 0 || name == "shape_predictor_68_face_landmarks_flat" || name == "dlib_frontal_face_detector";
}

verify::VerifyOptions BuildVerifyOptions(const config::Config& cfg) {
  verify::VerifyOptions o;
  o.device_id = cfg.GetString("device.id", o.device_id);
  o.vision.model_dir = ModelDir(cfg);
  o.vision.detector = cfg.GetString("face.detector", o.vision.detector);
  o.vision.descriptor_engine = cfg.GetString("face.descriptor_engine", o.vision.descriptor_engine);
  o.vision.jitter = static_cast<int>(cfg.GetInt("face.jitter", o.vision.jitter));
  o.face.threshold = cfg.GetDouble("face.threshold", o.face.threshold);
  o.face.max_frames = static_cast<int>(cfg.GetInt("face.max_frames", o.face.max_frames));
  o.face.sample_every = static_cast<int>(cfg.GetInt("face.sample_every", o.face.sample_every));
  o.face.best_frames = static_cast<int>(cfg.GetInt("face.best_frames", o.face.best_frames));
  o.face.fatal_quality = cfg.GetStringList("face.fatal_quality", o.face.fatal_quality);
  o.face.secondary_face_ratio = cfg.GetDouble("face.secondary_face_ratio", o.face.secondary_face_ratio);
  o.policy.require = cfg.GetStringList("policy.require", o.policy.require);
  o.policy.review_on_optional_failure = cfg.GetBool("policy.review_on_optional_failure", o.policy.review_on_optional_failure);
  for (const char* check : policy::kFraudChecks) {
    const std::string key = std::string("policy.") + check;
    if (!cfg.Has(key)) continue;
    // An unknown value keeps the default here; LoadConfigStrict refuses the config.
    if (auto a = policy::ParseCheckAction(cfg.GetString(key))) o.policy.checks[check] = *a;
  }
  return o;
}

Result<fraud::ScreenOptions> BuildScreenOptions(const config::Config& cfg) {
  fraud::ScreenOptions o;
  o.list_size = static_cast<std::size_t>(cfg.GetInt("fraud.list_size", static_cast<std::int64_t>(o.list_size)));
  o.max_hits = static_cast<int>(cfg.GetInt("fraud.max_hits", o.max_hits));
  o.mismatch_threshold = cfg.GetDouble("face.threshold", o.mismatch_threshold);
  if (auto t = fraud::ThresholdForListSize(o.list_size); !t.ok())
    return Status::InvalidInput("config_invalid", "[fraud].list_size: " + t.status().message());
  if (o.max_hits < 1 || o.max_hits > 100) return Status::InvalidInput("config_invalid", "[fraud].max_hits must be within 1..100");
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

namespace {

// A PEM bundle file or a directory of PEM/DER files.
Status ReadBundles(const std::filesystem::path& p, std::vector<std::string>& out) {
  std::error_code ec;
  if (std::filesystem::is_directory(p, ec)) {
    auto all = pki::ReadBundleDirectory(p);
    if (!all.ok()) return all.status();
    out.insert(out.end(), all->begin(), all->end());
    return Status::Ok();
  }
  auto one = pki::ReadBundleFile(p);
  if (!one.ok()) return one.status();
  out.push_back(*one);
  return Status::Ok();
}

}  // namespace

Result<std::optional<verify::CertificateFactorOptions>> BuildCertificateOptions(const config::Config& cfg) {
  if (!cfg.Has("certificate.pkcs11_module")) return std::optional<verify::CertificateFactorOptions>();
  verify::CertificateFactorOptions o;
  o.module_path = cfg.GetPath("certificate.pkcs11_module");
  o.token_label = cfg.GetString("certificate.token_label");
  o.pin_file = cfg.GetPath("certificate.pin_file");
  o.allow_pkcs1v15 = cfg.GetBool("certificate.allow_pkcs1v15", false);
  if (o.pin_file.empty())
    return Status::InvalidInput("config_invalid", "[certificate].pin_file is required with pkcs11_module");
  if (!cfg.Has("certificate.trust"))
    return Status::InvalidInput("config_invalid", "[certificate].trust (the CAs trusted for applicant certificates) is required");
  VERIDGE_RETURN_IF_ERROR(ReadBundles(cfg.GetPath("certificate.trust"), o.validation.trust_anchors).WithContext("[certificate].trust"));
  if (cfg.Has("certificate.untrusted"))
    VERIDGE_RETURN_IF_ERROR(ReadBundles(cfg.GetPath("certificate.untrusted"), o.validation.untrusted).WithContext("[certificate].untrusted"));
  if (cfg.Has("certificate.crl_dir"))
    VERIDGE_RETURN_IF_ERROR(ReadBundles(cfg.GetPath("certificate.crl_dir"), o.validation.crls).WithContext("[certificate].crl_dir"));
  std::string stale = cfg.GetString("certificate.stale_crl", "rejected");
  if (stale == "review") o.validation.stale_crl = pki::StaleCrlAction::kReview;
  else if (stale != "rejected")
    return Status::InvalidInput("config_invalid", "[certificate].stale_crl must be \"rejected\" or \"review\"");
  o.validation.purpose = pki::Purpose::kClient;
  return std::optional<verify::CertificateFactorOptions>(std::move(o));
}

namespace {

// SQLite opens [store].path and the files beside it by name and would block forever in open() on a
// FIFO there (and the store reads the first bytes of the file before SQLite). Their type is checked
// here, before any of that, with stat(2), which never blocks. What cannot be closed here is the
// window between this check and SQLite's open; store/ can close it by calling the same helper.
Status CheckStoreFiles(const std::filesystem::path& db) {
  for (const char* suffix : {"", "-wal", "-shm", "-journal", ".lock", ".anchor"}) {
    std::filesystem::path p = db;
    p += suffix;
    auto regular = RegularFileOrAbsent(p);
    if (!regular.ok())
      return regular.status().WithContext(*suffix ? "a file beside [store].path" : "[store].path");
  }
  return Status::Ok();
}

}  // namespace

Result<store::StoreOptions> BuildStoreOptions(const config::Config& cfg) {
  store::StoreOptions o;
  o.path = cfg.GetPath("store.path");
  o.key_file = cfg.GetPath("store.key_file");
  o.create_if_missing = false;
  o.audit_hasher = audit::ChainHasher();
  auto problems = cfg.problems();
  if (!problems.empty()) return Status::InvalidInput("config_invalid", cfg.source().string() + ": " + problems.front());
  if (o.path.empty()) return Status::InvalidInput("config_invalid", "[store].path is not set in " + cfg.source().string());
  if (o.key_file.empty()) return Status::InvalidInput("config_invalid", "[store].key_file is not set in " + cfg.source().string());
  VERIDGE_RETURN_IF_ERROR(CheckStoreFiles(o.path));
  return o;
}

Result<bool> InitStore(const config::Config& cfg) {
  auto o = BuildStoreOptions(cfg);
  if (!o.ok()) return o.status();
  std::error_code ec;
  const bool had = std::filesystem::exists(o->path, ec) && std::filesystem::file_size(o->path, ec) > 0;
  o->create_if_missing = true;
  auto s = store::Store::Open(*o);
  if (!s.ok()) return s.status();
  return !had;
}

Status ConfigProblems(const config::Config& cfg) {
  auto p = cfg.problems();
  if (p.empty()) return Status::Ok();
  return Status::InvalidInput("config_invalid", cfg.source().string() + ": " + p.front());
}

Result<std::string> BuildLenderUrl(const config::Config& cfg) {
  const std::string url = cfg.GetString("lender.url");
  VERIDGE_RETURN_IF_ERROR(ConfigProblems(cfg));
  if (url.empty())
    return Status::InvalidInput("config_invalid", cfg.source().string() + ": lender.url is not set; set the lender's https:// webhook URL");
  auto parsed = net::ParseHttpsUrl(url);
  if (!parsed.ok())
    return Status::InvalidInput("config_invalid", cfg.source().string() + ": lender.url = \"" + url + "\" cannot be delivered to: " +
                                                      parsed.status().message());
  if (parsed->host.empty())
    return Status::InvalidInput("config_invalid", cfg.source().string() + ": lender.url = \"" + url + "\" names no host");
  return url;
}

Result<net::HttpsClientOptions> BuildHttpsClientOptions(const config::Config& cfg) {
  net::HttpsClientOptions o;
  o.tls.ca_file = cfg.GetPath("lender.ca_file");
  o.tls.spki_pin = cfg.GetString("lender.spki_pin");
  o.tls.client_cert = cfg.GetPath("lender.client_cert");
  o.tls.client_key = cfg.GetPath("lender.client_key");
  o.connect_timeout = cfg.GetDuration("outbox.connect_timeout", std::chrono::seconds(5));
  o.handshake_timeout = o.connect_timeout;
  o.total_timeout = cfg.GetDuration("outbox.request_timeout", std::chrono::seconds(30));
  const auto max_body = cfg.GetInt("outbox.max_response_bytes", 64 * 1024);
  VERIDGE_RETURN_IF_ERROR(ConfigProblems(cfg));
  if (max_body < 0 || max_body > 16 * 1024 * 1024)
    return Status::InvalidInput("config_invalid", "outbox.max_response_bytes must be within 0..16777216");
  o.max_response_body_bytes = static_cast<std::size_t>(max_body);
  if (o.connect_timeout.count() <= 0 || o.total_timeout.count() <= 0)
    return Status::InvalidInput("config_invalid", "outbox.connect_timeout and outbox.request_timeout must be positive");
  return o;
}

Result<outbox::DeliveryOptions> BuildDeliveryOptions(const config::Config& cfg) {
  outbox::DeliveryOptions o;
  o.retry_schedule = cfg.GetDurationList("outbox.retry_schedule", outbox::DefaultRetrySchedule());
  o.jitter = cfg.GetDouble("outbox.jitter", 0.1);
  o.batch = static_cast<int>(cfg.GetInt("outbox.batch", 32));
  o.lease_seconds = cfg.GetDuration("outbox.lease", std::chrono::seconds(60)).count() / 1000;
  VERIDGE_RETURN_IF_ERROR(ConfigProblems(cfg));
  // The schema bounds each key at load; these repeat the bounds for a Config built another way.
  if (o.retry_schedule.empty() || o.retry_schedule.size() > 50)
    return Status::InvalidInput("config_invalid", "outbox.retry_schedule must have 1..50 entries");
  for (const auto& d : o.retry_schedule)
    if (d.count() < 0 || d > std::chrono::hours(24))
      return Status::InvalidInput("config_invalid", "outbox.retry_schedule: each entry must be within 0s..24h");
  if (!(o.jitter >= 0.0 && o.jitter <= 1.0)) return Status::InvalidInput("config_invalid", "outbox.jitter must be within 0..1");
  if (o.batch < 1 || o.batch > 1000) return Status::InvalidInput("config_invalid", "outbox.batch must be within 1..1000");
  if (o.lease_seconds < 1 || o.lease_seconds > 86400)
    return Status::InvalidInput("config_invalid", "outbox.lease must be within 1s..24h");
  return o;
}

Result<config::Config> LoadConfigStrict(const std::string& path) {
  auto cfg = config::Config::Load(path);
  if (!cfg.ok()) return cfg.status();
  // Touch every key the app reads so type errors surface now, not halfway through a session.
  BuildVerifyOptions(*cfg);
  if (auto l = BuildLivenessSetup(*cfg); !l.ok()) return l.status();
  for (const char* check : policy::kFraudChecks) {
    const std::string key = std::string("policy.") + check;
    if (cfg->Has(key) && !policy::ParseCheckAction(cfg->GetString(key)))
      return Status::InvalidInput("config_invalid", path + ": [policy]." + check + " must be \"reject\", \"review\" or \"ignore\", not \"" +
                                                        cfg->GetString(key) + "\"");
  }
  if (auto s = BuildScreenOptions(*cfg); !s.ok()) return s.status();
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
