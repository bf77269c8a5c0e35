#include "agent/config_registrations.h"

#include <cstdio>
#include <fstream>
#include <sstream>
#include <vector>

#include "core/base/logging.h"
#include "core/http/agent_handlers_json.h"
#include "core/http/json_reader.h"

namespace cairn::agent {
namespace {

std::string where(const config::AgentConfig::Definition& d) {
  return "config file " + d.file + ":" + std::to_string(d.pos.line) + ":" +
         std::to_string(d.pos.col);
}

template <typename Decoder>
auto decode(const config::AgentConfig::Definition& d, const char* what, Decoder decoder)
    -> decltype(decoder(web::json::value())) {
  auto json = http::parseJson(d.json);
  if (!json.isOk()) return invalidArgument(where(d) + ": " + what + ": " + json.status().message());
  auto reg = decoder(*json);
  if (!reg.isOk()) return invalidArgument(where(d) + ": " + what + ": " + reg.status().message());
  return reg;
}

}  // namespace

ConfigRegistrations::ConfigRegistrations(local::LocalAgent& agent, std::string state_file)
    : agent_(agent), state_file_(std::move(state_file)) {
  loadState();
}

Status ConfigRegistrations::apply(const config::AgentConfig& config) {
  std::vector<local::ServiceRegistration> services;
  std::vector<local::CheckRegistration> checks;
  for (const auto& d : config.services) {
    auto reg = decode(d, "service", http::decodeServiceRegistration);
    if (!reg.isOk()) return reg.status();
    services.push_back(std::move(*reg));
  }
  for (const auto& d : config.checks) {
    auto reg = decode(d, "check", http::decodeCheckRegistration);
    if (!reg.isOk()) return reg.status();
    checks.push_back(std::move(*reg));
  }

  std::lock_guard<std::mutex> lock(mu_);
  std::set<std::string> new_services, new_checks;
  for (const auto& s : services) new_services.insert(s.service.id());
  for (const auto& c : checks) new_checks.insert(c.check.check_id());
  // Removed first, so that an ID moving from a service's checks to the top level survives.
  for (const auto& id : services_) {
    if (new_services.count(id) == 0) (void)agent_.removeService(id);  // gone already: fine
  }
  for (const auto& id : checks_) {
    if (new_checks.count(id) == 0) (void)agent_.removeCheck(id);
  }
  services_ = std::move(new_services);
  checks_ = std::move(new_checks);
  Status result = Status::ok();
  for (size_t i = 0; i < services.size(); ++i) {
    Status s = agent_.addService(std::move(services[i]), true);
    if (!s.isOk() && result.isOk()) {
      result = invalidArgument(where(config.services[i]) + ": service: " + s.message());
    }
  }
  for (size_t i = 0; i < checks.size(); ++i) {
    Status s = agent_.addCheck(std::move(checks[i]));
    if (!s.isOk() && result.isOk()) {
      result = invalidArgument(where(config.checks[i]) + ": check: " + s.message());
    }
  }
  saveState();
  if (result.isOk() && (!services_.empty() || !checks_.empty())) {
    LOG_INFO("agent", "config: " << services_.size() << " service(s) and " << checks_.size()
                                 << " check(s) registered from config files");
  }
  return result;
}

// One ID per line, "service <id>" or "check <id>". An ID holding a newline cannot be written so
// and is left out: removing its definition while the agent is down does not remove it.
void ConfigRegistrations::loadState() {
  std::ifstream in(state_file_);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("service ", 0) == 0) services_.insert(line.substr(8));
    if (line.rfind("check ", 0) == 0) checks_.insert(line.substr(6));
  }
}

void ConfigRegistrations::saveState() const {
  std::string tmp = state_file_ + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    auto one_line = [](const std::string& id) { return id.find('\n') == std::string::npos; };
    for (const auto& id : services_) {
      if (one_line(id)) out << "service " << id << "\n";
    }
    for (const auto& id : checks_) {
      if (one_line(id)) out << "check " << id << "\n";
    }
    if (!out) {
      LOG_WARN("agent", "cannot write " << tmp);
      return;
    }
  }
  if (std::rename(tmp.c_str(), state_file_.c_str()) != 0) {
    LOG_WARN("agent", "cannot rename " << tmp << " to " << state_file_);
  }
}

}  // namespace cairn::agent
