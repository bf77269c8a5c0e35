#pragma once
// The pure parts of the HTTP/1.1 edge, free of sockets and of the parser library, so they can be
// unit-tested and fuzzed: checks the parser does not make, target splitting, response framing.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/http/http_types.h"

namespace cairn::http {

// True when the header block at the start of `bytes` (up to the first CRLFCRLF, or all of it if
// that has not arrived yet) contains a line feed not preceded by a carriage return. Such requests
// are rejected at once: a strict parser would otherwise wait for a CRLFCRLF that never comes.
bool hasBareLineFeed(std::string_view bytes);

// The path and raw query of a request-target: origin-form ("/a?b"), absolute-form
// ("http://host/a?b", authority dropped) or asterisk-form ("*"). Any fragment is dropped.
struct SplitTarget {
  std::string_view path;
  std::string_view raw_query;
};
SplitTarget splitTarget(std::string_view target);

// Bytes below 0x20 or 0x7f.
bool hasControlBytes(std::string_view s);

// The agent's 413 text (Consul's wording).
std::string tooLargeText(uint64_t size, size_t max);

// "OK", "Not Found", ...; "Unknown" for codes we never send.
std::string_view reasonPhrase(int status);

// The status line and header block of `response` (ending in the blank line). A streamed response
// (response.stream) is framed with chunked transfer encoding; otherwise Content-Length is
// always the body size, so it stays right for HEAD answers whose body the caller drops. Headers
// whose name or value could break the framing (CR, LF, NUL) are dropped. `extra` is a block of
// complete "Name: value\r\n" lines added to every response.
std::string responseHead(const HttpResponse& response, bool keep_alive, std::string_view extra);
// One piece of a chunked body ("<hex size>\r\n<data>\r\n"); the empty piece ends the body.
std::string chunkFrame(std::string_view data);

}  // namespace cairn::http
