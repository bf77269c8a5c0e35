#include "core/http/ui_handlers.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/base/gzip.h"

namespace cairn::http {
namespace {

HttpResponse get(const Router& router, std::string path,
                 std::map<std::string, std::string> headers = {}) {
  auto req = std::make_shared<HttpRequest>();
  req->method = "GET";
  req->path = std::move(path);
  req->headers = std::move(headers);
  HttpResponse got;
  got.status = 0;
  router.dispatch(router.match(req->path), req, Responder([&](HttpResponse r) { got = r; }));
  return got;
}

std::string headerOf(const HttpResponse& r, std::string_view name) {
  for (const auto& [n, v] : r.headers) {
    if (n == name) return v;
  }
  return "";
}

class UiHandlersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    big_ = std::string(4000, 'a');
    assets_ = {{"index.html", "<script src=\"/ui/assets/@UI_VERSION@/js/app.js\"></script>"},
               {"js/app.js", big_},
               {"app.css", "x"}};
    addUiRoutes(router_, assets_, "v123");
  }
  std::string big_;
  std::vector<UiAsset> assets_;
  Router router_;
};

TEST_F(UiHandlersTest, RootAndBareUiRedirect) {
  HttpResponse root = get(router_, "/");
  EXPECT_EQ(root.status, 302);
  EXPECT_EQ(headerOf(root, "Location"), "/ui/");
  HttpResponse ui = get(router_, "/ui");
  EXPECT_EQ(ui.status, 301);
  EXPECT_EQ(headerOf(ui, "Location"), "/ui/");
}

TEST_F(UiHandlersTest, IndexIsServedForDeepLinksWithoutCaching) {
  for (std::string path : {"/ui/", "/ui/kv/a b/c%23?/", "/ui/services/web"}) {
    HttpResponse r = get(router_, path);
    EXPECT_EQ(r.status, 200) << path;
    EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
    EXPECT_EQ(r.body, "<script src=\"/ui/assets/v123/js/app.js\"></script>");
    EXPECT_EQ(headerOf(r, "Cache-Control"), "no-cache");
  }
}

TEST_F(UiHandlersTest, VersionedAssetsAreCachedLongAndTyped) {
  HttpResponse js = get(router_, "/ui/assets/v123/js/app.js");
  EXPECT_EQ(js.status, 200);
  EXPECT_EQ(js.content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(js.body, big_);
  EXPECT_EQ(headerOf(js, "Cache-Control"), "public, max-age=31536000, immutable");
  EXPECT_EQ(get(router_, "/ui/assets/v123/app.css").content_type, "text/css; charset=utf-8");
}

TEST_F(UiHandlersTest, UnknownAssetsAndOldVersionsAre404) {
  EXPECT_EQ(get(router_, "/ui/assets/v123/js/missing.js").status, 404);
  EXPECT_EQ(get(router_, "/ui/assets/old/js/app.js").status, 404);
  EXPECT_EQ(get(router_, "/ui/assets/v123").status, 404);
  EXPECT_EQ(get(router_, "/ui/assets/v123/index.html").status, 404);
}

TEST_F(UiHandlersTest, SecurityHeadersOnEveryAnswer) {
  for (std::string path : {"/", "/ui", "/ui/", "/ui/assets/v123/js/app.js", "/ui/assets/x/y"}) {
    HttpResponse r = get(router_, path);
    std::string csp = headerOf(r, "Content-Security-Policy");
    EXPECT_NE(csp.find("default-src 'self'"), std::string::npos) << path;
    EXPECT_NE(csp.find("script-src 'self'"), std::string::npos) << path;
    EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos) << path;
    EXPECT_EQ(headerOf(r, "X-Content-Type-Options"), "nosniff") << path;
  }
}

TEST_F(UiHandlersTest, GzipOnlyWhenAcceptedAndSmaller) {
  HttpResponse plain = get(router_, "/ui/assets/v123/js/app.js");
  EXPECT_EQ(headerOf(plain, "Content-Encoding"), "");
  HttpResponse gz =
      get(router_, "/ui/assets/v123/js/app.js", {{"accept-encoding", "gzip, deflate, br"}});
  EXPECT_EQ(headerOf(gz, "Content-Encoding"), "gzip");
  EXPECT_EQ(headerOf(gz, "Vary"), "Accept-Encoding");
  auto unzipped = gzipDecompress(gz.body, 1 << 20);
  ASSERT_TRUE(unzipped.isOk());
  EXPECT_EQ(*unzipped, big_);
  // A one-byte file grows when gzipped, so it goes out as is.
  HttpResponse tiny = get(router_, "/ui/assets/v123/app.css", {{"accept-encoding", "gzip"}});
  EXPECT_EQ(headerOf(tiny, "Content-Encoding"), "");
  EXPECT_EQ(tiny.body, "x");
}

TEST_F(UiHandlersTest, EtagRevalidation) {
  HttpResponse first = get(router_, "/ui/");
  std::string etag = headerOf(first, "ETag");
  ASSERT_FALSE(etag.empty());
  HttpResponse again = get(router_, "/ui/kv/", {{"if-none-match", etag}});
  EXPECT_EQ(again.status, 304);
  EXPECT_TRUE(again.body.empty());
}

TEST_F(UiHandlersTest, OnlyGetIsAllowed) {
  auto req = std::make_shared<HttpRequest>();
  req->method = "PUT";
  req->path = "/ui/x";
  HttpResponse got;
  router_.dispatch(router_.match(req->path), req, Responder([&](HttpResponse r) { got = r; }));
  EXPECT_EQ(got.status, 405);
}

TEST(UiAcceptsGzip, Tokens) {
  EXPECT_TRUE(acceptsGzip("gzip"));
  EXPECT_TRUE(acceptsGzip("deflate, GZIP;q=0.5"));
  EXPECT_TRUE(acceptsGzip("br, x-gzip"));
  EXPECT_FALSE(acceptsGzip(""));
  EXPECT_FALSE(acceptsGzip("deflate, br"));
  EXPECT_FALSE(acceptsGzip("gzip;q=0"));
  EXPECT_FALSE(acceptsGzip("gzip; q=0.000"));
  EXPECT_FALSE(acceptsGzip("gzipx"));
}

TEST(UiContentType, ByExtension) {
  EXPECT_EQ(uiContentType("a/b.JS"), "text/javascript; charset=utf-8");
  EXPECT_EQ(uiContentType("x.svg"), "image/svg+xml");
  EXPECT_EQ(uiContentType("noext"), "application/octet-stream");
  EXPECT_EQ(uiContentType("x.exe"), "application/octet-stream");
}

// The assets built into the binary: index.html loads the app from the versioned path.
TEST(EmbeddedUi, IndexReferencesVersionedApp) {
  Router router;
  addUiRoutes(router, embeddedUiAssets(), embeddedUiVersion());
  EXPECT_EQ(embeddedUiVersion().size(), 12u);
  HttpResponse index = get(router, "/ui/");
  std::string app = "/ui/assets/" + std::string(embeddedUiVersion()) + "/js/app.js";
  EXPECT_NE(index.body.find(app), std::string::npos) << index.body;
  EXPECT_EQ(get(router, app).status, 200);
  EXPECT_EQ(get(router, "/ui/assets/" + std::string(embeddedUiVersion()) + "/vendor/preact-htm.js")
                .status,
            200);
}

}  // namespace
}  // namespace cairn::http
