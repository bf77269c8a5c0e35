#include "agent/node_catalog_port.h"

#include <charconv>

namespace cairn::agent {

void NodeCatalogPort::propose(v1::Command command, std::function<void(Status)> done) {
  node_.propose(std::move(command), [done = std::move(done)](StatusOr<node::ProposeResult> result) {
    if (!result.isOk()) return done(result.status());
    if (result->outcome.ok) return done(Status::ok());
    done(invalidArgument(result->outcome.errors.empty() ? "refused"
                                                        : result->outcome.errors[0].what));
  });
}

void NodeCatalogPort::readNode(const std::string& node_name,
                               std::function<void(StatusOr<local::NodeCatalog>)> done) {
  store::NodeServices services = store_.nodeServices(node_name);
  local::NodeCatalog rows;
  rows.node = std::move(services.node);
  rows.services = std::move(services.services);
  rows.checks = store_.nodeChecks(node_name).checks;
  done(std::move(rows));
}

http::AgentMember RaftMembers::member(const node::RaftServer& s) const {
  http::AgentMember m;
  m.name = s.node.empty() ? s.id : s.node;
  m.id = s.id;
  m.addr = s.address;
  m.port = self_.server_port;
  if (auto colon = s.address.rfind(':'); colon != std::string::npos) {
    m.addr = s.address.substr(0, colon);
    std::string_view port = std::string_view(s.address).substr(colon + 1);
    int parsed = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), parsed);
    m.port = ec == std::errc() && end == port.data() + port.size() ? parsed : 0;
  }
  if (m.addr.size() > 2 && m.addr.front() == '[' && m.addr.back() == ']') {
    m.addr = m.addr.substr(1, m.addr.size() - 2);
  }
  if (s.id == self_.node_id || s.node.empty()) return m;
  for (const auto& check : store_.nodeChecks(s.node).checks) {
    if (check.check_id() == "serfHealth") {
      m.status = check.status() == "critical" ? http::kMemberFailed : http::kMemberAlive;
    }
  }
  return m;
}

std::vector<http::AgentMember> RaftMembers::members() const {
  std::vector<http::AgentMember> out;
  bool self_listed = false;
  for (const auto& s : node_.raftConfiguration().servers) {
    self_listed |= s.id == self_.node_id;
    out.push_back(member(s));
  }
  if (!self_listed) {
    node::RaftServer self;
    self.id = self_.node_id;
    self.node = self_.node_name;
    self.address = self_.advertise_addr + ":" + std::to_string(self_.server_port);
    out.push_back(member(self));
  }
  return out;
}

}  // namespace cairn::agent
