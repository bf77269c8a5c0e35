#include "core/config/config_file.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <sstream>
#include <string_view>
#include <unordered_map>

#include "core/base/duration.h"
#include "core/base/go_encoding.h"
#include "core/config/consul_keys.h"
#include "core/config/hcl_config.h"
#include "core/config/json_config.h"
#include "core/config/yaml_config.h"

namespace cairn::config {
namespace {

namespace fs = std::filesystem;
using Kind = ConfigValue::Kind;

// What a file being applied needs besides the value: its name (errors, ignored keys, the
// origin of service definitions).
struct Context {
  const std::string& file;
  AgentConfig& config;
  std::vector<std::string> ignored;
};

// Applies one implemented key's value.
using Setter = std::function<Status(const ConfigValue&, Context&)>;

Status expected(const char* what, const ConfigValue& v) {
  if (!v.isScalar()) return invalidArgument(std::string("expected ") + what);
  return invalidArgument(std::string("expected ") + what + ", got " + goQuote(v.text()));
}

// Strings accept any scalar: YAML reads `node_name: 123` as a number.
Status read(const ConfigValue& v, std::string* out) {
  if (!v.isScalar()) return expected("a string", v);
  *out = v.text();
  return Status::ok();
}

Status read(const ConfigValue& v, bool* out) {
  if (v.kind() == Kind::kBool || (v.kind() == Kind::kString && parseGoBool(v.text(), out))) {
    if (v.kind() == Kind::kBool) *out = v.text() == "true";
    return Status::ok();
  }
  return expected("true or false", v);
}

Status read(const ConfigValue& v, int* out) {
  auto n = v.isScalar() ? parseGoInt(v.text()) : StatusOr<int64_t>(invalidArgument(""));
  if (!n.isOk() || *n < std::numeric_limits<int>::min() || *n > std::numeric_limits<int>::max()) {
    return expected("an integer", v);
  }
  *out = static_cast<int>(*n);
  return Status::ok();
}

Status read(const ConfigValue& v, uint64_t* out) {
  auto n = v.isScalar() ? parseGoUint(v.text()) : StatusOr<uint64_t>(invalidArgument(""));
  if (!n.isOk()) return expected("a non-negative integer", v);
  *out = *n;
  return Status::ok();
}

// Lists are appended to, so that several files can each add to retry_join.
Status read(const ConfigValue& v, std::vector<std::string>* out) {
  if (!v.isList()) return invalidArgument("expected a list of strings");
  for (const ConfigValue& item : v.items()) {
    if (!item.isScalar()) return invalidArgument("expected a list of strings");
    out->push_back(item.text());
  }
  return Status::ok();
}

Status read(const ConfigValue& v, std::map<std::string, std::string>* out) {
  if (!v.isMap()) return invalidArgument("expected a map of strings");
  for (const auto& [key, value] : v.members()) {
    if (!value.isScalar()) return invalidArgument("expected a map of strings");
    (*out)[key] = value.text();
  }
  return Status::ok();
}

template <typename T>
Setter field(T AgentConfig::*member) {
  return [member](const ConfigValue& v, Context& ctx) { return read(v, &(ctx.config.*member)); };
}

// A Go duration ("10s") stored as nanoseconds in `member`.
StatusOr<int64_t> readDuration(const ConfigValue& v) {
  auto d = v.isScalar() ? parseGoDuration(v.text()) : StatusOr<Nanos>(invalidArgument(""));
  if (!d.isOk() || d->count() < 0) return expected("a duration like \"10s\"", v);
  return d->count();
}

Setter duration(int64_t AgentConfig::*member) {
  return [member](const ConfigValue& v, Context& ctx) -> Status {
    auto ns = readDuration(v);
    if (!ns.isOk()) return ns.status();
    ctx.config.*member = *ns;
    return Status::ok();
  };
}

// A string that must be one of `allowed` (acl.default_policy, acl.down_policy).
Setter oneOf(std::string AgentConfig::*member, std::vector<std::string> allowed) {
  return [member, allowed](const ConfigValue& v, Context& ctx) -> Status {
    std::string value;
    CAIRN_RETURN_IF_ERROR(read(v, &value));
    if (std::find(allowed.begin(), allowed.end(), value) == allowed.end()) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + goQuote(a);
      return invalidArgument("expected one of " + list + ", got " + goQuote(value));
    }
    ctx.config.*member = std::move(value);
    return Status::ok();
  };
}

// dns_config.service_ttl: {"<service or prefix*>": "<duration>"}.
Status readServiceTtls(const ConfigValue& v, Context& ctx) {
  if (!v.isMap()) return expected("a map of service names to durations", v);
  std::map<std::string, int64_t> ttls;
  for (const auto& [name, ttl] : v.members()) {
    auto ns = readDuration(ttl);
    if (!ns.isOk()) return invalidArgument("\"" + name + "\": " + ns.status().message());
    ttls[name] = *ns;
  }
  ctx.config.dns_service_ttl_ns = std::move(ttls);
  return Status::ok();
}

// service/check (one object) or services/checks (a list of them), kept as JSON for the agent.
Setter definitions(std::vector<AgentConfig::Definition> AgentConfig::*member, bool list) {
  return [member, list](const ConfigValue& v, Context& ctx) -> Status {
    auto add = [&](const ConfigValue& item) -> Status {
      if (!item.isMap()) return invalidArgument("expected an object with the agent API's fields");
      (ctx.config.*member).push_back({ctx.file, item.pos(), item.toJson()});
      return Status::ok();
    };
    if (!list) return add(v);
    if (!v.isList()) return invalidArgument("expected a list of objects");
    for (const ConfigValue& item : v.items()) CAIRN_RETURN_IF_ERROR(add(item));
    return Status::ok();
  };
}

// Consul's deprecated start_join: addresses joined once at start; Cairn retries them as
// retry_join does (Consul 1.15+ maps start_join onto retry_join too).
Status readStartJoin(const ConfigValue& v, Context& ctx) { return read(v, &ctx.config.retry_join); }

// A key of Consul's tls block (or a legacy top-level one) stored at its canonical `path`, with
// the key it was written as; booleans are checked and kept as "true"/"false". tls_min_version
// takes Consul's names.
Setter tlsKey(std::string path, std::string written, bool boolean) {
  return [path, written, boolean](const ConfigValue& v, Context& ctx) -> Status {
    std::string value;
    if (boolean) {
      bool b = false;
      CAIRN_RETURN_IF_ERROR(read(v, &b));
      value = b ? "true" : "false";
    } else {
      CAIRN_RETURN_IF_ERROR(read(v, &value));
    }
    if (path.ends_with(".tls_min_version") && value != "TLSv1_0" && value != "TLSv1_1" &&
        value != "TLSv1_2" && value != "TLSv1_3") {
      return invalidArgument(
          "expected one of \"TLSv1_0\", \"TLSv1_1\", \"TLSv1_2\", "
          "\"TLSv1_3\", got " +
          goQuote(value));
    }
    ctx.config.tls[path] = AgentConfig::TlsKey{std::move(value), written};
    return Status::ok();
  };
}

void addTlsSetters(std::unordered_map<std::string_view, Setter>& table) {
  static const char* kFiles[] = {"ca_file", "cert_file", "key_file", "tls_min_version"};
  static const char* kBools[] = {"verify_incoming", "verify_outgoing", "verify_server_hostname"};
  // The paths must outlive the table (its keys are views): kept in a static list.
  static std::vector<std::string> paths;
  auto add = [&](const std::string& written, const std::string& path, bool boolean) {
    paths.push_back(written);
    table.emplace(paths.back(), tlsKey(path, written, boolean));
  };
  paths.reserve(64);
  for (const char* block : {"defaults", "internal_rpc", "https"}) {
    std::string prefix = std::string("tls.") + block + ".";
    for (const char* f : kFiles) add(prefix + f, prefix + f, false);
    for (const char* b : kBools) add(prefix + b, prefix + b, true);
  }
  // Consul's top-level keys from before the tls block (1.12).
  for (const char* f : kFiles) add(f, std::string("tls.defaults.") + f, false);
  for (const char* b : kBools) add(b, std::string("tls.defaults.") + b, true);
  add("verify_incoming_https", "tls.https.verify_incoming", true);
  add("verify_incoming_rpc", "tls.internal_rpc.verify_incoming", true);
}

// Recorded as given: without it the agent picks the default for its mode (agent_config.h).
Status readLeaveOnTerminate(const ConfigValue& v, Context& ctx) {
  CAIRN_RETURN_IF_ERROR(read(v, &ctx.config.leave_on_terminate));
  ctx.config.leave_on_terminate_given = true;
  return Status::ok();
}

// Every kImplemented (and kStored) key of consul_keys.cc, by path.
const std::unordered_map<std::string_view, Setter>& setters() {
  using C = AgentConfig;
  static const std::unordered_map<std::string_view, Setter> table = [] {
    std::unordered_map<std::string_view, Setter> t = {
        {"datacenter", field(&C::datacenter)},
        {"node_name", field(&C::node_name)},
        {"data_dir", field(&C::data_dir)},
        {"server", field(&C::server)},
        {"bootstrap", field(&C::bootstrap)},
        {"bootstrap_expect", field(&C::bootstrap_expect)},
        {"bind_addr", field(&C::bind_addr)},
        {"client_addr", field(&C::client_addr)},
        {"advertise_addr", field(&C::advertise_addr)},
        {"log_level", field(&C::log_level)},
        {"retry_join", field(&C::retry_join)},
        {"start_join", readStartJoin},
        {"pid_file", field(&C::pid_file)},
        {"leave_on_terminate", readLeaveOnTerminate},
        {"session_ttl_min", duration(&C::session_ttl_min_ns)},
        {"enable_script_checks", field(&C::enable_script_checks)},
        {"disable_remote_exec", field(&C::disable_remote_exec)},
        {"check_update_interval", duration(&C::check_update_interval_ns)},
        {"client_timeout", duration(&C::client_timeout_ns)},  // Cairn's own (docs/agent.md)
        {"domain", field(&C::dns_domain)},
        {"ui", field(&C::ui_enabled)},  // Consul's legacy top-level switch
        {"ui_config.enabled", field(&C::ui_enabled)},
        // ACLs (docs/security.md).
        {"acl.enabled", field(&C::acl_enabled)},
        {"acl.default_policy", oneOf(&C::acl_default_policy, {"allow", "deny"})},
        {"acl.down_policy",
         oneOf(&C::acl_down_policy, {"allow", "deny", "extend-cache", "async-cache"})},
        {"acl.enable_token_persistence", field(&C::acl_enable_token_persistence)},
        {"acl.tokens.initial_management", field(&C::acl_initial_management)},
        {"acl.tokens.master", field(&C::acl_initial_management)},  // Consul's name before 1.11
        {"acl.tokens.agent", field(&C::acl_agent_token)},
        {"acl.tokens.default", field(&C::acl_default_token)},
        {"acl.tokens.dns", field(&C::acl_dns_token)},
        {"node_meta", field(&C::node_meta)},
        {"recursors", field(&C::recursors)},
        {"service", definitions(&C::services, false)},
        {"services", definitions(&C::services, true)},
        {"check", definitions(&C::checks, false)},
        {"checks", definitions(&C::checks, true)},
        {"ports.http", field(&C::http_port)},
        {"ports.dns", field(&C::dns_port)},
        {"ports.server", field(&C::server_port)},
        {"ports.grpc", field(&C::grpc_port)},
        {"addresses.http", field(&C::http_addr)},
        {"addresses.dns", field(&C::dns_addr)},
        {"limits.kv_max_value_size", field(&C::kv_max_value_size)},
        {"limits.txn_max_req_len", field(&C::txn_max_req_len)},
        {"dns_config.node_ttl", duration(&C::dns_node_ttl_ns)},
        {"dns_config.service_ttl", readServiceTtls},
        {"dns_config.udp_answer_limit", field(&C::dns_udp_answer_limit)},
        {"dns_config.only_passing", field(&C::dns_only_passing)},
        {"dns_config.enable_truncate", field(&C::dns_enable_truncate)},
        {"ports.https", field(&C::https_port)},
        {"addresses.https", field(&C::https_addr)},
    };
    addTlsSetters(t);
    return t;
  }();
  return table;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  return s;
}

std::string at(const std::string& file, ConfigPos pos) {
  return "config file " + file + ":" + std::to_string(pos.line) + ":" + std::to_string(pos.col);
}

// Walks the members of `map` (the block at `prefix`) against the key table.
Status applyMap(const ConfigValue& map, const std::string& prefix, Context& ctx) {
  for (const auto& [name, value] : map.members()) {
    // Consul's decoder matches key names case-insensitively.
    std::string path = prefix + lower(name);
    const ConsulKey* key = findConsulKey(path);
    if (key == nullptr) {
      return invalidArgument(at(ctx.file, value.pos()) + ": unknown key \"" + prefix + name +
                             "\" (not a Consul agent configuration key)");
    }
    if (value.isNull()) continue;  // `"acl": null` sets nothing, as in Consul
    if (key->kind == KeyKind::kBlock) {
      if (!value.isMap()) {
        return invalidArgument(at(ctx.file, value.pos()) + ": key \"" + path +
                               "\": expected a map");
      }
      CAIRN_RETURN_IF_ERROR(applyMap(value, path + ".", ctx));
      continue;
    }
    if (key->support == Support::kNoop) continue;
    if (key->support == Support::kIgnored || key->support == Support::kStored) {
      ctx.ignored.push_back(path);
      if (key->support == Support::kIgnored) continue;
    }
    auto setter = setters().find(key->path);
    if (setter == setters().end()) continue;  // config_keys_test keeps the two in step
    if (Status s = setter->second(value, ctx); !s.isOk()) {
      return invalidArgument(at(ctx.file, value.pos()) + ": key \"" + path + "\": " + s.message());
    }
  }
  return Status::ok();
}

std::string extensionOf(const std::string& path) {
  return lower(fs::path(path).extension().string());
}

bool isConfigExtension(const std::string& ext) {
  return ext == ".hcl" || ext == ".json" || ext == ".yaml" || ext == ".yml";
}

}  // namespace

Status applyConfigTree(const ConfigValue& root, const std::string& file, AgentConfig& config) {
  if (!root.isMap()) return invalidArgument(at(file, root.pos()) + ": expected a map of keys");
  AgentConfig updated = config;
  Context ctx{file, updated, {}};
  CAIRN_RETURN_IF_ERROR(applyMap(root, "", ctx));
  if (!ctx.ignored.empty()) {
    std::sort(ctx.ignored.begin(), ctx.ignored.end());
    updated.ignored_keys.push_back({file, std::move(ctx.ignored)});
  }
  config = std::move(updated);
  return Status::ok();
}

Status applyConfigText(const std::string& text, const std::string& origin, AgentConfig& config) {
  auto root = parseYamlConfig(text, origin);
  if (!root.isOk()) return invalidArgument("config file " + root.status().message());
  return applyConfigTree(*root, origin, config);
}

Status applyConfigFile(const std::string& path, AgentConfig& config) {
  std::string origin = "config file " + path;
  std::string ext = extensionOf(path);
  if (!isConfigExtension(ext)) {
    return invalidArgument(origin +
                           ": unknown format: the name must end in .hcl, .json, .yaml or .yml");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return invalidArgument(origin + ": " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return invalidArgument(origin + ": read error");
  auto root = ext == ".json"  ? parseStrictJson(text.str(), path)
              : ext == ".hcl" ? parseHclConfig(text.str(), path)
                              : parseYamlConfig(text.str(), path);
  if (!root.isOk()) return invalidArgument("config file " + root.status().message());
  return applyConfigTree(*root, path, config);
}

StatusOr<std::vector<std::string>> listConfigDir(const std::string& dir) {
  std::error_code ec;
  std::vector<std::string> files;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    if (isConfigExtension(extensionOf(it->path().string()))) files.push_back(it->path().string());
  }
  if (ec) return invalidArgument("config dir " + dir + ": " + ec.message());
  std::sort(files.begin(), files.end());
  return files;
}

std::string ignoredKeysWarning(const AgentConfig& config) {
  if (config.ignored_keys.empty()) return "";
  std::string out = "config: ignoring keys Cairn does not implement:";
  const char* sep = " ";
  for (const auto& group : config.ignored_keys) {
    out += sep;
    for (size_t i = 0; i < group.keys.size(); ++i) out += (i ? ", " : "") + group.keys[i];
    out += " (file " + fs::path(group.file).filename().string() + ")";
    sep = "; ";
  }
  return out;
}

std::vector<std::string> implementedKeyPaths() {
  std::vector<std::string> out;
  for (const auto& entry : setters()) out.emplace_back(entry.first);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace cairn::config
