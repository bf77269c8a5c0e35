#pragma once
// RequestReader: turns the bytes of one HTTP/1.1 connection into HttpRequests, without doing any
// I/O, so the server's parsing rules can be unit-tested and fuzzed. It wraps Boost.Beast's strict
// parser and adds what that parser leaves to the caller:
//   - bare LF line endings are a 400 at once (the parser would wait for a CRLFCRLF forever);
//   - the header block is bounded (431);
//   - the route's body limit is known once the path is: a Content-Length above it is a 413
//     before any body byte is read, and a chunked body is cut off (413) as soon as the announced
//     chunk sizes pass it, so no more than the limit is ever buffered;
//   - the target is split and percent-decoded; NUL or control bytes in it are a 400;
//   - `Expect: 100-continue` is reported so the caller can send the interim answer.
// Any rejection means the connection must close after the answer: the parser cannot resync.
// Pipelined requests stay in the buffer and come out one at a time, in order.
// Not thread-safe: one connection, one thread (or strand) at a time.

#include <cstddef>
#include <functional>
#include <memory>
#include <span>
#include <string_view>

#include "core/http/http_types.h"

namespace cairn::http {

struct ReaderLimits {
  size_t max_header_bytes = 32 * 1024;  // request line and headers
  // The largest body accepted for a request to this (percent-decoded) path.
  std::function<size_t(std::string_view path)> max_body;
};

class RequestReader {
 public:
  enum class Step {
    kNeedMore,  // read more bytes (prepare/commit), then advance() again
    kContinue,  // send "HTTP/1.1 100 Continue", then advance() again
    kRequest,   // take() the request
    kReject,    // send rejection() and close
  };

  explicit RequestReader(ReaderLimits limits);
  ~RequestReader();
  RequestReader(const RequestReader&) = delete;
  RequestReader& operator=(const RequestReader&) = delete;

  // Room for `n` more received bytes; commit() how many were written.
  std::span<char> prepare(size_t n);
  void commit(size_t n);

  Step advance();
  // After kRequest. keepAlive() says whether the connection may serve another request.
  std::shared_ptr<HttpRequest> take();
  bool keepAlive() const { return keep_alive_; }
  // After kReject: the answer to send before closing.
  const HttpResponse& rejection() const { return *rejection_; }

  // Some bytes of a request that is not complete yet have arrived (for timeouts).
  bool midRequest() const;
  // The headers are complete and the body is being read.
  bool readingBody() const;
  // Gives back buffer memory while nothing is buffered (idle keep-alive, long blocking query).
  void releaseMemory();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
  bool keep_alive_ = false;
  std::unique_ptr<HttpResponse> rejection_;  // only once rejected: sessions stay small
};

}  // namespace cairn::http
