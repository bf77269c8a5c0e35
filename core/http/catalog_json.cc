#include "core/http/catalog_json.h"

#include "core/base/duration.h"
#include "core/http/json_reader.h"

namespace cairn::http {
namespace {

using web::json::value;

void writeStringMap(JsonWriter& w, const google::protobuf::Map<std::string, std::string>& m) {
  std::map<std::string, std::string> sorted(m.begin(), m.end());
  w.beginObject();
  for (const auto& [k, v] : sorted) w.key(k).string(v);
  w.endObject();
}

void writeStrings(JsonWriter& w, const google::protobuf::RepeatedPtrField<std::string>& list) {
  w.beginArray();
  for (const auto& s : list) w.string(s);
  w.endArray();
}

void writeServiceAddresses(JsonWriter& w,
                           const google::protobuf::Map<std::string, v1::ServiceAddress>& m) {
  std::map<std::string, v1::ServiceAddress> sorted(m.begin(), m.end());
  w.beginObject();
  for (const auto& [k, a] : sorted) {
    w.key(k).beginObject().key("Address").string(a.address());
    w.key("Port").number(static_cast<int64_t>(a.port())).endObject();
  }
  w.endObject();
}

void writeWeights(JsonWriter& w, const v1::CatalogService& s) {
  w.beginObject();
  w.key("Passing").number(static_cast<int64_t>(s.weight_passing() == 0 ? 1 : s.weight_passing()));
  w.key("Warning").number(static_cast<int64_t>(s.weight_warning() == 0 ? 1 : s.weight_warning()));
  w.endObject();
}

void writeProxy(JsonWriter& w) {
  w.beginObject().key("Mode").string("").key("MeshGateway").beginObject().endObject();
  w.key("Expose").beginObject().endObject().endObject();
}

std::string durationText(int64_t ns) { return formatGoDuration(Nanos(ns)); }

void writeDefinition(JsonWriter& w, const v1::CheckDefinitionInfo& d) {
  w.beginObject();
  if (!d.http().empty()) w.key("HTTP").string(d.http());
  if (!d.header().empty()) {
    std::map<std::string, v1::HeaderValues> sorted(d.header().begin(), d.header().end());
    w.key("Header").beginObject();
    for (const auto& [name, values] : sorted) {
      w.key(name);
      writeStrings(w, values.values());
    }
    w.endObject();
  }
  if (!d.method().empty()) w.key("Method").string(d.method());
  if (!d.body().empty()) w.key("Body").string(d.body());
  if (!d.tls_server_name().empty()) w.key("TLSServerName").string(d.tls_server_name());
  if (d.tls_skip_verify()) w.key("TLSSkipVerify").boolean(true);
  if (!d.tcp().empty()) w.key("TCP").string(d.tcp());
  if (!d.grpc().empty()) w.key("GRPC").string(d.grpc());
  if (d.grpc_use_tls()) w.key("GRPCUseTLS").boolean(true);
  w.key("Interval").string(durationText(d.interval_ns()));
  w.key("Timeout").string(durationText(d.timeout_ns()));
  w.key("DeregisterCriticalServiceAfter")
      .string(durationText(d.deregister_critical_service_after_ns()));
  w.endObject();
}

void writeIndexes(JsonWriter& w, uint64_t create, uint64_t modify) {
  w.key("CreateIndex").number(create).key("ModifyIndex").number(modify);
}

Status readStringList(const value& obj, std::string_view name,
                      google::protobuf::RepeatedPtrField<std::string>* out) {
  std::vector<std::string> items;
  CAIRN_RETURN_IF_ERROR(decodeStrings(obj, name, &items));
  for (auto& item : items) out->Add(std::move(item));
  return Status::ok();
}

Status readStringMap(const value& obj, std::string_view name,
                     google::protobuf::Map<std::string, std::string>* out) {
  std::map<std::string, std::string> items;
  CAIRN_RETURN_IF_ERROR(decodeStringMap(obj, name, &items));
  for (auto& [k, v] : items) (*out)[k] = v;
  return Status::ok();
}

Status decodeServiceAddresses(const value& obj, v1::CatalogService& s) {
  const value* v = findField(obj, "TaggedAddresses");
  if (v == nullptr || v->is_null()) return Status::ok();
  if (!v->is_object()) return decodeFailed("TaggedAddresses: expected an object");
  for (const auto& [k, item] : v->as_object()) {
    v1::ServiceAddress a;
    std::string address;
    CAIRN_RETURN_IF_ERROR(decodeString(item, "Address", &address));
    a.set_address(address);
    int32_t port = 0;
    CAIRN_RETURN_IF_ERROR(decodeInt(item, "Port", &port));
    a.set_port(port);
    (*s.mutable_tagged_addresses())[k] = a;
  }
  return Status::ok();
}

Status decodeWeights(const value& obj, v1::CatalogService& s) {
  const value* v = findField(obj, "Weights");
  if (v == nullptr || v->is_null()) return Status::ok();
  int32_t passing = 1, warning = 1;
  CAIRN_RETURN_IF_ERROR(decodeInt(*v, "Passing", &passing));
  CAIRN_RETURN_IF_ERROR(decodeInt(*v, "Warning", &warning));
  s.set_weight_passing(passing);
  s.set_weight_warning(warning);
  return Status::ok();
}

Status decodeDefinition(const value& obj, v1::CheckDefinitionInfo& d) {
  std::string text;
  CAIRN_RETURN_IF_ERROR(decodeString(obj, "HTTP", &text));
  d.set_http(text);
  text.clear();
  CAIRN_RETURN_IF_ERROR(decodeString(obj, "Method", &text));
  d.set_method(text);
  text.clear();
  CAIRN_RETURN_IF_ERROR(decodeString(obj, "Body", &text));
  d.set_body(text);
  text.clear();
  CAIRN_RETURN_IF_ERROR(decodeString(obj, "TLSServerName", &text));
  d.set_tls_server_name(text);
  text.clear();
  CAIRN_RETURN_IF_ERROR(decodeString(obj, "TCP", &text));
  d.set_tcp(text);
  text.clear();
  CAIRN_RETURN_IF_ERROR(decodeString(obj, "GRPC", &text));
  d.set_grpc(text);
  bool flag = false;
  CAIRN_RETURN_IF_ERROR(decodeBool(obj, "TLSSkipVerify", &flag));
  d.set_tls_skip_verify(flag);
  flag = false;
  CAIRN_RETURN_IF_ERROR(decodeBool(obj, "GRPCUseTLS", &flag));
  d.set_grpc_use_tls(flag);
  int64_t ns = 0;
  CAIRN_RETURN_IF_ERROR(decodeDuration(obj, "Interval", &ns));
  d.set_interval_ns(ns);
  ns = 0;
  CAIRN_RETURN_IF_ERROR(decodeDuration(obj, "Timeout", &ns));
  d.set_timeout_ns(ns);
  ns = 0;
  CAIRN_RETURN_IF_ERROR(decodeDuration(obj, "DeregisterCriticalServiceAfter", &ns));
  d.set_deregister_critical_service_after_ns(ns);
  const value* header = findField(obj, "Header");
  if (header != nullptr && header->is_object()) {
    for (const auto& [name, values] : header->as_object()) {
      if (!values.is_array()) return decodeFailed("Header: expected lists of strings");
      auto& out = (*d.mutable_header())[name];
      for (const value& item : values.as_array()) {
        if (!item.is_string()) return decodeFailed("Header: expected lists of strings");
        out.add_values(item.as_string());
      }
    }
  }
  return Status::ok();
}

}  // namespace

bool validCheckStatus(const std::string& status) {
  return status == "passing" || status == "warning" || status == "critical";
}

void writeNode(JsonWriter& w, const v1::CatalogNode& n, const std::string& dc) {
  w.beginObject();
  w.key("ID").string(n.id()).key("Node").string(n.node()).key("Address").string(n.address());
  w.key("Datacenter").string(n.datacenter().empty() ? dc : n.datacenter());
  w.key("TaggedAddresses");
  writeStringMap(w, n.tagged_addresses());
  w.key("Meta");
  writeStringMap(w, n.meta());
  writeIndexes(w, n.create_index(), n.modify_index());
  w.endObject();
}

void writeServiceNode(JsonWriter& w, const v1::CatalogNode& n, const v1::CatalogService& s,
                      const std::string& dc) {
  w.beginObject();
  w.key("ID").string(n.id()).key("Node").string(n.node()).key("Address").string(n.address());
  w.key("Datacenter").string(n.datacenter().empty() ? dc : n.datacenter());
  w.key("TaggedAddresses");
  writeStringMap(w, n.tagged_addresses());
  w.key("NodeMeta");
  writeStringMap(w, n.meta());
  w.key("ServiceKind").string(s.kind());
  w.key("ServiceID").string(s.id()).key("ServiceName").string(s.service());
  w.key("ServiceTags");
  writeStrings(w, s.tags());
  w.key("ServiceAddress").string(s.address());
  w.key("ServiceTaggedAddresses");
  writeServiceAddresses(w, s.tagged_addresses());
  w.key("ServiceWeights");
  writeWeights(w, s);
  w.key("ServiceMeta");
  writeStringMap(w, s.meta());
  w.key("ServicePort").number(static_cast<int64_t>(s.port()));
  w.key("ServiceEnableTagOverride").boolean(s.enable_tag_override());
  w.key("ServiceProxy");
  writeProxy(w);
  w.key("ServiceConnect").beginObject().endObject();
  writeIndexes(w, s.create_index(), s.modify_index());
  w.endObject();
}

void writeService(JsonWriter& w, const v1::CatalogService& s, const std::string& dc) {
  w.beginObject();
  if (!s.kind().empty()) w.key("Kind").string(s.kind());
  w.key("ID").string(s.id()).key("Service").string(s.service());
  w.key("Tags");
  writeStrings(w, s.tags());
  w.key("Address").string(s.address());
  if (!s.tagged_addresses().empty()) {
    w.key("TaggedAddresses");
    writeServiceAddresses(w, s.tagged_addresses());
  }
  w.key("Meta");
  writeStringMap(w, s.meta());
  w.key("Port").number(static_cast<int64_t>(s.port()));
  w.key("Weights");
  writeWeights(w, s);
  w.key("EnableTagOverride").boolean(s.enable_tag_override());
  w.key("Proxy");
  writeProxy(w);
  w.key("Connect").beginObject().endObject();
  w.key("Datacenter").string(dc);
  writeIndexes(w, s.create_index(), s.modify_index());
  w.endObject();
}

void writeCheck(JsonWriter& w, const v1::CatalogCheck& c) {
  w.beginObject();
  w.key("Node").string(c.node()).key("CheckID").string(c.check_id()).key("Name").string(c.name());
  w.key("Status").string(c.status()).key("Notes").string(c.notes());
  w.key("Output").string(c.output());
  w.key("ServiceID").string(c.service_id()).key("ServiceName").string(c.service_name());
  w.key("ServiceTags");
  writeStrings(w, c.service_tags());
  w.key("Type").string(c.type());
  if (!c.interval().empty()) w.key("Interval").string(c.interval());
  if (!c.timeout().empty()) w.key("Timeout").string(c.timeout());
  w.key("ExposedPort").number(int64_t{0});
  w.key("Definition");
  writeDefinition(w, c.definition());
  writeIndexes(w, c.create_index(), c.modify_index());
  w.endObject();
}

void writeServiceEntry(JsonWriter& w, const store::ServiceInstance& instance,
                       const std::string& dc) {
  w.beginObject();
  w.key("Node");
  writeNode(w, instance.node, dc);
  w.key("Service");
  writeService(w, instance.service, dc);
  w.key("Checks").beginArray();
  for (const auto& c : instance.checks) writeCheck(w, c);
  w.endArray();
  w.endObject();
}

StatusOr<v1::CatalogService> decodeService(const value& body) {
  if (!body.is_object()) return decodeFailed("Service: expected an object");
  v1::CatalogService s;
  std::string text;
  CAIRN_RETURN_IF_ERROR(decodeString(body, "ID", &text));
  s.set_id(text);
  text.clear();
  CAIRN_RETURN_IF_ERROR(decodeString(body, "Service", &text));
  if (text.empty()) CAIRN_RETURN_IF_ERROR(decodeString(body, "Name", &text));
  s.set_service(text);
  text.clear();
  CAIRN_RETURN_IF_ERROR(decodeString(body, "Address", &text));
  s.set_address(text);
  text.clear();
  CAIRN_RETURN_IF_ERROR(decodeString(body, "Kind", &text));
  s.set_kind(text);
  CAIRN_RETURN_IF_ERROR(readStringList(body, "Tags", s.mutable_tags()));
  CAIRN_RETURN_IF_ERROR(readStringMap(body, "Meta", s.mutable_meta()));
  int32_t port = 0;
  CAIRN_RETURN_IF_ERROR(decodeInt(body, "Port", &port));
  s.set_port(port);
  bool eto = false;
  CAIRN_RETURN_IF_ERROR(decodeBool(body, "EnableTagOverride", &eto));
  s.set_enable_tag_override(eto);
  CAIRN_RETURN_IF_ERROR(decodeServiceAddresses(body, s));
  CAIRN_RETURN_IF_ERROR(decodeWeights(body, s));
  return s;
}

StatusOr<v1::CatalogCheck> decodeCatalogCheck(const value& body) {
  if (!body.is_object()) return decodeFailed("Check: expected an object");
  v1::CatalogCheck c;
  std::string text;
  for (auto [field, setter] : std::initializer_list<
           std::pair<const char*, void (v1::CatalogCheck::*)(const std::string&)>>{
           {"Node", &v1::CatalogCheck::set_node},
           {"CheckID", &v1::CatalogCheck::set_check_id},
           {"Name", &v1::CatalogCheck::set_name},
           {"Status", &v1::CatalogCheck::set_status},
           {"Notes", &v1::CatalogCheck::set_notes},
           {"Output", &v1::CatalogCheck::set_output},
           {"ServiceID", &v1::CatalogCheck::set_service_id},
           {"Type", &v1::CatalogCheck::set_type}}) {
    text.clear();
    CAIRN_RETURN_IF_ERROR(decodeString(body, field, &text));
    (c.*setter)(text);
  }
  if (c.check_id().empty()) {
    text.clear();
    CAIRN_RETURN_IF_ERROR(decodeString(body, "ID", &text));
    c.set_check_id(text);
  }
  if (!c.status().empty() && !validCheckStatus(c.status())) {
    return invalidArgument("Invalid check status: '" + c.status() + "'");
  }
  if (const value* d = findField(body, "Definition"); d != nullptr && d->is_object()) {
    CAIRN_RETURN_IF_ERROR(decodeDefinition(*d, *c.mutable_definition()));
  }
  return c;
}

StatusOr<v1::CatalogRegister> decodeRegister(const value& body) {
  if (!body.is_object()) return decodeFailed("expected a JSON object");
  v1::CatalogRegister r;
  v1::CatalogNode& node = *r.mutable_node();
  std::string text;
  CAIRN_RETURN_IF_ERROR(decodeString(body, "ID", &text));
  node.set_id(text);
  text.clear();
  CAIRN_RETURN_IF_ERROR(decodeString(body, "Node", &text));
  node.set_node(text);
  text.clear();
  CAIRN_RETURN_IF_ERROR(decodeString(body, "Address", &text));
  node.set_address(text);
  text.clear();
  CAIRN_RETURN_IF_ERROR(decodeString(body, "Datacenter", &text));
  node.set_datacenter(text);
  CAIRN_RETURN_IF_ERROR(readStringMap(body, "TaggedAddresses", node.mutable_tagged_addresses()));
  CAIRN_RETURN_IF_ERROR(readStringMap(body, "NodeMeta", node.mutable_meta()));
  bool skip = false;
  CAIRN_RETURN_IF_ERROR(decodeBool(body, "SkipNodeUpdate", &skip));
  r.set_skip_node_update(skip);
  if (const value* s = findField(body, "Service"); s != nullptr && !s->is_null()) {
    auto service = decodeService(*s);
    if (!service.isOk()) return service.status();
    *r.mutable_service() = std::move(*service);
  }
  if (const value* c = findField(body, "Check"); c != nullptr && !c->is_null()) {
    auto check = decodeCatalogCheck(*c);
    if (!check.isOk()) return check.status();
    *r.add_checks() = std::move(*check);
  }
  if (const value* list = findField(body, "Checks"); list != nullptr && !list->is_null()) {
    if (!list->is_array()) return decodeFailed("Checks: expected a list");
    for (const value& item : list->as_array()) {
      auto check = decodeCatalogCheck(item);
      if (!check.isOk()) return check.status();
      *r.add_checks() = std::move(*check);
    }
  }
  return r;
}

}  // namespace cairn::http
