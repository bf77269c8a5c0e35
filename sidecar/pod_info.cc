#include "sidecar/pod_info.h"

#include <openssl/sha.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "core/base/go_encoding.h"

namespace cairn::sidecar {
namespace {

bool isDnsLabelChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

// Kubernetes object names are DNS-1123 subdomains; anything else did not come from the kubelet.
bool validObjectName(const std::string& s) {
  if (s.empty() || s.size() > 253) return false;
  for (char c : s) {
    if (!isDnsLabelChar(c)) return false;
  }
  return true;
}

StatusOr<std::string> readFileIfExists(const std::string& path, bool* exists) {
  std::ifstream in(path, std::ios::binary);
  *exists = static_cast<bool>(in);
  if (!in) return std::string();
  std::ostringstream data;
  data << in.rdbuf();
  if (in.bad()) return unavailable("cannot read " + path);
  return data.str();
}

std::string trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string_view::npos) return "";
  size_t e = s.find_last_not_of(" \t\r");
  return std::string(s.substr(b, e - b + 1));
}

}  // namespace

std::string PodIdentity::consulNodeName() const { return name + "-" + namespace_name; }

std::string PodIdentity::consulNodeId() const {
  std::string seed = "cairn-sidecar/" + namespace_name + "/" + name;
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(seed.data()), seed.size(), digest);
  digest[6] = static_cast<unsigned char>((digest[6] & 0x0F) | 0x50);  // version 5 (name-based)
  digest[8] = static_cast<unsigned char>((digest[8] & 0x3F) | 0x80);  // RFC 4122 variant
  char out[37];
  std::snprintf(out, sizeof out,
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", digest[0],
                digest[1], digest[2], digest[3], digest[4], digest[5], digest[6], digest[7],
                digest[8], digest[9], digest[10], digest[11], digest[12], digest[13], digest[14],
                digest[15]);
  return out;
}

StringMap PodIdentity::meta() const {
  StringMap m;
  m["k8s-namespace"] = namespace_name;
  m["pod-name"] = name;
  if (!uid.empty()) m["pod-uid"] = uid;
  if (!node_name.empty()) m["k8s-node"] = node_name;
  return m;
}

StatusOr<PodIdentity> podIdentityFromEnv(const EnvLookup& env) {
  PodIdentity pod;
  auto get = [&env](const char* name) { return env(name).value_or(""); };
  pod.name = get("POD_NAME");
  if (pod.name.empty()) return invalidArgument("POD_NAME is not set (downward API metadata.name)");
  if (!validObjectName(pod.name)) {
    return invalidArgument("POD_NAME " + goQuote(pod.name) + " is not a Kubernetes object name");
  }
  if (auto ns = get("POD_NAMESPACE"); !ns.empty()) pod.namespace_name = ns;
  if (!validObjectName(pod.namespace_name)) {
    return invalidArgument("POD_NAMESPACE " + goQuote(pod.namespace_name) +
                           " is not a Kubernetes namespace name");
  }
  pod.ip = get("POD_IP");
  if (pod.ip.empty()) return invalidArgument("POD_IP is not set (downward API status.podIP)");
  if (pod.ip.find_first_not_of("0123456789abcdefABCDEF.:") != std::string::npos) {
    return invalidArgument("POD_IP " + goQuote(pod.ip) + " is not an IP address");
  }
  pod.node_name = get("NODE_NAME");
  pod.uid = get("POD_UID");
  return pod;
}

StatusOr<StringMap> parseDownwardApiFile(std::string_view text) {
  StringMap out;
  int line_no = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++line_no;
    if (trim(line).empty()) continue;
    size_t eq = line.find('=');
    auto bad = [line_no](const std::string& why) {
      return invalidArgument("line " + std::to_string(line_no) + ": " + why);
    };
    if (eq == std::string_view::npos || eq == 0) return bad("expected key=\"value\"");
    auto value = goUnquote(trim(line.substr(eq + 1)));
    if (!value.isOk()) return bad("the value is not a quoted string");
    out[trim(line.substr(0, eq))] = std::move(*value);
  }
  return out;
}

StatusOr<PodMetadata> readPodInfoDir(const std::string& dir) {
  PodMetadata meta;
  for (auto [file, target] : {std::pair{"annotations", &meta.annotations},
                              std::pair{"labels", &meta.labels}}) {
    std::string path = dir + "/" + file;
    bool exists = false;
    auto text = readFileIfExists(path, &exists);
    if (!text.isOk()) return text.status();
    if (!exists) continue;
    auto parsed = parseDownwardApiFile(*text);
    if (!parsed.isOk()) return invalidArgument(path + ": " + parsed.status().message());
    *target = std::move(*parsed);
  }
  return meta;
}

StatusOr<std::map<std::string, int>> parseContainerPorts(std::string_view text) {
  std::map<std::string, int> ports;
  std::stringstream in{std::string(text)};
  std::string item;
  while (std::getline(in, item, ',')) {
    item = trim(item);
    if (item.empty()) continue;
    size_t eq = item.find('=');
    auto port = eq == std::string::npos ? StatusOr<int64_t>(invalidArgument(""))
                                        : parseGoInt(item.substr(eq + 1));
    if (eq == 0 || !port.isOk() || *port < 1 || *port > 65535) {
      return invalidArgument("CAIRN_CONTAINER_PORTS: " + goQuote(item) +
                             " is not name=port with a port in 1-65535");
    }
    ports[item.substr(0, eq)] = static_cast<int>(*port);
  }
  return ports;
}

}  // namespace cairn::sidecar
