// The OpenAPI document of the lender API against the API listener's real route table: every route
// (but the staff console's own /console/api/, documented in docs/security/console.md) is in the
// document with its method, and the document names no route the daemon does not have. The daemon
// serves docs/openapi.json byte for byte at GET /v1/openapi.json.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <fstream>
#include <set>
#include <sstream>

#include "api/api.h"
#include "app/serve.h"
#include "store/store_fixture.h"

using namespace veridge;
using namespace veridge::testing;
using nlohmann::json;

TEST_CASE("openapi: docs/openapi.json names exactly the API listener's lender routes, and GET /v1/openapi.json serves it") {
  StoreFixture f;
  auto db = f.Open();
  auto state = std::make_shared<app::ServeState>();
  state->store = db.get();
  state->console.argon2.memory_kib = 19456;  // the cheapest allowed: only the routes are wanted here
  auto router = app::ApiRoutes(state);

  std::ifstream in(SourceDir() / "docs/openapi.json", std::ios::binary);
  std::stringstream file;
  file << in.rdbuf();
  REQUIRE_FALSE(file.str().empty());
  CHECK(api::OpenApiDocument() == file.str());  // the binary carries the document of its source tree
  const json doc = json::parse(file.str());
  CHECK(doc["openapi"] == "3.1.0");

  std::set<std::string> in_router, in_doc;
  for (const auto& r : router->routes())
    if (r.pattern.rfind("/console/api/", 0) != 0) in_router.insert(std::string(net::ToString(r.method)) + " " + r.pattern);
  for (const auto& [path, item] : doc["paths"].items())
    for (const auto& [method, op] : item.items()) {
      std::string m = method;
      for (auto& c : m) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      in_doc.insert(m + " " + path);
      CHECK(op.contains("responses"));
    }
  CHECK(in_router.count("GET /v1/openapi.json") == 1);
  CHECK(in_router.count("POST /v1/sessions") == 1);
  for (const auto& r : in_router) {
    INFO("route missing from docs/openapi.json: " << r);
    CHECK(in_doc.count(r) == 1);
  }
  for (const auto& d : in_doc) {
    INFO("docs/openapi.json names a route the daemon does not have: " << d);
    CHECK(in_router.count(d) == 1);
  }

  auto token = api::CreateToken(*db, "lender", 1'800'000'000, "test");
  REQUIRE(token.ok());
  net::Request get;
  get.path = "/v1/openapi.json";
  CHECK(router->Dispatch(get).status == 401);
  get.headers = {{"Authorization", "Bearer " + token->token}};
  auto served = router->Dispatch(get);
  CHECK(served.status == 200);
  CHECK(served.content_type == "application/json");
  CHECK(served.body == file.str());
}
