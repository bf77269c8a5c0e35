#pragma once
// In-memory DnsCatalog for the DNS tests and the fuzz target.

#include <algorithm>
#include <mutex>

#include "core/dns/dns_catalog.h"
#include "core/dns/dns_name.h"

namespace cairn::dns::testing {

class FakeCatalog final : public DnsCatalog {
 public:
  void addNode(DnsNode node) {
    std::lock_guard lock(mu_);
    nodes_.push_back(std::move(node));
  }
  void addServer(DnsNode node) {
    std::lock_guard lock(mu_);
    servers_.push_back(node);
    nodes_.push_back(std::move(node));
  }
  void addInstance(std::string service, DnsServiceInstance instance) {
    std::lock_guard lock(mu_);
    instances_.emplace_back(std::move(service), std::move(instance));
  }

  // A prepared query answering `answer` for `name` (exact, case-insensitive).
  void addQuery(std::string name, DnsQueryAnswer answer) {
    std::lock_guard lock(mu_);
    queries_.emplace_back(std::move(name), std::move(answer));
  }

  std::optional<DnsNode> node(std::string_view name) const override {
    std::lock_guard lock(mu_);
    for (const DnsNode& n : nodes_) {
      if (equalsIgnoreCase(n.name, name)) return n;
    }
    return std::nullopt;
  }
  std::vector<DnsServiceInstance> serviceInstances(std::string_view service) const override {
    std::lock_guard lock(mu_);
    std::vector<DnsServiceInstance> out;
    for (const auto& [name, instance] : instances_) {
      if (equalsIgnoreCase(name, service)) out.push_back(instance);
    }
    return out;
  }
  std::vector<DnsNode> servers() const override {
    std::lock_guard lock(mu_);
    return servers_;
  }
  std::vector<DnsNode> nodesWithAddress(std::string_view ip) const override {
    std::lock_guard lock(mu_);
    std::vector<DnsNode> out;
    for (const DnsNode& n : nodes_) {
      if (n.address == ip) out.push_back(n);
    }
    return out;
  }
  std::vector<std::string> servicesWithAddress(std::string_view ip) const override {
    std::lock_guard lock(mu_);
    std::vector<std::string> out;
    for (const auto& [name, instance] : instances_) {
      if (instance.service_address == ip) out.push_back(name);
    }
    return out;
  }
  std::optional<DnsQueryAnswer> preparedQuery(std::string_view name) const override {
    std::lock_guard lock(mu_);
    for (const auto& [n, answer] : queries_) {
      if (equalsIgnoreCase(n, name)) return answer;
    }
    return std::nullopt;
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::pair<std::string, DnsQueryAnswer>> queries_;
  std::vector<DnsNode> nodes_;
  std::vector<DnsNode> servers_;
  std::vector<std::pair<std::string, DnsServiceInstance>> instances_;
};

}  // namespace cairn::dns::testing
