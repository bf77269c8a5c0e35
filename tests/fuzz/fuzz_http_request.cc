// Fuzz target for the HTTP request path of the server (core/http/request_reader.h, wire.h): the
// input's first byte picks how the rest is cut into reads (1 to 256 bytes each, as a socket
// would deliver it); the rest is the byte stream of one connection. Every request the reader
// produces is answered (the response head is built from what the client sent), rejections end
// the stream. Small limits, so the 413/431 paths are reached. Crashes, sanitizer reports, hangs
// and a request that violates the reader's guarantees are findings.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "core/http/request_reader.h"
#include "core/http/wire.h"

namespace {

using cairn::http::HttpResponse;
using cairn::http::ReaderLimits;
using cairn::http::RequestReader;

void check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  size_t piece = size_t{data[0]} + 1;
  std::string_view stream(reinterpret_cast<const char*>(data) + 1, size - 1);
  ReaderLimits limits{512, [](std::string_view path) {
                        return path.starts_with("/v1/kv/") ? size_t{64} : size_t{4096};
                      }};
  RequestReader reader(limits);
  size_t pos = 0;
  for (int steps = 0; steps < 100000; ++steps) {
    switch (reader.advance()) {
      case RequestReader::Step::kRequest: {
        auto request = reader.take();
        check(request != nullptr);
        check(!cairn::http::hasControlBytes(request->path));
        check(request->body.size() <= (request->path.starts_with("/v1/kv/") ? 64u : 4096u));
        HttpResponse r = cairn::http::textResponse(200, request->path);
        for (const auto& [name, value] : request->headers) r.setHeader(name, value);
        std::string head = cairn::http::responseHead(r, reader.keepAlive(), "");
        check(head.ends_with("\r\n\r\n"));
        check(head.find("\r\n\r\n") == head.size() - 4);  // no header injected a blank line
        break;
      }
      case RequestReader::Step::kContinue:
        break;
      case RequestReader::Step::kReject: {
        int status = reader.rejection().status;
        check(status >= 400 && status < 600);
        return 0;
      }
      case RequestReader::Step::kNeedMore: {
        if (pos >= stream.size()) return 0;
        size_t n = std::min(piece, stream.size() - pos);
        auto space = reader.prepare(n);
        std::memcpy(space.data(), stream.data() + pos, n);
        reader.commit(n);
        pos += n;
        break;
      }
    }
  }
  std::abort();  // a stream that never ends in need-more or reject: the reader is looping
}
