#pragma once
// Registrar: keeps the local agent's registry equal to the pod's annotations. The plan
// (annotations.h) is authoritative for the services the sidecar owns (service meta
// managed-by=cairn-sidecar); services the app registers itself through the local API are left
// alone. Also drives the shutdown sequence: critical first, deregistered after the drain time.
//
// Threading: not thread-safe; the sidecar calls it from its one control thread.

#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/base/status.h"
#include "core/local/registration.h"
#include "sidecar/annotations.h"

namespace cairn::sidecar {

inline constexpr char kManagedByKey[] = "managed-by";
inline constexpr char kManagedByValue[] = "cairn-sidecar";
inline constexpr char kDrainReason[] = "The pod is terminating (cairn-sidecar drain)";

// What the registrar needs from the local agent (local::LocalAgent in the binary, a fake in
// tests).
class Registry {
 public:
  virtual ~Registry() = default;
  virtual Status addService(local::ServiceRegistration registration) = 0;  // replaces checks
  virtual Status removeService(const std::string& id) = 0;
  // The IDs of the registered services whose meta says the sidecar manages them.
  virtual std::set<std::string> managedServiceIds() const = 0;
  virtual Status setServiceMaintenance(const std::string& id, bool enable,
                                       const std::string& reason) = 0;
};

struct ApplyResult {
  int registered = 0;  // added or replaced
  int removed = 0;
  std::vector<std::string> errors;  // one line each (the rest was still applied)
};

class Registrar {
 public:
  explicit Registrar(Registry& registry) : registry_(registry) {}

  // Registers every service of `plan` (tagged managed-by) whose registration differs from the
  // last one applied, and removes managed services that are no longer in it, including those a
  // previous run left in the persisted registry.
  ApplyResult apply(const SidecarPlan& plan);
  // Step 1 of shutdown: every managed service goes critical (maintenance), so readers stop
  // using this instance while connections drain.
  ApplyResult markCritical();
  // Step 2: deregisters every managed service.
  ApplyResult deregisterAll();

 private:
  Registry& registry_;
  // ID -> serialized registration last applied, to skip unchanged re-registrations.
  std::map<std::string, std::string> applied_;
};

}  // namespace cairn::sidecar
