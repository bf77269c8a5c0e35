// `cairn acl bootstrap`, `cairn acl token create|read|list|delete`, `cairn acl policy
// create|read|list|delete`: consul acl's flags and its pretty output (or -format=json, the API's
// JSON as it came). Tokens come from -token / CONSUL_HTTP_TOKEN like every command.
#define _TURN_OFF_PLATFORM_STRING
#include <cpprest/json.h>

#include <iostream>

#include "agent/cli/commands.h"

namespace cairn::cli {
namespace {

using JsonValue = web::json::value;

constexpr char kAclUsage[] = R"(Usage: cairn acl <subcommand> [options] [args]

  This command has subcommands for interacting with Cairn's ACLs (see
  docs/security.md). Here are some simple examples:

      $ cairn acl bootstrap
      $ cairn acl policy create -name kv-app -rules 'key_prefix "app/" { policy = "write" }'
      $ cairn acl token create -description app -policy-name kv-app
      $ cairn acl token read -self

Subcommands:
    bootstrap    Bootstrap Cairn's ACL system
    policy       Manage ACL policies
    token        Manage ACL tokens
)";

constexpr char kTokenUsage[] = R"(Usage: cairn acl token <subcommand> [options]

Subcommands:
    create    Create an ACL token
    delete    Delete an ACL token
    list      List ACL tokens
    read      Read an ACL token
)";

constexpr char kPolicyUsage[] = R"(Usage: cairn acl policy <subcommand> [options]

Subcommands:
    create    Create an ACL policy
    delete    Delete an ACL policy
    list      List ACL policies
    read      Read an ACL policy
)";

std::string str(const JsonValue& v, const char* name) {
  if (!v.is_object() || !v.has_field(name) || !v.at(name).is_string()) return "";
  return v.at(name).as_string();
}

bool flag(const JsonValue& v, const char* name) {
  return v.is_object() && v.has_field(name) && v.at(name).is_boolean() && v.at(name).as_bool();
}

void printLinks(std::ostream& out, const JsonValue& v, const char* field, const char* title) {
  if (!v.has_field(field) || !v.at(field).is_array()) return;
  out << title << ":\n";
  for (const auto& link : v.at(field).as_array()) {
    out << "   " << str(link, "ID") << " - " << str(link, "Name") << "\n";
  }
}

void printToken(std::ostream& out, const JsonValue& t) {
  out << "AccessorID:       " << str(t, "AccessorID") << "\n";
  out << "SecretID:         " << str(t, "SecretID") << "\n";
  out << "Description:      " << str(t, "Description") << "\n";
  out << "Local:            " << (flag(t, "Local") ? "true" : "false") << "\n";
  out << "Create Time:      " << str(t, "CreateTime") << "\n";
  if (!str(t, "ExpirationTime").empty()) {
    out << "Expiration Time:  " << str(t, "ExpirationTime") << "\n";
  }
  printLinks(out, t, "Policies", "Policies");
  printLinks(out, t, "Roles", "Roles");
}

void printPolicy(std::ostream& out, const JsonValue& p) {
  out << "ID:           " << str(p, "ID") << "\n";
  out << "Name:         " << str(p, "Name") << "\n";
  out << "Description:  " << str(p, "Description") << "\n";
  std::string dcs;
  if (p.has_field("Datacenters") && p.at("Datacenters").is_array()) {
    for (const auto& dc : p.at("Datacenters").as_array()) {
      if (dc.is_string()) dcs += (dcs.empty() ? "" : ", ") + dc.as_string();
    }
  }
  out << "Datacenters:  " << dcs << "\n";
  out << "Rules:\n" << str(p, "Rules") << "\n";
}

struct Common {
  HttpOptions http;
  std::string format = "pretty";
};

void addCommon(FlagSet& fs, Common& c) {
  addHttpFlags(fs, &c.http);
  fs.addString("format", &c.format, "Output format: pretty or json.");
}

// Sends one request; prints `what` and the agent's answer on failure. The parsed JSON answer
// (null for an empty body) on success.
std::optional<JsonValue> call(const Common& c, CliIo& io, const std::string& method,
                              const std::string& path, const std::string& body,
                              const std::string& what) {
  auto api = connectApi(c.http, io);
  if (!api) return std::nullopt;
  auto response = api->send(method, path, {}, body, method == "GET");
  if (!response.isOk()) {
    io.err << what << ": " << response.status().message() << "\n";
    return std::nullopt;
  }
  if (response->status != 200) {
    io.err << what << ": " << unexpectedResponse(*response).message() << "\n";
    return std::nullopt;
  }
  try {
    return response->body.empty() ? JsonValue::null() : JsonValue::parse(response->body);
  } catch (const std::exception& e) {
    io.err << what << ": the agent's answer is not JSON: " << e.what() << "\n";
    return std::nullopt;
  }
}

int show(const Common& c, CliIo& io, const JsonValue& v,
         void (*pretty)(std::ostream&, const JsonValue&)) {
  if (c.format == "json") {
    io.out << v.serialize() << "\n";
  } else if (v.is_array()) {
    bool first = true;
    for (const auto& item : v.as_array()) {
      if (!first) io.out << "\n";
      first = false;
      pretty(io.out, item);
    }
  } else {
    pretty(io.out, v);
  }
  return 0;
}

std::optional<int> checkFormat(const Common& c, CliIo& io) {
  if (c.format == "pretty" || c.format == "json") return std::nullopt;
  io.err << "Invalid value for -format: " << c.format << " (expected pretty or json)\n";
  return 1;
}

JsonValue links(const std::vector<std::string>& ids, const std::vector<std::string>& names) {
  JsonValue out = JsonValue::array();
  size_t n = 0;
  for (const auto& id : ids) out[n++]["ID"] = JsonValue::string(id);
  for (const auto& name : names) out[n++]["Name"] = JsonValue::string(name);
  return out;
}

int bootstrap(const std::vector<std::string>& args, CliIo& io) {
  FlagSet fs;
  Common c;
  addCommon(fs, c);
  if (auto code = parseFlags(fs, args,
                             commandHelp("Usage: cairn acl bootstrap [options]\n\n"
                                         "  Bootstraps the ACL system and prints the "
                                         "management token it made.\n",
                                         fs),
                             io)) {
    return *code;
  }
  if (auto code = checkFormat(c, io)) return *code;
  auto v = call(c, io, "PUT", "/v1/acl/bootstrap", "", "Failed ACL bootstrapping");
  if (!v) return 1;
  return show(c, io, *v, printToken);
}

int tokenCreate(const std::vector<std::string>& args, CliIo& io) {
  FlagSet fs;
  Common c;
  std::string description, accessor, secret, ttl;
  std::vector<std::string> policy_ids, policy_names, role_ids, role_names;
  bool local = false;
  addCommon(fs, c);
  fs.addString("description", &description, "A description of the token.");
  fs.addStringList("policy-id", &policy_ids, "ID of a policy to give the token (repeatable).");
  fs.addStringList("policy-name", &policy_names, "Name of a policy (repeatable).");
  fs.addStringList("role-id", &role_ids, "ID of a role to give the token (repeatable).");
  fs.addStringList("role-name", &role_names, "Name of a role (repeatable).");
  fs.addBool("local", &local, "Create a local token.");
  fs.addString("expires-ttl", &ttl, "Duration until the token expires (e.g. 1h).");
  fs.addString("accessor", &accessor, "The token's AccessorID (default: a random UUID).");
  fs.addString("secret", &secret, "The token's SecretID (default: a random UUID).");
  if (auto code =
          parseFlags(fs, args, commandHelp("Usage: cairn acl token create [options]\n", fs), io)) {
    return *code;
  }
  if (auto code = checkFormat(c, io)) return *code;
  JsonValue body = JsonValue::object();
  body["Description"] = JsonValue::string(description);
  body["Policies"] = links(policy_ids, policy_names);
  body["Roles"] = links(role_ids, role_names);
  body["Local"] = JsonValue::boolean(local);
  if (!ttl.empty()) body["ExpirationTTL"] = JsonValue::string(ttl);
  if (!accessor.empty()) body["AccessorID"] = JsonValue::string(accessor);
  if (!secret.empty()) body["SecretID"] = JsonValue::string(secret);
  auto v = call(c, io, "PUT", "/v1/acl/token", body.serialize(), "Failed to create new token");
  if (!v) return 1;
  return show(c, io, *v, printToken);
}

int tokenRead(const std::vector<std::string>& args, CliIo& io) {
  FlagSet fs;
  Common c;
  std::string id;
  bool self = false;
  addCommon(fs, c);
  fs.addString("id", &id, "The AccessorID of the token to read.");
  fs.addBool("self", &self, "Read the token given with -token (or CONSUL_HTTP_TOKEN).");
  if (auto code =
          parseFlags(fs, args, commandHelp("Usage: cairn acl token read [options]\n", fs), io)) {
    return *code;
  }
  if (auto code = checkFormat(c, io)) return *code;
  if (id.empty() && !self) {
    io.err << "Must specify the -id parameter\n";
    return 1;
  }
  auto v = call(c, io, "GET", self ? "/v1/acl/token/self" : "/v1/acl/token/" + id, "",
                "Error reading token");
  if (!v) return 1;
  return show(c, io, *v, printToken);
}

int tokenList(const std::vector<std::string>& args, CliIo& io) {
  FlagSet fs;
  Common c;
  addCommon(fs, c);
  if (auto code =
          parseFlags(fs, args, commandHelp("Usage: cairn acl token list [options]\n", fs), io)) {
    return *code;
  }
  if (auto code = checkFormat(c, io)) return *code;
  auto v = call(c, io, "GET", "/v1/acl/tokens", "", "Failed to retrieve the token list");
  if (!v) return 1;
  return show(c, io, *v, printToken);
}

int tokenDelete(const std::vector<std::string>& args, CliIo& io) {
  FlagSet fs;
  Common c;
  std::string id;
  addCommon(fs, c);
  fs.addString("id", &id, "The AccessorID of the token to delete.");
  if (auto code =
          parseFlags(fs, args, commandHelp("Usage: cairn acl token delete [options]\n", fs), io)) {
    return *code;
  }
  if (id.empty()) {
    io.err << "Must specify the -id parameter\n";
    return 1;
  }
  if (!call(c, io, "DELETE", "/v1/acl/token/" + id, "", "Error deleting token \"" + id + "\"")) {
    return 1;
  }
  io.out << "Token \"" << id << "\" deleted successfully\n";
  return 0;
}

int policyCreate(const std::vector<std::string>& args, CliIo& io) {
  FlagSet fs;
  Common c;
  std::string name, description, rules;
  std::vector<std::string> datacenters;
  addCommon(fs, c);
  fs.addString("name", &name, "The new policy's name (required).");
  fs.addString("description", &description, "A description of the policy.");
  fs.addString("rules", &rules, "The rules (HCL or JSON); @file reads a file, - reads stdin.");
  fs.addStringList("valid-datacenter", &datacenters, "A datacenter the policy is valid in.");
  if (auto code =
          parseFlags(fs, args, commandHelp("Usage: cairn acl policy create [options]\n", fs), io)) {
    return *code;
  }
  if (auto code = checkFormat(c, io)) return *code;
  if (name.empty()) {
    io.err << "Missing required '-name' flag\n";
    return 1;
  }
  auto text = loadDataSource(rules, io.in);
  if (!text.isOk()) {
    io.err << "Error loading the rules: " << text.status().message() << "\n";
    return 1;
  }
  JsonValue body = JsonValue::object();
  body["Name"] = JsonValue::string(name);
  body["Description"] = JsonValue::string(description);
  body["Rules"] = JsonValue::string(*text);
  JsonValue dcs = JsonValue::array();
  for (size_t i = 0; i < datacenters.size(); ++i) dcs[i] = JsonValue::string(datacenters[i]);
  body["Datacenters"] = dcs;
  auto v = call(c, io, "PUT", "/v1/acl/policy", body.serialize(), "Failed to create new policy");
  if (!v) return 1;
  return show(c, io, *v, printPolicy);
}

// -id or -name: the policy's path.
std::optional<std::string> policyPath(const std::string& id, const std::string& name, CliIo& io) {
  if (!id.empty()) return "/v1/acl/policy/" + id;
  if (!name.empty()) return "/v1/acl/policy/name/" + name;
  io.err << "Must specify either the -id or -name parameters\n";
  return std::nullopt;
}

int policyRead(const std::vector<std::string>& args, CliIo& io) {
  FlagSet fs;
  Common c;
  std::string id, name;
  addCommon(fs, c);
  fs.addString("id", &id, "The ID of the policy to read.");
  fs.addString("name", &name, "The name of the policy to read.");
  if (auto code =
          parseFlags(fs, args, commandHelp("Usage: cairn acl policy read [options]\n", fs), io)) {
    return *code;
  }
  if (auto code = checkFormat(c, io)) return *code;
  auto path = policyPath(id, name, io);
  if (!path) return 1;
  auto v = call(c, io, "GET", *path, "", "Error reading policy");
  if (!v) return 1;
  return show(c, io, *v, printPolicy);
}

void printPolicyStub(std::ostream& out, const JsonValue& p) {
  out << str(p, "Name") << ":\n";
  out << "   ID:           " << str(p, "ID") << "\n";
  out << "   Description:  " << str(p, "Description") << "\n";
}

int policyList(const std::vector<std::string>& args, CliIo& io) {
  FlagSet fs;
  Common c;
  addCommon(fs, c);
  if (auto code =
          parseFlags(fs, args, commandHelp("Usage: cairn acl policy list [options]\n", fs), io)) {
    return *code;
  }
  if (auto code = checkFormat(c, io)) return *code;
  auto v = call(c, io, "GET", "/v1/acl/policies", "", "Failed to retrieve the policy list");
  if (!v) return 1;
  return show(c, io, *v, printPolicyStub);
}

int policyDelete(const std::vector<std::string>& args, CliIo& io) {
  FlagSet fs;
  Common c;
  std::string id, name;
  addCommon(fs, c);
  fs.addString("id", &id, "The ID of the policy to delete.");
  fs.addString("name", &name, "The name of the policy to delete.");
  if (auto code =
          parseFlags(fs, args, commandHelp("Usage: cairn acl policy delete [options]\n", fs), io)) {
    return *code;
  }
  if (id.empty() && !name.empty()) {
    auto v = call(c, io, "GET", "/v1/acl/policy/name/" + name, "", "Error finding policy");
    if (!v) return 1;
    id = str(*v, "ID");
  }
  if (id.empty()) {
    io.err << "Must specify either the -id or -name parameters\n";
    return 1;
  }
  if (!call(c, io, "DELETE", "/v1/acl/policy/" + id, "", "Error deleting policy \"" + id + "\"")) {
    return 1;
  }
  io.out << "Policy \"" << id << "\" deleted successfully\n";
  return 0;
}

int token(const std::vector<std::string>& args, CliIo& io) {
  return dispatchSubcommand(
      "acl token", kTokenUsage,
      {{"create", tokenCreate}, {"read", tokenRead}, {"list", tokenList}, {"delete", tokenDelete}},
      args, io);
}

int policy(const std::vector<std::string>& args, CliIo& io) {
  return dispatchSubcommand("acl policy", kPolicyUsage,
                            {{"create", policyCreate},
                             {"read", policyRead},
                             {"list", policyList},
                             {"delete", policyDelete}},
                            args, io);
}

}  // namespace

int runAcl(const std::vector<std::string>& args, CliIo& io) {
  return dispatchSubcommand(
      "acl", kAclUsage, {{"bootstrap", bootstrap}, {"token", token}, {"policy", policy}}, args, io);
}

}  // namespace cairn::cli
