#pragma once
// The Consul data a template reads. Each data function call (`key "a"`, `service "web"`) names a
// Dependency; the runner (agent/cli/template_runner.cc) keeps one blocking query per dependency
// and hands its decoded answer back to the renderer. Which endpoint a dependency queries and how
// its answer becomes template values (consul-template's shapes: `.Address`, `.Port`, `.Tags`,
// `.ServiceMeta`, `.Key`, `.Value`, ...) lives here, so it is unit-tested without a server.
//
// Threading: pure functions and plain values.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/base/status.h"
#include "core/template/value.h"

namespace cairn::tmpl {

struct Dependency {
  enum class Kind {
    kKey,       // key, keyOrDefault, keyExists: GET /v1/kv/<name>
    kKeyList,   // ls, tree: GET /v1/kv/<name>?recurse
    kService,   // service: GET /v1/health/service/<name>
    kServices,  // services: GET /v1/catalog/services
    kNode,      // node: GET /v1/catalog/node/<name> ("" = the agent's own node)
    kNodes,     // nodes: GET /v1/catalog/nodes
  };
  Kind kind = Kind::kKey;
  std::string name;
  std::string tag;                  // kService: "tag.name"
  std::vector<std::string> states;  // kService: health filter; empty means passing only
  std::string datacenter;           // "@dc"
  std::string near;                 // kService, kNodes: "~node" (sent as ?near=)

  // A stable, readable identity ("health.service(web|passing)"): map key and log text.
  std::string id() const;
  bool operator<(const Dependency& other) const { return id() < other.id(); }
  bool operator==(const Dependency& other) const { return id() == other.id(); }
};

// consul-template's argument syntaxes, validated.
StatusOr<Dependency> keyDependency(std::string_view path);
StatusOr<Dependency> keyListDependency(std::string_view prefix);
// "[tag.]name[@dc][~near][|state,state]" (`service "web" "any"` arrives joined with '|').
StatusOr<Dependency> serviceDependency(std::string_view spec);
StatusOr<Dependency> servicesDependency(std::string_view spec);  // "" or "@dc"
StatusOr<Dependency> nodeDependency(std::string_view spec);      // "", "name", "name@dc"
StatusOr<Dependency> nodesDependency(std::string_view spec);     // "", "@dc", "~near"

struct DependencyRequest {
  std::string path;                                        // raw (unescaped)
  std::vector<std::pair<std::string, std::string>> query;  // in order
};
// The HTTP read for `dep`; `agent_node` names the node a bare `node` means.
DependencyRequest requestFor(const Dependency& dep, const std::string& agent_node);

// Decodes the agent's answer to requestFor(dep): 200 (and 404 for a missing key or node, which
// become nil) into what the template functions return. Other statuses are errors.
StatusOr<Value> decodeResponse(const Dependency& dep, int status, std::string_view body);

}  // namespace cairn::tmpl
