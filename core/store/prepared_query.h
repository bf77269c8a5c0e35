#pragma once
// Prepared queries (docs/prepared-queries.md) as Consul defines them: validation of a stored
// definition, template rendering (name_prefix_match with ${name.full}, ${name.prefix},
// ${name.suffix} and ${match(N)}), the filters an execution applies to a service's instances,
// and execution against the state store. Everything but executePreparedQuery is pure.
//
// Threading: free functions without shared state; executePreparedQuery reads one snapshot per
// store call (thread-safe like the store's reads).

#include <cctype>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cairn/v1/query.pb.h"
#include "core/base/status.h"
#include "core/store/catalog_types.h"

namespace cairn::store {

class StateStore;

inline constexpr std::string_view kTemplateNamePrefixMatch = "name_prefix_match";
// Consul's stand-in for a query's Token when the caller may not see it.
inline constexpr std::string_view kRedactedToken = "<hidden>";
inline constexpr std::string_view kQueryNotFound = "Query not found";

bool isTemplate(const v1::PreparedQuery& query);

// Consul's GetACLPrefix: the name `query:` rules are checked against, or nullopt when no rule
// applies (an unnamed query that is not a template: knowing its ID is the capability).
std::optional<std::string> queryAclPrefix(const v1::PreparedQuery& query);

// The checks that need no state, with Consul's texts (kInvalidArgument): a service name, a
// session or a name or template, a valid DNS TTL, NearestN >= 0, valid metadata filters, a known
// template type, a compiling Regexp and a template that renders.
Status validatePreparedQuery(const v1::PreparedQuery& query);

// The values a template may interpolate.
struct TemplateVars {
  std::string full;                  // the name the query was looked up by
  std::string prefix;                // the template's name
  std::string suffix;                // full minus prefix
  std::vector<std::string> matches;  // Regexp's submatches of `full` (empty: no match)
};

// Replaces every ${...} in `text` (HIL's subset Consul documents: name.full, name.prefix,
// name.suffix, match(N), agent.segment); "$${" is a literal "${". Unknown variables or
// functions and unterminated expressions are kInvalidArgument.
StatusOr<std::string> interpolate(std::string_view text, const TemplateVars& vars);

// `query` rendered for `name`: a template gets every string of its Service and DNS sections
// interpolated (empty tags dropped when RemoveEmptyTags); any other query is returned as is.
StatusOr<v1::PreparedQuery> renderPreparedQuery(const v1::PreparedQuery& query,
                                                std::string_view name);

// Whether one instance passes the query's health (OnlyPassing, IgnoreCheckIDs), node-meta,
// service-meta and tag ("!tag" excludes) filters. Tags compare case-insensitively.
bool queryAccepts(const v1::ServiceQuery& service, const ServiceInstance& instance);

// The result of running a query, before ordering, ACL filtering and ?limit.
struct QueryExecution {
  v1::PreparedQuery query;                 // as rendered
  std::vector<ServiceInstance> instances;  // accepted ones, in catalog order
  std::string near_node;                   // the node to put first ("": none)
  uint64_t index = 1;                      // the service's index
};

// Finds `id_or_name` (resolvePreparedQuery), renders it and filters the service's instances.
// `near` is the request's ?near= (it overrides the query's Near): "_agent" means `agent_node`;
// "_ip" means no particular node (Cairn has no client address to match). kNotFound
// "Query not found" when nothing matches; a template that fails to render is kInvalidArgument.
StatusOr<QueryExecution> executePreparedQuery(const StateStore& store, std::string_view id_or_name,
                                              std::string_view near, std::string_view agent_node);

// Moves the instance on `node` (case-insensitive) to the front, as Consul does for the node a
// query is "near" once the results are shuffled.
template <typename T, typename NodeOf>
void putNearFirst(std::vector<T>& items, std::string_view node, NodeOf node_of) {
  if (node.empty()) return;
  for (size_t i = 0; i < items.size(); ++i) {
    std::string_view n = node_of(items[i]);
    bool same = n.size() == node.size();
    for (size_t k = 0; same && k < n.size(); ++k) {
      same = std::tolower(static_cast<unsigned char>(n[k])) ==
             std::tolower(static_cast<unsigned char>(node[k]));
    }
    if (same) {
      std::swap(items[0], items[i]);
      return;
    }
  }
}

}  // namespace cairn::store
