#pragma once
// LeaseLock: leader election between operator replicas through a coordination.k8s.io/v1 Lease,
// as client-go's leaderelection does it. Only the holder reconciles. A holder renews every
// retry period; a candidate takes the Lease over once renewTime + leaseDurationSeconds has
// passed. Every write carries the resourceVersion just read, so two candidates can never both
// win: the loser gets 409 and stays a follower.
//
// Threading: not thread-safe; one LeaseLock per candidate, driven from one thread. The clock is
// injected (tests move it).

#define _TURN_OFF_PLATFORM_STRING
#include <cpprest/json.h>

#include <chrono>
#include <functional>
#include <string>

#include "core/base/status.h"
#include "operator/kube_client.h"

namespace cairn::op {

using WallClock = std::function<std::chrono::system_clock::time_point()>;

struct LeaseOptions {
  std::string name_space;
  std::string name = "cairn-operator";
  std::string identity;  // unique per replica (e.g. the pod name)
  std::chrono::seconds duration{15};
};

// What a candidate does with the Lease it read (null: there is none).
enum class LeaseStep { kCreate, kRenew, kTakeOver, kWait };
LeaseStep leaseStep(const web::json::value& lease, const std::string& identity,
                    std::chrono::system_clock::time_point now);

class LeaseLock {
 public:
  LeaseLock(KubeClient& client, LeaseOptions options, WallClock clock);

  // One round: create, renew or take over the Lease when allowed. True when this candidate
  // holds it afterwards; false when another does (or won the race). Errors are the API's.
  StatusOr<bool> tryAcquireOrRenew();

 private:
  std::string path() const;
  web::json::value spec(const web::json::value& previous, bool take_over) const;

  KubeClient& client_;
  LeaseOptions options_;
  WallClock clock_;
};

// "2026-12-07T13:00:00.000000Z" (metav1.MicroTime) and back; nullopt for anything else.
std::string formatMicroTime(std::chrono::system_clock::time_point t);
std::optional<std::chrono::system_clock::time_point> parseMicroTime(const std::string& text);

}  // namespace cairn::op
