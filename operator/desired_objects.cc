#include "operator/desired_objects.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>

namespace cairn::op {
namespace {

using web::json::value;

value str(const std::string& s) { return value::string(s); }

value labels(const std::string& cluster) {
  value l = value::object();
  l["app.kubernetes.io/name"] = str("cairn");
  l["app.kubernetes.io/instance"] = str(cluster);
  l["app.kubernetes.io/component"] = str("server");
  return l;
}

value metadata(const ObservedCluster& c, const std::string& name) {
  value owner = value::object();
  owner["apiVersion"] = str("cairn.io/v1alpha1");
  owner["kind"] = str("CairnCluster");
  owner["name"] = str(c.name);
  owner["uid"] = str(c.uid);
  owner["controller"] = value::boolean(true);
  owner["blockOwnerDeletion"] = value::boolean(true);
  value m = value::object();
  m["name"] = str(name);
  m["namespace"] = str(c.name_space);
  m["labels"] = labels(c.name);
  m["labels"]["app.kubernetes.io/managed-by"] = str("cairn-operator");
  m["ownerReferences"] = value::array({owner});
  return m;
}

value object(const char* api_version, const char* kind, value meta) {
  value o = value::object();
  o["apiVersion"] = str(api_version);
  o["kind"] = str(kind);
  o["metadata"] = std::move(meta);
  return o;
}

value port(const char* name, int number, const char* protocol = "TCP") {
  value p = value::object();
  p["name"] = str(name);
  p["port"] = value::number(number);
  p["targetPort"] = value::number(number);
  p["protocol"] = str(protocol);
  return p;
}

// The configuration the operator writes, with spec.config's keys laid over it (parseClusterSpec
// refused the keys the operator must own).
value serverConfig(const ClusterSpec& spec) {
  value config = value::object();
  // A restarted server must stay a member: the operator removes members itself, one at a time,
  // and only when it scales down or cleans up a stale identity.
  config["leave_on_terminate"] = value::boolean(false);
  if (spec.config.is_object()) {
    for (const auto& [key, v] : spec.config.as_object()) config[key] = v;
  }
  return config;
}

// FNV-1a of the rendered configuration: a pod template annotation, so a configuration change
// makes a new StatefulSet revision and the operator rolls it like an image change.
std::string hashText(const std::string& text) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char ch : text) {
    h ^= ch;
    h *= 1099511628211ULL;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

value envFromField(const char* name, const char* path) {
  value e = value::object();
  e["name"] = str(name);
  e["valueFrom"]["fieldRef"]["fieldPath"] = str(path);
  return e;
}

value containerPort(const char* name, int number, const char* protocol = "TCP") {
  value p = value::object();
  p["name"] = str(name);
  p["containerPort"] = value::number(number);
  p["protocol"] = str(protocol);
  return p;
}

value serverContainer(const ObservedCluster& c, int bootstrap_expect) {
  const ClusterSpec& spec = c.spec;
  value k = value::object();
  k["name"] = str("cairn");
  k["image"] = str(spec.image);
  k["imagePullPolicy"] = str(spec.image_pull_policy);
  std::vector<value> args;
  for (std::string a :
       {std::string("agent"), std::string("-server"),
        std::string("-config-file=/etc/cairn/server.json"), std::string("-node=$(POD_NAME)"),
        std::string("-data-dir=/var/lib/cairn/data"), std::string("-bind=$(POD_IP)"),
        std::string("-advertise=$(POD_IP)"), std::string("-client=0.0.0.0"),
        "-bootstrap-expect=" + std::to_string(bootstrap_expect),
        "-retry-join=" + peersServiceName(c.name) + "." + c.name_space + ".svc"}) {
    args.push_back(str(a));
  }
  k["args"] = value::array(args);
  k["env"] = value::array(
      {envFromField("POD_NAME", "metadata.name"), envFromField("POD_IP", "status.podIP")});
  k["ports"] =
      value::array({containerPort("http", kHttpPort), containerPort("server", kServerPort),
                    containerPort("dns-tcp", kDnsPort), containerPort("dns-udp", kDnsPort, "UDP")});
  value mount_data = value::object();
  mount_data["name"] = str("data");
  mount_data["mountPath"] = str("/var/lib/cairn");
  value mount_config = value::object();
  mount_config["name"] = str("config");
  mount_config["mountPath"] = str("/etc/cairn");
  k["volumeMounts"] = value::array({mount_data, mount_config});
  // Ready means "a healthy voter, or a learner catching up, of a cluster with a leader", as the
  // server itself answers it (docs/operator.md): the client Service then only sends requests to
  // servers that can serve them, and the PDB counts only those.
  k["readinessProbe"]["httpGet"]["path"] = str("/v1/operator/raft/self-health");
  k["readinessProbe"]["httpGet"]["port"] = value::number(kHttpPort);
  k["readinessProbe"]["periodSeconds"] = value::number(2);
  k["readinessProbe"]["failureThreshold"] = value::number(2);
  if (spec.resources.is_object()) k["resources"] = spec.resources;
  return k;
}

value podTemplate(const ObservedCluster& c, int bootstrap_expect, const std::string& hash) {
  const ClusterSpec& spec = c.spec;
  value t = value::object();
  t["metadata"]["labels"] = labels(c.name);
  t["metadata"]["annotations"]["cairn.io/config-hash"] = str(hash);
  value& pod = t["spec"];
  pod["containers"] = value::array({serverContainer(c, bootstrap_expect)});
  value config_volume = value::object();
  config_volume["name"] = str("config");
  config_volume["configMap"]["name"] = str(c.name + "-config");
  pod["volumes"] = value::array({config_volume});
  pod["terminationGracePeriodSeconds"] = value::number(30);
  if (spec.affinity.is_object()) pod["affinity"] = spec.affinity;
  if (spec.tolerations.is_array()) pod["tolerations"] = spec.tolerations;
  if (spec.node_selector.is_object()) pod["nodeSelector"] = spec.node_selector;
  if (spec.topology_spread.is_array()) pod["topologySpreadConstraints"] = spec.topology_spread;
  if (!spec.priority_class.empty()) pod["priorityClassName"] = str(spec.priority_class);
  return t;
}

value statefulSet(const ObservedCluster& c, int replicas, int bootstrap_expect,
                  const std::string& hash) {
  const ClusterSpec& spec = c.spec;
  value s = object("apps/v1", "StatefulSet", metadata(c, c.name));
  s["metadata"]["annotations"]["cairn.io/bootstrap-expect"] = str(std::to_string(bootstrap_expect));
  value& sp = s["spec"];
  sp["replicas"] = value::number(replicas);
  sp["serviceName"] = str(peersServiceName(c.name));
  sp["podManagementPolicy"] = str("Parallel");
  sp["updateStrategy"]["type"] = str("OnDelete");
  sp["selector"]["matchLabels"] = labels(c.name);
  sp["template"] = podTemplate(c, bootstrap_expect, hash);
  // Scale-down PVCs are the operator's to delete (after the member left Raft): Retain here.
  sp["persistentVolumeClaimRetentionPolicy"]["whenScaled"] = str("Retain");
  sp["persistentVolumeClaimRetentionPolicy"]["whenDeleted"] =
      str(spec.when_deleted == PvcRetention::kDelete ? "Delete" : "Retain");
  value claim = value::object();
  claim["metadata"]["name"] = str("data");
  claim["spec"]["accessModes"] = value::array({str("ReadWriteOnce")});
  claim["spec"]["resources"]["requests"]["storage"] = str(spec.storage_size);
  if (!spec.storage_class.empty()) claim["spec"]["storageClassName"] = str(spec.storage_class);
  sp["volumeClaimTemplates"] = value::array({claim});
  return s;
}

value service(const ObservedCluster& c, const std::string& name, bool headless) {
  value s = object("v1", "Service", metadata(c, name));
  value& sp = s["spec"];
  sp["selector"] = labels(c.name);
  if (headless) {
    sp["clusterIP"] = str("None");
    // Servers find each other through this name before any of them is Ready.
    sp["publishNotReadyAddresses"] = value::boolean(true);
    sp["ports"] = value::array({port("server", kServerPort), port("http", kHttpPort)});
  } else {
    sp["ports"] = value::array(
        {port("http", kHttpPort), port("dns-tcp", kDnsPort), port("dns-udp", kDnsPort, "UDP")});
  }
  return s;
}

}  // namespace

std::vector<value> DesiredObjects::all() const {
  return {config_map, peers_service, client_service, pdb, stateful_set};
}

std::string podName(const std::string& cluster, int ordinal) {
  return cluster + "-" + std::to_string(ordinal);
}

std::string pvcName(const std::string& cluster, int ordinal) {
  return "data-" + podName(cluster, ordinal);
}

std::string peersServiceName(const std::string& cluster) { return cluster + "-peers"; }

std::string podSelector(const std::string& cluster) {
  return "app.kubernetes.io/component=server,app.kubernetes.io/instance=" + cluster +
         ",app.kubernetes.io/name=cairn";
}

std::string configHash(const ClusterSpec& spec) { return hashText(serverConfig(spec).serialize()); }

int maxUnavailable(int servers) { return servers - quorum(servers) >= 1 ? 1 : 0; }

DesiredObjects desiredObjects(const ObservedCluster& c, int replicas, int bootstrap_expect) {
  DesiredObjects d;
  std::string config = serverConfig(c.spec).serialize();
  d.config_map = object("v1", "ConfigMap", metadata(c, c.name + "-config"));
  d.config_map["data"]["server.json"] = str(config);
  d.peers_service = service(c, peersServiceName(c.name), true);
  d.client_service = service(c, c.name, false);
  d.pdb = object("policy/v1", "PodDisruptionBudget", metadata(c, c.name));
  // The size running now, not only the one asked for: in the middle of a scale-up from 1 to 3
  // the 2 servers running cannot lose one (nor, growing from 3 to 5, can the 4 lose two).
  d.pdb["spec"]["maxUnavailable"] =
      value::number(maxUnavailable(std::min(c.spec.servers, replicas)));
  d.pdb["spec"]["selector"]["matchLabels"] = labels(c.name);
  d.stateful_set = statefulSet(c, replicas, bootstrap_expect, hashText(config));
  return d;
}

}  // namespace cairn::op
