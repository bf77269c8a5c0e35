#pragma once
// ClusterSpec: the spec of a CairnCluster (deploy/crds/cairn.io_cairnclusters.yaml), parsed and
// checked again here. The API server validates against the CRD's schema, but everything read from
// it is untrusted input: a malformed spec becomes a Status (and a condition), never a crash.

#define _TURN_OFF_PLATFORM_STRING
#include <cpprest/json.h>

#include <string>

#include "core/base/status.h"

namespace cairn::op {

enum class PvcRetention { kDelete, kRetain };
enum class UpdateStrategy { kRollingUpdate, kOnDelete };

struct ClusterSpec {
  int servers = 3;
  std::string image = "cairn:0.1.0";
  std::string image_pull_policy = "IfNotPresent";
  std::string storage_size = "10Gi";
  std::string storage_class;  // empty: the cluster's default class
  PvcRetention when_scaled_down = PvcRetention::kDelete;
  PvcRetention when_deleted = PvcRetention::kRetain;
  UpdateStrategy update_strategy = UpdateStrategy::kRollingUpdate;
  // Copied as they are into the server pods; null when absent.
  web::json::value resources, config, affinity, tolerations, node_selector, topology_spread;
  std::string priority_class;
};

// The largest cluster the CRD allows.
inline constexpr int kMaxServers = 9;

// Parses `spec` of a CairnCluster. Absent fields take the CRD's defaults. kInvalidArgument names
// the field and what is wrong with it.
StatusOr<ClusterSpec> parseClusterSpec(const web::json::value& spec);

// Votes needed for a majority of `voters`.
inline int quorum(int voters) { return voters / 2 + 1; }

}  // namespace cairn::op
