#include "core/http/acl_json.h"

#include <ctime>

#include "core/acl/rules.h"
#include "core/acl/secrets.h"
#include "core/base/go_encoding.h"
#include "core/http/json_reader.h"
#include "core/http/json_writer.h"

namespace cairn::http {
namespace {

constexpr int64_t kNanosPerSecond = 1'000'000'000;

StatusOr<web::json::value> bodyObject(std::string_view body) {
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    return web::json::value::object();
  }
  auto parsed = parseJson(body);
  if (!parsed.isOk()) return decodeFailed(parsed.status().message());
  if (!parsed->is_object()) return decodeFailed("the body must be a JSON object");
  return std::move(*parsed);
}

Status decodeOptionalString(const web::json::value& object, std::string_view name,
                            std::optional<std::string>* out) {
  auto v = stringField(object, name);
  if (!v.isOk()) return decodeFailed(v.status().message());
  if (*v && !(*v)->empty()) *out = **v;
  return Status::ok();
}

Status decodeLinks(const web::json::value& object, std::string_view name,
                   std::vector<AclLinkRequest>* out) {
  const web::json::value* v = findField(object, name);
  if (v == nullptr || v->is_null()) return Status::ok();
  if (!v->is_array()) return decodeFailed(std::string(name) + ": expected a list");
  for (const web::json::value& item : v->as_array()) {
    if (!item.is_object()) {
      return decodeFailed(std::string(name) + ": expected objects with an ID or a Name");
    }
    AclLinkRequest link;
    CAIRN_RETURN_IF_ERROR(decodeString(item, "ID", &link.id));
    CAIRN_RETURN_IF_ERROR(decodeString(item, "Name", &link.name));
    if (link.id.empty() && link.name.empty()) {
      return invalidArgument(std::string(name) + " must name each link by ID or by Name");
    }
    out->push_back(std::move(link));
  }
  return Status::ok();
}

// Service and node identities, templated policies: not supported; refused rather than ignored
// so a client never believes it granted something it did not.
Status refuseUnsupported(const web::json::value& object) {
  for (const char* name : {"ServiceIdentities", "NodeIdentities", "TemplatedPolicies"}) {
    const web::json::value* v = findField(object, name);
    if (v != nullptr && !v->is_null() && !(v->is_array() && v->as_array().size() == 0)) {
      return invalidArgument(std::string(name) + " are not supported by Cairn");
    }
  }
  return Status::ok();
}

int digits(std::string_view s, size_t at, size_t count, bool* ok) {
  int value = 0;
  if (at + count > s.size()) {
    *ok = false;
    return 0;
  }
  for (size_t i = at; i < at + count; ++i) {
    if (s[i] < '0' || s[i] > '9') *ok = false;
    value = value * 10 + (s[i] - '0');
  }
  return value;
}

void writeLinks(JsonWriter& w, std::string_view key,
                const google::protobuf::RepeatedPtrField<v1::AclLink>& links,
                const LinkName& name_of, bool omit_empty) {
  std::vector<std::pair<std::string, std::string>> live;
  for (const v1::AclLink& link : links) {
    if (auto name = name_of(link.id())) live.emplace_back(link.id(), *name);
  }
  if (live.empty() && omit_empty) return;
  w.key(key).beginArray();
  for (const auto& [id, name] : live) {
    w.beginObject().key("ID").string(id).key("Name").string(name).endObject();
  }
  w.endArray();
}

void writeToken(JsonWriter& w, const v1::AclToken& t, const LinkName& policy_name,
                const LinkName& role_name, bool secret) {
  w.beginObject();
  w.key("AccessorID").string(t.accessor_id());
  w.key("SecretID").string(secret ? t.secret_id() : "<hidden>");
  w.key("Description").string(t.description());
  writeLinks(w, "Policies", t.policies(), policy_name, true);
  writeLinks(w, "Roles", t.roles(), role_name, true);
  w.key("Local").boolean(t.local());
  if (t.expiration_time_unix_ns() != 0) {
    w.key("ExpirationTime").string(formatRfc3339(t.expiration_time_unix_ns()));
  }
  w.key("CreateTime").string(formatRfc3339(t.create_time_unix_ns()));
  w.key("Hash").bytes(t.hash());
  w.key("CreateIndex").number(t.create_index());
  w.key("ModifyIndex").number(t.modify_index());
  w.endObject();
}

void writePolicy(JsonWriter& w, const v1::AclPolicy& p, bool stub) {
  w.beginObject();
  w.key("ID").string(p.id());
  w.key("Name").string(p.name());
  w.key("Description").string(p.description());
  if (!stub) w.key("Rules").string(p.rules());
  if (!p.datacenters().empty()) {
    w.key("Datacenters").beginArray();
    for (const auto& dc : p.datacenters()) w.string(dc);
    w.endArray();
  }
  w.key("Hash").bytes(p.hash());
  w.key("CreateIndex").number(p.create_index());
  w.key("ModifyIndex").number(p.modify_index());
  w.endObject();
}

void writeRole(JsonWriter& w, const v1::AclRole& r, const LinkName& policy_name) {
  w.beginObject();
  w.key("ID").string(r.id());
  w.key("Name").string(r.name());
  w.key("Description").string(r.description());
  writeLinks(w, "Policies", r.policies(), policy_name, true);
  w.key("Hash").bytes(r.hash());
  w.key("CreateIndex").number(r.create_index());
  w.key("ModifyIndex").number(r.modify_index());
  w.endObject();
}

// Length-prefixed fields, so ("ab","c") and ("a","bc") hash differently.
void hashField(std::string& out, std::string_view field) {
  out += std::to_string(field.size());
  out += ':';
  out.append(field);
}

}  // namespace

bool validAclName(std::string_view name, size_t max_length) {
  if (name.empty() || name.size() > max_length) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

std::string formatRfc3339(int64_t unix_ns) {
  int64_t seconds = unix_ns / kNanosPerSecond;
  int64_t nanos = unix_ns % kNanosPerSecond;
  if (nanos < 0) {
    nanos += kNanosPerSecond;
    --seconds;
  }
  std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out = buf;
  if (nanos != 0) {
    char frac[16];
    std::snprintf(frac, sizeof frac, ".%09lld", static_cast<long long>(nanos));
    std::string f = frac;
    while (f.back() == '0') f.pop_back();
    out += f;
  }
  return out + "Z";
}

StatusOr<int64_t> parseRfc3339(std::string_view s) {
  Status bad = invalidArgument("invalid time \"" + std::string(s) +
                               "\": expected RFC 3339 (2006-01-02T15:04:05Z07:00)");
  bool ok = true;
  if (s.size() < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
      s[13] != ':' || s[16] != ':') {
    return bad;
  }
  std::tm tm{};
  tm.tm_year = digits(s, 0, 4, &ok) - 1900;
  tm.tm_mon = digits(s, 5, 2, &ok) - 1;
  tm.tm_mday = digits(s, 8, 2, &ok);
  tm.tm_hour = digits(s, 11, 2, &ok);
  tm.tm_min = digits(s, 14, 2, &ok);
  tm.tm_sec = digits(s, 17, 2, &ok);
  if (!ok || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
      tm.tm_min > 59 || tm.tm_sec > 60) {
    return bad;
  }
  size_t at = 19;
  int64_t nanos = 0;
  if (at < s.size() && s[at] == '.') {
    ++at;
    int64_t scale = kNanosPerSecond / 10;
    size_t start = at;
    while (at < s.size() && s[at] >= '0' && s[at] <= '9') {
      nanos += (s[at] - '0') * scale;
      scale /= 10;
      ++at;
    }
    if (at == start) return bad;
  }
  int64_t offset = 0;
  if (at < s.size() && (s[at] == 'Z' || s[at] == 'z') && at + 1 == s.size()) {
    at = s.size();
  } else if (at + 6 == s.size() && (s[at] == '+' || s[at] == '-') && s[at + 3] == ':') {
    int hours = digits(s, at + 1, 2, &ok);
    int minutes = digits(s, at + 4, 2, &ok);
    if (!ok || hours > 23 || minutes > 59) return bad;
    offset = (hours * 3600 + minutes * 60) * (s[at] == '-' ? -1 : 1);
  } else {
    return bad;
  }
  int64_t seconds = static_cast<int64_t>(timegm(&tm)) - offset;
  constexpr int64_t kLimit = INT64_MAX / kNanosPerSecond - 1;
  if (seconds > kLimit || seconds < -kLimit) return bad;
  return seconds * kNanosPerSecond + nanos;
}

StatusOr<TokenRequest> decodeTokenRequest(std::string_view body) {
  auto json = bodyObject(body);
  if (!json.isOk()) return json.status();
  TokenRequest out;
  CAIRN_RETURN_IF_ERROR(decodeOptionalString(*json, "AccessorID", &out.accessor_id));
  CAIRN_RETURN_IF_ERROR(decodeOptionalString(*json, "SecretID", &out.secret_id));
  CAIRN_RETURN_IF_ERROR(decodeString(*json, "Description", &out.description));
  CAIRN_RETURN_IF_ERROR(decodeLinks(*json, "Policies", &out.policies));
  CAIRN_RETURN_IF_ERROR(decodeLinks(*json, "Roles", &out.roles));
  CAIRN_RETURN_IF_ERROR(decodeBool(*json, "Local", &out.local));
  CAIRN_RETURN_IF_ERROR(refuseUnsupported(*json));
  std::string expiration;
  CAIRN_RETURN_IF_ERROR(decodeString(*json, "ExpirationTime", &expiration));
  if (!expiration.empty()) {
    auto at = parseRfc3339(expiration);
    if (!at.isOk()) return at.status();
    out.expiration_time_unix_ns = *at;
  }
  CAIRN_RETURN_IF_ERROR(decodeDuration(*json, "ExpirationTTL", &out.expiration_ttl_ns));
  if (out.expiration_ttl_ns < 0) return invalidArgument("Token Expiration TTL cannot be negative");
  if (out.expiration_ttl_ns != 0 && out.expiration_time_unix_ns != 0) {
    return invalidArgument("Expiration TTL and Expiration Time cannot both be set");
  }
  for (const auto* id : {&out.accessor_id, &out.secret_id}) {
    if (*id && (*id)->size() > 128) return invalidArgument("Token IDs are limited to 128 bytes");
  }
  return out;
}

StatusOr<PolicyRequest> decodePolicyRequest(std::string_view body) {
  auto json = bodyObject(body);
  if (!json.isOk()) return json.status();
  PolicyRequest out;
  CAIRN_RETURN_IF_ERROR(decodeOptionalString(*json, "ID", &out.id));
  CAIRN_RETURN_IF_ERROR(decodeString(*json, "Name", &out.name));
  CAIRN_RETURN_IF_ERROR(decodeString(*json, "Description", &out.description));
  CAIRN_RETURN_IF_ERROR(decodeString(*json, "Rules", &out.rules));
  CAIRN_RETURN_IF_ERROR(decodeStrings(*json, "Datacenters", &out.datacenters));
  if (!validAclName(out.name, 128)) {
    return invalidArgument(
        "Invalid Policy: invalid Name. Only alphanumeric characters, '-' and '_' are allowed "
        "(1 to 128 of them)");
  }
  auto rules = acl::parseRules(out.rules);
  if (!rules.isOk()) {
    return invalidArgument("Invalid Policy: failed to parse rules: " + rules.status().message());
  }
  return out;
}

StatusOr<RoleRequest> decodeRoleRequest(std::string_view body) {
  auto json = bodyObject(body);
  if (!json.isOk()) return json.status();
  RoleRequest out;
  CAIRN_RETURN_IF_ERROR(decodeOptionalString(*json, "ID", &out.id));
  CAIRN_RETURN_IF_ERROR(decodeString(*json, "Name", &out.name));
  CAIRN_RETURN_IF_ERROR(decodeString(*json, "Description", &out.description));
  CAIRN_RETURN_IF_ERROR(decodeLinks(*json, "Policies", &out.policies));
  CAIRN_RETURN_IF_ERROR(refuseUnsupported(*json));
  if (!validAclName(out.name, 256)) {
    return invalidArgument(
        "Invalid Role: invalid Name. Only alphanumeric characters, '-' and '_' are allowed "
        "(1 to 256 of them)");
  }
  return out;
}

std::string tokenJson(const v1::AclToken& token, const LinkName& policy_name,
                      const LinkName& role_name, bool secret) {
  JsonWriter w;
  writeToken(w, token, policy_name, role_name, secret);
  return w.take();
}

std::string tokensJson(const std::vector<v1::AclToken>& tokens, const LinkName& policy_name,
                       const LinkName& role_name, bool secret) {
  JsonWriter w;
  w.beginArray();
  for (const auto& t : tokens) writeToken(w, t, policy_name, role_name, secret);
  w.endArray();
  return w.take();
}

std::string policyJson(const v1::AclPolicy& policy, bool stub) {
  JsonWriter w;
  writePolicy(w, policy, stub);
  return w.take();
}

std::string policiesJson(const std::vector<v1::AclPolicy>& policies) {
  JsonWriter w;
  w.beginArray();
  for (const auto& p : policies) writePolicy(w, p, true);
  w.endArray();
  return w.take();
}

std::string roleJson(const v1::AclRole& role, const LinkName& policy_name) {
  JsonWriter w;
  writeRole(w, role, policy_name);
  return w.take();
}

std::string rolesJson(const std::vector<v1::AclRole>& roles, const LinkName& policy_name) {
  JsonWriter w;
  w.beginArray();
  for (const auto& r : roles) writeRole(w, r, policy_name);
  w.endArray();
  return w.take();
}

std::string tokenHash(const v1::AclToken& token) {
  std::string in;
  hashField(in, token.description());
  for (const auto& p : token.policies()) hashField(in, "p" + p.id());
  for (const auto& r : token.roles()) hashField(in, "r" + r.id());
  hashField(in, token.local() ? "local" : "global");
  return acl::sha256(in);
}

std::string policyHash(const v1::AclPolicy& policy) {
  std::string in;
  hashField(in, policy.name());
  hashField(in, policy.description());
  hashField(in, policy.rules());
  for (const auto& dc : policy.datacenters()) hashField(in, dc);
  return acl::sha256(in);
}

std::string roleHash(const v1::AclRole& role) {
  std::string in;
  hashField(in, role.name());
  hashField(in, role.description());
  for (const auto& p : role.policies()) hashField(in, p.id());
  return acl::sha256(in);
}

}  // namespace cairn::http
