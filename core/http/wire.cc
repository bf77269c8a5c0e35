#include "core/http/wire.h"

#include <algorithm>
#include <cstdio>

namespace cairn::http {

bool hasBareLineFeed(std::string_view bytes) {
  size_t end = bytes.find("\r\n\r\n");
  std::string_view head = end == std::string_view::npos ? bytes : bytes.substr(0, end + 4);
  for (size_t i = head.find('\n'); i != std::string_view::npos; i = head.find('\n', i + 1)) {
    if (i == 0 || head[i - 1] != '\r') return true;
  }
  return false;
}

SplitTarget splitTarget(std::string_view target) {
  if (size_t hash = target.find('#'); hash != std::string_view::npos) {
    target = target.substr(0, hash);
  }
  // absolute-form: scheme "://" authority, then the path (RFC 7230 section 5.3.2)
  if (size_t scheme = target.find("://");
      scheme != std::string_view::npos &&
      target.substr(0, scheme).find('/') == std::string_view::npos) {
    size_t path = target.find_first_of("/?", scheme + 3);
    target = path == std::string_view::npos ? std::string_view("/") : target.substr(path);
    if (target.starts_with('?')) {
      return SplitTarget{"/", target.substr(1)};
    }
  }
  size_t q = target.find('?');
  if (q == std::string_view::npos) return SplitTarget{target, {}};
  return SplitTarget{target.substr(0, q), target.substr(q + 1)};
}

bool hasControlBytes(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](unsigned char c) { return c < 0x20 || c == 0x7f; });
}

std::string tooLargeText(uint64_t size, size_t max) {
  return "Request body(" + std::to_string(size) +
         " bytes) too large, max size: " + std::to_string(max) + " bytes";
}

std::string_view reasonPhrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 204:
      return "No Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 411:
      return "Length Required";
    case 413:
      return "Payload Too Large";
    case 415:
      return "Unsupported Media Type";
    case 417:
      return "Expectation Failed";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

namespace {

bool breaksFraming(std::string_view s) {
  return s.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

void addLine(std::string& out, std::string_view name, std::string_view value) {
  out.append(name).append(": ").append(value).append("\r\n");
}

}  // namespace

std::string responseHead(const HttpResponse& response, bool keep_alive, std::string_view extra) {
  int status = response.status >= 100 && response.status <= 999 ? response.status : 500;
  std::string out;
  out.reserve(160 + extra.size() + response.headers.size() * 48);
  out.append("HTTP/1.1 ").append(std::to_string(status)).append(" ");
  out.append(reasonPhrase(status)).append("\r\n");
  if (!breaksFraming(response.content_type)) addLine(out, "Content-Type", response.content_type);
  if (response.stream) {
    addLine(out, "Transfer-Encoding", "chunked");
  } else {
    addLine(out, "Content-Length", std::to_string(response.body.size()));
  }
  if (!keep_alive) addLine(out, "Connection", "close");
  out.append(extra);
  for (const auto& [name, value] : response.headers) {
    if (name.empty() || breaksFraming(name) || breaksFraming(value) ||
        name.find(':') != std::string::npos) {
      continue;
    }
    addLine(out, name, value);
  }
  out.append("\r\n");
  return out;
}

std::string chunkFrame(std::string_view data) {
  char size[20];
  int n = std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  std::string out;
  out.reserve(n + data.size() + 2);
  out.append(size, n).append(data).append("\r\n");
  return out;
}

}  // namespace cairn::http
