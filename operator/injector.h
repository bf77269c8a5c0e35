#pragma once
// The sidecar injector: the pure decision of cairn-operator's mutating admission webhook
// (docs/injection.md). An AdmissionReview (admission.k8s.io/v1) comes in, an AdmissionReview
// goes out: either "allowed" with a JSONPatch that adds the cairn-sidecar container, its
// downward-API volume and the annotations, or "allowed" unchanged, or denied with a message that
// says why. No I/O: the namespace's labels are an input, so every rule is a table test
// (tests/unit/operator/injector_test.cc).
//
// The review is untrusted input: malformed JSON or shapes give a 400 review, never a crash.

#define _TURN_OFF_PLATFORM_STRING
#include <cpprest/json.h>

#include <functional>
#include <map>
#include <set>
#include <string>

#include "core/base/status.h"

namespace cairn::op {

inline constexpr char kInjectAnnotation[] = "cairn.io/inject";
inline constexpr char kInjectedAnnotation[] = "cairn.io/injected";
inline constexpr char kSidecarImageAnnotation[] = "cairn.io/sidecar-image";
inline constexpr char kSidecarContainerName[] = "cairn-sidecar";
inline constexpr char kPodInfoVolume[] = "cairn-podinfo";
inline constexpr char kDataVolume[] = "cairn-data";

struct InjectorConfig {
  std::string image = "cairn:latest";  // the image that holds cairn-sidecar
  // What the sidecar joins: the servers' Service, e.g. "cairn-server.cairn.svc".
  std::string retry_join = "cairn-server";
  std::string podinfo_dir = "/etc/cairn/podinfo";
  std::string data_dir = "/cairn/data";
  int probe_port = 9500;  // the sidecar's /live, /ready and /metrics
  std::string image_pull_policy = "IfNotPresent";
  // The sidecar's resources (a core/v1 ResourceRequirements object).
  web::json::value resources = web::json::value::parse(
      R"({"requests":{"cpu":"50m","memory":"64Mi"},"limits":{"cpu":"500m","memory":"128Mi"}})");
  // prometheus.io/* annotations for the sidecar's metrics.
  bool metrics_annotations = true;
  // Pods in namespaces labelled cairn.io/inject=true are injected unless they opt out; with
  // `default_inject` every pod outside the skipped namespaces is.
  bool default_inject = false;
  // Never injected: the system namespaces and the operator's own.
  std::set<std::string> skip_namespaces = {"kube-system", "kube-public", "kube-node-lease"};
};

struct AdmissionResult {
  int http_status = 200;  // 400 when the review itself is malformed
  web::json::value review;
};

using Labels = std::map<std::string, std::string>;
// The labels of a namespace (empty when unknown). Asked only for a pod that neither opts in nor
// out by itself.
using NamespaceLabels = std::function<Labels(const std::string& name_space)>;

// Decides one AdmissionReview (the request body the API server sent).
AdmissionResult admit(const std::string& body, const InjectorConfig& config,
                      const NamespaceLabels& namespace_labels);

// Reads the injector's settings from JSON over `base` (the chart mounts them from a ConfigMap):
// image, imagePullPolicy, retryJoin, defaultInject, metrics, resources, skipNamespaces (added to
// the built-in ones). A field of the wrong type is an error that names it; unknown fields are
// ignored, so an older operator runs with a newer chart.
StatusOr<InjectorConfig> parseInjectorConfig(const std::string& json, InjectorConfig base);

// The JSON Pointer form of a map key (RFC 6901): "~" as "~0", "/" as "~1".
std::string escapeJsonPointer(const std::string& key);

}  // namespace cairn::op
