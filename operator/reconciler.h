#pragma once
// The pure reconciler: ObservedState in, Decision out, no I/O. It picks the ONE next safe action
// for a CairnCluster; the adapters carry it out, then observe again (level-triggered: every call
// starts from scratch, so a restarted operator resumes wherever the cluster is). The rules, in
// the order they are tried, are documented in docs/operator.md ("The reconciler's rules"):
//
//   1. a spec that cannot be read: nothing is touched, Degraded/InvalidSpec
//   2. no StatefulSet yet: create every object with all servers (they bootstrap together)
//   3. no leader: hold (Degraded QuorumLost); only objects that cannot restart a server are
//      applied, and the status names the change that waits
//   4. a leader without a healthy majority of voters: hold the same way (QuorumAtRisk)
//   5. a stale member (a lost disk's old identity, a server whose pod is gone for good) is
//      removed from Raft, if the voters left keep a healthy majority
//   6. anything not healthy (a pod not Ready, a learner catching up, an unhealthy member):
//      wait
//   7. a PVC left by a scale-down is deleted (storage.whenScaledDown: Delete)
//   8. a rolling upgrade step (a new pod template: image, configuration, resources...):
//      restart one outdated follower, highest ordinal first; the leader last, after a
//      leadership transfer
//   9. scale up by one server (it joins as a non-voter and is promoted once caught up)
//  10. scale down by one, from the highest ordinal: transfer leadership away from it, remove it
//      from Raft, then shrink the StatefulSet
//  11. otherwise the cluster is as asked: Available
//
// Threading: reconcile() is a pure function; call it from any thread.

#define _TURN_OFF_PLATFORM_STRING
#include <cpprest/json.h>

#include <string>
#include <vector>

#include "operator/observed_state.h"

namespace cairn::op {

enum class ActionKind {
  kNone,                // nothing to do now (steady, or waiting: see Decision::requeue)
  kCreate,              // apply every object; the StatefulSet starts with `replicas` servers
  kHold,                // unsafe to change anything: the status says why
  kScaleStatefulSet,    // set the StatefulSet's replicas to `replicas`
  kDeletePod,           // delete pod `target` (a rolling upgrade step)
  kTransferLeadership,  // POST /v1/operator/raft/transfer-leader (away from `target`, a node)
  kRemoveMember,        // DELETE /v1/operator/raft/peer?id=`target`
  kDeletePvc,           // delete PVC `target`
};

const char* actionName(ActionKind kind);

struct Action {
  ActionKind kind = ActionKind::kNone;
  std::string target;
  int replicas = 0;
};

struct Event {
  bool warning = false;
  std::string reason, message;
};

struct Decision {
  Action action;
  // Objects to server-side apply this round (all owned by the cluster). Holding leaves the
  // StatefulSet out, since its template could restart servers.
  std::vector<web::json::value> apply;
  web::json::value status;  // the CairnCluster's status subresource, whole
  std::vector<Event> events;
  bool requeue = false;  // something is in flight: observe again soon, not at the next resync
};

Decision reconcile(const ObservedState& state);

// The core/v1 Event that records `event` against the CairnCluster (POST it to
// /api/v1/namespaces/<ns>/events). Its name is unique per cluster, reason and `now`.
web::json::value eventObject(const ObservedCluster& cluster, const Event& event,
                             const std::string& now, const std::string& reporting_instance);

}  // namespace cairn::op
