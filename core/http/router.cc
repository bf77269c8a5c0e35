#include "core/http/router.h"

#include <algorithm>

namespace cairn::http {

void Router::add(Route route) {
  if (route.max_body == 0) route.max_body = kDefaultMaxBody;
  routes_.push_back(std::move(route));
}

const Route* Router::match(std::string_view path) const {
  const Route* best = nullptr;
  for (const auto& r : routes_) {
    if (!r.prefix && r.pattern == path) return &r;
    if (r.prefix && path.starts_with(r.pattern) &&
        (!best || r.pattern.size() > best->pattern.size())) {
      best = &r;
    }
  }
  return best;
}

std::string allowHeader(const Route& route) {
  std::string allow = "OPTIONS";
  for (const auto& m : route.methods) allow += "," + m;
  return allow;
}

void Router::dispatch(const Route* route, RequestPtr request, Responder respond) const {
  if (!route) {
    if (request->path.starts_with("/v1/")) {
      respond(textResponse(404, "Invalid URL path: not a recognized HTTP API endpoint"));
    } else {
      respond(textResponse(404, "404 page not found\n"));
    }
    return;
  }
  if (request->method == "OPTIONS") {
    HttpResponse r = textResponse(200, "");
    r.setHeader("Allow", allowHeader(*route));
    respond(std::move(r));
    return;
  }
  const auto& m = route->methods;
  if (std::find(m.begin(), m.end(), request->method) == m.end()) {
    HttpResponse r = textResponse(405, "method " + request->method + " not allowed");
    r.setHeader("Allow", allowHeader(*route));
    respond(std::move(r));
    return;
  }
  if (guard_) {
    if (auto refused = guard_(*route, *request, respond)) return respond(std::move(*refused));
  }
  route->handler(std::move(request), std::move(respond));
}

}  // namespace cairn::http
