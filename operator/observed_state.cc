#include "operator/observed_state.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <map>

namespace cairn::op {
namespace {

using web::json::value;

const value& field(const value& obj, const char* key) {
  static const value kNull;
  return obj.is_object() && obj.has_field(key) ? obj.at(key) : kNull;
}

std::string stringField(const value& obj, const char* key) {
  const value& v = field(obj, key);
  return v.is_string() ? v.as_string() : std::string();
}

int64_t intField(const value& obj, const char* key) {
  const value& v = field(obj, key);
  return v.is_number() && v.as_number().is_integral() ? v.as_number().to_int64() : 0;
}

bool boolField(const value& obj, const char* key) {
  const value& v = field(obj, key);
  return v.is_boolean() && v.as_bool();
}

// "<statefulset>-<n>" → n; -1 when the name has no ordinal suffix.
int ordinalOf(const std::string& name) {
  auto dash = name.rfind('-');
  if (dash == std::string::npos || dash + 1 == name.size() || name.size() - dash > 4) return -1;
  int n = 0;
  for (size_t i = dash + 1; i < name.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(name[i]))) return -1;
    n = n * 10 + (name[i] - '0');
  }
  return n;
}

bool podReady(const value& pod) {
  const value& conditions = field(field(pod, "status"), "conditions");
  if (!conditions.is_array()) return false;
  for (const value& c : conditions.as_array()) {
    if (stringField(c, "type") == "Ready") return stringField(c, "status") == "True";
  }
  return false;
}

}  // namespace

const RaftMember* RaftView::findByNode(const std::string& node) const {
  for (const auto& m : members) {
    if (m.node == node) return &m;
  }
  return nullptr;
}

int RaftView::voters() const {
  return static_cast<int>(
      std::count_if(members.begin(), members.end(), [](const RaftMember& m) { return m.voter; }));
}

int RaftView::healthyVoters() const {
  return static_cast<int>(std::count_if(members.begin(), members.end(),
                                        [](const RaftMember& m) { return m.voter && m.healthy; }));
}

const ObservedPod* ObservedState::findPod(const std::string& name) const {
  for (const auto& p : pods) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

StatusOr<ObservedCluster> observeCluster(const value& object) {
  const value& meta = field(object, "metadata");
  ObservedCluster c;
  c.name = stringField(meta, "name");
  c.name_space = stringField(meta, "namespace");
  c.uid = stringField(meta, "uid");
  if (c.name.empty() || c.name_space.empty() || c.uid.empty()) {
    return invalidArgument("CairnCluster without metadata.name, namespace or uid");
  }
  c.generation = intField(meta, "generation");
  auto spec = parseClusterSpec(field(object, "spec"));
  if (spec.isOk()) {
    c.spec = std::move(*spec);
  } else {
    c.spec_status = spec.status();
  }
  if (field(object, "status").is_object()) c.status = field(object, "status");
  return c;
}

StatusOr<ObservedStatefulSet> observeStatefulSet(const value& object) {
  const value& spec = field(object, "spec");
  if (!spec.is_object()) return invalidArgument("StatefulSet without a spec");
  ObservedStatefulSet s;
  s.replicas = static_cast<int>(intField(spec, "replicas"));
  const value& status = field(object, "status");
  s.current_revision = stringField(status, "currentRevision");
  s.update_revision = stringField(status, "updateRevision");
  const value& annotations = field(field(object, "metadata"), "annotations");
  std::string expect = stringField(annotations, "cairn.io/bootstrap-expect");
  s.bootstrap_expect = expect.empty() ? 0 : std::atoi(expect.c_str());
  const value& pod_template = field(spec, "template");
  s.config_hash =
      stringField(field(field(pod_template, "metadata"), "annotations"), "cairn.io/config-hash");
  const value& list = field(field(pod_template, "spec"), "containers");
  if (list.is_array() && list.size() > 0) s.image = stringField(list.at(0), "image");
  if (s.replicas < 0) return invalidArgument("StatefulSet with negative replicas");
  return s;
}

StatusOr<ObservedPod> observePod(const value& object) {
  const value& meta = field(object, "metadata");
  ObservedPod p;
  p.name = stringField(meta, "name");
  p.ordinal = ordinalOf(p.name);
  if (p.ordinal < 0) return invalidArgument("pod \"" + p.name + "\" has no ordinal suffix");
  p.ready = podReady(object);
  p.terminating = field(meta, "deletionTimestamp").is_string();
  p.revision = stringField(field(meta, "labels"), "controller-revision-hash");
  return p;
}

StatusOr<RaftView> observeRaft(const value& configuration, const value& autopilot,
                               const std::string& leader_addr) {
  const value& servers = field(configuration, "Servers");
  if (!servers.is_array()) return invalidArgument("raft configuration without Servers");
  RaftView view;
  view.reachable = true;
  std::map<std::string, const value*> health;
  const value& health_servers = field(autopilot, "Servers");
  if (health_servers.is_array()) {
    for (const value& h : health_servers.as_array()) health[stringField(h, "ID")] = &h;
  }
  for (const value& s : servers.as_array()) {
    RaftMember m;
    m.id = stringField(s, "ID");
    m.node = stringField(s, "Node");
    m.address = stringField(s, "Address");
    if (m.id.empty()) return invalidArgument("raft configuration server without an ID");
    m.voter = boolField(s, "Voter");
    m.leader = boolField(s, "Leader");
    m.last_index = static_cast<uint64_t>(intField(s, "LastIndex"));
    if (auto it = health.find(m.id); it != health.end()) {
      m.healthy = boolField(*it->second, "Healthy");
      if (m.leader) view.version = stringField(*it->second, "Version");
    }
    // Only a leader that /v1/status/leader confirms counts: a stale configuration may still
    // name one that is gone.
    if (m.leader && !leader_addr.empty()) {
      view.leader = m.node;
      view.last_index = m.last_index;
    }
    view.members.push_back(std::move(m));
  }
  view.healthy = boolField(autopilot, "Healthy");
  view.failure_tolerance = static_cast<int>(intField(autopilot, "FailureTolerance"));
  return view;
}

}  // namespace cairn::op
