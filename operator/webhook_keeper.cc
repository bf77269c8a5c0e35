#include "operator/webhook_keeper.h"

#include "core/base/logging.h"

namespace cairn::op {

WebhookCertKeeper::WebhookCertKeeper(Deps deps, CertOptions options)
    : deps_(std::move(deps)), options_(std::move(options)) {}

Status WebhookCertKeeper::serve(const KeyPair& pair) {
  if (pair.cert_pem.empty() || pair == served_) return Status::ok();
  CAIRN_RETURN_IF_ERROR(deps_.serve(pair));
  served_ = pair;
  return Status::ok();
}

// Writes the bundle when the configuration's differs. True when it was written.
StatusOr<bool> WebhookCertKeeper::publish(const CertState& state) {
  auto current = deps_.read_bundle();
  if (!current.isOk()) {
    if (current.status().code() == StatusCode::kNotFound) return false;
    return current.status();
  }
  if (*current == state.caBundle()) return false;
  CAIRN_RETURN_IF_ERROR(deps_.write_bundle(state.caBundle()));
  return true;
}

StatusOr<RotationStep> WebhookCertKeeper::sync(bool leader) {
  auto loaded = deps_.load();
  if (!loaded.isOk()) return loaded.status();
  CertState state = loaded->value_or(CertState{});
  if (!leader) {
    CAIRN_RETURN_IF_ERROR(serve(state.serving));
    return RotationStep::kNone;
  }
  SystemTime now = deps_.now();
  if (!state.empty()) {
    // Someone (a helm upgrade, a person) changed the bundle, or our last write failed: publish
    // again and count the phase from now, so no step is taken before the API server saw it.
    auto republished = publish(state);
    if (!republished.isOk()) return republished.status();
    if (*republished) {
      state.phase_since =
          std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
      CAIRN_RETURN_IF_ERROR(deps_.save(state));
      LOG_INFO("webhook", "published the CA bundle again");
    }
  }
  auto step = advanceRotation(state, now, options_);
  if (!step.isOk()) return step.status();
  if (*step == RotationStep::kNone) {
    CAIRN_RETURN_IF_ERROR(serve(state.serving));
    return *step;
  }
  // Serve before publishing: a first bundle must never be out before its certificate is served
  // (and a switched certificate's CA is in the bundle since it was staged).
  CAIRN_RETURN_IF_ERROR(deps_.save(state));
  CAIRN_RETURN_IF_ERROR(serve(state.serving));
  auto published = publish(state);
  if (!published.isOk()) return published.status();
  LOG_INFO("webhook", "certificates: " << rotationStepName(*step));
  return *step;
}

}  // namespace cairn::op
