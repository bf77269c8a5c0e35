#pragma once
// Router: maps a decoded path to a route (exact, or prefix such as "/v1/kv/") and enforces the
// route's methods: unknown paths get 404, wrong methods 405 with Allow, OPTIONS 200 with Allow.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/http/http_types.h"

namespace cairn::http {

struct Route {
  std::string pattern;
  bool prefix = false;
  std::vector<std::string> methods;
  Handler handler;
  size_t max_body = 0;  // largest accepted request body in bytes
};

class Router {
 public:
  static constexpr size_t kDefaultMaxBody = 1 << 20;

  void add(Route route);
  // The route serving `path`: an exact match, else the longest matching prefix route.
  const Route* match(std::string_view path) const;
  // Answers 404/405/OPTIONS itself; otherwise calls the route's handler.
  void dispatch(const Route* route, RequestPtr request, Responder respond) const;

 private:
  std::vector<Route> routes_;
};

std::string allowHeader(const Route& route);

}  // namespace cairn::http
