#pragma once
// IoPool: a few threads running one asio io_context. The HTTP server's sockets, the handlers it
// calls and the work handlers post (postWork: Raft completions, woken blocking queries) all run
// here. Contract for everything posted: never block on I/O, on a lock held across I/O, or on
// another posted task; long jobs go to a SerialWorker. With one thread per core that contract is
// what keeps the server answering.

#include <functional>
#include <memory>

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace cairn::http {

class IoPool {
 public:
  // threads <= 0: one per core, at least 2.
  explicit IoPool(int threads);
  // Stops the context and joins the threads; posted work that has not run is dropped.
  ~IoPool();
  IoPool(const IoPool&) = delete;
  IoPool& operator=(const IoPool&) = delete;

  // Stops the context and joins the threads (idempotent). Must not run on a pool thread.
  void stop();

  void post(std::function<void()> fn);
  boost::asio::io_context& context();
  int threads() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The process-wide pool behind postWork(), created (threads started) on first use. A composition
// root that blocks signals must call it after blocking them, so the threads inherit the mask.
IoPool& sharedIoPool();
// Sets how many threads sharedIoPool() starts (default <= 0: one per core, at least 2). Only
// before its first use; a small process on a many-core node (the pod sidecar) caps it.
void setSharedIoPoolThreads(int threads);

}  // namespace cairn::http
