#include "core/template/dependency.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "core/base/go_encoding.h"

namespace cairn::tmpl {
namespace {

bool isWordChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

bool allOf(std::string_view s, std::string_view extra) {
  return std::all_of(s.begin(), s.end(), [&](char c) {
    return isWordChar(c) || extra.find(c) != std::string_view::npos;
  });
}

// Splits "body<sep>rest" at the first `sep`; rest is "" when there is none.
std::pair<std::string_view, std::string_view> cut(std::string_view s, char sep) {
  size_t at = s.find(sep);
  if (at == std::string_view::npos) return {s, ""};
  return {s.substr(0, at), s.substr(at + 1)};
}

std::string_view trimLeadingSlashes(std::string_view s) {
  while (!s.empty() && s.front() == '/') s.remove_prefix(1);
  return s;
}

const Value& field(const Value& object, std::string_view name) {
  static const Value kNull;
  const auto& map = object.asMap();
  auto it = map.find(name);
  return it == map.end() ? kNull : it->second;
}

Value str(const Value& object, std::string_view name) {
  const Value& v = field(object, name);
  return Value::string(v.kind() == Value::Kind::kString ? v.asString() : "");
}

Value num(const Value& object, std::string_view name) {
  const Value& v = field(object, name);
  return Value::integer(v.isNumber() ? static_cast<int64_t>(std::llround(v.asDouble())) : 0);
}

// A JSON object field as a map (nil and absent become an empty map, as Go's decoder leaves
// them; templates range over them either way).
Value mapOf(const Value& object, std::string_view name) {
  const Value& v = field(object, name);
  return v.kind() == Value::Kind::kMap ? v : Value::map({});
}

// consul-template sorts and de-duplicates tags.
Value sortedTags(const Value& tags) {
  std::set<std::string> unique;
  for (const Value& t : tags.asList()) {
    if (t.kind() == Value::Kind::kString) unique.insert(t.asString());
  }
  Value::List out;
  for (const auto& t : unique) out.push_back(Value::string(t));
  return Value::list(std::move(out));
}

// Consul's api.HealthChecks.AggregatedStatus.
std::string aggregatedStatus(const Value& checks) {
  bool warning = false, critical = false, maintenance = false;
  for (const Value& c : checks.asList()) {
    std::string id = str(c, "CheckID").asString();
    if (id == "_node_maintenance" || id.rfind("_service_maintenance:", 0) == 0) {
      maintenance = true;
      continue;
    }
    std::string status = str(c, "Status").asString();
    if (status == "warning") {
      warning = true;
    } else if (status == "critical") {
      critical = true;
    } else if (status != "passing") {
      return "";
    }
  }
  if (maintenance) return "maintenance";
  if (critical) return "critical";
  if (warning) return "warning";
  return "passing";
}

StatusOr<Value> parseBody(std::string_view body) {
  auto v = parseJson(body);
  if (!v.isOk()) return invalidArgument("decoding the agent's answer: " + v.status().message());
  return v;
}

Value keyPair(const Value& entry, std::string_view prefix) {
  std::string path = str(entry, "Key").asString();
  std::string_view rel = path;
  if (rel.substr(0, prefix.size()) == prefix) rel.remove_prefix(prefix.size());
  rel = trimLeadingSlashes(rel);
  std::string value;
  const Value& encoded = field(entry, "Value");
  if (encoded.kind() == Value::Kind::kString) {
    auto decoded = base64Decode(encoded.asString());
    if (decoded.isOk()) value = std::move(*decoded);
  }
  return Value::record({
      {"Path", Value::string(path)},
      {"Key", Value::string(std::string(rel))},
      {"Value", Value::string(value)},
      {"CreateIndex", num(entry, "CreateIndex")},
      {"ModifyIndex", num(entry, "ModifyIndex")},
      {"LockIndex", num(entry, "LockIndex")},
      {"Flags", num(entry, "Flags")},
      {"Session", str(entry, "Session")},
  });
}

Value nodeRecord(const Value& n) {
  return Value::record({
      {"ID", str(n, "ID")},
      {"Node", str(n, "Node")},
      {"Address", str(n, "Address")},
      {"Datacenter", str(n, "Datacenter")},
      {"TaggedAddresses", mapOf(n, "TaggedAddresses")},
      {"Meta", mapOf(n, "Meta")},
  });
}

Value checkRecord(const Value& c) {
  Value::Map fields;
  for (const char* name : {"Node", "CheckID", "Name", "Status", "Notes", "Output", "ServiceID",
                           "ServiceName", "Type"}) {
    fields.emplace(name, str(c, name));
  }
  fields.emplace("ServiceTags", sortedTags(field(c, "ServiceTags")));
  return Value::record(std::move(fields));
}

// One /v1/health/service entry as consul-template's dep.HealthService.
Value healthService(const Value& entry, const std::string& status) {
  const Value& node = field(entry, "Node");
  const Value& svc = field(entry, "Service");
  Value::List checks;
  for (const Value& c : field(entry, "Checks").asList()) checks.push_back(checkRecord(c));
  std::string address = str(svc, "Address").asString();
  if (address.empty()) address = str(node, "Address").asString();
  const Value& weights = field(svc, "Weights");
  return Value::record({
      {"Node", str(node, "Node")},
      {"NodeID", str(node, "ID")},
      {"NodeAddress", str(node, "Address")},
      {"NodeDatacenter", str(node, "Datacenter")},
      {"NodeTaggedAddresses", mapOf(node, "TaggedAddresses")},
      {"NodeMeta", mapOf(node, "Meta")},
      {"ServiceMeta", mapOf(svc, "Meta")},
      {"ServiceTaggedAddresses", mapOf(svc, "TaggedAddresses")},
      {"Address", Value::string(address)},
      {"ID", str(svc, "ID")},
      {"Name", str(svc, "Service")},
      {"Kind", str(svc, "Kind")},
      {"Tags", sortedTags(field(svc, "Tags"))},
      {"Checks", Value::list(std::move(checks))},
      {"Status", Value::string(status)},
      {"Port", num(svc, "Port")},
      {"Weights",
       Value::record({{"Passing", num(weights, "Passing")}, {"Warning", num(weights, "Warning")}})},
      {"Namespace", str(svc, "Namespace")},
  });
}

bool wantsStatus(const Dependency& dep, const std::string& status) {
  if (dep.states.empty()) return status == "passing";
  for (const auto& s : dep.states) {
    if (s == "any" || s == status) return true;
  }
  return false;
}

StatusOr<Value> decodeService(const Dependency& dep, const Value& body) {
  std::vector<std::pair<std::string, Value>> keyed;
  for (const Value& entry : body.asList()) {
    std::string status = aggregatedStatus(field(entry, "Checks"));
    if (!wantsStatus(dep, status)) continue;
    Value hs = healthService(entry, status);
    std::string key = field(hs, "Node").asString() + '\0' + field(hs, "ID").asString();
    keyed.emplace_back(std::move(key), std::move(hs));
  }
  // Sorted by node, then service ID, as consul-template does (a stable render).
  std::stable_sort(keyed.begin(), keyed.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  Value::List out;
  for (auto& [k, v] : keyed) out.push_back(std::move(v));
  return Value::list(std::move(out));
}

Value decodeNode(const Value& body) {
  std::vector<std::pair<std::string, Value>> services;
  for (const auto& [id, s] : field(body, "Services").asMap()) {
    Value rec = Value::record({
        {"ID", str(s, "ID")},
        {"Service", str(s, "Service")},
        {"Tags", sortedTags(field(s, "Tags"))},
        {"Meta", mapOf(s, "Meta")},
        {"Port", num(s, "Port")},
        {"Address", str(s, "Address")},
    });
    services.emplace_back(str(s, "Service").asString() + '\0' + id, std::move(rec));
  }
  std::sort(services.begin(), services.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  Value::List list;
  for (auto& [k, v] : services) list.push_back(std::move(v));
  return Value::record(
      {{"Node", nodeRecord(field(body, "Node"))}, {"Services", Value::list(std::move(list))}});
}

// "name@dc": the name and the datacenter.
StatusOr<std::pair<std::string, std::string>> withDatacenter(std::string_view spec,
                                                             std::string_view what) {
  auto [name, dc] = cut(spec, '@');
  if (spec.find('@') != std::string_view::npos && dc.empty()) {
    return invalidArgument("invalid " + std::string(what) + " " + goQuote(std::string(spec)) +
                           ": empty datacenter after '@'");
  }
  return std::make_pair(std::string(name), std::string(dc));
}

}  // namespace

std::string Dependency::id() const {
  std::string dc = datacenter.empty() ? "" : "@" + datacenter;
  std::string nr = near.empty() ? "" : "~" + near;
  switch (kind) {
    case Kind::kKey:
      return "kv.block(" + name + dc + ")";
    case Kind::kKeyList:
      return "kv.list(" + name + dc + ")";
    case Kind::kService: {
      std::string filter;
      for (const auto& s : states) filter += (filter.empty() ? "" : ",") + s;
      return "health.service(" + (tag.empty() ? "" : tag + ".") + name + dc + nr + "|" +
             (filter.empty() ? "passing" : filter) + ")";
    }
    case Kind::kServices:
      return "catalog.services(" + dc + ")";
    case Kind::kNode:
      return "catalog.node(" + name + dc + ")";
    case Kind::kNodes:
      return "catalog.nodes(" + dc + nr + ")";
  }
  return "";
}

StatusOr<Dependency> keyDependency(std::string_view path) {
  auto parts = withDatacenter(trimLeadingSlashes(path), "key");
  if (!parts.isOk()) return parts.status();
  if (parts->first.empty()) return invalidArgument("key: the key name is empty");
  Dependency d;
  d.kind = Dependency::Kind::kKey;
  d.name = parts->first;
  d.datacenter = parts->second;
  return d;
}

StatusOr<Dependency> keyListDependency(std::string_view prefix) {
  auto parts = withDatacenter(trimLeadingSlashes(prefix), "prefix");
  if (!parts.isOk()) return parts.status();
  Dependency d;
  d.kind = Dependency::Kind::kKeyList;
  d.name = parts->first;
  d.datacenter = parts->second;
  return d;
}

StatusOr<Dependency> serviceDependency(std::string_view spec) {
  auto [head, filter] = cut(spec, '|');
  Dependency d;
  d.kind = Dependency::Kind::kService;
  auto bad = [&](const std::string& why) {
    return invalidArgument("invalid service " + goQuote(std::string(spec)) + ": " + why);
  };
  std::string_view rest = filter;
  while (!filter.empty()) {
    auto [state, more] = cut(rest, ',');
    std::string s(state);
    while (!s.empty() && s.front() == ' ') s.erase(0, 1);
    while (!s.empty() && s.back() == ' ') s.pop_back();
    if (s != "any" && s != "passing" && s != "warning" && s != "critical" && s != "maintenance") {
      return bad("unknown health state " + goQuote(s) +
                 " (any, passing, warning, critical, maintenance)");
    }
    d.states.push_back(s);
    if (more.empty()) break;
    rest = more;
  }
  if (d.states.size() > 1 && std::find(d.states.begin(), d.states.end(), "any") != d.states.end()) {
    return bad("\"any\" cannot be combined with other states");
  }
  if (d.states == std::vector<std::string>{"passing"}) d.states.clear();
  size_t tilde = head.find('~');
  if (tilde != std::string_view::npos) {
    d.near = std::string(head.substr(tilde + 1));
    head = head.substr(0, tilde);
    if (d.near.empty() || !allOf(d.near, ".")) return bad("invalid ~near");
  }
  auto parts = withDatacenter(head, "service");
  if (!parts.isOk()) return parts.status();
  d.datacenter = parts->second;
  std::string_view name = parts->first;
  size_t dot = name.rfind('.');
  if (dot != std::string_view::npos) {
    d.tag = std::string(name.substr(0, dot));
    name = name.substr(dot + 1);
    if (d.tag.empty() || !allOf(d.tag, "=:.")) return bad("invalid tag");
  }
  if (name.empty() || !allOf(name, "")) return bad("invalid service name");
  if (!allOf(d.datacenter, ".")) return bad("invalid datacenter");
  d.name = std::string(name);
  return d;
}

StatusOr<Dependency> servicesDependency(std::string_view spec) {
  Dependency d;
  d.kind = Dependency::Kind::kServices;
  if (!spec.empty() && (spec.front() != '@' || spec.size() == 1)) {
    return invalidArgument("services: expected \"@<datacenter>\", got " +
                           goQuote(std::string(spec)));
  }
  if (!spec.empty()) d.datacenter = std::string(spec.substr(1));
  return d;
}

StatusOr<Dependency> nodeDependency(std::string_view spec) {
  auto parts = withDatacenter(spec, "node");
  if (!parts.isOk()) return parts.status();
  Dependency d;
  d.kind = Dependency::Kind::kNode;
  d.name = parts->first;
  d.datacenter = parts->second;
  return d;
}

StatusOr<Dependency> nodesDependency(std::string_view spec) {
  Dependency d;
  d.kind = Dependency::Kind::kNodes;
  size_t tilde = spec.find('~');
  if (tilde != std::string_view::npos) {
    d.near = std::string(spec.substr(tilde + 1));
    spec = spec.substr(0, tilde);
  }
  if (!spec.empty() && (spec.front() != '@' || spec.size() == 1)) {
    return invalidArgument("nodes: expected \"[@<datacenter>][~<near>]\"");
  }
  if (!spec.empty()) d.datacenter = std::string(spec.substr(1));
  return d;
}

DependencyRequest requestFor(const Dependency& dep, const std::string& agent_node) {
  DependencyRequest r;
  switch (dep.kind) {
    case Dependency::Kind::kKey:
      r.path = "/v1/kv/" + dep.name;
      break;
    case Dependency::Kind::kKeyList:
      r.path = "/v1/kv/" + dep.name;
      r.query.emplace_back("recurse", "");
      break;
    case Dependency::Kind::kService:
      r.path = "/v1/health/service/" + dep.name;
      if (!dep.tag.empty()) r.query.emplace_back("tag", dep.tag);
      if (dep.states.empty()) r.query.emplace_back("passing", "1");
      break;
    case Dependency::Kind::kServices:
      r.path = "/v1/catalog/services";
      break;
    case Dependency::Kind::kNode:
      r.path = "/v1/catalog/node/" + (dep.name.empty() ? agent_node : dep.name);
      break;
    case Dependency::Kind::kNodes:
      r.path = "/v1/catalog/nodes";
      break;
  }
  if (!dep.datacenter.empty()) r.query.emplace_back("dc", dep.datacenter);
  if (!dep.near.empty()) r.query.emplace_back("near", dep.near);
  return r;
}

StatusOr<Value> decodeResponse(const Dependency& dep, int status, std::string_view body) {
  bool may_be_missing = dep.kind == Dependency::Kind::kKey ||
                        dep.kind == Dependency::Kind::kKeyList ||
                        dep.kind == Dependency::Kind::kNode;
  if (status == 404 && may_be_missing) {
    return dep.kind == Dependency::Kind::kKeyList ? Value::list({}) : Value();
  }
  if (status != 200) {
    std::string text(body.substr(0, 200));
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    return unavailable("Unexpected response code: " + std::to_string(status) + " (" + text + ")");
  }
  auto parsed = parseBody(body);
  if (!parsed.isOk()) return parsed.status();
  const Value& v = *parsed;
  switch (dep.kind) {
    case Dependency::Kind::kKey: {
      if (v.asList().empty()) return Value();
      return field(keyPair(v.asList().front(), ""), "Value");
    }
    case Dependency::Kind::kKeyList: {
      Value::List pairs;
      for (const Value& e : v.asList()) pairs.push_back(keyPair(e, dep.name));
      return Value::list(std::move(pairs));
    }
    case Dependency::Kind::kService:
      return decodeService(dep, v);
    case Dependency::Kind::kServices: {
      Value::List out;  // the map iterates sorted by name
      for (const auto& [name, tags] : v.asMap()) {
        out.push_back(Value::record({{"Name", Value::string(name)}, {"Tags", sortedTags(tags)}}));
      }
      return Value::list(std::move(out));
    }
    case Dependency::Kind::kNode:
      if (v.isNull()) return Value();
      return decodeNode(v);
    case Dependency::Kind::kNodes: {
      Value::List out;
      for (const Value& n : v.asList()) out.push_back(nodeRecord(n));
      if (dep.near.empty()) {
        std::stable_sort(out.begin(), out.end(), [](const Value& a, const Value& b) {
          return field(a, "Node").asString() < field(b, "Node").asString();
        });
      }
      return Value::list(std::move(out));
    }
  }
  return Value();
}

}  // namespace cairn::tmpl
