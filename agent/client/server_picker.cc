#include "agent/client/server_picker.h"

#include <algorithm>

namespace cairn::agent::client {

void ServerPicker::setServers(const std::vector<std::string>& addresses) {
  std::string was = current();
  std::vector<std::string> unique;
  for (const auto& a : addresses) {
    if (!a.empty() && std::find(unique.begin(), unique.end(), a) == unique.end()) {
      unique.push_back(a);
    }
  }
  servers_ = std::move(unique);
  auto it = std::find(servers_.begin(), servers_.end(), was);
  current_ = it == servers_.end() ? 0 : static_cast<size_t>(it - servers_.begin());
  if (current() != was) ++generation_;
}

std::string ServerPicker::current() const {
  return servers_.empty() ? std::string() : servers_[current_ % servers_.size()];
}

bool ServerPicker::recentlyFailed(const std::string& address, SteadyTime now) const {
  auto it = failed_at_.find(address);
  return it != failed_at_.end() && now - it->second < cooldown_;
}

std::string ServerPicker::markFailed(uint64_t generation, SteadyTime now) {
  if (servers_.empty()) return "";
  if (generation != generation_) return current();
  failed_at_[current()] = now;
  size_t n = servers_.size();
  size_t pick = n;  // none found yet
  for (size_t step = 1; step <= n; ++step) {
    size_t i = (current_ + step) % n;
    if (!recentlyFailed(servers_[i], now)) {
      pick = i;
      break;
    }
  }
  if (pick == n) {  // every server failed recently: the one that failed longest ago
    pick = (current_ + 1) % n;
    for (size_t i = 0; i < n; ++i) {
      if (failed_at_[servers_[i]] < failed_at_[servers_[pick]]) pick = i;
    }
  }
  current_ = pick;
  ++generation_;
  return current();
}

}  // namespace cairn::agent::client
