// bench-serve: the live path of `veridge serve` at 640×480 — camera fps and the kiosk preview fps a
// client receives.
//   bench-serve [--clip FILE] [--seconds N] [--port P] [--stalled-clients K]
// Without --port: the real camera service (capture/camera_thread.h) plays the clip (default
// ../shared/data/liveness/subject-a/real.webm) as its camera, the real preview streamer
// (app/preview.h) serves it through the real HTTP server (net/server.h) on 127.0.0.1, and one client
// reads GET /kiosk/v1/preview.mjpg for N seconds (default 10) over a socket. K more clients
// (default 1) open the stream and never read, to show they slow neither the camera nor the reader.
// With --port P: reads the preview of a running daemon's kiosk listener instead (camera figures
// then come from its /metrics, not printed here).
// Prints: camera fps (measured by the service, and frames/s over the window), preview parts/s
// received, JPEG size and resolution, parts that were not whole JPEGs (must be 0), process CPU.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <opencv2/imgcodecs.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "app/preview.h"
#include "capture/camera_thread.h"
#include "net/server.h"

namespace fs = std::filesystem;
using namespace veridge;
using SteadyClock = std::chrono::steady_clock;

namespace {

int Connect(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    if (fd >= 0) ::close(fd);
    return -1;
  }
  const std::string req = "GET /kiosk/v1/preview.mjpg HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
    ::close(fd);
    return -1;
  }
  return fd;
}

struct Received {
  int status = 0;
  std::size_t parts = 0, bad_parts = 0, bytes = 0;
  int width = 0, height = 0;
  double seconds = 0;
};

// Reads the stream for `seconds`: parses "--frame" parts by their Content-Length.
Received ReadStream(int port, double seconds) {
  Received r;
  int fd = Connect(port);
  if (fd < 0) return r;
  std::string buf;
  bool head_done = false;
  const auto start = SteadyClock::now();
  const auto until = start + std::chrono::duration_cast<SteadyClock::duration>(std::chrono::duration<double>(seconds));
  char tmp[65536];
  while (SteadyClock::now() < until) {
    pollfd p{fd, POLLIN, 0};
    const int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(until - SteadyClock::now()).count());
    if (left <= 0 || ::poll(&p, 1, left) <= 0) continue;
    ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
    if (n <= 0) break;
    buf.append(tmp, static_cast<std::size_t>(n));
    if (!head_done) {
      auto end = buf.find("\r\n\r\n");
      if (end == std::string::npos) continue;
      r.status = std::stoi(buf.substr(9, 3));
      buf.erase(0, end + 4);
      head_done = true;
      if (r.status != 200) break;
    }
    while (true) {
      auto hend = buf.find("\r\n\r\n");
      if (hend == std::string::npos) break;
      auto cl = buf.find("Content-Length: ");
      if (buf.compare(0, 9, "--frame\r\n") != 0 || cl == std::string::npos || cl > hend) {
        ++r.bad_parts;
        buf.clear();
        break;
      }
      const std::size_t len = std::stoul(buf.substr(cl + 16, hend - cl - 16));
      if (buf.size() < hend + 4 + len + 2) break;
      const std::string jpeg = buf.substr(hend + 4, len);
      buf.erase(0, hend + 4 + len + 2);
      const bool whole = len > 4 && static_cast<unsigned char>(jpeg[0]) == 0xFF && static_cast<unsigned char>(jpeg[1]) == 0xD8 &&
                         static_cast<unsigned char>(jpeg[len - 2]) == 0xFF && static_cast<unsigned char>(jpeg[len - 1]) == 0xD9;
      if (!whole) ++r.bad_parts;
      if (r.parts == 0) {
        cv::Mat img = cv::imdecode(std::vector<unsigned char>(jpeg.begin(), jpeg.end()), cv::IMREAD_COLOR);
        r.width = img.cols;
        r.height = img.rows;
      }
      ++r.parts;
      r.bytes += len;
    }
  }
  r.seconds = std::chrono::duration<double>(SteadyClock::now() - start).count();
  ::close(fd);
  return r;
}

double CpuSeconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  fs::path clip = fs::path(VERIDGE_SHARED_DIR) / "data/liveness/subject-a/real.webm";
  double seconds = 10;
  int port = 0, stalled = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--clip") clip = argv[i + 1];
    else if (a == "--seconds") seconds = std::stod(argv[i + 1]);
    else if (a == "--port") port = std::stoi(argv[i + 1]);
    else if (a == "--stalled-clients") stalled = std::stoi(argv[i + 1]);
    else {
      std::fprintf(stderr, "usage: bench-serve [--clip FILE] [--seconds N] [--port P] [--stalled-clients K]\n");
      return 2;
    }
  }

  std::unique_ptr<capture::CameraService> camera;
  std::unique_ptr<app::PreviewStreamer> preview;
  std::unique_ptr<net::Server> server;
  if (port == 0) {
    if (!fs::exists(clip)) {
      std::fprintf(stderr, "bench-serve: clip %s not found (pass --clip FILE)\n", clip.c_str());
      return 2;
    }
    capture::CameraOptions co;
    co.source = clip.string();
    camera = std::make_unique<capture::CameraService>(co);
    camera->Start();
    app::PreviewOptions po;
    po.max_clients = 1 + std::max(0, stalled);
    preview = std::make_unique<app::PreviewStreamer>(*camera, po);
    auto router = std::make_shared<net::Router>();
    auto* p = preview.get();
    if (!router->Add({net::Method::kGet, "/kiosk/v1/preview.mjpg", "preview", [p](const net::Request& r) { return p->Handle(r); }}).ok())
      return 1;
    net::ListenerOptions lo;
    lo.name = "kiosk";
    lo.write_timeout = std::chrono::seconds(30);  // the stalled clients stay connected for the whole run
    server = std::make_unique<net::Server>(net::ServerOptions{2});
    auto bound = server->Listen(lo, router);
    if (!bound.ok()) {
      std::fprintf(stderr, "bench-serve: %s\n", bound.status().ToString().c_str());
      return 1;
    }
    port = bound->port;
    server->Start();
    const auto until = SteadyClock::now() + std::chrono::seconds(5);
    while (!camera->Status().up() && SteadyClock::now() < until) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (!camera->Status().up()) {
      std::fprintf(stderr, "bench-serve: the camera did not come up: %s\n", camera->Status().last_error.c_str());
      return 1;
    }
    std::printf("camera: %s (%dx%d)\n", clip.c_str(), camera->Status().width, camera->Status().height);
  }

  std::vector<int> stalled_fds;
  for (int i = 0; i < stalled; ++i) stalled_fds.push_back(Connect(port));  // never read
  const auto frames0 = camera ? camera->Status().frames : 0;
  const double cpu0 = CpuSeconds();
  const auto t0 = SteadyClock::now();
  const Received r = ReadStream(port, seconds);
  const double wall = std::chrono::duration<double>(SteadyClock::now() - t0).count();
  const double cpu = CpuSeconds() - cpu0;

  if (r.status != 200) {
    std::fprintf(stderr, "bench-serve: the preview answered %d\n", r.status);
    return 1;
  }
  std::printf("preview: %zu parts in %.2f s = %.1f fps received, %dx%d JPEG, %.1f KiB average, %zu not whole JPEGs\n", r.parts,
              r.seconds, r.parts / r.seconds, r.width, r.height, r.parts ? r.bytes / 1024.0 / r.parts : 0.0, r.bad_parts);
  if (camera) {
    const auto s = camera->Status();
    const auto ps = preview->Stats();
    std::printf("camera: %.1f fps measured by the service, %.1f frames/s over the window, ring high water %zu\n", s.fps,
                (s.frames - frames0) / wall, s.ring_high_water);
    std::printf("preview: %llu parts encoded, %llu skipped for %d stalled client(s); process CPU %.0f%% of one core\n",
                static_cast<unsigned long long>(ps.frames_encoded), static_cast<unsigned long long>(ps.frames_skipped), stalled,
                100.0 * cpu / wall);
  }
  for (int fd : stalled_fds)
    if (fd >= 0) ::close(fd);
  if (server) server->Shutdown(std::chrono::milliseconds(1000));
  if (preview) preview->Stop();
  if (camera) camera->Stop();
  return r.bad_parts == 0 ? 0 : 1;
}
