#pragma once
// What a client asks the local agent to register (PUT /v1/agent/service/register and
// /v1/agent/check/register, docs/consul-api.md §6), decoded and defaulted by the HTTP layer.

#include <string>
#include <vector>

#include "cairn/v1/catalog.pb.h"
#include "core/health/check_definition.h"

namespace cairn::local {

// One check. `check` carries the catalog-facing fields (check_id, name, notes, service_id and
// status, the initial status: "" means critical); `definition` says how it runs. The kind implied
// by `definition` becomes the check's Type.
struct CheckRegistration {
  v1::CatalogCheck check;
  health::CheckDefinition definition;
};

// A service instance and the checks registered with it (their service_id is the service's ID).
struct ServiceRegistration {
  v1::CatalogService service;  // id non-empty (defaulted to the name by the decoder)
  std::vector<CheckRegistration> checks;
};

// Consul's maintenance checks (docs/consul-api.md §5 aggregation, §6).
inline constexpr char kNodeMaintenanceCheckId[] = "_node_maintenance";
inline constexpr char kServiceMaintenancePrefix[] = "_service_maintenance:";
inline constexpr char kSerfHealthCheckId[] = "serfHealth";
// The servers' own service: never deregistered by anti-entropy.
inline constexpr char kConsulServiceId[] = "consul";

}  // namespace cairn::local
