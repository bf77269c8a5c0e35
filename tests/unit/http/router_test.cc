#include "core/http/router.h"

#include <gtest/gtest.h>

namespace cairn::http {
namespace {

HttpResponse dispatch(const Router& router, std::string method, std::string path) {
  auto req = std::make_shared<HttpRequest>();
  req->method = std::move(method);
  req->path = std::move(path);
  HttpResponse got;
  router.dispatch(router.match(req->path), req, Responder([&](HttpResponse r) { got = r; }));
  return got;
}

Router makeRouter(std::string* hit) {
  Router router;
  router.add(Route{"/v1/kv/", true, {"GET", "PUT"}, [hit](RequestPtr r, Responder respond) {
                     *hit = "kv:" + r->path;
                     respond(textResponse(200, ""));
                   }});
  router.add(Route{"/v1/kv/special", false, {"GET"}, [hit](RequestPtr, Responder respond) {
                     *hit = "special";
                     respond(textResponse(200, ""));
                   }});
  return router;
}

TEST(Router, ExactBeatsPrefix) {
  std::string hit;
  Router router = makeRouter(&hit);
  dispatch(router, "GET", "/v1/kv/special");
  EXPECT_EQ(hit, "special");
  dispatch(router, "GET", "/v1/kv/special/x");
  EXPECT_EQ(hit, "kv:/v1/kv/special/x");
}

TEST(Router, UnknownPathsAnd405) {
  std::string hit;
  Router router = makeRouter(&hit);
  auto r = dispatch(router, "GET", "/v1/nope");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, "Invalid URL path: not a recognized HTTP API endpoint");
  r = dispatch(router, "DELETE", "/v1/kv/x");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.body, "method DELETE not allowed");
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0].second, "OPTIONS,GET,PUT");
  r = dispatch(router, "OPTIONS", "/v1/kv/x");
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(hit.empty());
}

TEST(Responder, OnlyTheFirstReplyIsSent) {
  int sent = 0;
  Responder respond([&](HttpResponse) { ++sent; });
  Responder copy = respond;
  respond(textResponse(200, ""));
  copy(textResponse(500, ""));
  EXPECT_EQ(sent, 1);
}

}  // namespace
}  // namespace cairn::http
