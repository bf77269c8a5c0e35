#include "operator/injector.h"

#include <cpprest/asyncrt_utils.h>

#include <algorithm>
#include <optional>
#include <vector>

#include "sidecar/annotations.h"

namespace cairn::op {
namespace {

using web::json::value;

// A malformed review: what the webhook answers with HTTP 400.
struct Malformed {
  std::string message;
};

const value& at(const value& obj, const char* key) {
  static const value kNull = value::null();
  return obj.is_object() && obj.has_field(key) ? obj.at(key) : kNull;
}

std::string stringAt(const value& obj, const char* key) {
  const value& v = at(obj, key);
  return v.is_string() ? v.as_string() : std::string();
}

// A map of string values (labels, annotations); anything else in it is a malformed review.
std::optional<Labels> stringMap(const value& v, const char* what, std::string* error) {
  Labels out;
  if (v.is_null()) return out;
  if (!v.is_object()) {
    *error = std::string(what) + " is not an object";
    return std::nullopt;
  }
  for (const auto& [k, val] : v.as_object()) {
    if (!val.is_string()) {
      *error = std::string(what) + " \"" + k + "\" is not a string";
      return std::nullopt;
    }
    out[k] = val.as_string();
  }
  return out;
}

value response(const std::string& uid, bool allowed) {
  value r = value::object();
  r["uid"] = value::string(uid);
  r["allowed"] = value::boolean(allowed);
  return r;
}

value review(value response_part) {
  value out = value::object();
  out["apiVersion"] = value::string("admission.k8s.io/v1");
  out["kind"] = value::string("AdmissionReview");
  out["response"] = std::move(response_part);
  return out;
}

value denial(const std::string& uid, int code, const std::string& message) {
  value r = response(uid, false);
  value status = value::object();
  status["code"] = value::number(code);
  status["message"] = value::string(message);
  status["reason"] = value::string(code == 400 ? "BadRequest" : "Forbidden");
  r["status"] = std::move(status);
  return r;
}

value envFromField(const char* name, const char* path) {
  value e = value::object();
  e["name"] = value::string(name);
  e["valueFrom"]["fieldRef"]["fieldPath"] = value::string(path);
  return e;
}

value envValue(const char* name, const std::string& v) {
  value e = value::object();
  e["name"] = value::string(name);
  e["value"] = value::string(v);
  return e;
}

value probe(const char* path, int port, int period, int failures) {
  value p = value::object();
  p["httpGet"]["path"] = value::string(path);
  p["httpGet"]["port"] = value::number(port);
  p["periodSeconds"] = value::number(period);
  p["failureThreshold"] = value::number(failures);
  return p;
}

// What the pod's spec says, as the injector needs it.
struct PodSpecView {
  std::vector<std::string> container_names;
  std::map<std::string, int> named_ports;  // container port name -> number
  std::set<int> ports;
  std::set<std::string> volume_names;
  bool has_volumes = false;
};

std::optional<PodSpecView> viewSpec(const value& spec, std::string* error) {
  PodSpecView view;
  if (!spec.is_object()) {
    *error = "the pod has no spec";
    return std::nullopt;
  }
  const value& containers = at(spec, "containers");
  if (!containers.is_array()) {
    *error = "spec.containers is not a list";
    return std::nullopt;
  }
  for (const value& c : containers.as_array()) {
    view.container_names.push_back(stringAt(c, "name"));
    const value& ports = at(c, "ports");
    if (!ports.is_array()) continue;
    for (const value& p : ports.as_array()) {
      const value& number = at(p, "containerPort");
      if (!number.is_integer()) continue;
      view.ports.insert(number.as_integer());
      if (std::string name = stringAt(p, "name"); !name.empty()) {
        view.named_ports[name] = number.as_integer();
      }
    }
  }
  const value& volumes = at(spec, "volumes");
  view.has_volumes = volumes.is_array();
  if (view.has_volumes) {
    for (const value& v : volumes.as_array()) view.volume_names.insert(stringAt(v, "name"));
  }
  return view;
}

// CAIRN_CONTAINER_PORTS: the named ports, which the downward API cannot expose.
std::string containerPortsEnv(const std::map<std::string, int>& named) {
  std::string out;
  for (const auto& [name, port] : named) {
    out += (out.empty() ? "" : ",") + name + "=" + std::to_string(port);
  }
  return out;
}

value sidecarContainer(const InjectorConfig& c, const std::string& image, const PodSpecView& view) {
  value s = value::object();
  s["name"] = value::string(kSidecarContainerName);
  s["image"] = value::string(image);
  s["imagePullPolicy"] = value::string(c.image_pull_policy);
  s["command"] = value::array({value::string("cairn-sidecar")});
  s["args"] = value::array(
      {value::string("-retry-join"), value::string(c.retry_join), value::string("-podinfo-dir"),
       value::string(c.podinfo_dir), value::string("-data-dir"), value::string(c.data_dir),
       value::string("-probe-port"), value::string(std::to_string(c.probe_port))});
  s["env"] = value::array(
      {envFromField("POD_NAME", "metadata.name"),
       envFromField("POD_NAMESPACE", "metadata.namespace"), envFromField("POD_IP", "status.podIP"),
       envFromField("NODE_NAME", "spec.nodeName"), envFromField("POD_UID", "metadata.uid"),
       envValue("CAIRN_CONTAINER_PORTS", containerPortsEnv(view.named_ports))});
  value port = value::object();
  port["name"] = value::string("cairn-metrics");
  port["containerPort"] = value::number(c.probe_port);
  port["protocol"] = value::string("TCP");
  s["ports"] = value::array({port});
  value podinfo = value::object();
  podinfo["name"] = value::string(kPodInfoVolume);
  podinfo["mountPath"] = value::string(c.podinfo_dir);
  podinfo["readOnly"] = value::boolean(true);
  value data = value::object();
  data["name"] = value::string(kDataVolume);
  data["mountPath"] = value::string(c.data_dir);
  s["volumeMounts"] = value::array({podinfo, data});
  s["resources"] = c.resources;
  s["livenessProbe"] = probe("/live", c.probe_port, 10, 3);
  // /ready turns 200 once the pod's services are registered: the pod is Ready only when it can
  // be discovered (docs/sidecar.md).
  s["readinessProbe"] = probe("/ready", c.probe_port, 5, 3);
  s["securityContext"]["allowPrivilegeEscalation"] = value::boolean(false);
  return s;
}

std::vector<value> sidecarVolumes() {
  value podinfo = value::object();
  podinfo["name"] = value::string(kPodInfoVolume);
  auto item = [](const char* path, const char* field) {
    value i = value::object();
    i["path"] = value::string(path);
    i["fieldRef"]["fieldPath"] = value::string(field);
    return i;
  };
  podinfo["downwardAPI"]["items"] = value::array(
      {item("annotations", "metadata.annotations"), item("labels", "metadata.labels")});
  value data = value::object();
  data["name"] = value::string(kDataVolume);
  data["emptyDir"] = value::object();
  return {podinfo, data};
}

value op(const std::string& path, value v) {
  value o = value::object();
  o["op"] = value::string("add");
  o["path"] = value::string(path);
  o["value"] = std::move(v);
  return o;
}

struct Pod {
  std::string name_space;
  std::string name;  // or generateName + a placeholder: Deployments' pods have no name yet
  Labels annotations, labels;
  PodSpecView spec;
};

// Whether to inject: the pod's annotation or label first, then its namespace's label, then the
// default. A value other than "true"/"false" is an error the pod's owner must see.
std::optional<bool> wantsInjection(const Pod& pod, const InjectorConfig& config,
                                   const NamespaceLabels& namespace_labels, std::string* error) {
  for (const Labels* m : {&pod.annotations, &pod.labels}) {
    auto it = m->find(kInjectAnnotation);
    if (it == m->end()) continue;
    if (it->second == "true" || it->second == "false") return it->second == "true";
    *error = std::string(kInjectAnnotation) + " must be \"true\" or \"false\", not \"" +
             it->second + "\"";
    return std::nullopt;
  }
  if (namespace_labels) {
    Labels ns = namespace_labels(pod.name_space);
    if (auto it = ns.find(kInjectAnnotation); it != ns.end()) return it->second == "true";
  }
  return config.default_inject;
}

// Why the sidecar could not work in this pod, or empty. The sidecar's own annotation planner
// decides, so the webhook and the sidecar never disagree about what is valid.
std::string problemsOf(const Pod& pod, const InjectorConfig& config, const std::string& image) {
  std::vector<std::string> problems;
  if (image.empty()) problems.push_back(std::string(kSidecarImageAnnotation) + " is empty");
  if (pod.spec.ports.count(config.probe_port) != 0) {
    problems.push_back("container port " + std::to_string(config.probe_port) +
                       " is the sidecar's probe port");
  }
  for (const char* reserved : {kPodInfoVolume, kDataVolume}) {
    if (pod.spec.volume_names.count(reserved) != 0) {
      problems.push_back(std::string("volume name \"") + reserved +
                         "\" is reserved for the sidecar");
    }
  }
  sidecar::PodIdentity identity;
  identity.name = pod.name;
  identity.namespace_name = pod.name_space;
  identity.ip = "10.0.0.1";  // not known before scheduling; the planner only needs one
  auto plan =
      sidecar::planRegistrations(identity, {pod.annotations, pod.labels}, pod.spec.named_ports);
  problems.insert(problems.end(), plan.problems.begin(), plan.problems.end());
  std::string out;
  for (const auto& p : problems) out += (out.empty() ? "" : "; ") + p;
  return out;
}

// The patch that injects the sidecar into `pod` (whose metadata.annotations is `annotations`).
value injectionPatch(const Pod& pod, const value& annotations, const InjectorConfig& config,
                     const std::string& image) {
  std::vector<value> ops;
  std::vector<std::pair<std::string, std::string>> add = {{kInjectedAnnotation, "true"}};
  // The sidecar's metrics, unless the pod already tells Prometheus about its own.
  if (config.metrics_annotations && pod.annotations.count("prometheus.io/scrape") == 0) {
    add.push_back({"prometheus.io/scrape", "true"});
    add.push_back({"prometheus.io/port", std::to_string(config.probe_port)});
    add.push_back({"prometheus.io/path", "/metrics"});
  }
  if (!annotations.is_object()) {
    value all = value::object();
    for (const auto& [k, v] : add) all[k] = value::string(v);
    ops.push_back(op("/metadata/annotations", all));
  } else {
    for (const auto& [k, v] : add) {
      ops.push_back(op("/metadata/annotations/" + escapeJsonPointer(k), value::string(v)));
    }
  }
  std::vector<value> volumes = sidecarVolumes();
  if (!pod.spec.has_volumes) {
    ops.push_back(op("/spec/volumes", value::array(volumes)));
  } else {
    for (value& v : volumes) ops.push_back(op("/spec/volumes/-", std::move(v)));
  }
  ops.push_back(op("/spec/containers/-", sidecarContainer(config, image, pod.spec)));
  return value::array(ops);
}

value allowedWithPatch(const std::string& uid, const value& patch) {
  value r = response(uid, true);
  std::string text = patch.serialize();
  r["patchType"] = value::string("JSONPatch");
  r["patch"] = value::string(
      utility::conversions::to_base64(std::vector<unsigned char>(text.begin(), text.end())));
  return r;
}

// The review's request, or why it is malformed.
const value& requestOf(const value& root, std::string* error) {
  static const value kNull = value::null();
  if (!root.is_object()) {
    *error = "the body is not a JSON object";
  } else if (stringAt(root, "apiVersion") != "admission.k8s.io/v1" ||
             stringAt(root, "kind") != "AdmissionReview") {
    *error = "expected apiVersion admission.k8s.io/v1, kind AdmissionReview";
  } else if (!at(root, "request").is_object()) {
    *error = "the review has no request";
  } else if (stringAt(at(root, "request"), "uid").empty()) {
    *error = "the request has no uid";
  } else {
    return root.at("request");
  }
  return kNull;
}

value decide(const value& request, const InjectorConfig& config,
             const NamespaceLabels& namespace_labels, std::optional<Malformed>* malformed) {
  const std::string uid = stringAt(request, "uid");
  // Only pods being created: a running pod's containers cannot change.
  if (stringAt(at(request, "kind"), "kind") != "Pod" ||
      stringAt(request, "operation") != "CREATE" || !stringAt(request, "subResource").empty()) {
    return response(uid, true);
  }
  const value& object = at(request, "object");
  const value& meta = at(object, "metadata");
  std::string error;
  Pod pod;
  pod.name_space = stringAt(request, "namespace");
  if (pod.name_space.empty()) pod.name_space = stringAt(meta, "namespace");
  if (pod.name_space.empty()) pod.name_space = "default";
  pod.name = stringAt(meta, "name");
  if (pod.name.empty()) pod.name = stringAt(meta, "generateName") + "x0000";
  auto annotations = stringMap(at(meta, "annotations"), "annotation", &error);
  auto labels = annotations ? stringMap(at(meta, "labels"), "label", &error) : std::nullopt;
  auto spec = labels ? viewSpec(at(object, "spec"), &error) : std::nullopt;
  if (!object.is_object() || !meta.is_object() || !spec) {
    *malformed = Malformed{"the request's object is not a pod: " +
                           (error.empty() ? std::string("no metadata") : error)};
    return value::null();
  }
  pod.annotations = std::move(*annotations);
  pod.labels = std::move(*labels);
  pod.spec = std::move(*spec);
  if (config.skip_namespaces.count(pod.name_space) != 0) return response(uid, true);
  auto wanted = wantsInjection(pod, config, namespace_labels, &error);
  if (!wanted) return denial(uid, 400, error);
  if (!*wanted) return response(uid, true);
  // Already injected (the API server may call a webhook twice): still one sidecar.
  if (auto it = pod.annotations.find(kInjectedAnnotation);
      (it != pod.annotations.end() && it->second == "true") ||
      std::count(pod.spec.container_names.begin(), pod.spec.container_names.end(),
                 kSidecarContainerName) != 0) {
    return response(uid, true);
  }
  std::string image = config.image;
  if (auto it = pod.annotations.find(kSidecarImageAnnotation); it != pod.annotations.end()) {
    image = it->second;
  }
  if (std::string problems = problemsOf(pod, config, image); !problems.empty()) {
    return denial(uid, 400, "cairn-sidecar cannot be injected: " + problems);
  }
  return allowedWithPatch(uid, injectionPatch(pod, at(meta, "annotations"), config, image));
}

}  // namespace

StatusOr<InjectorConfig> parseInjectorConfig(const std::string& json, InjectorConfig c) {
  value root;
  try {
    root = value::parse(json);
  } catch (const std::exception& e) {
    return invalidArgument(std::string("injector configuration: not JSON: ") + e.what());
  }
  if (!root.is_object()) return invalidArgument("injector configuration: not a JSON object");
  auto wrong = [](const std::string& key, const char* want) {
    return invalidArgument("injector configuration: \"" + key + "\" must be " + want);
  };
  std::map<std::string, std::string*> strings = {
      {"image", &c.image}, {"imagePullPolicy", &c.image_pull_policy}, {"retryJoin", &c.retry_join}};
  for (const auto& [key, v] : root.as_object()) {
    if (auto it = strings.find(key); it != strings.end()) {
      if (!v.is_string() || v.as_string().empty()) return wrong(key, "a non-empty string");
      *it->second = v.as_string();
    } else if (key == "defaultInject" || key == "metrics") {
      if (!v.is_boolean()) return wrong(key, "true or false");
      (key == "metrics" ? c.metrics_annotations : c.default_inject) = v.as_bool();
    } else if (key == "resources") {
      if (!v.is_object()) return wrong(key, "an object (requests, limits)");
      c.resources = v;
    } else if (key == "skipNamespaces") {
      if (!v.is_array()) return wrong(key, "a list of namespaces");
      for (const value& ns : v.as_array()) {
        if (!ns.is_string()) return wrong(key, "a list of namespaces");
        c.skip_namespaces.insert(ns.as_string());
      }
    }
  }
  return c;
}

std::string escapeJsonPointer(const std::string& key) {
  std::string out;
  for (char c : key) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

AdmissionResult admit(const std::string& body, const InjectorConfig& config,
                      const NamespaceLabels& namespace_labels) {
  value root;
  std::string error;
  try {
    root = value::parse(body);
  } catch (const std::exception& e) {
    error = std::string("the body is not JSON: ") + e.what();
  }
  const value& request = error.empty() ? requestOf(root, &error) : root;
  if (!error.empty()) {
    return {400, review(denial(stringAt(at(root, "request"), "uid"), 400,
                               "malformed AdmissionReview: " + error))};
  }
  std::optional<Malformed> malformed;
  value answer;
  try {
    answer = decide(request, config, namespace_labels, &malformed);
  } catch (const std::exception& e) {  // a shape we did not foresee: still an answer
    malformed = Malformed{std::string("unexpected shape: ") + e.what()};
  }
  if (malformed) {
    return {400, review(denial(stringAt(request, "uid"), 400,
                               "malformed AdmissionReview: " + malformed->message))};
  }
  return {200, review(std::move(answer))};
}

}  // namespace cairn::op
