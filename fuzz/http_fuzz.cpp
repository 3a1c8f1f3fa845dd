// fuzz/http_fuzz.cpp — libFuzzer target: the request path of `veridge serve`, in process and
// without sockets: raw bytes -> Beast's HTTP/1.1 request parser with the listener's default
// header and body limits -> the same translation into net::Request that net/server.cpp's
// Session::Handle makes -> net::Router::Dispatch over the real v1 API routes
// (api::AddV1Routes: bearer authentication, session id checks) backed by a real SQLCipher store
// in a temporary directory.
//
// "Bearer @" in the request is replaced by a real token of that store, so the fuzzer reaches the
// authenticated handler as well as the refusals. The v1 API has no JSON request bodies yet (its one
// route is GET /v1/sessions/{id}); bodies are parsed by Beast and handed to the router as sent.
//
// What must hold: no crash or sanitizer report; every response has a status in 200..599, and an
// error response's body is JSON.
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "api/api.h"
#include "audit/audit.h"
#include "net/server.h"
#include "store/store.h"

namespace {

namespace http = boost::beast::http;
using namespace veridge;

struct World {
  std::filesystem::path dir;
  std::unique_ptr<store::Store> store;
  std::string token;
  net::Router router;
};

World& TheWorld() {
  static World* w = [] {
    auto* x = new World;
    char tmpl[] = "/tmp/veridge-http-fuzz-XXXXXX";
    if (!mkdtemp(tmpl)) std::abort();
    x->dir = tmpl;
    store::StoreOptions o;
    o.path = x->dir / "veridge.db";
    o.key_file = x->dir / "store.key";
    o.create_if_missing = true;
    o.audit_hasher = audit::ChainHasher();
    if (!store::GenerateKeyFile(o.key_file).ok()) std::abort();
    auto s = store::Store::Open(o);
    if (!s.ok()) { std::fprintf(stderr, "http_fuzz: store: %s\n", s.status().ToString().c_str()); std::abort(); }
    x->store = std::move(*s);
    auto t = api::CreateToken(*x->store, "fuzz", 1'800'000'000, "fuzz");
    if (!t.ok()) std::abort();
    x->token = t->token;
    if (!x->router.Add({net::Method::kGet, "/healthz", "alive", [](const net::Request&) { return net::Response::Json(200, "{}"); }}).ok())
      std::abort();
    if (!api::AddV1Routes(x->router, *x->store).ok()) std::abort();
    std::atexit([] { std::error_code ec; std::filesystem::remove_all(TheWorld().dir, ec); });
    return x;
  }();
  return *w;
}

void CheckResponse(const net::Response& r) {
  if (r.status < 200 || r.status > 599) std::abort();
  if (r.status >= 400 && r.content_type == "application/json" && nlohmann::json::parse(r.body, nullptr, false).is_discarded())
    std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  World& w = TheWorld();
  const net::ListenerOptions limits;  // the server's defaults
  http::request_parser<http::string_body> parser;
  parser.header_limit(static_cast<std::uint32_t>(limits.max_header_bytes));
  parser.body_limit(limits.max_body_bytes);
  parser.eager(true);
  boost::beast::error_code ec;
  parser.put(boost::asio::buffer(data, size), ec);
  if (!ec && !parser.is_done()) parser.put_eof(ec);
  if (ec || !parser.is_done()) return 0;  // the server answers 400/413/431 or waits for more

  auto& req = parser.get();
  net::Request r;
  if (req.method() == http::verb::get) r.method = net::Method::kGet;
  else if (req.method() == http::verb::post) r.method = net::Method::kPost;
  else return 0;  // 405 before routing
  const std::string target(req.target());
  if (target.empty() || target[0] != '/') return 0;  // 400 before routing
  const auto q = target.find('?');
  r.path = target.substr(0, q);
  if (q != std::string::npos) r.query = target.substr(q + 1);
  for (const auto& f : req) {
    std::string value(f.value());
    if (value == "Bearer @") value = "Bearer " + w.token;
    r.headers.emplace_back(std::string(f.name_string()), std::move(value));
  }
  r.body = std::move(req.body());
  r.remote_address = "192.0.2.1";
  CheckResponse(w.router.Dispatch(r));
  return 0;
}
