// veridge serve --config FILE [--ready-file FILE] [--json]: the appliance daemon.
//
// Threads: the main thread (signals, systemd notifications, the watchdog), the I/O pool of
// net::Server (both listeners), the camera's grab thread and the preview encoder (when [camera]
// source is set: capture/camera_thread.h, app/preview.h), and the delivery worker (same code as `veridge outbox run`, with a
// store connection of its own). Start-up opens and checks everything that can fail — config,
// store, device key, webhook secret, TLS certificate and key, both ports — before READY=1, so a
// bad installation fails at once with the CLI's error contract instead of serving half a service.
//
// Shutdown: SIGTERM or SIGINT → STOPPING=1; listeners stop accepting; in-flight requests finish
// and idle connections close; the worker stops after its current attempt; all within
// [serve].drain_timeout, then exit 0. A delivery attempt still running at the deadline is
// abandoned: its outbox row stays leased and is sent again after the lease (at-least-once, the
// lender deduplicates by webhook-id), so nothing acknowledged is lost.
#include <signal.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <csignal>
#include <future>
#include <iostream>
#include <thread>

#include "app/cli.h"
#include "app/delivery.h"
#include "app/options.h"
#include "app/serve.h"
#include "common/clock.h"
#include "common/files.h"
#include "common/log.h"
#include "pki/device_identity.h"

namespace veridge::app {
namespace {

struct ServeArgs {
  std::string config;
  std::string ready_file;
  bool json = false;
};

nlohmann::json ListenerJson(const net::BoundListener& b) {
  return {{"address", b.address}, {"port", b.port}, {"tls", b.tls}};
}

std::string NotReadyList(const ReadyChecks& c) {
  std::string s;
  for (auto [name, ok] : {std::pair{"models", c.models}, {"store", c.store}, {"keys", c.keys}, {"clock", c.clock}, {"camera", c.camera}})
    if (!ok) s += std::string(s.empty() ? "" : ", ") + name;
  return s;
}

// SIGTERM/SIGINT taken by a thread that does not block them (see RunServe); 0 if none.
volatile std::sig_atomic_t g_stop_signal = 0;
void RecordStopSignal(int signo) { g_stop_signal = signo; }

int RunServe(const ServeArgs& args) {
  // Signals are taken synchronously by the main thread (sigtimedwait), blocked here so that the
  // threads started below inherit the mask. Some threads exist before main() (OpenBLAS starts its
  // pool from a library constructor) and do not block them: the kernel may hand SIGTERM to one of
  // those, where the default action would kill the daemon mid-drain (seen ~1 run in 10 under
  // load). So a process-wide handler also records the signal (g_stop_signal); the loop below
  // checks it at every tick. A SIGTERM during start-up stays pending and is taken by the loop.
  struct sigaction on_stop {};
  on_stop.sa_handler = RecordStopSignal;
  sigemptyset(&on_stop.sa_mask);
  sigaction(SIGTERM, &on_stop, nullptr);
  sigaction(SIGINT, &on_stop, nullptr);
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  InitLogging("info");
  auto fail = [&](const Status& st) { return ReportError(st, args.json); };
  auto cfg = LoadConfigStrict(args.config);
  if (!cfg.ok()) return fail(cfg.status());
  auto opts = BuildServeOptions(*cfg);
  if (!opts.ok()) return fail(opts.status());
  auto liveness = BuildLivenessSetup(*cfg);
  if (!liveness.ok()) return fail(liveness.status());

  // The device key signs every result: a missing or unsafe key fails start-up (fail closed).
  auto signer = pki::DeviceSigner::Load(cfg->GetPath("device.key_file"), cfg->GetPath("device.cert_chain"));
  if (!signer.ok()) return fail(signer.status().WithContext("device key (run veridge keys init --config " + args.config + ")"));
  auto runner = DeliveryRunner::Create(*cfg);
  if (!runner.ok()) return fail(runner.status());
  auto store_options = BuildStoreOptions(*cfg);
  if (!store_options.ok()) return fail(store_options.status());
  auto store = store::Store::Open(*store_options);
  if (!store.ok()) return fail(store.status());
  // A session that was running when the daemon last stopped (SIGKILL, power loss) cannot resume:
  // the applicant has walked away. Record it aborted before anything else sees it.
  auto aborted = (*store)->AbortRunningSessions(SystemClock::Instance().NowUnixSeconds(), "daemon_restarted");
  if (!aborted.ok()) return fail(aborted.status().WithContext("aborting interrupted sessions"));
  if (*aborted > 0) spdlog::warn("{} session(s) interrupted by the last stop recorded aborted (daemon_restarted)", *aborted);
  // Without the face models no reference photo can be checked: creation answers 503 and /readyz
  // says models=false; the rest of the daemon still serves.
  auto reference_check = MakeReferenceCheck(*cfg);
  if (!reference_check.ok()) spdlog::warn("reference photos cannot be checked: {}", reference_check.status().ToString());

  // The camera grabs from now on; the preview encodes only while a kiosk client watches.
  std::unique_ptr<capture::CameraService> camera;
  std::unique_ptr<PreviewStreamer> preview;
  if (opts->camera) {
    camera = std::make_unique<capture::CameraService>(*opts->camera);
    camera->Start();
    preview = std::make_unique<PreviewStreamer>(*camera, opts->preview);
  } else {
    spdlog::warn("no [camera] source is configured: /readyz reports camera: false and the kiosk has no preview");
  }

  net::Server server({opts->threads});
  auto state = std::make_shared<ServeState>();
  if (camera) {
    state->camera_status = [cam = camera.get()] { return cam->Status(); };
    state->preview_stats = [p = preview.get()] { return p->Stats(); };
    state->preview = [p = preview.get()](const net::Request& r) { return p->Handle(r); };
  }
  state->store = store->get();
  state->model_dir = ModelDir(*cfg);
  state->liveness_enabled = liveness->enabled;
  state->keys_loaded = true;
  state->started_at = SystemClock::Instance().NowUnixSeconds();
  state->http_stats = [&server] { return server.Stats(); };
  state->sessions = opts->sessions;
  state->console = opts->console;
  if (reference_check.ok()) state->sessions.check_reference = *reference_check;
  state->kiosk_page = opts->kiosk_page;
  if (!KioskPageBuilt(state->kiosk_page))
    spdlog::warn("the kiosk page is not built in {} ([kiosk] assets_dir): /kiosk/ answers 503 until `bash tools/build-web.sh` builds it",
                 state->kiosk_page.dir.string());
  auto kiosk = server.Listen(opts->kiosk, KioskRoutes(state));
  if (!kiosk.ok()) return fail(kiosk.status().WithContext("[serve].kiosk_listen"));
  auto api = server.Listen(opts->api, ApiRoutes(state));
  if (!api.ok()) return fail(api.status().WithContext("[serve].api_listen"));
  server.Start();

  std::atomic<bool> stop{false};
  std::promise<void> worker_done;
  auto worker_future = worker_done.get_future();
  std::thread worker([&] {
    auto stats = (*runner)->Run(/*until_empty=*/false, stop);
    if (!stats.ok()) spdlog::error("delivery worker stopped: {}", stats.status().ToString());
    worker_done.set_value();
  });

  if (!args.ready_file.empty()) {
    nlohmann::json rf = {{"pid", static_cast<long>(::getpid())}, {"kiosk", ListenerJson(*kiosk)}, {"api", ListenerJson(*api)}};
    if (Status st = WriteFileAtomic(args.ready_file, rf.dump() + "\n", 0644); !st.ok())
      spdlog::error("cannot write --ready-file: {}", st.ToString());
  }
  if (camera) {
    // A file opens in milliseconds and a device within its first frame: wait briefly so the
    // READY=1 status says what the camera is doing, never longer than one second.
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    while (camera->Status().state == capture::CameraState::kStarting && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const auto checks = CheckReady(*state);
  const std::string not_ready = NotReadyList(checks);
  spdlog::info("serving: kiosk http://{}:{}, api https://{}:{}; {}", kiosk->address, kiosk->port, api->address, api->port,
               not_ready.empty() ? "ready" : "NOT ready (" + not_ready + "): see /readyz and veridge doctor");
  const std::string status = not_ready.empty() ? "ready" : "serving, not ready: " + not_ready;
  sd_notify(0, ("READY=1\nSTATUS=" + status).c_str());

  // The watchdog is fed only while the I/O pool still runs handlers: a wedged pool stops the
  // pings and systemd restarts the service (WatchdogSec in the unit file).
  std::uint64_t watchdog_usec = 0;
  const bool watchdog = sd_watchdog_enabled(0, &watchdog_usec) > 0 && watchdog_usec > 0;
  const auto tick = watchdog ? std::min<std::chrono::microseconds>(std::chrono::microseconds(watchdog_usec / 2), std::chrono::seconds(1))
                             : std::chrono::microseconds(std::chrono::seconds(1));
  int signal_taken = 0;
  int ticks = 0;
  while (signal_taken != SIGTERM && signal_taken != SIGINT) {
    // The expiry sweep (reads expire lazily too): every ~5 ticks.
    if (++ticks % 5 == 0) {
      auto swept = (*store)->ExpireSessionRequests(SystemClock::Instance().NowUnixSeconds());
      if (!swept.ok()) spdlog::error("session expiry sweep: {}", swept.status().ToString());
    }
    timespec ts{static_cast<time_t>(tick.count() / 1000000), static_cast<long>((tick.count() % 1000000) * 1000)};
    signal_taken = sigtimedwait(&stop_signals, nullptr, &ts);
    if (signal_taken < 0 && g_stop_signal != 0) signal_taken = g_stop_signal;
    if (watchdog && signal_taken < 0) {
      if (server.Responsive(std::chrono::milliseconds(500))) sd_notify(0, "WATCHDOG=1");
      else spdlog::warn("watchdog: the I/O pool did not respond within 500 ms; not pinging");
    }
  }

  const auto deadline = std::chrono::steady_clock::now() + opts->drain_timeout;
  spdlog::info("{}: draining (deadline {} ms)", signal_taken == SIGTERM ? "SIGTERM" : "SIGINT", opts->drain_timeout.count());
  sd_notify(0, "STOPPING=1\nSTATUS=draining");
  stop = true;
  const bool clean = server.Shutdown(opts->drain_timeout);
  // After the listeners: preview streams are closed by the drain; then the encoder and the camera.
  if (preview) preview->Stop();
  if (camera) camera->Stop();
  if (worker_future.wait_until(deadline) != std::future_status::ready) {
    // Joining would overrun the deadline; the attempt in flight is retried after its lease.
    spdlog::warn("drain deadline reached with a delivery attempt in flight; it will be retried after its lease");
    spdlog::default_logger()->flush();
    std::_Exit(kExitOk);
  }
  worker.join();
  spdlog::info("stopped{}", clean ? "" : " (some connections were aborted at the deadline)");
  return kExitOk;
}

}  // namespace

void RegisterServeCommand(CLI::App& app, CommandContext& ctx) {
  auto* cmd = app.add_subcommand("serve", "The appliance daemon: kiosk listener (loopback), lender/staff API (TLS), delivery worker");
  auto args = std::make_shared<ServeArgs>();
  cmd->add_option("--config", args->config, "Configuration file")->required();
  cmd->add_option("--ready-file", args->ready_file,
                  "Once serving, write {\"pid\",\"kiosk\":{\"address\",\"port\"},\"api\":{...}} here (for port 0 and scripts)");
  cmd->add_flag("--json", args->json, "Machine-readable errors");
  cmd->callback([&ctx, args] { ctx.exit_code = RunServe(*args); });
}

}  // namespace veridge::app
