#include "core/membership/liveness_tracker.h"

#include <google/protobuf/util/message_differencer.h>

#include <algorithm>
#include <cctype>
#include <set>

namespace cairn::membership {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

}  // namespace

bool Action::operator==(const Action& o) const {
  return kind == o.kind && name == o.name &&
         google::protobuf::util::MessageDifferencer::Equals(member, o.member);
}

bool recordMatches(const v1::MemberRecord& record, const v1::ClientMember& member) {
  return record.status() == v1::MEMBER_ALIVE &&
         google::protobuf::util::MessageDifferencer::Equals(record.member(), member);
}

void LivenessTracker::startLeading(SteadyTime now) {
  seen_.clear();
  leading_since_ = now;
}

void LivenessTracker::stopLeading() {
  seen_.clear();
  leading_since_.reset();
}

bool LivenessTracker::onHeartbeat(const v1::ClientMember& member, const std::string& incarnation,
                                  SteadyTime now) {
  if (!leading_since_ || member.node_name().empty()) return false;
  if (!incarnation.empty() && left_.count(incarnation) != 0) return false;
  seen_[lower(member.node_name())] = Seen{member, now};
  return true;
}

void LivenessTracker::onLeave(const std::string& name, const std::string& incarnation,
                              SteadyTime now) {
  seen_.erase(lower(name));
  if (!incarnation.empty()) left_[incarnation] = now;
  forgetOldLeaves(now);
}

// A late relay arrives within a few call deadlines; after a few timeouts the incarnation is dead.
void LivenessTracker::forgetOldLeaves(SteadyTime now) {
  for (auto it = left_.begin(); it != left_.end();) {
    it = now - it->second > 6 * options_.client_timeout ? left_.erase(it) : std::next(it);
  }
}

std::vector<Action> LivenessTracker::evaluate(SteadyTime now, int64_t wall_now_ms,
                                              const std::vector<MemberView>& views) {
  std::vector<Action> out;
  if (!leading_since_) return out;
  forgetOldLeaves(now);
  std::map<std::string, const MemberView*> by_name;
  for (const MemberView& v : views) by_name[lower(v.record.member().node_name())] = &v;

  for (const auto& [name, seen] : seen_) {
    if (!recent(seen.at, now)) continue;
    auto it = by_name.find(name);
    bool in_line = it != by_name.end() && recordMatches(it->second->record, seen.member) &&
                   it->second->node_registered && it->second->serf_health == "passing";
    if (!in_line)
      out.push_back(Action{ActionKind::kMarkAlive, seen.member.node_name(), seen.member});
  }
  auto reap_ms = std::chrono::duration_cast<std::chrono::milliseconds>(options_.reap_after).count();
  for (const MemberView& v : views) {
    const std::string& name = v.record.member().node_name();
    auto seen = seen_.find(lower(name));
    switch (v.record.status()) {
      case v1::MEMBER_ALIVE: {
        SteadyTime last =
            seen != seen_.end() ? std::max(seen->second.at, *leading_since_) : *leading_since_;
        if (!recent(last, now)) {
          out.push_back(Action{ActionKind::kMarkFailed, name, v.record.member()});
        }
        break;
      }
      case v1::MEMBER_LEFT:
      case v1::MEMBER_FAILED:
        if (seen != seen_.end() && recent(seen->second.at, now)) break;  // coming back
        if (wall_now_ms - v.record.status_since_unix_ms() > reap_ms) {
          out.push_back(Action{ActionKind::kReap, name, v.record.member()});
        }
        break;
      default:
        break;
    }
  }
  // Members not heard from for long are dropped, so the map only holds live agents.
  for (auto it = seen_.begin(); it != seen_.end();) {
    it = now - it->second.at > 2 * options_.client_timeout ? seen_.erase(it) : std::next(it);
  }
  return out;
}

}  // namespace cairn::membership
