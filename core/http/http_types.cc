#include "core/http/http_types.h"

#include <atomic>
#include <mutex>

namespace cairn::http {

struct Responder::State {
  std::function<void(HttpResponse)> send;
  std::atomic<bool> sent{false};
  std::mutex mu;  // guards on_cancel and cancelled
  std::function<void()> on_cancel;
  std::function<void()> waiting;  // called at the first onCancel()
  bool cancelled = false;
};

Responder::Responder(std::function<void(HttpResponse)> send, std::function<void()> waiting)
    : state_(std::make_shared<State>()) {
  state_->send = std::move(send);
  state_->waiting = std::move(waiting);
}

void Responder::operator()(HttpResponse response) const {
  if (state_->sent.exchange(true)) return;
  std::function<void()> dropped;  // destroyed outside the lock: it may own the waiting query
  {
    std::lock_guard lock(state_->mu);
    dropped = std::move(state_->on_cancel);
    state_->on_cancel = nullptr;
    state_->waiting = nullptr;
  }
  state_->send(std::move(response));
}

void Responder::onCancel(std::function<void()> fn) const {
  std::function<void()> waiting;
  {
    std::lock_guard lock(state_->mu);
    if (state_->cancelled) {
      // Run below, unlocked: the client left before the handler started waiting.
    } else if (state_->sent.load()) {
      return;
    } else {
      state_->on_cancel = std::move(fn);
      waiting = std::move(state_->waiting);
      state_->waiting = nullptr;
      fn = nullptr;
    }
  }
  if (fn) return fn();
  if (waiting) waiting();
}

bool Responder::cancel() const {
  std::function<void()> fn;
  {
    std::lock_guard lock(state_->mu);
    if (state_->cancelled) return false;
    state_->cancelled = true;
    fn = std::move(state_->on_cancel);
    state_->on_cancel = nullptr;
  }
  if (!fn) return false;
  fn();
  return true;
}

HttpResponse textResponse(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.content_type = "text/plain; charset=utf-8";
  r.body = std::move(body);
  return r;
}

HttpResponse jsonResponse(std::string body, int status) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

}  // namespace cairn::http
