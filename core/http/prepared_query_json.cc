#include "core/http/prepared_query_json.h"

#include "core/http/catalog_json.h"
#include "core/http/json_reader.h"
#include "core/store/prepared_query.h"

namespace cairn::http {
namespace {

// The object member `name`: absent or null → nullptr; any other non-object → an error.
StatusOr<const web::json::value*> objectField(const web::json::value& parent,
                                              std::string_view name) {
  const web::json::value* v = findField(parent, name);
  if (v == nullptr || v->is_null()) return static_cast<const web::json::value*>(nullptr);
  if (!v->is_object()) return decodeFailed(std::string(name) + ": expected an object");
  return v;
}

Status decodeStringList(const web::json::value& o, std::string_view name,
                        google::protobuf::RepeatedPtrField<std::string>* out) {
  std::vector<std::string> values;
  CAIRN_RETURN_IF_ERROR(decodeStrings(o, name, &values));
  for (auto& v : values) out->Add(std::move(v));
  return Status::ok();
}

Status decodeMap(const web::json::value& o, std::string_view name,
                 google::protobuf::Map<std::string, std::string>* out) {
  std::map<std::string, std::string> values;
  CAIRN_RETURN_IF_ERROR(decodeStringMap(o, name, &values));
  for (auto& [k, v] : values) (*out)[k] = v;
  return Status::ok();
}

Status decodeFailover(const web::json::value& service, v1::QueryFailover* out) {
  auto failover = objectField(service, "Failover");
  if (!failover.isOk()) return failover.status();
  if (*failover == nullptr) return Status::ok();
  int32_t nearest = 0;
  CAIRN_RETURN_IF_ERROR(decodeInt(**failover, "NearestN", &nearest));
  out->set_nearest_n(nearest);
  return decodeStringList(**failover, "Datacenters", out->mutable_datacenters());
}

Status decodeService(const web::json::value& body, v1::ServiceQuery* out) {
  auto service = objectField(body, "Service");
  if (!service.isOk()) return service.status();
  if (*service == nullptr) return Status::ok();
  const web::json::value& s = **service;
  CAIRN_RETURN_IF_ERROR(decodeString(s, "Service", out->mutable_service()));
  CAIRN_RETURN_IF_ERROR(decodeFailover(s, out->mutable_failover()));
  bool only_passing = false;
  CAIRN_RETURN_IF_ERROR(decodeBool(s, "OnlyPassing", &only_passing));
  out->set_only_passing(only_passing);
  CAIRN_RETURN_IF_ERROR(decodeStringList(s, "IgnoreCheckIDs", out->mutable_ignore_check_ids()));
  CAIRN_RETURN_IF_ERROR(decodeString(s, "Near", out->mutable_near()));
  CAIRN_RETURN_IF_ERROR(decodeStringList(s, "Tags", out->mutable_tags()));
  CAIRN_RETURN_IF_ERROR(decodeMap(s, "NodeMeta", out->mutable_node_meta()));
  CAIRN_RETURN_IF_ERROR(decodeMap(s, "ServiceMeta", out->mutable_service_meta()));
  auto connect = objectField(s, "Connect");
  if (!connect.isOk()) return connect.status();
  if (*connect != nullptr) {
    bool enabled = false;
    CAIRN_RETURN_IF_ERROR(decodeBool(**connect, "Enabled", &enabled));
    out->set_connect(enabled);
  }
  return Status::ok();
}

Status decodeSections(const web::json::value& body, v1::PreparedQuery* q) {
  auto dns = objectField(body, "DNS");
  if (!dns.isOk()) return dns.status();
  if (*dns != nullptr) CAIRN_RETURN_IF_ERROR(decodeString(**dns, "TTL", q->mutable_dns_ttl()));
  auto tmpl = objectField(body, "Template");
  if (!tmpl.isOk()) return tmpl.status();
  if (*tmpl == nullptr) return Status::ok();
  v1::QueryTemplate* t = q->mutable_template_();
  CAIRN_RETURN_IF_ERROR(decodeString(**tmpl, "Type", t->mutable_type()));
  CAIRN_RETURN_IF_ERROR(decodeString(**tmpl, "Regexp", t->mutable_regexp()));
  bool remove_empty = false;
  CAIRN_RETURN_IF_ERROR(decodeBool(**tmpl, "RemoveEmptyTags", &remove_empty));
  t->set_remove_empty_tags(remove_empty);
  return Status::ok();
}

// Go writes a nil slice or map as null; a definition without them reads back that way.
void writeStrings(JsonWriter& w, const google::protobuf::RepeatedPtrField<std::string>& list) {
  if (list.empty()) {
    w.null();
    return;
  }
  w.beginArray();
  for (const auto& s : list) w.string(s);
  w.endArray();
}

void writeMap(JsonWriter& w, const google::protobuf::Map<std::string, std::string>& map) {
  if (map.empty()) {
    w.null();
    return;
  }
  std::map<std::string, std::string> sorted(map.begin(), map.end());  // Go sorts map keys
  w.beginObject();
  for (const auto& [k, v] : sorted) w.key(k).string(v);
  w.endObject();
}

void writeServiceQuery(JsonWriter& w, const v1::ServiceQuery& s) {
  w.beginObject().key("Service").string(s.service());
  w.key("Failover").beginObject().key("NearestN").number(int64_t{s.failover().nearest_n()});
  w.key("Datacenters");
  writeStrings(w, s.failover().datacenters());
  w.endObject();
  w.key("OnlyPassing").boolean(s.only_passing());
  w.key("IgnoreCheckIDs");
  writeStrings(w, s.ignore_check_ids());
  w.key("Near").string(s.near());
  w.key("Tags");
  writeStrings(w, s.tags());
  w.key("NodeMeta");
  writeMap(w, s.node_meta());
  w.key("ServiceMeta");
  writeMap(w, s.service_meta());
  w.key("Connect").beginObject().key("Enabled").boolean(s.connect()).endObject();
  w.key("Peer").string("").key("Namespace").string("").key("Partition").string("");
  w.endObject();
}

}  // namespace

StatusOr<v1::PreparedQuery> decodePreparedQuery(std::string_view body) {
  auto parsed = parseJson(body);
  if (!parsed.isOk()) return decodeFailed(parsed.status().message());
  if (!parsed->is_object()) return decodeFailed("expected a JSON object");
  const web::json::value& o = *parsed;
  v1::PreparedQuery q;
  CAIRN_RETURN_IF_ERROR(decodeString(o, "Name", q.mutable_name()));
  CAIRN_RETURN_IF_ERROR(decodeString(o, "Session", q.mutable_session()));
  CAIRN_RETURN_IF_ERROR(decodeString(o, "Token", q.mutable_token()));
  CAIRN_RETURN_IF_ERROR(decodeService(o, q.mutable_service()));
  CAIRN_RETURN_IF_ERROR(decodeSections(o, &q));
  return q;
}

void writePreparedQuery(JsonWriter& w, const v1::PreparedQuery& q, bool show_token) {
  w.beginObject().key("ID").string(q.id()).key("Name").string(q.name());
  w.key("Session").string(q.session());
  w.key("Token").string(show_token || q.token().empty() ? q.token() : store::kRedactedToken);
  w.key("Template").beginObject().key("Type").string(q.template_().type());
  w.key("Regexp").string(q.template_().regexp());
  w.key("RemoveEmptyTags").boolean(q.template_().remove_empty_tags()).endObject();
  w.key("Service");
  writeServiceQuery(w, q.service());
  w.key("DNS").beginObject().key("TTL").string(q.dns_ttl()).endObject();
  w.key("CreateIndex").number(q.create_index()).key("ModifyIndex").number(q.modify_index());
  w.endObject();
}

std::string executeJson(const v1::PreparedQuery& query,
                        const std::vector<store::ServiceInstance>& nodes, const std::string& dc) {
  JsonWriter w;
  w.beginObject().key("Service").string(query.service().service());
  w.key("Namespace").string("");
  w.key("Nodes").beginArray();
  for (const auto& i : nodes) writeServiceEntry(w, i, dc);
  w.endArray();
  w.key("DNS").beginObject().key("TTL").string(query.dns_ttl()).endObject();
  w.key("Datacenter").string(dc).key("Failovers").number(int64_t{0});
  w.endObject();
  return w.take();
}

}  // namespace cairn::http
