#pragma once
// Calls a route of `router` the way the HTTP edge would and waits (up to 30 s) for its answer.

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <memory>
#include <string>

#include "core/http/router.h"

namespace cairn::http::testing {

inline HttpResponse callRoute(const Router& router, std::string method, std::string path,
                              std::string query = "", std::string body = "") {
  auto req = std::make_shared<HttpRequest>();
  req->method = std::move(method);
  req->path = std::move(path);
  req->raw_query = query;
  req->query = QueryParams::parse(query);
  req->body = std::move(body);
  auto reply = std::make_shared<std::promise<HttpResponse>>();
  auto future = reply->get_future();
  router.dispatch(router.match(req->path), req,
                  Responder([reply](HttpResponse r) { reply->set_value(std::move(r)); }));
  EXPECT_EQ(future.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  return future.get();
}

// The value of response header `name` ("" when absent).
inline std::string headerValue(const HttpResponse& r, const std::string& name) {
  for (const auto& [n, v] : r.headers) {
    if (n == name) return v;
  }
  return "";
}

}  // namespace cairn::http::testing
