#include "core/config/config_file.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <sstream>
#include <string_view>

#include "core/base/duration.h"
#include "core/base/go_encoding.h"
#include "core/config/flag_set.h"

namespace cairn::config {
namespace {

namespace fs = std::filesystem;
// Applies one key's value; `path` is the key's dotted name for error messages.
using Setter = std::function<Status(const YAML::Node&, const std::string& path, AgentConfig&)>;
struct Key {
  std::string_view name;
  Setter set;
};

Status keyError(const std::string& path, const Status& s) {
  if (s.isOk()) return s;
  return invalidArgument("key \"" + path + "\": " + s.message());
}

Status expected(const char* what, const YAML::Node& n) {
  if (!n.IsScalar()) return invalidArgument(std::string("expected ") + what);
  return invalidArgument(std::string("expected ") + what + ", got " + goQuote(n.Scalar()));
}

Status read(const YAML::Node& n, std::string* out) {
  if (!n.IsScalar()) return expected("a string", n);
  *out = n.Scalar();
  return Status::ok();
}

Status read(const YAML::Node& n, bool* out) {
  if (!n.IsScalar() || !YAML::convert<bool>::decode(n, *out)) return expected("true or false", n);
  return Status::ok();
}

Status read(const YAML::Node& n, int* out) {
  auto v = n.IsScalar() ? parseGoInt(n.Scalar()) : StatusOr<int64_t>(invalidArgument(""));
  if (!v.isOk() || *v < std::numeric_limits<int>::min() || *v > std::numeric_limits<int>::max()) {
    return expected("an integer", n);
  }
  *out = static_cast<int>(*v);
  return Status::ok();
}

Status read(const YAML::Node& n, uint64_t* out) {
  auto v = n.IsScalar() ? parseGoUint(n.Scalar()) : StatusOr<uint64_t>(invalidArgument(""));
  if (!v.isOk()) return expected("a non-negative integer", n);
  *out = *v;
  return Status::ok();
}

Status read(const YAML::Node& n, std::vector<std::string>* out) {
  if (!n.IsSequence()) return invalidArgument("expected a list of strings");
  for (const YAML::Node& item : n) {
    if (!item.IsScalar()) return invalidArgument("expected a list of strings");
    out->push_back(item.Scalar());
  }
  return Status::ok();
}

template <typename T>
Setter field(T AgentConfig::*member) {
  return [member](const YAML::Node& n, const std::string& path, AgentConfig& c) {
    return keyError(path, read(n, &(c.*member)));
  };
}

// A Go duration ("10s") stored as nanoseconds in `member`.
Setter duration(int64_t AgentConfig::*member) {
  return [member](const YAML::Node& n, const std::string& path, AgentConfig& c) -> Status {
    auto d = n.IsScalar() ? parseGoDuration(n.Scalar()) : StatusOr<Nanos>(invalidArgument(""));
    if (!d.isOk() || d->count() < 0) {
      return keyError(path, expected("a duration like \"10s\"", n));
    }
    c.*member = d->count();
    return Status::ok();
  };
}

Status applyMap(const YAML::Node& map, const std::vector<Key>& keys, const std::string& prefix,
                AgentConfig& c);

Setter nested(const std::vector<Key>* keys) {
  return [keys](const YAML::Node& n, const std::string& path, AgentConfig& c) {
    if (!n.IsMap()) return keyError(path, invalidArgument("expected a map"));
    return applyMap(n, *keys, path + ".", c);
  };
}

const std::vector<Key>& portKeys() {
  static const std::vector<Key> keys = {
      {"http", field(&AgentConfig::http_port)},
      {"dns", field(&AgentConfig::dns_port)},
      {"server", field(&AgentConfig::server_port)},
      {"grpc", field(&AgentConfig::grpc_port)},
  };
  return keys;
}

const std::vector<Key>& limitKeys() {
  static const std::vector<Key> keys = {
      {"kv_max_value_size", field(&AgentConfig::kv_max_value_size)},
      {"txn_max_req_len", field(&AgentConfig::txn_max_req_len)},
  };
  return keys;
}

// dns_config.service_ttl: {"<service or prefix*>": "<duration>"}.
Status readServiceTtls(const YAML::Node& n, const std::string& path, AgentConfig& c) {
  if (!n.IsMap()) return keyError(path, expected("a map of service names to durations", n));
  std::map<std::string, int64_t> ttls;
  for (const auto& entry : n) {
    auto d = entry.second.IsScalar() ? parseGoDuration(entry.second.Scalar())
                                     : StatusOr<Nanos>(invalidArgument(""));
    if (!entry.first.IsScalar() || !d.isOk() || d->count() < 0) {
      return keyError(path, expected("a map of service names to durations", n));
    }
    ttls[entry.first.Scalar()] = d->count();
  }
  c.dns_service_ttl_ns = std::move(ttls);
  return Status::ok();
}

// ui_config: Consul's block for its web UI; Cairn reads `enabled` (docs/ui.md).
const std::vector<Key>& uiKeys() {
  static const std::vector<Key> keys = {
      {"enabled", field(&AgentConfig::ui_enabled)},
  };
  return keys;
}

const std::vector<Key>& dnsKeys() {
  static const std::vector<Key> keys = {
      {"allow_stale",
       [](const YAML::Node&, const std::string&, AgentConfig&) {
         return Status::ok();  // DNS always answers from the local replica
       }},
      {"node_ttl", duration(&AgentConfig::dns_node_ttl_ns)},
      {"service_ttl", readServiceTtls},
      {"udp_answer_limit", field(&AgentConfig::dns_udp_answer_limit)},
      {"only_passing", field(&AgentConfig::dns_only_passing)},
      {"enable_truncate", field(&AgentConfig::dns_enable_truncate)},
  };
  return keys;
}

const std::vector<Key>& topKeys() {
  static const std::vector<Key> keys = {
      {"datacenter", field(&AgentConfig::datacenter)},
      {"node_name", field(&AgentConfig::node_name)},
      {"data_dir", field(&AgentConfig::data_dir)},
      {"server", field(&AgentConfig::server)},
      {"bootstrap", field(&AgentConfig::bootstrap)},
      {"bootstrap_expect", field(&AgentConfig::bootstrap_expect)},
      {"bind_addr", field(&AgentConfig::bind_addr)},
      {"client_addr", field(&AgentConfig::client_addr)},
      {"advertise_addr", field(&AgentConfig::advertise_addr)},
      {"ports", nested(&portKeys())},
      {"log_level", field(&AgentConfig::log_level)},
      {"retry_join", field(&AgentConfig::retry_join)},
      {"pid_file", field(&AgentConfig::pid_file)},
      {"leave_on_terminate", field(&AgentConfig::leave_on_terminate)},
      {"session_ttl_min", duration(&AgentConfig::session_ttl_min_ns)},
      {"enable_script_checks", field(&AgentConfig::enable_script_checks)},
      {"check_update_interval", duration(&AgentConfig::check_update_interval_ns)},
      {"client_timeout", duration(&AgentConfig::client_timeout_ns)},
      {"limits", nested(&limitKeys())},
      {"domain", field(&AgentConfig::dns_domain)},
      {"dns_config", nested(&dnsKeys())},
      {"ui_config", nested(&uiKeys())},
      {"ui", field(&AgentConfig::ui_enabled)},  // Consul's legacy top-level switch
  };
  return keys;
}

Status applyMap(const YAML::Node& map, const std::vector<Key>& keys, const std::string& prefix,
                AgentConfig& c) {
  for (const auto& entry : map) {
    std::string name = entry.first.IsScalar() ? entry.first.Scalar() : "<non-scalar key>";
    auto key = std::find_if(keys.begin(), keys.end(), [&](const Key& k) { return k.name == name; });
    if (key == keys.end()) return invalidArgument("unknown key \"" + prefix + name + "\"");
    CAIRN_RETURN_IF_ERROR(key->set(entry.second, prefix + name, c));
  }
  return Status::ok();
}

std::string extensionOf(const std::string& path) {
  std::string ext = fs::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  return ext;
}

}  // namespace

Status applyConfigText(const std::string& text, const std::string& origin, AgentConfig& config) {
  try {
    YAML::Node root = YAML::Load(text);
    if (root.IsNull()) return Status::ok();
    if (!root.IsMap()) return invalidArgument(origin + ": expected a map of config keys");
    AgentConfig updated = config;
    Status s = applyMap(root, topKeys(), "", updated);
    if (!s.isOk()) return invalidArgument(origin + ": " + s.message());
    config = std::move(updated);
    return Status::ok();
  } catch (const YAML::Exception& e) {
    return invalidArgument(origin + ": cannot parse: " + e.what());
  } catch (const std::exception& e) {
    return invalidArgument(origin + ": " + e.what());
  }
}

Status applyConfigFile(const std::string& path, AgentConfig& config) {
  std::string origin = "config file " + path;
  std::string ext = extensionOf(path);
  if (ext == ".hcl") {
    return invalidArgument(origin +
                           ": HCL config files are not supported; write it as JSON "
                           "(.json) or YAML (.yaml, .yml)");
  }
  if (ext != ".json" && ext != ".yaml" && ext != ".yml") {
    return invalidArgument(origin + ": unknown format: the name must end in .json, .yaml or .yml");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return invalidArgument(origin + ": " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return invalidArgument(origin + ": read error");
  return applyConfigText(text.str(), origin, config);
}

StatusOr<std::vector<std::string>> listConfigDir(const std::string& dir) {
  std::error_code ec;
  std::vector<std::string> files;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    std::string ext = extensionOf(it->path().string());
    if (ext == ".hcl") {
      return invalidArgument("config dir " + dir + ": " + it->path().filename().string() +
                             ": HCL config files are not supported; use JSON or YAML");
    }
    if (ext == ".json" || ext == ".yaml" || ext == ".yml") files.push_back(it->path().string());
  }
  if (ec) return invalidArgument("config dir " + dir + ": " + ec.message());
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace cairn::config
