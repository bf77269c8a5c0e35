#pragma once
// Consul's JSON for sessions and user events (docs/consul-api.md §7, §8): decoding and validating
// PUT /v1/session/create bodies, and the read shapes of sessions and events.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cairn/v1/catalog.pb.h"
#include "core/base/status.h"

namespace cairn::http {

// Consul's default lock delay and its longest session TTL.
inline constexpr int64_t kDefaultLockDelayNs = 15'000'000'000;
inline constexpr int64_t kMaxSessionTtlNs = 24LL * 3600 * 1'000'000'000;

// Decodes a session create body (empty means every default) into a session without ID or
// indexes. Defaults: Node = `default_node`, LockDelay 15 s, Behavior release, no TTL, NodeChecks
// ["serfHealth"] unless a Checks or NodeChecks key is present (then exactly the listed checks).
// Errors: kInvalidArgument "Request decode failed: ..." (400); kInternal for Consul's 500 texts
// ("Invalid Behavior setting '<b>'", "Invalid Session TTL '<ns>', must be between [..]").
StatusOr<v1::StoredSession> decodeSessionCreate(std::string_view body,
                                                const std::string& default_node,
                                                int64_t ttl_min_ns);

// Consul's reading of a LockDelay: numbers (truncated to ns) and parsed duration strings below
// 1000 ns are seconds. Errors are Go's duration parse errors.
StatusOr<int64_t> lockDelayFromNumber(double number);
StatusOr<int64_t> lockDelayFromString(std::string_view text);

// [{"ID","Name","Node","LockDelay","Behavior","TTL","NodeChecks","ServiceChecks","CreateIndex",
// "ModifyIndex"}, ...]; "[]" when empty.
std::string sessionsJson(const std::vector<v1::StoredSession>& sessions);

// {"ID","Name","Payload","NodeFilter","ServiceFilter","TagFilter","Version":1,"LTime"}.
std::string eventJson(const v1::UserEvent& event);
std::string eventsJson(const std::vector<v1::UserEvent>& events);

// Consul's event-list index: the XOR of the two 64-bit halves of a UUID's hex digits; 0 when
// `uuid` is not in the 8-4-4-4-12 form.
uint64_t uuidToIndex(std::string_view uuid);

// A random (version 4, RFC 4122) UUID in lower-case 8-4-4-4-12 form. Thread-safe.
std::string newUuid();

}  // namespace cairn::http
