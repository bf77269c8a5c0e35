#pragma once
// The pod a sidecar serves, learned from the downward API only, so the sidecar needs no
// Kubernetes API access and no RBAC: environment variables for the identity, and a downward-API
// volume whose `annotations` and `labels` files carry the intent (docs/sidecar.md).

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "core/base/status.h"

namespace cairn::sidecar {

using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;
using StringMap = std::map<std::string, std::string>;

struct PodIdentity {
  std::string name;       // POD_NAME (required)
  std::string namespace_name = "default";  // POD_NAMESPACE
  std::string ip;         // POD_IP (required): services and checks use it
  std::string node_name;  // NODE_NAME: the Kubernetes node the pod runs on
  std::string uid;        // POD_UID

  // The Consul node of this pod: "<pod>-<namespace>" (pod names are unique per namespace only).
  std::string consulNodeName() const;
  // A node ID stable across restarts of the pod's containers and of a StatefulSet pod: a UUID
  // derived from namespace and name (a new pod UID must not change the node's identity).
  std::string consulNodeId() const;
  // k8s-namespace, pod-name, pod-uid, k8s-node (empty values left out).
  StringMap meta() const;
};

// Reads the identity from POD_NAME, POD_NAMESPACE, POD_IP, NODE_NAME and POD_UID. Errors name the
// missing or malformed variable.
StatusOr<PodIdentity> podIdentityFromEnv(const EnvLookup& env);

// Parses a downward-API metadata file as the kubelet writes it: one `key="value"` per line, the
// value quoted as Go's strconv.Quote does. Errors name the line.
StatusOr<StringMap> parseDownwardApiFile(std::string_view text);

struct PodMetadata {
  StringMap annotations;
  StringMap labels;
};

// Reads <dir>/annotations and <dir>/labels; a missing file is an empty map.
StatusOr<PodMetadata> readPodInfoDir(const std::string& dir);

// The pod's named container ports from CAIRN_CONTAINER_PORTS ("http=8080,admin=9090"; the
// injector writes it from the pod spec, which the downward API cannot expose).
StatusOr<std::map<std::string, int>> parseContainerPorts(std::string_view text);

}  // namespace cairn::sidecar
