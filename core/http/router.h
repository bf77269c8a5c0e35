#pragma once
// Router: maps a decoded path to a route (exact, or prefix such as "/v1/kv/") and enforces the
// route's methods: unknown paths get 404, wrong methods 405 with Allow, OPTIONS 200 with Allow.

#include <cstddef>
#include <functional>
#include <optional>
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

  // Runs before every handler of a registered route (after the 404/405/OPTIONS answers): returns
  // the answer that refuses the request, or nullopt to let it through. It may set
  // request.authz and wrap `respond` (to filter the answer). The ACL guard is the only one
  // (core/http/acl_enforcer.h); none is installed while ACLs are disabled.
  using Guard = std::function<std::optional<HttpResponse>(
      const Route& route, const HttpRequest& request, Responder& respond)>;
  void setGuard(Guard guard) { guard_ = std::move(guard); }

  void add(Route route);
  // Every registered route, in registration order (the ACL tests walk them).
  const std::vector<Route>& routes() const { return routes_; }
  // The route serving `path`: an exact match, else the longest matching prefix route.
  const Route* match(std::string_view path) const;
  // Answers 404/405/OPTIONS itself; otherwise calls the route's handler.
  void dispatch(const Route* route, RequestPtr request, Responder respond) const;

 private:
  std::vector<Route> routes_;
  Guard guard_;
};

std::string allowHeader(const Route& route);

}  // namespace cairn::http
