#include "core/http/session_json.h"

#include <cmath>
#include <cstdio>
#include <random>

#include "core/base/duration.h"
#include "core/http/json_reader.h"
#include "core/http/json_writer.h"

namespace cairn::http {
namespace {

constexpr int64_t kLockDelayMinThresholdNs = 1000;
constexpr int64_t kNanosPerSecond = 1'000'000'000;

Status decodeFailure(const std::string& why) {
  return invalidArgument("Request decode failed: " + why);
}

// Consul reads values below 1000 ns as seconds. Negative delays are refused (Go would wrap
// them around silently).
StatusOr<int64_t> lockDelaySeconds(int64_t ns) {
  if (ns < 0) return invalidArgument("LockDelay must not be negative");
  return ns < kLockDelayMinThresholdNs ? ns * kNanosPerSecond : ns;
}

Status decodeLockDelay(const web::json::value& body, v1::StoredSession& s) {
  const web::json::value* v = findField(body, "LockDelay");
  if (!v || v->is_null()) return Status::ok();
  if (!v->is_number() && !v->is_string()) return decodeFailure("LockDelay must be a duration");
  StatusOr<int64_t> ns =
      v->is_number() ? lockDelayFromNumber(v->as_double()) : lockDelayFromString(v->as_string());
  if (!ns.isOk()) return decodeFailure(ns.status().message());
  s.set_lock_delay_ns(*ns);
  return Status::ok();
}

// Appends the strings of array field `name` (absent or null: nothing) to `out`; sets *present.
Status decodeCheckIds(const web::json::value& body, std::string_view name,
                      std::vector<std::string>& out, bool* present) {
  const web::json::value* v = findField(body, name);
  if (!v) return Status::ok();
  *present = true;
  if (v->is_null()) return Status::ok();
  if (!v->is_array()) return decodeFailure(std::string(name) + " must be a list of check IDs");
  for (const auto& id : v->as_array()) {
    if (!id.is_string()) return decodeFailure(std::string(name) + " must be a list of check IDs");
    out.push_back(id.as_string());
  }
  return Status::ok();
}

Status decodeChecks(const web::json::value& body, v1::StoredSession& s) {
  std::vector<std::string> ids;
  bool present = false;
  CAIRN_RETURN_IF_ERROR(decodeCheckIds(body, "NodeChecks", ids, &present));
  CAIRN_RETURN_IF_ERROR(decodeCheckIds(body, "Checks", ids, &present));
  if (!present) ids.push_back("serfHealth");
  for (const auto& id : ids) {
    bool seen = false;
    for (const auto& existing : s.node_checks()) seen = seen || existing == id;
    if (!seen) s.add_node_checks(id);
  }
  const web::json::value* sc = findField(body, "ServiceChecks");
  if (!sc || sc->is_null()) return Status::ok();
  if (!sc->is_array()) return decodeFailure("ServiceChecks must be a list");
  for (const auto& element : sc->as_array()) {
    auto id = stringField(element, "ID");
    auto ns = stringField(element, "Namespace");
    if (!element.is_object() || !id.isOk() || !ns.isOk()) {
      return decodeFailure("ServiceChecks must be a list of {\"ID\",\"Namespace\"}");
    }
    auto* c = s.add_service_checks();
    c->set_id(id->value_or(""));
    c->set_namespace_(ns->value_or(""));
  }
  return Status::ok();
}

Status validateTtl(const std::string& ttl, int64_t ttl_min_ns) {
  if (ttl.empty()) return Status::ok();
  auto d = parseGoDuration(ttl);
  if (!d.isOk()) return internalError("Session TTL '" + ttl + "' invalid: " + d.status().message());
  int64_t ns = d->count();
  if (ns != 0 && (ns < ttl_min_ns || ns > kMaxSessionTtlNs)) {
    return internalError("Invalid Session TTL '" + std::to_string(ns) + "', must be between [" +
                         formatGoDuration(Nanos(ttl_min_ns)) + "=" +
                         formatGoDuration(Nanos(kMaxSessionTtlNs)) + "]");
  }
  return Status::ok();
}

Status decodeStrings(const web::json::value& body, v1::StoredSession& s) {
  auto name = stringField(body, "Name");
  auto node = stringField(body, "Node");
  auto behavior = stringField(body, "Behavior");
  auto ttl = stringField(body, "TTL");
  for (const Status* st : {&name.status(), &node.status(), &behavior.status(), &ttl.status()}) {
    if (!st->isOk()) return decodeFailure(st->message());
  }
  if (*name) s.set_name(**name);
  if (*node && !(*node)->empty()) s.set_node(**node);
  if (*behavior && !(*behavior)->empty()) s.set_behavior(**behavior);
  if (*ttl) s.set_ttl(**ttl);
  return Status::ok();
}

}  // namespace

StatusOr<int64_t> lockDelayFromNumber(double number) {
  if (!std::isfinite(number) || std::fabs(number) > 9.2e18) {
    return invalidArgument("LockDelay out of range");
  }
  return lockDelaySeconds(static_cast<int64_t>(number));
}

StatusOr<int64_t> lockDelayFromString(std::string_view text) {
  auto d = parseGoDuration(text);
  if (!d.isOk()) return d.status();
  return lockDelaySeconds(d->count());
}

StatusOr<v1::StoredSession> decodeSessionCreate(std::string_view body,
                                                const std::string& default_node,
                                                int64_t ttl_min_ns) {
  v1::StoredSession s;
  s.set_node(default_node);
  s.set_lock_delay_ns(kDefaultLockDelayNs);
  s.set_behavior("release");
  bool blank = body.find_first_not_of(" \t\r\n") == std::string_view::npos;
  web::json::value json = web::json::value::object();
  if (!blank) {
    auto parsed = parseJson(body);
    if (!parsed.isOk()) return decodeFailure(parsed.status().message());
    if (!parsed->is_object() && !parsed->is_null()) {
      return decodeFailure("the body must be a JSON object");
    }
    if (parsed->is_object()) json = std::move(*parsed);
  }
  CAIRN_RETURN_IF_ERROR(decodeStrings(json, s));
  CAIRN_RETURN_IF_ERROR(decodeLockDelay(json, s));
  CAIRN_RETURN_IF_ERROR(decodeChecks(json, s));
  if (s.behavior() != "release" && s.behavior() != "delete") {
    return internalError("Invalid Behavior setting '" + s.behavior() + "'");
  }
  CAIRN_RETURN_IF_ERROR(validateTtl(s.ttl(), ttl_min_ns));
  return s;
}

std::string sessionsJson(const std::vector<v1::StoredSession>& sessions) {
  JsonWriter w;
  w.beginArray();
  for (const auto& s : sessions) {
    w.beginObject();
    w.key("ID").string(s.id());
    w.key("Name").string(s.name());
    w.key("Node").string(s.node());
    w.key("LockDelay").number(static_cast<int64_t>(s.lock_delay_ns()));
    w.key("Behavior").string(s.behavior());
    w.key("TTL").string(s.ttl());
    w.key("NodeChecks").beginArray();
    for (const auto& c : s.node_checks()) w.string(c);
    w.endArray();
    w.key("ServiceChecks");
    if (s.service_checks().empty()) {
      w.null();
    } else {
      w.beginArray();
      for (const auto& c : s.service_checks()) {
        w.beginObject().key("ID").string(c.id()).key("Namespace").string(c.namespace_());
        w.endObject();
      }
      w.endArray();
    }
    w.key("CreateIndex").number(s.create_index());
    w.key("ModifyIndex").number(s.modify_index());
    w.endObject();
  }
  w.endArray();
  return w.take();
}

namespace {

void writeEvent(JsonWriter& w, const v1::UserEvent& e) {
  w.beginObject();
  w.key("ID").string(e.id());
  w.key("Name").string(e.name());
  w.key("Payload").bytes(e.payload());
  w.key("NodeFilter").string(e.node_filter());
  w.key("ServiceFilter").string(e.service_filter());
  w.key("TagFilter").string(e.tag_filter());
  w.key("Version").number(uint64_t{1});
  w.key("LTime").number(e.ltime());
  w.endObject();
}

}  // namespace

std::string eventJson(const v1::UserEvent& event) {
  JsonWriter w;
  writeEvent(w, event);
  return w.take();
}

std::string eventsJson(const std::vector<v1::UserEvent>& events) {
  JsonWriter w;
  w.beginArray();
  for (const auto& e : events) writeEvent(w, e);
  w.endArray();
  return w.take();
}

uint64_t uuidToIndex(std::string_view uuid) {
  if (uuid.size() != 36 || uuid[8] != '-' || uuid[13] != '-' || uuid[18] != '-' ||
      uuid[23] != '-') {
    return 0;
  }
  auto hex = [](std::string_view digits, uint64_t* out) {
    uint64_t v = 0;
    for (char c : digits) {
      int d = c >= '0' && c <= '9'   ? c - '0'
              : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                     : -1;
      if (d < 0) return false;
      v = v << 4 | static_cast<uint64_t>(d);
    }
    *out = v;
    return true;
  };
  std::string low = std::string(uuid.substr(0, 8)) + std::string(uuid.substr(9, 4)) +
                    std::string(uuid.substr(14, 4));
  std::string high = std::string(uuid.substr(19, 4)) + std::string(uuid.substr(24, 12));
  uint64_t a = 0, b = 0;
  if (!hex(low, &a) || !hex(high, &b)) return 0;
  return a ^ b;
}

std::string newUuid() {
  thread_local std::mt19937_64 rng{std::random_device{}() ^
                                   (static_cast<uint64_t>(std::random_device{}()) << 32)};
  uint64_t hi = rng(), lo = rng();
  hi = (hi & ~uint64_t{0xf000}) | 0x4000;                      // version 4
  lo = (lo & ~(uint64_t{0xc} << 60)) | (uint64_t{0x8} << 60);  // RFC 4122 variant
  char text[37];
  std::snprintf(text, sizeof text, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(hi >> 32),
                static_cast<unsigned>((hi >> 16) & 0xffff), static_cast<unsigned>(hi & 0xffff),
                static_cast<unsigned>(lo >> 48),
                static_cast<unsigned long long>(lo & 0xffffffffffffULL));
  return text;
}

}  // namespace cairn::http
