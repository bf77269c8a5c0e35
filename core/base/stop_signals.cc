#include "core/base/stop_signals.h"

#include <pthread.h>

namespace cairn {

StopSignals::StopSignals(Reload reload) {
  sigemptyset(&set_);
  sigaddset(&set_, SIGINT);
  sigaddset(&set_, SIGTERM);
  if (reload == Reload::kOnSighup) sigaddset(&set_, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set_, nullptr);
}

int StopSignals::wait(const std::function<void()>& on_reload) const {
  for (;;) {
    int sig = 0;
    if (sigwait(&set_, &sig) != 0) continue;  // only EINVAL, impossible with our fixed set
    if (sig != SIGHUP) return sig;
    if (on_reload) on_reload();
  }
}

}  // namespace cairn
