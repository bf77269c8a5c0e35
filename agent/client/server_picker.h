#pragma once
// ServerPicker: which server a client agent talks to (one at a time) and where it goes when that
// one fails. Pure: no I/O, no clock of its own (time is passed in), so the failover rules are unit
// tested (tests/unit/agent/server_picker_test.cc).
//
// Rules: the servers rotate in the order they were given. When the current server fails, the
// next one in rotation that has not failed within `cooldown` becomes current; when every server
// failed within it, the one that failed longest ago does (so a client never gives up, and a
// flapping server is not picked again at once while a healthy one exists).
//
// Threading: not thread-safe; its owner (ServerConnection) serialises calls.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/base/clock.h"
#include "core/base/duration.h"

namespace cairn::agent::client {

class ServerPicker {
 public:
  explicit ServerPicker(Nanos cooldown = std::chrono::seconds(5)) : cooldown_(cooldown) {}

  // Replaces the known servers ("ip:port", duplicates dropped, order kept). The current server
  // stays current when it is still known; otherwise the first becomes current.
  void setServers(const std::vector<std::string>& addresses);
  const std::vector<std::string>& servers() const { return servers_; }

  // The server to use now; empty when none is known.
  std::string current() const;
  // Changes whenever current() does; lets a caller report a failure of the server it used
  // without failing over twice when several calls fail at once.
  uint64_t generation() const { return generation_; }

  // The server of `generation` failed at `now`. A report for an older generation only records the
  // failure (the client has already moved on). Returns the server now current.
  std::string markFailed(uint64_t generation, SteadyTime now);

 private:
  bool recentlyFailed(const std::string& address, SteadyTime now) const;

  const Nanos cooldown_;
  std::vector<std::string> servers_;
  size_t current_ = 0;
  uint64_t generation_ = 1;
  std::map<std::string, SteadyTime> failed_at_;
};

}  // namespace cairn::agent::client
