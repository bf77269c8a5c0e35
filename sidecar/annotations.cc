#include "sidecar/annotations.h"

#include <algorithm>
#include <set>
#include <sstream>

#include "core/base/duration.h"
#include "core/base/go_encoding.h"

namespace cairn::sidecar {
namespace {

// Options that may be given for all services or per service ("<service>.<option>").
const std::set<std::string>& serviceOptions() {
  static const std::set<std::string> kOptions = {
      "service-port",   "service-tags",  "check-http",
      "check-tcp",      "check-grpc",    "check-ttl",
      "check-interval", "check-timeout", "deregister-critical-after"};
  return kOptions;
}

// Pod-level options, and the ones the injector owns (read by the webhook, not here).
const std::set<std::string>& podOptions() {
  static const std::set<std::string> kOptions = {"service-name", "service-names", "inject",
                                                 "injected", "sidecar-image"};
  return kOptions;
}

constexpr char kMetaPrefix[] = "service-meta-";

std::string trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

std::vector<std::string> splitList(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    item = trim(item);
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

// Consul accepts any service name, but DNS (<name>.service.consul) and tools need a DNS label.
bool validServiceName(const std::string& s) {
  if (s.empty() || s.size() > 63 || s.front() == '-' || s.back() == '-') return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
  });
}

// Consul's rules for meta keys: letters, digits, '-' and '_', at most 128 bytes, no "consul-".
bool validMetaKey(const std::string& k) {
  if (k.empty() || k.size() > 128 || k.rfind("consul-", 0) == 0) return false;
  return std::all_of(k.begin(), k.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
  });
}

// The annotations of one service: per-service values over shared ones.
class ServiceAnnotations {
 public:
  ServiceAnnotations(std::string service, const StringMap& shared, const StringMap& own)
      : service_(std::move(service)), shared_(shared), own_(own) {}
  // The value and the annotation it came from (for messages), or nullptr.
  const std::string* get(const std::string& option, std::string* from) const {
    if (auto it = own_.find(option); it != own_.end()) {
      *from = service_ + "." + it->first;
      return &it->second;
    }
    if (auto it = shared_.find(option); it != shared_.end()) {
      *from = it->first;
      return &it->second;
    }
    return nullptr;
  }
  StringMap meta() const {
    StringMap m;
    for (const StringMap* source : {&shared_, &own_}) {
      for (const auto& [k, v] : *source) {
        if (k.rfind(kMetaPrefix, 0) == 0) m[k.substr(sizeof kMetaPrefix - 1)] = v;
      }
    }
    return m;
  }

 private:
  std::string service_;
  const StringMap& shared_;
  const StringMap& own_;
};

struct Builder {
  const PodIdentity& pod;
  const std::map<std::string, int>& named_ports;
  std::vector<std::string>& problems;
  std::vector<std::string> service_problems;

  void problem(const std::string& name, const std::string& annotation, const std::string& what) {
    std::string line = std::string(kAnnotationPrefix) + annotation + ": " + what;
    problems.push_back("service " + goQuote(name) + ": " + line);
    service_problems.push_back(line);
  }

  int port(const std::string& name, const std::string* text, const std::string& from) {
    if (text == nullptr) return 0;
    auto n = parseGoInt(*text);
    if (n.isOk() && *n >= 1 && *n <= 65535) return static_cast<int>(*n);
    if (auto it = named_ports.find(*text); !n.isOk() && it != named_ports.end()) return it->second;
    problem(name, from,
            goQuote(*text) + " is neither a port number (1-65535) nor a named container port" +
                (named_ports.empty() ? " (CAIRN_CONTAINER_PORTS is empty)" : ""));
    return -1;
  }

  std::optional<Nanos> duration(const std::string& name, const std::string* text,
                                const std::string& from) {
    if (text == nullptr) return std::nullopt;
    auto d = parseGoDuration(*text);
    if (d.isOk() && d->count() > 0) return *d;
    problem(name, from, goQuote(*text) + " is not a positive duration (e.g. 10s, 1m)");
    return std::nullopt;
  }

  local::CheckRegistration check(const v1::CatalogService& svc, const std::string& kind) {
    local::CheckRegistration c;
    c.check.set_check_id(checkIdFor(svc.id(), kind));
    c.check.set_name("Service '" + svc.service() + "' " + kind + " check");
    c.check.set_service_id(svc.id());
    return c;
  }

  std::string hostPort(int p) const {
    std::string host = pod.ip.find(':') != std::string::npos ? "[" + pod.ip + "]" : pod.ip;
    return host + ":" + std::to_string(p);
  }

  void addTargetChecks(const ServiceAnnotations& a, const v1::CatalogService& svc,
                       std::vector<local::CheckRegistration>& checks) {
    const std::string& name = svc.service();
    std::string from;
    auto needPort = [&](const std::string& annotation) {
      if (svc.port() > 0) return true;
      problem(name, annotation, "needs a service port (cairn.io/service-port)");
      return false;
    };
    if (const std::string* path = a.get("check-http", &from)) {
      if (path->empty() || path->front() != '/') {
        problem(name, from, goQuote(*path) + " is not a path starting with /");
      } else if (needPort(from)) {
        auto c = check(svc, "http");
        c.definition.http = "http://" + hostPort(svc.port()) + *path;
        checks.push_back(std::move(c));
      }
    }
    if (const std::string* tcp = a.get("check-tcp", &from)) {
      bool on = false;
      if (!parseGoBool(*tcp, &on)) {
        problem(name, from, goQuote(*tcp) + " is not true or false");
      } else if (on && needPort(from)) {
        auto c = check(svc, "tcp");
        c.definition.tcp = hostPort(svc.port());
        checks.push_back(std::move(c));
      }
    }
    if (const std::string* grpc = a.get("check-grpc", &from)) {
      bool on = false;
      bool is_bool = parseGoBool(*grpc, &on);
      if (!is_bool && grpc->find_first_of(" /?#") != std::string::npos) {
        problem(name, from, goQuote(*grpc) + " is neither true/false nor a gRPC service name");
      } else if ((on || !is_bool) && needPort(from)) {
        auto c = check(svc, "grpc");
        c.definition.grpc = hostPort(svc.port()) + (is_bool ? "" : "/" + *grpc);
        checks.push_back(std::move(c));
      }
    }
    if (const std::string* ttl = a.get("check-ttl", &from)) {
      if (auto d = duration(name, ttl, from)) {
        auto c = check(svc, "ttl");
        c.definition.ttl = *d;
        checks.push_back(std::move(c));
      }
    }
  }

  void applyTiming(const ServiceAnnotations& a, const std::string& name,
                   std::vector<local::CheckRegistration>& checks) {
    std::string from;
    Nanos interval = *parseGoDuration(kDefaultCheckInterval);
    if (auto d = duration(name, a.get("check-interval", &from), from)) interval = *d;
    auto timeout = duration(name, a.get("check-timeout", &from), from);
    auto deregister = duration(name, a.get("deregister-critical-after", &from), from);
    for (auto& c : checks) {
      if (c.definition.kind() != health::CheckKind::kTtl) c.definition.interval = interval;
      if (timeout) c.definition.timeout = *timeout;
      if (deregister) c.definition.deregister_critical_service_after = *deregister;
    }
  }

  local::ServiceRegistration build(const std::string& name, const ServiceAnnotations& a) {
    service_problems.clear();
    local::ServiceRegistration r;
    v1::CatalogService& svc = r.service;
    svc.set_id(pod.name + "-" + name);
    svc.set_service(name);
    svc.set_address(pod.ip);
    std::string from;
    svc.set_port(std::max(0, port(name, a.get("service-port", &from), from)));
    if (const std::string* tags = a.get("service-tags", &from)) {
      for (const auto& t : splitList(*tags)) svc.add_tags(t);
    }
    auto& meta = *svc.mutable_meta();
    for (const auto& [k, v] : a.meta()) {
      if (!validMetaKey(k) || v.size() > 512) {
        problem(name, std::string(kMetaPrefix) + k,
                "meta keys are letters, digits, - and _ (at most 128, not consul-), values at "
                "most 512 bytes");
        continue;
      }
      meta[k] = v;
    }
    for (const auto& [k, v] : pod.meta()) meta[k] = v;  // the pod's identity wins
    addTargetChecks(a, svc, r.checks);
    applyTiming(a, name, r.checks);
    for (auto& c : r.checks) {
      if (Status s = c.definition.validate(); !s.isOk()) {
        problem(name, "check-" + std::string(health::checkKindName(c.definition.kind())),
                s.message());
      }
    }
    r.checks.erase(std::remove_if(r.checks.begin(), r.checks.end(),
                                  [](const auto& c) { return !c.definition.validate().isOk(); }),
                   r.checks.end());
    if (!service_problems.empty()) {
      auto c = check(svc, "annotations");
      c.check.set_name("Service '" + name + "' annotations");
      c.check.set_status("critical");
      std::string output = "cairn-sidecar cannot apply these annotations:";
      for (const auto& p : service_problems) output += "\n" + p;
      c.check.set_output(output);
      c.definition.initial_status = health::CheckStatus::kCritical;
      // The agent API accepts only checks that run; a TTL that never expires keeps this one
      // critical with its output until the annotations change.
      c.definition.ttl = std::chrono::hours(24 * 365 * 10);
      r.checks.push_back(std::move(c));
    }
    return r;
  }
};

// The service names, in the order given, or the default from the pod's labels.
std::vector<std::string> serviceNames(const PodIdentity& pod, const PodMetadata& meta,
                                      const StringMap& shared, std::vector<std::string>& problems) {
  std::vector<std::string> names;
  if (auto it = shared.find("service-names"); it != shared.end()) {
    names = splitList(it->second);
  } else if (auto one = shared.find("service-name"); one != shared.end()) {
    names = {trim(one->second)};
  } else if (auto app = meta.labels.find("app"); app != meta.labels.end()) {
    names = {app->second};
  } else if (auto k8s = meta.labels.find("app.kubernetes.io/name"); k8s != meta.labels.end()) {
    names = {k8s->second};
  } else {
    names = {pod.name};
  }
  std::vector<std::string> out;
  for (const auto& n : names) {
    if (!validServiceName(n)) {
      problems.push_back("service " + goQuote(n) +
                         ": not registered: a service name is 1-63 letters, digits and '-'");
    } else if (std::find(out.begin(), out.end(), n) != out.end()) {
      problems.push_back("service " + goQuote(n) + ": named twice; registered once");
    } else {
      out.push_back(n);
    }
  }
  return out;
}

}  // namespace

std::string checkIdFor(const std::string& service_id, const std::string& kind) {
  return "service:" + service_id + ":" + kind;
}

SidecarPlan planRegistrations(const PodIdentity& pod, const PodMetadata& metadata,
                              const std::map<std::string, int>& named_ports) {
  SidecarPlan plan;
  StringMap shared;                      // option -> value
  std::map<std::string, StringMap> own;  // service -> option -> value
  for (const auto& [key, value] : metadata.annotations) {
    if (key.rfind(kAnnotationPrefix, 0) != 0) continue;
    std::string option = key.substr(sizeof kAnnotationPrefix - 1);
    size_t dot = option.find('.');
    std::string base = dot == std::string::npos ? option : option.substr(dot + 1);
    bool known = serviceOptions().count(base) != 0 || base.rfind(kMetaPrefix, 0) == 0;
    if (dot == std::string::npos && (known || podOptions().count(option) != 0)) {
      shared[option] = value;
    } else if (dot != std::string::npos && dot > 0 && known) {
      own[option.substr(0, dot)][base] = value;
    } else {
      plan.problems.push_back("unknown annotation " + goQuote(key) + " ignored");
    }
  }
  std::vector<std::string> names = serviceNames(pod, metadata, shared, plan.problems);
  // With several services, service-port may list one port per service, in the same order.
  std::vector<std::string> ports;
  if (auto it = shared.find("service-port"); it != shared.end() && names.size() > 1) {
    ports = splitList(it->second);
    if (ports.size() > 1 && ports.size() != names.size()) {
      plan.problems.push_back("cairn.io/service-port lists " + std::to_string(ports.size()) +
                              " ports for " + std::to_string(names.size()) + " services");
    }
  }
  for (const auto& [svc, options] : own) {
    if (std::find(names.begin(), names.end(), svc) == names.end()) {
      plan.problems.push_back("annotations for service " + goQuote(svc) +
                              " ignored: it is not in cairn.io/service-names");
    }
  }
  Builder builder{pod, named_ports, plan.problems, {}};
  for (size_t i = 0; i < names.size(); ++i) {
    StringMap& mine = own[names[i]];
    if (ports.size() > 1 && i < ports.size() && mine.count("service-port") == 0) {
      mine["service-port"] = ports[i];
    }
    plan.services.push_back(builder.build(names[i], ServiceAnnotations(names[i], shared, mine)));
  }
  std::sort(plan.services.begin(), plan.services.end(),
            [](const auto& a, const auto& b) { return a.service.id() < b.service.id(); });
  return plan;
}

}  // namespace cairn::sidecar
