#pragma once
// Results of catalog, health, session and event reads: the stored protobuf rows plus the index a
// read reports (X-Consul-Index, never 0).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cairn/v1/catalog.pb.h"
#include "cairn/v1/query.pb.h"

namespace cairn::store {

struct NodeList {
  std::vector<v1::CatalogNode> nodes;  // sorted by node name
  uint64_t index = 1;
};

// Service name -> the union of its instances' tags (sorted, unique).
struct ServiceTags {
  std::map<std::string, std::vector<std::string>> services;
  uint64_t index = 1;
};

struct ServiceInstance {
  v1::CatalogNode node;
  v1::CatalogService service;
  std::vector<v1::CatalogCheck> checks;  // the node's own checks, then the instance's checks
};

struct ServiceInstances {
  std::vector<ServiceInstance> instances;  // sorted by node name, then service ID
  uint64_t index = 1;
};

struct NodeServices {
  std::optional<v1::CatalogNode> node;  // absent: unknown node
  std::vector<v1::CatalogService> services;
  uint64_t index = 1;
};

struct CheckList {
  std::vector<v1::CatalogCheck> checks;
  uint64_t index = 1;
};

struct SessionList {
  std::vector<v1::StoredSession> sessions;
  uint64_t index = 1;
};

struct EventList {
  std::vector<v1::UserEvent> events;  // oldest first
  uint64_t index = 1;
};

struct QueryRead {
  std::optional<v1::PreparedQuery> query;  // absent: not found
  uint64_t index = 1;
};

struct QueryList {
  std::vector<v1::PreparedQuery> queries;  // in ID order
  uint64_t index = 1;
};

// A node with everything registered on it.
struct NodeEntry {
  v1::CatalogNode node;
  std::vector<v1::CatalogService> services;
  std::vector<v1::CatalogCheck> checks;
};

}  // namespace cairn::store
