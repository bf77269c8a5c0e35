#include "core/http/ui_handlers.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <memory>

#include "core/base/gzip.h"

namespace cairn::http {
namespace {

constexpr std::string_view kUiPrefix = "/ui/";
constexpr std::string_view kAssetsPrefix = "/ui/assets/";
constexpr std::string_view kVersionMarker = "@UI_VERSION@";
// Only the agent itself: no inline script or style, no other origin, no framing.
constexpr std::string_view kCsp =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'";
constexpr std::string_view kLongCache = "public, max-age=31536000, immutable";

// One file ready to send: the body and, when it is smaller, its gzip form.
struct Prepared {
  std::string content_type;
  std::string body;
  std::string gzipped;  // empty when gzip would not help
};

struct UiState {
  std::string version;
  std::map<std::string, Prepared, std::less<>> assets;  // by path relative to ui/
  Prepared index;
};

std::string lowerAscii(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string replaceAll(std::string text, std::string_view from, std::string_view to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

Prepared prepare(std::string_view path, std::string body) {
  Prepared p{std::string(uiContentType(path)), std::move(body), {}};
  // Level 9 once at start-up: the assets are small and sent many times.
  std::string gz = gzipCompress(p.body, 9);
  if (gz.size() < p.body.size()) p.gzipped = std::move(gz);
  return p;
}

void addCommonHeaders(HttpResponse& r) {
  r.setHeader("Content-Security-Policy", std::string(kCsp));
  r.setHeader("X-Content-Type-Options", "nosniff");
  r.setHeader("Referrer-Policy", "no-referrer");
}

HttpResponse redirect(int status, std::string location) {
  HttpResponse r = textResponse(status, "");
  r.setHeader("Location", std::move(location));
  addCommonHeaders(r);
  return r;
}

std::string header(const HttpRequest& req, const std::string& name) {
  auto it = req.headers.find(name);
  return it == req.headers.end() ? std::string() : it->second;
}

HttpResponse serve(const HttpRequest& req, const Prepared& file, std::string_view cache_control,
                   const std::string& etag) {
  HttpResponse r;
  addCommonHeaders(r);
  r.setHeader("Cache-Control", std::string(cache_control));
  r.setHeader("ETag", etag);
  r.setHeader("Vary", "Accept-Encoding");
  if (header(req, "if-none-match") == etag) {
    r.status = 304;
    r.content_type = file.content_type;
    return r;
  }
  r.content_type = file.content_type;
  if (!file.gzipped.empty() && acceptsGzip(header(req, "accept-encoding"))) {
    r.setHeader("Content-Encoding", "gzip");
    r.body = file.gzipped;
  } else {
    r.body = file.body;
  }
  return r;
}

HttpResponse notFound(std::string text) {
  HttpResponse r = textResponse(404, std::move(text));
  addCommonHeaders(r);
  return r;
}

// /ui/assets/<version>/<path>: the asset, or 404 (an unknown version or path).
HttpResponse serveAsset(const UiState& ui, const HttpRequest& req) {
  std::string_view rest = std::string_view(req.path).substr(kAssetsPrefix.size());
  size_t slash = rest.find('/');
  if (slash == std::string_view::npos || rest.substr(0, slash) != ui.version) {
    return notFound("no such UI asset (the UI was upgraded? reload the page)\n");
  }
  auto it = ui.assets.find(rest.substr(slash + 1));
  if (it == ui.assets.end()) return notFound("no such UI asset\n");
  return serve(req, it->second, kLongCache, "\"" + ui.version + "\"");
}

void handleUi(const UiState& ui, const RequestPtr& req, const Responder& respond) {
  if (req->path == "/ui") return respond(redirect(301, "/ui/"));
  if (req->path.starts_with(kAssetsPrefix)) return respond(serveAsset(ui, *req));
  // index.html refers to the current version, so it must be revalidated every time.
  respond(serve(*req, ui.index, "no-cache", "\"" + ui.version + "-index\""));
}

}  // namespace

std::string_view uiContentType(std::string_view path) {
  static const std::map<std::string, std::string_view, std::less<>> kTypes = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".json", "application/json"},
      {".txt", "text/plain; charset=utf-8"},
      {".md", "text/plain; charset=utf-8"},
  };
  size_t dot = path.rfind('.');
  if (dot == std::string_view::npos) return "application/octet-stream";
  auto it = kTypes.find(lowerAscii(path.substr(dot)));
  return it == kTypes.end() ? std::string_view("application/octet-stream") : it->second;
}

bool acceptsGzip(std::string_view accept_encoding) {
  while (!accept_encoding.empty()) {
    size_t comma = accept_encoding.find(',');
    std::string_view item = accept_encoding.substr(0, comma);
    accept_encoding = comma == std::string_view::npos ? "" : accept_encoding.substr(comma + 1);
    size_t semi = item.find(';');
    std::string coding = lowerAscii(trim(item.substr(0, semi)));
    if (coding != "gzip" && coding != "x-gzip") continue;
    if (semi == std::string_view::npos) return true;
    std::string params = lowerAscii(item.substr(semi + 1));
    params.erase(std::remove(params.begin(), params.end(), ' '), params.end());
    // q=0, q=0.0, q=0.00 ... refuse; any other weight accepts.
    bool refused =
        params.starts_with("q=0") && params.find_first_not_of("0.", 2) == std::string::npos;
    return !refused;
  }
  return false;
}

void addUiRoutes(Router& router, std::span<const UiAsset> assets, std::string_view version) {
  auto ui = std::make_shared<UiState>();
  ui->version = std::string(version);
  for (const UiAsset& a : assets) {
    std::string body(a.data);
    if (a.path == "index.html") {
      ui->index = prepare(a.path, replaceAll(body, kVersionMarker, version));
    } else {
      ui->assets.emplace(std::string(a.path), prepare(a.path, std::move(body)));
    }
  }
  router.add(Route{
      "/", false, {"GET"}, [](RequestPtr, Responder respond) { respond(redirect(302, "/ui/")); }});
  auto handler = [ui](RequestPtr req, Responder respond) { handleUi(*ui, req, respond); };
  router.add(Route{"/ui", false, {"GET"}, handler});
  router.add(Route{std::string(kUiPrefix), true, {"GET"}, handler});
}

}  // namespace cairn::http
