// The kiosk page's routes (app/kiosk_assets.h) over real files: the strict CSP and the other
// headers on every answer, content types, and every way out of assets/ refused with 404.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <fstream>

#include "app/kiosk_assets.h"
#include "support/test_support.h"

using namespace veridge;
using veridge::testing::TempDir;

namespace {

struct Page {
  TempDir dir;
  net::Router router;
  Page() {
    std::filesystem::create_directories(dir / "assets/sub.js");  // a directory with an asset's name
    std::ofstream(dir / "index.html") << "<!doctype html><title>kiosk</title>";
    std::ofstream(dir / "assets/index-Ab12_-.js") << "console.log(1)";
    std::ofstream(dir / "assets/index-Ab12.css") << "body{}";
    std::ofstream(dir / "assets/page.html") << "<p>not from assets</p>";
    std::ofstream(dir / "assets/.hidden.js") << "hidden";
    std::ofstream(dir / "secret.js") << "SECRET-OUTSIDE-ASSETS";
    ::mkfifo((dir / "assets/pipe.js").c_str(), 0600);
    app::KioskAssetsOptions o;
    o.dir = dir.path();
    o.locales = {"en", "zh-CN"};
    o.idle_reset = std::chrono::seconds(45);
    REQUIRE(app::AddKioskAssetRoutes(router, o).ok());
  }
  net::Response Get(const std::string& path) {
    net::Request q;
    q.path = path;
    return router.Dispatch(q);
  }
};

std::string HeaderOf(const net::Response& r, const std::string& name) {
  for (const auto& [k, v] : r.headers)
    if (k == name) return v;
  return "";
}

}  // namespace

TEST_CASE("kiosk page: index, assets and config carry the strict CSP and the protocol's headers") {
  Page p;
  auto index = p.Get("/kiosk/");
  CHECK(index.status == 200);
  CHECK(index.content_type == "text/html; charset=utf-8");
  CHECK(index.body == "<!doctype html><title>kiosk</title>");
  CHECK(HeaderOf(index, "Content-Security-Policy") == app::kKioskCsp);
  CHECK(std::string(app::kKioskCsp).find("script-src 'self';") != std::string::npos);
  CHECK(std::string(app::kKioskCsp).find("unsafe-inline") == std::string::npos);
  CHECK(HeaderOf(index, "Referrer-Policy") == "no-referrer");
  CHECK(HeaderOf(index, "Cache-Control") == "no-store");
  CHECK(HeaderOf(index, "X-Frame-Options") == "DENY");
  CHECK(HeaderOf(index, "Permissions-Policy").find("camera=()") != std::string::npos);

  auto js = p.Get("/kiosk/assets/index-Ab12_-.js");
  CHECK(js.status == 200);
  CHECK(js.content_type == "text/javascript; charset=utf-8");
  CHECK(js.body == "console.log(1)");
  CHECK(HeaderOf(js, "Content-Security-Policy") == app::kKioskCsp);
  CHECK(HeaderOf(js, "Cache-Control").find("immutable") != std::string::npos);
  CHECK(p.Get("/kiosk/assets/index-Ab12.css").content_type == "text/css; charset=utf-8");

  auto cfg = p.Get("/kiosk/config.json");
  CHECK(cfg.status == 200);
  CHECK(cfg.body == R"({"idle_reset_ms":45000,"locales":["en","zh-CN"]})");
  CHECK(HeaderOf(cfg, "Content-Security-Policy") == app::kKioskCsp);

  for (const char* path : {"/", "/kiosk"}) {
    INFO(path);
    auto r = p.Get(path);
    CHECK(r.status == 302);
    CHECK(HeaderOf(r, "Location") == "/kiosk/");
  }
}

TEST_CASE("kiosk page: traversal, unknown assets, hidden files, directories, FIFOs and HTML from assets are 404") {
  Page p;
  for (const char* path : {"/kiosk/assets/../secret.js", "/kiosk/assets/..%2fsecret.js", "/kiosk/assets/%2e%2e%2fsecret.js",
                           "/kiosk/assets/..", "/kiosk/assets/nope.js", "/kiosk/assets/.hidden.js", "/kiosk/assets/sub.js",
                           "/kiosk/assets/pipe.js", "/kiosk/assets/page.html", "/kiosk/assets/index-Ab12_-.js.map",
                           "/kiosk/assets/index-Ab12_-.JS", "/kiosk/assets/x%00.js", "/kiosk/secret.js", "/kiosk/index.html"}) {
    INFO(path);
    auto r = p.Get(path);
    CHECK(r.status == 404);
    CHECK(r.body.find("SECRET") == std::string::npos);
  }
  CHECK_FALSE(app::SafeAssetName(".."));
  CHECK_FALSE(app::SafeAssetName("a/b.js"));
  CHECK_FALSE(app::SafeAssetName(std::string(129, 'a') + ".js"));
  CHECK(app::SafeAssetName("index-CpGjtOo2.js"));
  CHECK(app::AssetContentType("x.woff2") == "font/woff2");
  CHECK(app::AssetContentType("x.exe").empty());
}

TEST_CASE("kiosk page: a missing build answers 503 saying how to build it, and [kiosk] keys are checked") {
  TempDir empty;
  net::Router r;
  app::KioskAssetsOptions o;
  o.dir = empty / "dist";
  CHECK_FALSE(app::KioskPageBuilt(o));
  REQUIRE(app::AddKioskAssetRoutes(r, o).ok());
  net::Request q;
  q.path = "/kiosk/";
  auto res = r.Dispatch(q);
  CHECK(res.status == 503);
  CHECK(res.body.find("tools/build-web.sh") != std::string::npos);

  auto build = [&](const std::string& toml) { return app::BuildKioskAssetsOptions(config::Config::Parse(toml, empty.path()).value()); };
  auto defaults = build("");
  REQUIRE(defaults.ok());
  CHECK(defaults->dir == app::DefaultKioskAssetsDir());
  CHECK(defaults->locales == std::vector<std::string>{"zh-CN", "en"});
  CHECK(defaults->idle_reset == std::chrono::seconds(60));
  auto set = build("[kiosk]\nassets_dir = \"page\"\nlocales = [\"en\"]\nidle_reset = \"2m\"\n");
  REQUIRE(set.ok());
  CHECK(set->dir == empty / "page");
  CHECK(set->locales == std::vector<std::string>{"en"});
  CHECK(set->idle_reset == std::chrono::minutes(2));
  for (const char* bad : {"[kiosk]\nlocales = []\n", "[kiosk]\nlocales = [\"fr\"]\n", "[kiosk]\nlocales = [\"en\", \"en\"]\n"}) {
    INFO(bad);
    auto st = build(bad);
    REQUIRE_FALSE(st.ok());
    CHECK(st.status().code() == "config_invalid");
    CHECK(st.status().message().find("[kiosk] locales") != std::string::npos);
  }
  CHECK(config::Config::Parse("[kiosk]\nidle_reset = \"1s\"\n", empty.path()).status().code() == "config_invalid");
}
