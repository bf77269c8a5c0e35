#include "agent/cli/lock_logic.h"

#include <algorithm>

#define _TURN_OFF_PLATFORM_STRING
#include <cpprest/json.h>

namespace cairn::cli::lock {
namespace {

std::string trimmedPrefix(std::string prefix) {
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  return prefix;
}

std::string joinKey(const std::string& prefix, const std::string& name) {
  std::string base = trimmedPrefix(prefix);
  return base.empty() ? name : base + "/" + name;
}

}  // namespace

std::string lockKey(const std::string& prefix) { return joinKey(prefix, kLockKeyName); }

std::string contenderKey(const std::string& prefix, const std::string& session) {
  return joinKey(prefix, session);
}

StatusOr<SemaphoreLock> decodeSemaphoreLock(const std::string& value, int limit) {
  SemaphoreLock lock;
  lock.limit = limit;
  if (value.empty()) return lock;
  try {
    auto doc = web::json::value::parse(value);
    lock.limit = doc.at("Limit").as_integer();
    if (doc.has_field("Holders") && !doc.at("Holders").is_null()) {
      for (const auto& [id, held] : doc.at("Holders").as_object()) {
        if (held.is_boolean() && held.as_bool()) lock.holders.insert(id);
      }
    }
  } catch (const std::exception& e) {
    return invalidArgument(std::string("lock decoding failed: ") + e.what());
  }
  return lock;
}

std::string encodeSemaphoreLock(const SemaphoreLock& lock) {
  web::json::value doc = web::json::value::object();
  doc["Limit"] = web::json::value::number(lock.limit);
  web::json::value holders = web::json::value::object();
  for (const auto& id : lock.holders) holders[id] = web::json::value::boolean(true);
  doc["Holders"] = holders;
  return doc.serialize();
}

void pruneDeadHolders(SemaphoreLock& lock, const std::vector<KvPair>& pairs) {
  std::set<std::string> alive;
  for (const auto& p : pairs) {
    if (!p.session.empty()) alive.insert(p.session);
  }
  std::erase_if(lock.holders, [&](const std::string& id) { return !alive.contains(id); });
}

std::optional<std::chrono::steady_clock::duration> acquireWait(
    std::optional<std::chrono::steady_clock::time_point> deadline,
    std::chrono::steady_clock::time_point now, int attempts,
    std::chrono::steady_clock::duration max_wait) {
  if (!deadline) return max_wait;
  auto left = *deadline - now;
  if (attempts > 0 && left <= std::chrono::steady_clock::duration::zero()) return std::nullopt;
  return std::clamp<std::chrono::steady_clock::duration>(left, std::chrono::milliseconds(1),
                                                         max_wait);
}

const KvPair* findPair(const std::vector<KvPair>& pairs, const std::string& key) {
  for (const auto& p : pairs) {
    if (p.key == key) return &p;
  }
  return nullptr;
}

}  // namespace cairn::cli::lock
