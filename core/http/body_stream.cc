#include "core/http/body_stream.h"

#include <utility>

namespace cairn::http {

bool BodyStream::write(std::string_view piece) {
  std::function<void()> wake;
  {
    std::lock_guard lock(mu_);
    if (closed_ || finished_) return false;
    if (pending_.size() + piece.size() > max_buffered_) return false;
    pending_.append(piece);
    if (wake_armed_) {
      wake_armed_ = false;
      wake = wake_;
    }
  }
  if (wake) wake();
  return true;
}

void BodyStream::finish() {
  std::function<void()> wake;
  {
    std::lock_guard lock(mu_);
    if (closed_ || finished_) return;
    finished_ = true;
    if (wake_armed_) {
      wake_armed_ = false;
      wake = wake_;
    }
  }
  if (wake) wake();
}

void BodyStream::onClose(std::function<void()> fn) {
  {
    std::lock_guard lock(mu_);
    if (!closed_) {
      on_close_ = std::move(fn);
      return;
    }
  }
  if (fn) fn();
}

bool BodyStream::closed() const {
  std::lock_guard lock(mu_);
  return closed_;
}

void BodyStream::attach(std::function<void()> wake) {
  std::lock_guard lock(mu_);
  wake_ = std::move(wake);
}

BodyStream::Taken BodyStream::take() {
  std::lock_guard lock(mu_);
  Taken t;
  t.data.swap(pending_);
  t.finished = finished_;
  if (t.data.empty() && !finished_) wake_armed_ = true;
  return t;
}

void BodyStream::close() {
  std::function<void()> fn;
  {
    std::lock_guard lock(mu_);
    if (closed_) return;
    closed_ = true;
    pending_.clear();
    wake_ = nullptr;
    fn = std::move(on_close_);
  }
  if (fn) fn();
}

}  // namespace cairn::http
