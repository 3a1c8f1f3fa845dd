// fuzz/http_fuzz.cpp — libFuzzer target: the request path of `veridge serve`, in process and
// without sockets: raw bytes -> Beast's HTTP/1.1 request parser with the listener's default
// header and body limits -> the same translation into net::Request that net/server.cpp's
// Session::Handle makes -> net::Router::Dispatch over the real v1 API routes
// (api::AddV1Routes: bearer authentication, POST /v1/sessions JSON bodies with base64 reference
// photos and Idempotency-Key, GET /v1/sessions/{id}, POST /v1/sessions/{id}/cancel) backed by a
// real SQLCipher store in a temporary directory.
//
// Substitutions, so the fuzzer reaches the authenticated handlers as well as the refusals:
// "Bearer @" in a header becomes a real token of that store; "@sid" in the path becomes the id
// of a session created at start-up. The reference-photo check (face models in the product) is a
// stand-in decided by the decoded photo's length: accepted, refused with a vision code (422) or
// unavailable (503), so each branch of session creation is reached.
//
// What must hold: no crash, sanitizer report or escaping exception; every response has a status
// in 200..599, a JSON body that parses, and header names and values without CR, LF or NUL.
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
  std::string session_id;  // "@sid" in a request path
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
    api::SessionApiOptions sessions;
    sessions.check_reference = [](const std::string& image) {
      if (image.size() % 7 == 0) return Status::Unavailable("fuzz_check_down", "stand-in: the check is down");
      if (image.size() % 3 == 0) return Status::InvalidInput("no_face", "stand-in: no face in the photo");
      return Status::Ok();
    };
    if (!api::AddV1Routes(x->router, *x->store, sessions).ok()) std::abort();
    net::Request create;
    create.method = net::Method::kPost;
    create.path = "/v1/sessions";
    create.headers.emplace_back("Authorization", "Bearer " + x->token);
    create.body = R"({"applicant_ref":"fuzz","reference_image":"/9j/4A==","factors":["face"],"locale":"en"})";
    const net::Response created = x->router.Dispatch(create);
    const auto id = nlohmann::json::parse(created.body, nullptr, false);
    if (created.status != 201 || !id.is_object() || !id.contains("id")) {
      std::fprintf(stderr, "http_fuzz: creating the start-up session: %d %s\n", created.status, created.body.c_str());
      std::abort();
    }
    x->session_id = id["id"].get<std::string>();
    std::atexit([] { std::error_code ec; std::filesystem::remove_all(TheWorld().dir, ec); });
    return x;
  }();
  return *w;
}

bool CleanHeaderText(const std::string& s) { return s.find_first_of(std::string("\r\n\0", 3)) == std::string::npos; }

void CheckResponse(const net::Response& r) {
  if (r.status < 200 || r.status > 599) std::abort();
  if (r.content_type == "application/json" && nlohmann::json::parse(r.body, nullptr, false).is_discarded()) std::abort();
  if (!CleanHeaderText(r.content_type)) std::abort();
  for (const auto& [name, value] : r.headers)
    if (name.empty() || !CleanHeaderText(name) || !CleanHeaderText(value)) std::abort();
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
  if (const auto at = r.path.find("@sid"); at != std::string::npos) r.path.replace(at, 4, w.session_id);
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
