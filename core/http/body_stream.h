#pragma once
// BodyStream: a response body written in pieces after the head, for answers that do not end on
// their own (GET /v1/agent/monitor). A handler answers with HttpResponse::stream set; the HTTP
// edge (server.cc) sends the head with chunked transfer encoding and then every piece written
// here, until the producer finishes or the client goes away. Nothing waits on a thread: the edge
// is woken when a piece arrives.
//
// Threading: every method may be called from any thread. The producer's onClose function and
// the edge's wake function run outside the stream's lock.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>

namespace cairn::http {

class BodyStream {
 public:
  // A client slower than the producer: pieces beyond `max_buffered` waiting bytes are dropped
  // (write() returns false) rather than held without bound.
  explicit BodyStream(size_t max_buffered = 1 << 20) : max_buffered_(max_buffered) {}

  // ---- producer ----
  // Queues `piece`; false when it was dropped (stream closed, or the buffer is full).
  bool write(std::string_view piece);
  // No more pieces: the edge ends the body once what is queued is sent, then closes.
  void finish();
  // `fn` runs once when the stream closes for any reason (client gone, server stopping, body
  // ended); at once, on this thread, if it already has.
  void onClose(std::function<void()> fn);
  bool closed() const;

  // ---- the HTTP edge ----
  // `wake` is called when there is something to take after take() found nothing.
  void attach(std::function<void()> wake);
  struct Taken {
    std::string data;
    bool finished = false;  // nothing will follow `data`
  };
  Taken take();
  // The body ended or the client is gone: later writes are dropped; runs onClose's function.
  void close();

 private:
  const size_t max_buffered_;
  mutable std::mutex mu_;
  std::string pending_;
  bool finished_ = false;
  bool closed_ = false;
  bool wake_armed_ = false;  // the edge took everything and waits to be woken
  std::function<void()> wake_;
  std::function<void()> on_close_;
};

}  // namespace cairn::http
