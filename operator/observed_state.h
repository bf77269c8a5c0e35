#pragma once
// ObservedState: everything the reconciler looks at, gathered by the adapters for one
// CairnCluster: the resource itself, the objects it owns as they exist in Kubernetes, and the
// servers' own Raft view read from their HTTP API (GET /v1/operator/raft/configuration,
// GET /v1/operator/autopilot/health, GET /v1/status/leader). The observe* functions turn the
// JSON of those answers into these structs; each checks the shape it needs and answers
// kInvalidArgument for anything else, since none of it is trusted.

#define _TURN_OFF_PLATFORM_STRING
#include <cpprest/json.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/base/status.h"
#include "operator/cluster_spec.h"

namespace cairn::op {

// The CairnCluster: identity, spec (or why it could not be read) and the status last written.
struct ObservedCluster {
  std::string name, name_space, uid;
  int64_t generation = 0;
  Status spec_status;  // not OK: spec is the default and must not be acted on
  ClusterSpec spec;
  web::json::value status = web::json::value::object();  // as last written
};

struct ObservedStatefulSet {
  int replicas = 0;
  std::string current_revision, update_revision;
  int bootstrap_expect = 0;  // fixed when the StatefulSet is first created
  std::string image;         // of the server container in the template
  std::string config_hash;   // the template's cairn.io/config-hash annotation
};

struct ObservedPod {
  std::string name;
  int ordinal = -1;
  bool ready = false;
  bool terminating = false;
  std::string revision;  // its controller-revision-hash label
};

// One Raft member as the leader reports it (configuration merged with autopilot health).
struct RaftMember {
  std::string id, node, address;
  bool voter = false;
  bool leader = false;
  bool healthy = false;
  uint64_t last_index = 0;
};

struct RaftView {
  bool reachable = false;  // at least one server answered
  std::string leader;      // node name of the leader; empty when there is none
  std::vector<RaftMember> members;
  bool healthy = false;  // autopilot: every server a healthy, caught-up voter
  int failure_tolerance = 0;
  uint64_t last_index = 0;  // the leader's
  std::string version;      // the leader's reported version, if known

  const RaftMember* findByNode(const std::string& node) const;
  int voters() const;
  int healthyVoters() const;
};

struct ObservedState {
  ObservedCluster cluster;
  std::optional<ObservedStatefulSet> statefulset;
  std::vector<ObservedPod> pods;  // pods of this cluster, any order
  std::vector<std::string> pvcs;  // names of this cluster's data PVCs
  RaftView raft;
  std::string now;  // RFC 3339, stamped on changed conditions (the caller's clock)

  const ObservedPod* findPod(const std::string& name) const;
};

// The CairnCluster resource (the whole object). A spec that cannot be parsed is kept as
// spec_status; only a missing metadata.name/namespace/uid is an error.
StatusOr<ObservedCluster> observeCluster(const web::json::value& object);

// An apps/v1 StatefulSet owned by the cluster.
StatusOr<ObservedStatefulSet> observeStatefulSet(const web::json::value& object);

// A server pod; its ordinal comes from the name's "-<n>" suffix.
StatusOr<ObservedPod> observePod(const web::json::value& object);

// The leader's answers: the Raft configuration, the autopilot health (null when it could not be
// read) and /v1/status/leader's "ip:port" (empty: no leader).
StatusOr<RaftView> observeRaft(const web::json::value& configuration,
                               const web::json::value& autopilot, const std::string& leader_addr);

}  // namespace cairn::op
