#pragma once
// The Kubernetes objects a CairnCluster owns, as the operator wants them (JSON ready for
// server-side apply). Every object carries the cluster's labels and a controller owner reference,
// so deleting the CairnCluster collects them.
//
//   <name>-config  ConfigMap    server.json: the agent configuration (spec.config over ours)
//   <name>-peers   Service      headless, publishNotReadyAddresses: the -retry-join name that
//                               resolves to every server pod, ready or not, so servers can find
//                               each other before any of them is Ready
//   <name>         Service      the client address: HTTP 8500, DNS 8600 (ready pods only)
//   <name>         StatefulSet  the servers; podManagementPolicy Parallel (all start together
//                               to meet bootstrap_expect), updateStrategy OnDelete (the operator
//                               decides which pod restarts when), one PVC per server
//   <name>         PodDisruptionBudget  maxUnavailable 1, or 0 when one more loss breaks quorum

#define _TURN_OFF_PLATFORM_STRING
#include <cpprest/json.h>

#include <string>
#include <vector>

#include "operator/observed_state.h"

namespace cairn::op {

inline constexpr int kHttpPort = 8500;
inline constexpr int kServerPort = 8300;
inline constexpr int kDnsPort = 8600;

struct DesiredObjects {
  web::json::value config_map, peers_service, client_service, stateful_set, pdb;
  // In the order they should be applied (the StatefulSet after what its pods use).
  std::vector<web::json::value> all() const;
};

std::string podName(const std::string& cluster, int ordinal);
std::string pvcName(const std::string& cluster, int ordinal);
std::string peersServiceName(const std::string& cluster);
// "app.kubernetes.io/instance=<name>,..." : selects the cluster's server pods.
std::string podSelector(const std::string& cluster);

// The objects for `cluster` with the StatefulSet at `replicas` servers. `bootstrap_expect` is the
// size the cluster was first created with: it never changes afterwards (a new server joins the
// existing cluster whatever its value), so that scaling does not roll every server.
DesiredObjects desiredObjects(const ObservedCluster& cluster, int replicas, int bootstrap_expect);

// The cairn.io/config-hash annotation of the pod template desiredObjects() makes for `spec`: a
// digest of the server configuration, so that a change of it alone makes a new revision.
std::string configHash(const ClusterSpec& spec);

// The largest number of server pods that may be disrupted at once without losing quorum.
int maxUnavailable(int servers);

}  // namespace cairn::op
