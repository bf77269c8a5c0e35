#pragma once
// The web UI (docs/ui.md): static assets embedded in the binary, served under /ui.
//
//   GET /                      302 to /ui/
//   GET /ui                    301 to /ui/
//   GET /ui/assets/<v>/<file>  an asset; <v> is the UI version, so it is cached for a year
//   GET /ui/<anything else>    index.html (no-cache), so the UI's own deep links survive a reload
//
// Every answer carries a Content-Security-Policy that allows only the agent itself (no inline
// script or style, no other origin) and X-Content-Type-Options: nosniff. Bodies are gzipped when
// the client accepts gzip. Handlers only read state built at registration: thread-safe.

#include <span>
#include <string>
#include <string_view>

#include "core/http/router.h"

namespace cairn::http {

struct UiAsset {
  std::string_view path;  // relative to ui/, e.g. "index.html", "js/app.js"
  std::string_view data;
};

// The files of ui/ and their content version, generated at build time (cmake/embed_ui.cmake).
std::span<const UiAsset> embeddedUiAssets();
std::string_view embeddedUiVersion();

// Registers /, /ui and /ui/ for `assets`, which must contain "index.html". In index.html every
// "@UI_VERSION@" is replaced by `version`. The assets are copied; the spans need not outlive this.
void addUiRoutes(Router& router, std::span<const UiAsset> assets, std::string_view version);

// The Content-Type for a file name, by extension (application/octet-stream when unknown).
std::string_view uiContentType(std::string_view path);

// True when an Accept-Encoding header value accepts gzip (a "gzip" token without q=0).
bool acceptsGzip(std::string_view accept_encoding);

}  // namespace cairn::http
