#pragma once
// What a pod's `cairn.io/` annotations ask the sidecar to register: pure, no I/O, so every rule
// is a table test (tests/unit/sidecar). Annotations are untrusted input: a bad one is reported
// (a problem line for the log and, where it concerns a service, a critical check on that service
// whose output says what is wrong) and never stops the rest. docs/sidecar.md lists the rules.

#include <map>
#include <string>
#include <vector>

#include "core/local/registration.h"
#include "sidecar/pod_info.h"

namespace cairn::sidecar {

inline constexpr char kAnnotationPrefix[] = "cairn.io/";
inline constexpr char kDefaultCheckInterval[] = "10s";

struct SidecarPlan {
  // Sorted by service ID. IDs are "<pod>-<service>", so a restarted sidecar registers the same
  // instances again instead of new ones.
  std::vector<local::ServiceRegistration> services;
  std::vector<std::string> problems;  // one line each, naming the annotation
};

// The check IDs of a service instance: "service:<service-id>:<kind>" with kind http, tcp, grpc,
// ttl or annotations (the critical check that reports bad annotations).
std::string checkIdFor(const std::string& service_id, const std::string& kind);

// Builds the registrations for `pod` from its metadata. `named_ports` resolves a service-port
// given by name (parseContainerPorts).
SidecarPlan planRegistrations(const PodIdentity& pod, const PodMetadata& metadata,
                              const std::map<std::string, int>& named_ports);

}  // namespace cairn::sidecar
