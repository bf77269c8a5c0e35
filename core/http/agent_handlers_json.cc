#include "core/http/agent_handlers_json.h"

#include <algorithm>
#include <cstdio>
#include <map>

#include "core/base/duration.h"
#include "core/http/catalog_json.h"
#include "core/http/json_reader.h"

namespace cairn::http {
namespace {

using web::json::value;

constexpr size_t kMaxMetaPairs = 64;
constexpr size_t kMaxMetaKey = 128;
constexpr size_t kMaxMetaValue = 512;

// A duration field into a Nanos (see decodeDuration).
Status readDuration(const value& obj, std::string_view name, Nanos* out) {
  int64_t ns = out->count();
  CAIRN_RETURN_IF_ERROR(decodeDuration(obj, name, &ns));
  *out = Nanos(ns);
  return Status::ok();
}

// Header: {"Name": ["v1", "v2"]} (a single string is accepted too).
Status readHeader(const value& obj, health::CheckDefinition& d) {
  const value* v = findField(obj, "Header");
  if (v == nullptr || v->is_null()) return Status::ok();
  if (!v->is_object()) return decodeFailed("Header: expected an object of string lists");
  for (const auto& [name, values] : v->as_object()) {
    auto& out = d.header[name];
    if (values.is_string()) {
      out.push_back(values.as_string());
      continue;
    }
    if (!values.is_array()) return decodeFailed("Header: expected an object of string lists");
    for (const value& item : values.as_array()) {
      if (!item.is_string()) return decodeFailed("Header: expected an object of string lists");
      out.push_back(item.as_string());
    }
  }
  return Status::ok();
}

Status rejectUnsupported(const value& obj) {
  for (const char* field :
       {"UDP", "H2PING", "DockerContainerID", "AliasNode", "AliasService", "OSService"}) {
    const value* v = findField(obj, field);
    if (v != nullptr && !v->is_null() && !(v->is_string() && v->as_string().empty())) {
      return invalidArgument("Invalid check: " + std::string(field) +
                             " checks are not supported by this agent");
    }
  }
  return Status::ok();
}

Status readTargets(const value& obj, health::CheckDefinition& d) {
  CAIRN_RETURN_IF_ERROR(decodeString(obj, "HTTP", &d.http));
  CAIRN_RETURN_IF_ERROR(decodeString(obj, "Method", &d.method));
  CAIRN_RETURN_IF_ERROR(decodeString(obj, "Body", &d.body));
  CAIRN_RETURN_IF_ERROR(readHeader(obj, d));
  CAIRN_RETURN_IF_ERROR(decodeBool(obj, "DisableRedirects", &d.disable_redirects));
  CAIRN_RETURN_IF_ERROR(decodeBool(obj, "TLSSkipVerify", &d.tls_skip_verify));
  CAIRN_RETURN_IF_ERROR(decodeString(obj, "TLSServerName", &d.tls_server_name));
  CAIRN_RETURN_IF_ERROR(decodeString(obj, "TCP", &d.tcp));
  CAIRN_RETURN_IF_ERROR(decodeBool(obj, "TCPUseTLS", &d.tcp_use_tls));
  CAIRN_RETURN_IF_ERROR(decodeString(obj, "GRPC", &d.grpc));
  CAIRN_RETURN_IF_ERROR(decodeBool(obj, "GRPCUseTLS", &d.grpc_use_tls));
  CAIRN_RETURN_IF_ERROR(decodeStrings(obj, "Args", &d.script_args));
  if (d.script_args.empty())
    CAIRN_RETURN_IF_ERROR(decodeStrings(obj, "ScriptArgs", &d.script_args));
  // python-consul 0.7.1's Check.script: a command line, run by a shell as Consul 0.x did.
  std::string script;
  CAIRN_RETURN_IF_ERROR(decodeString(obj, "Script", &script));
  if (d.script_args.empty() && !script.empty()) d.script_args = {"/bin/sh", "-c", script};
  return Status::ok();
}

Status readTimings(const value& obj, health::CheckDefinition& d) {
  CAIRN_RETURN_IF_ERROR(readDuration(obj, "TTL", &d.ttl));
  CAIRN_RETURN_IF_ERROR(readDuration(obj, "Interval", &d.interval));
  CAIRN_RETURN_IF_ERROR(readDuration(obj, "Timeout", &d.timeout));
  CAIRN_RETURN_IF_ERROR(
      readDuration(obj, "DeregisterCriticalServiceAfter", &d.deregister_critical_service_after));
  int n = 0;
  CAIRN_RETURN_IF_ERROR(decodeInt(obj, "OutputMaxSize", &n));
  if (n < 0) return invalidArgument("Invalid check: OutputMaxSize must not be negative");
  d.output_max_size = static_cast<size_t>(n);
  CAIRN_RETURN_IF_ERROR(decodeInt(obj, "SuccessBeforePassing", &d.success_before_passing));
  CAIRN_RETURN_IF_ERROR(decodeInt(obj, "FailuresBeforeWarning", &d.failures_before_warning));
  CAIRN_RETURN_IF_ERROR(decodeInt(obj, "FailuresBeforeCritical", &d.failures_before_critical));
  return Status::ok();
}

bool validMetaKeyChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

Status validateMeta(const v1::CatalogService& s) {
  if (s.meta().size() > kMaxMetaPairs) {
    return invalidArgument("Invalid Service Meta: Node metadata cannot contain more than " +
                           std::to_string(kMaxMetaPairs) + " key/value pairs");
  }
  std::map<std::string, std::string> sorted(s.meta().begin(), s.meta().end());
  for (const auto& [k, v] : sorted) {
    std::string problem;
    if (k.empty()) {
      problem = "Key cannot be blank";
    } else if (k.size() > kMaxMetaKey) {
      problem = "Key is too long (limit: " + std::to_string(kMaxMetaKey) + " characters)";
    } else if (k.rfind("consul-", 0) == 0) {
      problem = "Key prefix 'consul-' is reserved for internal use";
    } else if (std::find_if_not(k.begin(), k.end(), validMetaKeyChar) != k.end()) {
      problem = "Key contains invalid characters";
    } else if (v.size() > kMaxMetaValue) {
      problem = "Value is too long (limit: " + std::to_string(kMaxMetaValue) + " characters)";
    }
    if (!problem.empty()) {
      return invalidArgument("Invalid Service Meta: Couldn't load metadata pair ('" + k + "', '" +
                             v + "'): " + problem);
    }
  }
  return Status::ok();
}

bool unspecifiedAddress(const std::string& a) {
  return a == "0.0.0.0" || a == "::" || a == "[::]" || a == "0:0:0:0:0:0:0:0";
}

// The check objects of a service registration: Check first, then Checks.
Status decodeServiceChecks(const value& body, local::ServiceRegistration& r) {
  std::vector<const value*> objects;
  if (const value* c = findField(body, "Check"); c != nullptr && !c->is_null()) {
    if (!c->is_object()) return decodeFailed("Check: expected an object");
    if (!c->as_object().empty()) objects.push_back(c);  // python sends {} for "no check"
  }
  if (const value* list = findField(body, "Checks"); list != nullptr && !list->is_null()) {
    if (!list->is_array()) return decodeFailed("Checks: expected a list");
    for (const value& item : list->as_array()) objects.push_back(&item);
  }
  const std::string& id = r.service.id();
  for (size_t i = 0; i < objects.size(); ++i) {
    auto check = decodeCheck(*objects[i]);
    if (!check.isOk()) return check.status();
    v1::CatalogCheck& c = check->check;
    if (c.check_id().empty()) {
      c.set_check_id(objects.size() == 1 ? "service:" + id
                                         : "service:" + id + ":" + std::to_string(i + 1));
    }
    if (c.name().empty()) c.set_name("Service '" + r.service.service() + "' check");
    c.set_service_id(id);
    r.checks.push_back(std::move(*check));
  }
  return Status::ok();
}

uint64_t fnv1a(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

}  // namespace

StatusOr<local::CheckRegistration> decodeCheck(const value& body) {
  if (!body.is_object()) return decodeFailed("Check: expected an object");
  local::CheckRegistration r;
  v1::CatalogCheck& c = r.check;
  std::string text;
  CAIRN_RETURN_IF_ERROR(decodeString(body, "CheckID", &text));
  if (text.empty()) CAIRN_RETURN_IF_ERROR(decodeString(body, "ID", &text));
  c.set_check_id(text);
  for (auto [field, setter] : std::initializer_list<
           std::pair<const char*, void (v1::CatalogCheck::*)(const std::string&)>>{
           {"Name", &v1::CatalogCheck::set_name},
           {"Notes", &v1::CatalogCheck::set_notes},
           {"Status", &v1::CatalogCheck::set_status},
           {"ServiceID", &v1::CatalogCheck::set_service_id}}) {
    text.clear();
    CAIRN_RETURN_IF_ERROR(decodeString(body, field, &text));
    (c.*setter)(text);
  }
  CAIRN_RETURN_IF_ERROR(rejectUnsupported(body));
  CAIRN_RETURN_IF_ERROR(readTargets(body, r.definition));
  CAIRN_RETURN_IF_ERROR(readTimings(body, r.definition));
  return r;
}

StatusOr<local::ServiceRegistration> decodeServiceRegistration(const value& body) {
  if (!body.is_object()) return decodeFailed("expected a JSON object");
  auto service = decodeService(body);
  if (!service.isOk()) return service.status();
  local::ServiceRegistration r;
  r.service = std::move(*service);
  if (r.service.service().empty()) return invalidArgument("Missing service name");
  if (r.service.id().empty()) r.service.set_id(r.service.service());
  CAIRN_RETURN_IF_ERROR(validateMeta(r.service));
  if (unspecifiedAddress(r.service.address())) return invalidArgument("Invalid service address");
  CAIRN_RETURN_IF_ERROR(decodeServiceChecks(body, r));
  return r;
}

StatusOr<local::CheckRegistration> decodeCheckRegistration(const value& body) {
  auto r = decodeCheck(body);
  if (!r.isOk()) return r.status();
  if (r->check.name().empty()) return invalidArgument("Missing check name");
  if (r->check.check_id().empty()) r->check.set_check_id(r->check.name());
  return r;
}

void writeAgentService(JsonWriter& w, const v1::CatalogService& s, const std::string& dc,
                       bool content_hash) {
  JsonWriter body;
  writeService(body, s, dc);
  w.beginObject();
  if (!s.kind().empty()) w.key("Kind").string(s.kind());
  w.key("ID").string(s.id()).key("Service").string(s.service());
  w.key("Tags").beginArray();
  for (const auto& t : s.tags()) w.string(t);
  w.endArray();
  w.key("Meta").beginObject();
  std::map<std::string, std::string> meta(s.meta().begin(), s.meta().end());
  for (const auto& [k, v] : meta) w.key(k).string(v);
  w.endObject();
  w.key("Port").number(static_cast<int64_t>(s.port()));
  w.key("Address").string(s.address());
  if (!s.tagged_addresses().empty()) {
    w.key("TaggedAddresses").beginObject();
    std::map<std::string, v1::ServiceAddress> tagged(s.tagged_addresses().begin(),
                                                     s.tagged_addresses().end());
    for (const auto& [k, a] : tagged) {
      w.key(k).beginObject().key("Address").string(a.address());
      w.key("Port").number(static_cast<int64_t>(a.port())).endObject();
    }
    w.endObject();
  }
  w.key("Weights").beginObject();
  w.key("Passing").number(static_cast<int64_t>(s.weight_passing() == 0 ? 1 : s.weight_passing()));
  w.key("Warning").number(static_cast<int64_t>(s.weight_warning() == 0 ? 1 : s.weight_warning()));
  w.endObject();
  w.key("EnableTagOverride").boolean(s.enable_tag_override());
  w.key("Datacenter").string(dc);
  if (content_hash) {
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(fnv1a(body.str())));
    w.key("ContentHash").string(hex);
  }
  w.endObject();
}

}  // namespace cairn::http
