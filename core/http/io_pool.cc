#include "core/http/io_pool.h"

#include <algorithm>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <thread>
#include <vector>

#include "core/base/logging.h"

namespace cairn::http {

namespace asio = boost::asio;

struct IoPool::Impl {
  explicit Impl(int n) : context(n), guard(asio::make_work_guard(context)) {
    for (int i = 0; i < n; ++i) {
      threads.emplace_back([this] { run(); });
    }
  }

  void run() {
    for (;;) {
      try {
        context.run();
        return;
      } catch (const std::exception& e) {
        // A handler must not throw; log it and keep the thread serving.
        LOG_ERROR("http", "uncaught exception on an I/O thread: " << e.what());
      }
    }
  }

  asio::io_context context;
  asio::executor_work_guard<asio::io_context::executor_type> guard;
  std::vector<std::thread> threads;
};

IoPool::IoPool(int threads) {
  if (threads <= 0) threads = static_cast<int>(std::max(2u, std::thread::hardware_concurrency()));
  impl_ = std::make_unique<Impl>(threads);
}

IoPool::~IoPool() { stop(); }

void IoPool::stop() {
  impl_->guard.reset();
  impl_->context.stop();
  for (auto& t : impl_->threads) {
    if (t.joinable()) t.join();
  }
}

void IoPool::post(std::function<void()> fn) { asio::post(impl_->context, std::move(fn)); }

asio::io_context& IoPool::context() { return impl_->context; }

int IoPool::threads() const { return static_cast<int>(impl_->threads.size()); }

namespace {
std::atomic<int> shared_pool_threads{0};
}  // namespace

IoPool& sharedIoPool() {
  static IoPool pool(shared_pool_threads.load());
  return pool;
}

void setSharedIoPoolThreads(int threads) { shared_pool_threads = threads; }

}  // namespace cairn::http
