#include "operator/reconciler.h"

#include <cctype>
#include <optional>

#include "operator/desired_objects.h"

namespace cairn::op {
namespace {

using web::json::value;

// The three conditions of the status, as this decision sets them.
struct Condition {
  std::string status = "Unknown", reason, message;
};
struct Conditions {
  Condition available, progressing, degraded;
};

// What one call knows about the cluster, computed once.
struct Ctx {
  const ObservedState& s;
  const ClusterSpec& spec;
  int replicas = 0;          // the StatefulSet's
  int bootstrap_expect = 0;  // fixed at creation
  bool scaling_down = false;

  std::string pod(int ordinal) const { return podName(s.cluster.name, ordinal); }
  // The scale-down victim: the highest ordinal, while the spec asks for fewer servers.
  bool isVictim(int ordinal) const { return scaling_down && ordinal == replicas - 1; }
};

// The ordinal of a Raft member of this cluster ("<cluster>-<n>"); -1 for any other name.
int memberOrdinal(const std::string& cluster, const std::string& node) {
  std::string prefix = cluster + "-";
  if (node.size() <= prefix.size() || node.compare(0, prefix.size(), prefix) != 0) return -1;
  std::string digits = node.substr(prefix.size());
  if (digits.size() > 3 || digits.find_first_not_of("0123456789") != std::string::npos) return -1;
  return std::stoi(digits);
}

Condition cond(const char* status, std::string reason, std::string message) {
  return Condition{status, std::move(reason), std::move(message)};
}

// Available and Degraded as the Raft view shows them; each rule then sets Progressing (and may
// override the other two).
Conditions baseConditions(const ObservedState& s) {
  Conditions c;
  const RaftView& r = s.raft;
  int voters = r.voters(), healthy = r.healthyVoters();
  if (r.leader.empty()) {
    c.available = cond("False", "NoLeader", "no server reports a leader");
  } else if (healthy >= quorum(voters)) {
    c.available = cond("True", "QuorumHealthy",
                       std::to_string(healthy) + " of " + std::to_string(voters) +
                           " voters healthy; leader " + r.leader);
  } else {
    c.available = cond("False", "QuorumAtRisk",
                       "only " + std::to_string(healthy) + " of " + std::to_string(voters) +
                           " voters are healthy");
  }
  if (healthy < voters) {
    c.degraded =
        cond("True", "MemberUnhealthy",
             std::to_string(voters - healthy) + " of " + std::to_string(voters) +
                 " voters unhealthy; failure tolerance " + std::to_string(r.failure_tolerance));
  } else {
    c.degraded = cond("False", "Healthy", "every voter is healthy");
  }
  return c;
}

value conditionJson(const ObservedState& s, const char* type, const Condition& c) {
  std::string since = s.now;
  const value& prev = s.cluster.status;
  if (prev.is_object() && prev.has_field("conditions") && prev.at("conditions").is_array()) {
    for (const value& p : prev.at("conditions").as_array()) {
      // Keep the transition time while the status stays the same.
      if (p.is_object() && p.has_field("type") && p.at("type").is_string() &&
          p.at("type").as_string() == type && p.has_field("status") && p.at("status").is_string() &&
          p.at("status").as_string() == c.status && p.has_field("lastTransitionTime") &&
          p.at("lastTransitionTime").is_string()) {
        since = p.at("lastTransitionTime").as_string();
      }
    }
  }
  value j = value::object();
  j["type"] = value::string(type);
  j["status"] = value::string(c.status);
  j["observedGeneration"] = value::number(s.cluster.generation);
  j["lastTransitionTime"] = value::string(since);
  j["reason"] = value::string(c.reason);
  j["message"] = value::string(c.message);
  return j;
}

const value* previous(const ObservedState& s, const char* key) {
  const value& st = s.cluster.status;
  return st.is_object() && st.has_field(key) ? &st.at(key) : nullptr;
}

bool rolloutDone(const ObservedState& s) {
  if (!s.statefulset || s.statefulset->image != s.cluster.spec.image) return false;
  for (const auto& p : s.pods) {
    if (p.revision != s.statefulset->update_revision) return false;
  }
  return true;
}

value statusJson(const ObservedState& s, const Conditions& c) {
  value st = value::object();
  const RaftView& r = s.raft;
  st["observedGeneration"] = value::number(s.cluster.generation);
  int servers = 0, ready = 0;
  for (const auto& p : s.pods) {
    if (p.terminating) continue;
    ++servers;
    const RaftMember* m = r.findByNode(p.name);
    // Ready: a healthy voter, or a learner catching up, in a cluster with a leader.
    if (p.ready && m && !r.leader.empty() && (m->healthy || !m->voter)) ++ready;
  }
  st["servers"] = value::number(servers);
  st["selector"] = value::string(podSelector(s.cluster.name));
  st["readyServers"] = value::number(ready);
  st["voters"] = value::number(r.voters());
  st["leader"] = value::string(r.leader);
  if (r.reachable) {
    st["lastIndex"] = value::number(r.last_index);
    std::vector<value> members;
    for (const auto& m : r.members) {
      value j = value::object();
      j["name"] = value::string(m.node);
      j["id"] = value::string(m.id);
      j["address"] = value::string(m.address);
      j["voter"] = value::boolean(m.voter);
      j["healthy"] = value::boolean(m.healthy);
      members.push_back(j);
    }
    st["members"] = value::array(members);
  } else {
    // Nobody answers: report the last members known rather than none.
    if (const value* m = previous(s, "members")) st["members"] = *m;
    if (const value* i = previous(s, "lastIndex")) st["lastIndex"] = *i;
  }
  if (rolloutDone(s)) {
    st["version"] = value::string(s.cluster.spec.image);
  } else if (const value* v = previous(s, "version"); v && v->is_string()) {
    st["version"] = *v;
  }
  st["conditions"] = value::array({conditionJson(s, "Available", c.available),
                                   conditionJson(s, "Progressing", c.progressing),
                                   conditionJson(s, "Degraded", c.degraded)});
  return st;
}

// The first reconcile of a spec generation (the status does not carry it yet).
bool newGeneration(const ObservedState& s) {
  const value* seen = previous(s, "observedGeneration");
  return !seen || !seen->is_number() || seen->as_number().to_int64() != s.cluster.generation;
}

// An even size tolerates no more failures than the odd size below it: said once per spec
// generation (the first reconcile of it).
void warnEvenSize(const ObservedState& s, Decision& d) {
  if (s.cluster.spec.servers % 2 != 0 || !newGeneration(s)) return;
  int n = s.cluster.spec.servers;
  d.events.push_back({true, "EvenSize",
                      std::to_string(n) + " servers tolerate " + std::to_string(n - quorum(n)) +
                          " failure(s), as " + std::to_string(n - 1) +
                          " do: an odd size is recommended"});
}

Decision finish(const Ctx& ctx, Action action, const Conditions& c, std::optional<Event> event,
                bool requeue, bool apply_statefulset = true) {
  Decision d;
  d.action = std::move(action);
  int replicas = d.action.kind == ActionKind::kScaleStatefulSet ? d.action.replicas : ctx.replicas;
  DesiredObjects objects = desiredObjects(ctx.s.cluster, replicas, ctx.bootstrap_expect);
  for (const value& o : objects.all()) {
    if (!apply_statefulset && o.at("kind").as_string() == "StatefulSet") continue;
    d.apply.push_back(o);
  }
  d.status = statusJson(ctx.s, c);
  if (event) d.events.push_back(std::move(*event));
  warnEvenSize(ctx.s, d);
  d.requeue = requeue;
  return d;
}

// Rule 1.
Decision invalidSpec(const ObservedState& s) {
  Conditions c = baseConditions(s);
  std::string why = s.cluster.spec_status.message();
  c.progressing = cond("False", "InvalidSpec", "the spec is not applied: " + why);
  c.degraded = cond("True", "InvalidSpec", why);
  Decision d;
  d.status = statusJson(s, c);
  d.events.push_back({true, "InvalidSpec", why});
  return d;
}

// Rule 2.
Decision create(const ObservedState& s) {
  Ctx ctx{s, s.cluster.spec, s.cluster.spec.servers, s.cluster.spec.servers, false};
  Conditions c;
  c.available = cond("False", "Creating", "the servers are being created");
  c.progressing = cond("True", "Creating",
                       "creating " + std::to_string(ctx.replicas) +
                           " servers; they elect a leader once all have found each other");
  c.degraded = cond("False", "Creating", "");
  return finish(ctx, {ActionKind::kCreate, "", ctx.replicas}, c,
                Event{false, "Creating",
                      "creating " + std::to_string(ctx.replicas) + " servers (bootstrap_expect " +
                          std::to_string(ctx.replicas) + ")"},
                true);
}

bool everFormed(const ObservedState& s) {
  const value* leader = previous(s, "leader");
  const value* members = previous(s, "members");
  return (leader && leader->is_string() && !leader->as_string().empty()) ||
         (members && members->is_array() && members->size() > 0);
}

std::vector<const ObservedPod*> outdatedPods(const Ctx& ctx);

// What the spec asks for that the servers do not run yet, in words ("" when nothing): the
// change a hold is holding back.
std::string pendingChange(const Ctx& ctx) {
  std::vector<std::string> parts;
  if (ctx.spec.servers != ctx.replicas) {
    parts.push_back("scaling from " + std::to_string(ctx.replicas) + " to " +
                    std::to_string(ctx.spec.servers) + " servers");
  }
  const ObservedStatefulSet& sts = *ctx.s.statefulset;
  if (sts.image != ctx.spec.image) {
    parts.push_back("the image change " + sts.image + " -> " + ctx.spec.image);
  } else if (!sts.config_hash.empty() && sts.config_hash != configHash(ctx.spec)) {
    parts.push_back("the configuration change");
  }
  if (size_t outdated = outdatedPods(ctx).size(); outdated > 0) {
    parts.push_back("restarting " + std::to_string(outdated) + " server(s) onto revision " +
                    sts.update_revision);
  }
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : ", ") + p;
  return out;
}

std::string previousReason(const ObservedState& s, const char* type) {
  const value* conditions = previous(s, "conditions");
  if (!conditions || !conditions->is_array()) return "";
  for (const value& c : conditions->as_array()) {
    if (c.is_object() && c.has_field("type") && c.at("type").is_string() &&
        c.at("type").as_string() == type && c.has_field("reason") && c.at("reason").is_string()) {
      return c.at("reason").as_string();
    }
  }
  return "";
}

// Rules 3 and 4: no quorum to commit anything. Nothing that changes membership or could restart
// a server is done (the StatefulSet is not applied: its template could); the other objects are.
// Degraded says why (`reason`: QuorumLost or QuorumAtRisk), Progressing=False Held says what
// waits. A Warning Event when the hold starts and for each spec generation it holds back.
Decision holdForQuorum(const Ctx& ctx, Conditions c, const char* reason, const std::string& why) {
  std::string pending = pendingChange(ctx);
  std::string held = pending.empty() ? "membership changes, scaling and restarts"
                                     : pending + " (spec generation " +
                                           std::to_string(ctx.s.cluster.generation) + ")";
  c.progressing =
      cond("False", "Held", held + " held until a majority of voters is healthy: " + why);
  c.degraded = cond("True", reason,
                    why +
                        "; if a majority of servers is gone for good, recovery is manual "
                        "(docs/operator.md)");
  Decision d = finish(ctx, {ActionKind::kHold, "", 0}, c, std::nullopt, true, false);
  bool starts = previousReason(ctx.s, "Degraded") != reason;
  if (starts || (newGeneration(ctx.s) && !pending.empty())) {
    d.events.push_back({true, starts ? reason : "ChangeHeld",
                        "holding " + (pending.empty() ? "every change" : pending) + ": " + why});
  }
  return d;
}

// Rule 3.
Decision noLeader(const Ctx& ctx) {
  Conditions c = baseConditions(ctx.s);
  if (!everFormed(ctx.s)) {
    c.progressing = cond("True", "Bootstrapping",
                         "waiting for the " + std::to_string(ctx.bootstrap_expect) +
                             " first servers to find each other and elect a leader");
    c.degraded = cond("False", "Bootstrapping", "");
    return finish(ctx, {}, c, std::nullopt, true);
  }
  std::string why = ctx.s.raft.reachable ? "no leader: the servers that answer know none"
                                         : "no leader: no server answers";
  c.available = cond("False", "NoLeader", why);
  return holdForQuorum(ctx, c, "QuorumLost", why);
}

// Rule 4: a leader that a majority of voters does not follow as healthy (it is about to step
// down, or the others lag): a configuration change could not commit, a restart could lose it.
std::optional<Decision> noHealthyMajority(const Ctx& ctx) {
  const RaftView& r = ctx.s.raft;
  int voters = r.voters(), healthy = r.healthyVoters();
  if (healthy >= quorum(voters)) return std::nullopt;
  return holdForQuorum(ctx, baseConditions(ctx.s), "QuorumAtRisk",
                       "no quorum: only " + std::to_string(healthy) + " of " +
                           std::to_string(voters) + " voters are healthy, " +
                           std::to_string(quorum(voters)) + " are needed");
}

// Rule 5: an identity whose server is gone for good. Either its pod's ordinal is past the
// StatefulSet (and the pod is gone), or another member has taken its node name (the pod came
// back on an empty disk with a new ID) while it is unhealthy.
const RaftMember* staleMember(const Ctx& ctx) {
  const RaftView& r = ctx.s.raft;
  for (const auto& m : r.members) {
    int ordinal = memberOrdinal(ctx.s.cluster.name, m.node);
    if (ordinal < 0 || m.leader) continue;  // not ours (left alone), or alive by definition
    if (ordinal >= ctx.replicas && !ctx.s.findPod(m.node)) return &m;
    if (m.healthy) continue;
    // The other identity is the live one when it is healthy or a learner still catching up.
    for (const auto& other : r.members) {
      if (&other != &m && other.node == m.node && (other.healthy || !other.voter)) return &m;
    }
  }
  return nullptr;
}

std::optional<Decision> removeStaleMember(const Ctx& ctx) {
  const RaftMember* m = staleMember(ctx);
  if (!m) return std::nullopt;
  const RaftView& r = ctx.s.raft;
  int voters_after = r.voters() - (m->voter ? 1 : 0);
  int healthy_after = r.healthyVoters() - (m->voter && m->healthy ? 1 : 0);
  Conditions c = baseConditions(ctx.s);
  std::string who = m->node + " (id " + m->id + ")";
  if (healthy_after < quorum(voters_after)) {
    c.progressing =
        cond("False", "Held",
             "stale member " + who + " is not removed: the " + std::to_string(voters_after) +
                 " voters left would have only " + std::to_string(healthy_after) + " healthy");
    c.degraded = cond("True", "StaleMember", "stale member " + who + " cannot be removed safely");
    return finish(ctx, {ActionKind::kHold, "", 0}, c, std::nullopt, true);
  }
  c.progressing = cond("True", "RemovingStaleMember", "removing stale member " + who);
  return finish(ctx, {ActionKind::kRemoveMember, m->id, 0}, c,
                Event{false, "RemovingStaleMember",
                      "removing " + who +
                          " from the Raft configuration: its server is gone (lost pod or disk); "
                          "the pod rejoins under its new identity"},
                true);
}

// Rule 6: the first thing that is not healthy yet, or nothing.
std::optional<Condition> notHealthy(const Ctx& ctx) {
  const RaftView& r = ctx.s.raft;
  for (int i = 0; i < ctx.replicas; ++i) {
    std::string name = ctx.pod(i);
    const ObservedPod* pod = ctx.s.findPod(name);
    const RaftMember* m = r.findByNode(name);
    if (ctx.isVictim(i) && !m) continue;  // already out of the configuration
    if (!pod) return cond("True", "WaitingForPod", "pod " + name + " does not exist yet");
    if (pod->terminating) return cond("True", "WaitingForPod", "pod " + name + " is terminating");
    if (!pod->ready) return cond("True", "WaitingForPod", "pod " + name + " is not Ready");
    if (!m) {
      return cond("True", "WaitingForJoin", name + " is not in the Raft configuration yet");
    }
    if (!m->voter) {
      return cond("True", "WaitingForPromotion",
                  name + " is a non-voter catching up; it is promoted once caught up");
    }
    if (!m->healthy) {
      return cond("True", "WaitingForHealthy",
                  name + " is not a healthy voter (lagging or out of contact)");
    }
  }
  if (!r.healthy) {
    return cond("True", "WaitingForHealthy", "autopilot does not report the cluster healthy");
  }
  return std::nullopt;
}

// Rule 7.
std::optional<Decision> deleteScaledDownPvc(const Ctx& ctx) {
  if (ctx.spec.when_scaled_down != PvcRetention::kDelete) return std::nullopt;
  for (const auto& pvc : ctx.s.pvcs) {
    std::string prefix = "data-";
    if (pvc.compare(0, prefix.size(), prefix) != 0) continue;
    int ordinal = memberOrdinal(ctx.s.cluster.name, pvc.substr(prefix.size()));
    if (ordinal < ctx.replicas || ctx.s.findPod(ctx.pod(ordinal))) continue;
    Conditions c = baseConditions(ctx.s);
    c.progressing = cond("True", "DeletingVolume", "deleting " + pvc + " of a removed server");
    return finish(ctx, {ActionKind::kDeletePvc, pvc, 0}, c,
                  Event{false, "DeletingVolume",
                        "deleting " + pvc +
                            ": its server left the cluster "
                            "(storage.whenScaledDown: Delete)"},
                  true);
  }
  return std::nullopt;
}

std::vector<const ObservedPod*> outdatedPods(const Ctx& ctx) {
  std::vector<const ObservedPod*> out;
  const std::string& rev = ctx.s.statefulset->update_revision;
  if (rev.empty()) return out;
  for (const auto& p : ctx.s.pods) {
    if (p.ordinal < ctx.replicas && !ctx.isVictim(p.ordinal) && p.revision != rev) {
      out.push_back(&p);
    }
  }
  return out;
}

// Rule 8.
std::optional<Decision> rollingUpgrade(const Ctx& ctx) {
  if (ctx.spec.update_strategy != UpdateStrategy::kRollingUpdate) return std::nullopt;
  auto outdated = outdatedPods(ctx);
  if (outdated.empty()) return std::nullopt;
  const RaftView& r = ctx.s.raft;
  const std::string& rev = ctx.s.statefulset->update_revision;
  const ObservedPod* follower = nullptr;
  for (const ObservedPod* p : outdated) {
    if (p->name != r.leader && (!follower || p->ordinal > follower->ordinal)) follower = p;
  }
  Conditions c = baseConditions(ctx.s);
  std::string left = std::to_string(outdated.size()) + " server(s) to upgrade";
  if (follower) {
    c.progressing = cond("True", "RollingUpgrade", "restarting " + follower->name + "; " + left);
    return finish(ctx, {ActionKind::kDeletePod, follower->name, 0}, c,
                  Event{false, "RollingUpgrade",
                        "restarting follower " + follower->name + " onto revision " + rev},
                  true);
  }
  if (r.voters() > 1) {
    c.progressing =
        cond("True", "RollingUpgrade", "moving leadership away from " + r.leader + "; " + left);
    return finish(ctx, {ActionKind::kTransferLeadership, r.leader, 0}, c,
                  Event{false, "TransferringLeadership",
                        "moving leadership away from " + r.leader + " before restarting it"},
                  true);
  }
  c.progressing = cond("True", "RollingUpgrade", "restarting the only server " + r.leader);
  return finish(ctx, {ActionKind::kDeletePod, r.leader, 0}, c,
                Event{true, "RollingUpgrade",
                      "restarting the only server " + r.leader +
                          ": the cluster is unavailable until it is back"},
                true);
}

// Rule 9.
Decision scaleUp(const Ctx& ctx) {
  Conditions c = baseConditions(ctx.s);
  std::string name = ctx.pod(ctx.replicas);
  std::string step =
      std::to_string(ctx.replicas + 1) + " of " + std::to_string(ctx.spec.servers) + " servers";
  c.progressing = cond("True", "ScalingUp", "adding " + name + " (" + step + ")");
  return finish(ctx, {ActionKind::kScaleStatefulSet, "", ctx.replicas + 1}, c,
                Event{false, "ScalingUp",
                      "adding " + name + " (" + step +
                          "): it joins as a non-voter and is promoted once caught up"},
                true);
}

// Rule 10.
Decision scaleDown(const Ctx& ctx) {
  Conditions c = baseConditions(ctx.s);
  const RaftView& r = ctx.s.raft;
  std::string victim = ctx.pod(ctx.replicas - 1);
  const RaftMember* m = r.findByNode(victim);
  if (m && m->leader && r.voters() > 1) {
    c.progressing = cond("True", "ScalingDown", "moving leadership away from " + victim);
    return finish(ctx, {ActionKind::kTransferLeadership, victim, 0}, c,
                  Event{false, "TransferringLeadership",
                        "moving leadership away from " + victim + " before removing it"},
                  true);
  }
  if (m) {
    c.progressing = cond("True", "ScalingDown", "removing " + victim + " from Raft");
    return finish(ctx, {ActionKind::kRemoveMember, m->id, 0}, c,
                  Event{false, "RemovingMember",
                        "removing " + victim + " (id " + m->id +
                            ") from the Raft configuration before its pod goes"},
                  true);
  }
  c.progressing = cond("True", "ScalingDown",
                       victim + " left Raft; shrinking to " + std::to_string(ctx.replicas - 1));
  return finish(ctx, {ActionKind::kScaleStatefulSet, "", ctx.replicas - 1}, c,
                Event{false, "ScalingDown",
                      victim + " is out of the Raft configuration: the StatefulSet shrinks to " +
                          std::to_string(ctx.replicas - 1)},
                true);
}

// Rule 11.
Decision steady(const Ctx& ctx) {
  Conditions c = baseConditions(ctx.s);
  size_t outdated = outdatedPods(ctx).size();
  if (outdated > 0) {
    c.progressing = cond("True", "RestartPending",
                         std::to_string(outdated) +
                             " server(s) run an old revision; updateStrategy OnDelete: delete "
                             "their pods one at a time, waiting for Available in between");
  } else {
    c.progressing =
        cond("False", "Stable", std::to_string(ctx.replicas) + " servers, all healthy voters");
  }
  return finish(ctx, {}, c, std::nullopt, false);
}

}  // namespace

const char* actionName(ActionKind kind) {
  switch (kind) {
    case ActionKind::kNone:
      return "none";
    case ActionKind::kCreate:
      return "create";
    case ActionKind::kHold:
      return "hold";
    case ActionKind::kScaleStatefulSet:
      return "scale-statefulset";
    case ActionKind::kDeletePod:
      return "delete-pod";
    case ActionKind::kTransferLeadership:
      return "transfer-leadership";
    case ActionKind::kRemoveMember:
      return "remove-member";
    case ActionKind::kDeletePvc:
      return "delete-pvc";
  }
  return "unknown";
}

value eventObject(const ObservedCluster& cluster, const Event& event, const std::string& now,
                  const std::string& reporting_instance) {
  value e = value::object();
  e["apiVersion"] = value::string("v1");
  e["kind"] = value::string("Event");
  // Kubernetes names events <object>.<unique suffix>; digits of the time keep them apart.
  std::string suffix;
  for (char ch : now) {
    if (std::isdigit(static_cast<unsigned char>(ch))) suffix += ch;
  }
  std::string reason_lower;
  for (char ch : event.reason) {
    reason_lower += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  }
  e["metadata"]["name"] = value::string(cluster.name + "." + reason_lower + "." + suffix);
  e["metadata"]["namespace"] = value::string(cluster.name_space);
  value& involved = e["involvedObject"];
  involved["apiVersion"] = value::string("cairn.io/v1alpha1");
  involved["kind"] = value::string("CairnCluster");
  involved["name"] = value::string(cluster.name);
  involved["namespace"] = value::string(cluster.name_space);
  involved["uid"] = value::string(cluster.uid);
  e["type"] = value::string(event.warning ? "Warning" : "Normal");
  e["reason"] = value::string(event.reason);
  e["message"] = value::string(event.message);
  e["firstTimestamp"] = value::string(now);
  e["lastTimestamp"] = value::string(now);
  e["count"] = value::number(1);
  e["source"]["component"] = value::string("cairn-operator");
  e["reportingComponent"] = value::string("cairn.io/cairn-operator");
  e["reportingInstance"] = value::string(reporting_instance);
  return e;
}

Decision reconcile(const ObservedState& s) {
  if (!s.cluster.spec_status.isOk()) return invalidSpec(s);
  if (!s.statefulset) return create(s);
  const ObservedStatefulSet& sts = *s.statefulset;
  Ctx ctx{s, s.cluster.spec, sts.replicas,
          sts.bootstrap_expect > 0 ? sts.bootstrap_expect : sts.replicas,
          s.cluster.spec.servers < sts.replicas};
  if (!s.raft.reachable || s.raft.leader.empty()) return noLeader(ctx);
  if (auto d = noHealthyMajority(ctx)) return *d;
  if (auto d = removeStaleMember(ctx)) return *d;
  if (auto why = notHealthy(ctx)) {
    Conditions c = baseConditions(s);
    c.progressing = *why;
    return finish(ctx, {}, c, std::nullopt, true);
  }
  if (auto d = deleteScaledDownPvc(ctx)) return *d;
  if (auto d = rollingUpgrade(ctx)) return *d;
  if (ctx.spec.servers > ctx.replicas) return scaleUp(ctx);
  if (ctx.scaling_down) return scaleDown(ctx);
  return steady(ctx);
}

}  // namespace cairn::op
