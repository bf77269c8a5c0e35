#include "core/acl/rules.h"

#include <optional>

#include "core/hcl/hcl.h"

namespace cairn::acl {

const char* resourceName(Resource resource) {
  switch (resource) {
    case Resource::kAcl:
      return "acl";
    case Resource::kAgent:
      return "agent";
    case Resource::kEvent:
      return "event";
    case Resource::kKey:
      return "key";
    case Resource::kKeyring:
      return "keyring";
    case Resource::kMesh:
      return "mesh";
    case Resource::kNode:
      return "node";
    case Resource::kOperator:
      return "operator";
    case Resource::kPeering:
      return "peering";
    case Resource::kQuery:
      return "query";
    case Resource::kService:
      return "service";
    case Resource::kSession:
      return "session";
  }
  return "unknown";
}

const char* accessName(Access access) {
  switch (access) {
    case Access::kNone:
      return "none";
    case Access::kDeny:
      return "deny";
    case Access::kRead:
      return "read";
    case Access::kList:
      return "list";
    case Access::kWrite:
      return "write";
  }
  return "none";
}

namespace {

constexpr Resource kNamed[] = {Resource::kKey,     Resource::kService, Resource::kNode,
                               Resource::kSession, Resource::kEvent,   Resource::kAgent,
                               Resource::kQuery};
constexpr Resource kGlobal[] = {Resource::kAcl, Resource::kOperator, Resource::kKeyring,
                                Resource::kMesh, Resource::kPeering};

std::optional<Access> accessFromText(std::string_view text, bool list_allowed) {
  if (text == "read") return Access::kRead;
  if (text == "write") return Access::kWrite;
  if (text == "deny") return Access::kDeny;
  if (text == "list" && list_allowed) return Access::kList;
  return std::nullopt;
}

class Decoder {
 public:
  explicit Decoder(std::string_view name) : name_(name) {}

  Status top(const hcl::Value& doc) {
    for (const hcl::Entry& entry : doc.entries) CAIRN_RETURN_IF_ERROR(topEntry(entry));
    return Status::ok();
  }

  Rules take() { return std::move(out_); }

 private:
  Status topEntry(const hcl::Entry& entry) {
    for (Resource r : kGlobal) {
      if (entry.key == resourceName(r)) return global(r, entry.value);
    }
    for (Resource r : kNamed) {
      std::string base = resourceName(r);
      if (entry.key == base) return named(r, false, entry.value);
      if (entry.key == base + "_prefix") return named(r, true, entry.value);
    }
    return hcl::errorAt(name_, entry.key_pos,
                        "expected a rule (key, key_prefix, service, service_prefix, node, "
                        "node_prefix, session, session_prefix, event, event_prefix, agent, "
                        "agent_prefix, query, query_prefix, acl, operator, keyring, mesh, "
                        "peering), found \"" +
                            entry.key + "\"");
  }

  StatusOr<Access> policyValue(Resource r, const hcl::Value& v, bool list_allowed) {
    std::string expected = std::string("expected ") + resourceName(r) +
                           " policy \"read\", \"write\", " + (list_allowed ? "\"list\", " : "") +
                           "or \"deny\"";
    if (v.kind != hcl::Kind::kString) {
      return hcl::errorAt(name_, v.pos, expected + ", found a " + hcl::kindName(v.kind));
    }
    auto access = accessFromText(v.text, list_allowed);
    if (!access) return hcl::errorAt(name_, v.pos, expected + ", found \"" + v.text + "\"");
    return *access;
  }

  // operator = "read"
  Status global(Resource r, const hcl::Value& v) {
    auto access = policyValue(r, v, false);
    if (!access.isOk()) return access.status();
    out_.rules.push_back(Rule{r, "", true, *access});
    return Status::ok();
  }

  // key_prefix "a/" { policy = "read" }, and its JSON and list forms.
  Status named(Resource r, bool prefix, const hcl::Value& v) {
    if (v.kind == hcl::Kind::kList) {
      for (const hcl::Value& item : v.items) CAIRN_RETURN_IF_ERROR(named(r, prefix, item));
      return Status::ok();
    }
    if (v.kind != hcl::Kind::kObject) {
      return hcl::errorAt(name_, v.pos,
                          std::string("expected a block of ") + resourceName(r) +
                              " rules (name { policy = ... }), found a " + hcl::kindName(v.kind));
    }
    for (const hcl::Entry& segment : v.entries) {
      CAIRN_RETURN_IF_ERROR(segmentRule(r, prefix, segment));
    }
    return Status::ok();
  }

  Status segmentRule(Resource r, bool prefix, const hcl::Entry& segment) {
    const hcl::Value& body = segment.value;
    if (body.kind != hcl::Kind::kObject) {
      return hcl::errorAt(name_, body.pos,
                          "expected { policy = ... } for " + std::string(resourceName(r)) + " \"" +
                              segment.key + "\", found a " + hcl::kindName(body.kind));
    }
    std::optional<Access> access;
    bool has_intentions = false;
    for (const hcl::Entry& field : body.entries) {
      if (field.key == "policy") {
        auto parsed = policyValue(r, field.value, r == Resource::kKey);
        if (!parsed.isOk()) return parsed.status();
        access = *parsed;
      } else if (field.key == "intentions" && r == Resource::kService) {
        // Intentions govern the service mesh, which Cairn does not have: validated, not used.
        auto parsed = policyValue(r, field.value, false);
        if (!parsed.isOk()) return parsed.status();
        has_intentions = true;
      } else {
        return hcl::errorAt(name_, field.key_pos,
                            std::string("expected \"policy\"") +
                                (r == Resource::kService ? " or \"intentions\"" : "") + " in " +
                                resourceName(r) + " \"" + segment.key + "\", found \"" + field.key +
                                "\"");
      }
    }
    if (!access) {
      if (has_intentions) return Status::ok();
      return hcl::errorAt(name_, body.pos,
                          std::string("expected policy = \"...\" in ") + resourceName(r) + " \"" +
                              segment.key + "\"");
    }
    out_.rules.push_back(Rule{r, segment.key, prefix, *access});
    return Status::ok();
  }

  std::string_view name_;
  Rules out_;
};

}  // namespace

StatusOr<Rules> parseRules(std::string_view text, std::string_view name) {
  auto doc = hcl::parse(text, name);
  if (!doc.isOk()) return doc.status();
  Decoder decoder(name);
  CAIRN_RETURN_IF_ERROR(decoder.top(*doc));
  return decoder.take();
}

}  // namespace cairn::acl
