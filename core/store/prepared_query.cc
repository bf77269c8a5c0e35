#include "core/store/prepared_query.h"

#include <re2/re2.h>

#include <algorithm>
#include <cctype>
#include <set>

#include "core/base/duration.h"
#include "core/store/catalog_table.h"
#include "core/store/state_store.h"

namespace cairn::store {
namespace {

// Consul's metadata limits (structs.ValidateNodeMetadata / ValidateServiceMetadata).
constexpr size_t kMetaMaxPairs = 64;
constexpr size_t kMetaKeyMax = 128;
constexpr size_t kMetaValueMax = 512;
// Longer patterns are refused: RE2 is linear in the input, but its program grows with the pattern.
constexpr size_t kMaxRegexp = 1024;

Status validateMeta(const google::protobuf::Map<std::string, std::string>& meta,
                    std::string_view what) {
  if (meta.size() > kMetaMaxPairs) {
    return invalidArgument(std::string(what) + " metadata cannot contain more than " +
                           std::to_string(kMetaMaxPairs) + " key/value pairs");
  }
  for (const auto& [key, value] : meta) {
    std::string pair = "Couldn't load metadata pair ('" + key + "', '" + value + "'): ";
    if (key.empty()) return invalidArgument(pair + "Key cannot be blank");
    bool valid = std::all_of(key.begin(), key.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
    });
    if (!valid) return invalidArgument(pair + "Key contains invalid characters");
    if (key.size() > kMetaKeyMax) {
      return invalidArgument(pair + "Key is too long (limit: " + std::to_string(kMetaKeyMax) +
                             " characters)");
    }
    if (value.size() > kMetaValueMax) {
      return invalidArgument(pair + "Value is too long (limit: " + std::to_string(kMetaValueMax) +
                             " characters)");
    }
  }
  return Status::ok();
}

Status validateService(const v1::ServiceQuery& s) {
  if (s.service().empty()) return invalidArgument("Must provide a Service name to query");
  if (s.failover().nearest_n() < 0) {
    return invalidArgument("Bad NearestN '" + std::to_string(s.failover().nearest_n()) +
                           "', must be >= 0");
  }
  CAIRN_RETURN_IF_ERROR(validateMeta(s.node_meta(), "Node"));
  return validateMeta(s.service_meta(), "Service");
}

Status validateDnsTtl(const std::string& ttl) {
  if (ttl.empty()) return Status::ok();
  auto d = parseGoDuration(ttl);
  if (!d.isOk()) return invalidArgument("Bad DNS TTL '" + ttl + "': " + d.status().message());
  if (d->count() < 0) return invalidArgument("DNS TTL '" + ttl + "', must be >=0");
  return Status::ok();
}

StatusOr<std::unique_ptr<RE2>> compileRegexp(const std::string& pattern) {
  if (pattern.size() > kMaxRegexp) {
    return invalidArgument("Bad Regexp: longer than " + std::to_string(kMaxRegexp) + " bytes");
  }
  RE2::Options options;
  options.set_log_errors(false);
  auto re = std::make_unique<RE2>(pattern, options);
  if (!re->ok()) return invalidArgument("Bad Regexp: " + re->error());
  return re;
}

// The submatches of `re` in `text` (whole match first), or none when it does not match.
std::vector<std::string> submatches(const RE2& re, std::string_view text) {
  int groups = re.NumberOfCapturingGroups() + 1;
  std::vector<re2::StringPiece> found(static_cast<size_t>(groups));
  re2::StringPiece input(text.data(), text.size());
  if (!re.Match(input, 0, input.size(), RE2::UNANCHORED, found.data(), groups)) return {};
  std::vector<std::string> out;
  for (const auto& piece : found) out.emplace_back(piece.data(), piece.size());
  return out;
}

std::string trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

// The value of one ${...} expression.
StatusOr<std::string> evaluate(const std::string& expr, const TemplateVars& vars) {
  if (expr == "name.full") return vars.full;
  if (expr == "name.prefix") return vars.prefix;
  if (expr == "name.suffix") return vars.suffix;
  if (expr == "agent.segment") return std::string();  // no network segments (Enterprise)
  if (expr.starts_with("match(") && expr.ends_with(")")) {
    std::string arg = trim(std::string_view(expr).substr(6, expr.size() - 7));
    if (arg.empty() || arg.size() > 9 ||
        !std::all_of(arg.begin(), arg.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return invalidArgument("match() takes one non-negative integer, got '" + arg + "'");
    }
    size_t n = std::stoul(arg);
    return n < vars.matches.size() ? vars.matches[n] : std::string();
  }
  if (expr.find('(') != std::string::npos) {
    return invalidArgument("unknown function called: " + expr.substr(0, expr.find('(')));
  }
  return invalidArgument("unknown variable accessed: " + expr);
}

Status interpolateInPlace(std::string* text, const TemplateVars& vars) {
  auto out = interpolate(*text, vars);
  if (!out.isOk()) return out.status();
  *text = std::move(*out);
  return Status::ok();
}

Status interpolateAll(google::protobuf::RepeatedPtrField<std::string>* list,
                      const TemplateVars& vars) {
  for (std::string& s : *list) CAIRN_RETURN_IF_ERROR(interpolateInPlace(&s, vars));
  return Status::ok();
}

Status interpolateValues(google::protobuf::Map<std::string, std::string>* map,
                         const TemplateVars& vars) {
  for (auto& [key, value] : *map) CAIRN_RETURN_IF_ERROR(interpolateInPlace(&value, vars));
  return Status::ok();
}

// Every string of the Service and DNS sections, as Consul's template walk does.
Status interpolateQuery(v1::PreparedQuery& q, const TemplateVars& vars) {
  v1::ServiceQuery* s = q.mutable_service();
  CAIRN_RETURN_IF_ERROR(interpolateInPlace(s->mutable_service(), vars));
  CAIRN_RETURN_IF_ERROR(interpolateInPlace(s->mutable_near(), vars));
  CAIRN_RETURN_IF_ERROR(interpolateAll(s->mutable_tags(), vars));
  CAIRN_RETURN_IF_ERROR(interpolateAll(s->mutable_ignore_check_ids(), vars));
  CAIRN_RETURN_IF_ERROR(interpolateAll(s->mutable_failover()->mutable_datacenters(), vars));
  CAIRN_RETURN_IF_ERROR(interpolateValues(s->mutable_node_meta(), vars));
  CAIRN_RETURN_IF_ERROR(interpolateValues(s->mutable_service_meta(), vars));
  return interpolateInPlace(q.mutable_dns_ttl(), vars);
}

bool metaMatches(const google::protobuf::Map<std::string, std::string>& want,
                 const google::protobuf::Map<std::string, std::string>& have) {
  for (const auto& [key, value] : want) {
    auto it = have.find(key);
    if (it == have.end() || it->second != value) return false;
  }
  return true;
}

bool healthAccepted(const v1::ServiceQuery& s, const ServiceInstance& i) {
  for (const v1::CatalogCheck& c : i.checks) {
    const auto& ignored = s.ignore_check_ids();
    if (std::find(ignored.begin(), ignored.end(), c.check_id()) != ignored.end()) continue;
    if (c.status() == "critical") return false;
    if (s.only_passing() && c.status() != "passing") return false;
  }
  return true;
}

bool tagsAccepted(const v1::ServiceQuery& s, const ServiceInstance& i) {
  std::set<std::string> have;
  for (const std::string& t : i.service.tags()) have.insert(lowercase(t));
  for (const std::string& tag : s.tags()) {
    std::string t = lowercase(tag);
    bool negated = t.starts_with('!');
    if (negated) t.erase(0, 1);
    if (have.contains(t) == negated) return false;
  }
  return true;
}

std::string nearNode(std::string_view requested, const v1::PreparedQuery& q,
                     std::string_view agent_node) {
  std::string near(requested.empty() ? q.service().near() : requested);
  if (near == "_agent") return std::string(agent_node);
  if (near == "_ip") return std::string();
  return near;
}

}  // namespace

bool isTemplate(const v1::PreparedQuery& query) { return !query.template_().type().empty(); }

std::optional<std::string> queryAclPrefix(const v1::PreparedQuery& query) {
  if (!query.name().empty() || isTemplate(query)) return query.name();
  return std::nullopt;
}

Status validatePreparedQuery(const v1::PreparedQuery& query) {
  if (query.name().empty() && !isTemplate(query) && query.session().empty()) {
    return invalidArgument("Must be bound to a session");
  }
  if (query.token() == kRedactedToken) {
    return invalidArgument("Bad Token '" + query.token() +
                           "', it looks like a query definition with a redacted token was "
                           "submitted");
  }
  CAIRN_RETURN_IF_ERROR(validateService(query.service()));
  CAIRN_RETURN_IF_ERROR(validateDnsTtl(query.dns_ttl()));
  if (!isTemplate(query)) return Status::ok();
  if (query.template_().type() != kTemplateNamePrefixMatch) {
    return invalidArgument("Bad Type '" + query.template_().type() + "'");
  }
  if (!query.template_().regexp().empty()) {
    auto re = compileRegexp(query.template_().regexp());
    if (!re.isOk()) return re.status();
  }
  // Consul compiles the template by rendering it once with its own name.
  auto rendered = renderPreparedQuery(query, query.name());
  if (!rendered.isOk()) {
    return invalidArgument("Failed compiling template: " + rendered.status().message());
  }
  return Status::ok();
}

StatusOr<std::string> interpolate(std::string_view text, const TemplateVars& vars) {
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    if (text.substr(i, 3) == "$${") {
      out += "${";
      i += 3;
      continue;
    }
    if (text.substr(i, 2) != "${") {
      out += text[i++];
      continue;
    }
    size_t end = text.find('}', i + 2);
    if (end == std::string_view::npos) {
      return invalidArgument("unterminated ${ at byte " + std::to_string(i));
    }
    auto value = evaluate(trim(text.substr(i + 2, end - i - 2)), vars);
    if (!value.isOk()) return value.status();
    out += *value;
    i = end + 1;
  }
  return out;
}

StatusOr<v1::PreparedQuery> renderPreparedQuery(const v1::PreparedQuery& query,
                                                std::string_view name) {
  if (!isTemplate(query)) return query;
  TemplateVars vars;
  vars.full = std::string(name);
  vars.prefix = query.name();
  vars.suffix = name.size() >= query.name().size() ? std::string(name.substr(query.name().size()))
                                                   : std::string();
  if (!query.template_().regexp().empty()) {
    auto re = compileRegexp(query.template_().regexp());
    if (!re.isOk()) return re.status();
    vars.matches = submatches(**re, name);
  }
  v1::PreparedQuery out = query;
  CAIRN_RETURN_IF_ERROR(interpolateQuery(out, vars));
  if (query.template_().remove_empty_tags()) {
    auto* tags = out.mutable_service()->mutable_tags();
    tags->erase(std::remove(tags->begin(), tags->end(), std::string()), tags->end());
  }
  return out;
}

bool queryAccepts(const v1::ServiceQuery& service, const ServiceInstance& instance) {
  return healthAccepted(service, instance) &&
         metaMatches(service.node_meta(), instance.node.meta()) &&
         metaMatches(service.service_meta(), instance.service.meta()) &&
         tagsAccepted(service, instance);
}

StatusOr<QueryExecution> executePreparedQuery(const StateStore& store, std::string_view id_or_name,
                                              std::string_view near, std::string_view agent_node) {
  QueryRead found = store.resolvePreparedQuery(id_or_name);
  if (!found.query) return notFound(std::string(kQueryNotFound));
  auto rendered = renderPreparedQuery(*found.query, id_or_name);
  if (!rendered.isOk()) return rendered.status();
  QueryExecution out;
  out.query = std::move(*rendered);
  ServiceInstances all = store.serviceInstances(out.query.service().service(), true);
  for (ServiceInstance& i : all.instances) {
    if (queryAccepts(out.query.service(), i)) out.instances.push_back(std::move(i));
  }
  out.near_node = nearNode(near, out.query, agent_node);
  out.index = all.index;
  return out;
}

}  // namespace cairn::store
