#include "core/http/http_types.h"

#include <atomic>

namespace cairn::http {

struct Responder::State {
  std::function<void(HttpResponse)> send;
  std::atomic<bool> sent{false};
};

Responder::Responder(std::function<void(HttpResponse)> send) : state_(std::make_shared<State>()) {
  state_->send = std::move(send);
}

void Responder::operator()(HttpResponse response) const {
  if (state_->sent.exchange(true)) return;
  state_->send(std::move(response));
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
