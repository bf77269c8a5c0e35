#include "operator/webhook.h"

#include <cpprest/asyncrt_utils.h>
#include <cpprest/base_uri.h>

#include <fstream>
#include <sstream>

#include "core/base/duration.h"
#include "core/base/logging.h"

namespace cairn::op {
namespace {

using web::json::value;

const char kWebhookConfigs[] =
    "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/";
const char kPath[] = "/mutate-pods";

std::string toBase64(const std::string& s) {
  return utility::conversions::to_base64(std::vector<unsigned char>(s.begin(), s.end()));
}

StatusOr<std::string> fromBase64(const std::string& s) {
  try {
    auto bytes = utility::conversions::from_base64(s);
    return std::string(bytes.begin(), bytes.end());
  } catch (const std::exception&) {
    return invalidArgument("not base64");
  }
}

std::string str(const value& v, const char* key) {
  return v.is_object() && v.has_field(key) && v.at(key).is_string() ? v.at(key).as_string() : "";
}

// The webhooks of a MutatingWebhookConfiguration that send to our Service.
std::vector<value*> ourWebhooks(value& config, const WebhookOptions& o) {
  std::vector<value*> out;
  if (!config.is_object() || !config.has_field("webhooks") || !config.at("webhooks").is_array()) {
    return out;
  }
  for (value& w : config.at("webhooks").as_array()) {
    if (!w.is_object() || !w.has_field("clientConfig")) continue;
    const value& cc = w.at("clientConfig");
    if (!cc.is_object() || !cc.has_field("service")) continue;
    const value& svc = cc.at("service");
    if (str(svc, "name") == o.service && str(svc, "namespace") == o.name_space) {
      out.push_back(&w);
    }
  }
  return out;
}

}  // namespace

StatusOr<bool> webhookFlag(const std::string& flag, const std::string& v, WebhookOptions* o) {
  auto duration = [&v, &flag](std::chrono::seconds* out) -> StatusOr<bool> {
    auto d = parseGoDuration(v);
    if (!d.isOk() || d->count() <= 0) return invalidArgument(flag + ": invalid duration " + v);
    *out = std::chrono::duration_cast<std::chrono::seconds>(*d);
    return true;
  };
  std::map<std::string, std::string*> strings = {{"-webhook-service", &o->service},
                                                 {"-webhook-namespace", &o->name_space},
                                                 {"-webhook-bind", &o->bind},
                                                 {"-webhook-config", &o->config_name},
                                                 {"-webhook-secret", &o->secret_name},
                                                 {"-sidecar-image", &o->injector.image},
                                                 {"-sidecar-retry-join", &o->injector.retry_join}};
  if (auto it = strings.find(flag); it != strings.end()) {
    *it->second = v;
    return true;
  }
  if (flag == "-webhook-port") {
    o->port = std::atoi(v.c_str());
    if (o->port < 0 || o->port > 65535 || (o->port == 0 && v != "0")) {
      return invalidArgument("-webhook-port: invalid port " + v);
    }
    return true;
  }
  if (flag == "-injector-config") {
    std::ifstream in(v);
    if (!in) return invalidArgument("-injector-config: cannot read " + v);
    std::stringstream text;
    text << in.rdbuf();
    auto parsed = parseInjectorConfig(text.str(), o->injector);
    if (!parsed.isOk()) return invalidArgument(v + ": " + parsed.status().message());
    o->injector = std::move(*parsed);
    return true;
  }
  if (flag == "-inject-default") {
    if (v != "true" && v != "false") return invalidArgument("-inject-default: true or false");
    o->injector.default_inject = v == "true";
    return true;
  }
  if (flag == "-webhook-cert-validity") return duration(&o->certs.serving_validity);
  if (flag == "-webhook-renew-before") return duration(&o->certs.renew_before);
  if (flag == "-webhook-switch-after") return duration(&o->certs.switch_after);
  if (flag == "-webhook-drop-after") return duration(&o->certs.drop_after);
  return false;
}

const char* webhookFlagsUsage() {
  return "  sidecar injection (on with -webhook-service; docs/injection.md):\n"
         "    [-webhook-service NAME] [-webhook-namespace NS] [-webhook-bind ADDR]\n"
         "    [-webhook-port 9443] [-webhook-config NAME] [-webhook-secret NAME]\n"
         "    [-sidecar-image IMAGE] [-sidecar-retry-join HOST] [-inject-default=true|false]\n"
         "    [-injector-config FILE]\n"
         "    [-webhook-cert-validity DUR] [-webhook-renew-before DUR]\n"
         "    [-webhook-switch-after DUR] [-webhook-drop-after DUR]\n";
}

Webhook::Webhook(WebhookOptions options, KubeClient& kube, const KubeConfig& config)
    : options_(std::move(options)),
      kube_(kube),
      lookups_(config,
               KubeClient::Options{1, std::chrono::milliseconds(0), std::chrono::milliseconds(0),
                                   std::chrono::seconds(2), 300}) {
  if (options_.secret_name.empty()) options_.secret_name = options_.service + "-certs";
  options_.certs.service = options_.service;
  options_.certs.name_space = options_.name_space;
  options_.injector.skip_namespaces.insert(options_.name_space);
  keeper_ = std::make_unique<WebhookCertKeeper>(keeperDeps(), options_.certs);
  server_.handle(kPath, [this](const std::string& body) { return review(body); });
}

Webhook::~Webhook() { stop(); }

Status Webhook::start() { return server_.start(options_.bind, options_.port); }

void Webhook::stop() { server_.stop(); }

void Webhook::sync(bool leader) {
  auto step = keeper_->sync(leader);
  if (!step.isOk()) {
    counters_.cert_errors++;
    LOG_WARN("webhook", "certificates: " << step.status().toString());
  } else if (*step == RotationStep::kStaged) {
    counters_.rotations++;
  }
}

WebhookResponse Webhook::review(const std::string& body) {
  AdmissionResult r =
      admit(body, options_.injector, [this](const std::string& ns) { return namespaceLabels(ns); });
  const value& resp = r.review.at("response");
  if (r.http_status != 200) {
    counters_.malformed++;
  } else if (!resp.at("allowed").as_bool()) {
    counters_.denied++;
  } else if (resp.has_field("patch")) {
    counters_.patched++;
  } else {
    counters_.allowed++;
  }
  return {r.http_status, r.review.serialize()};
}

Labels Webhook::namespaceLabels(const std::string& name) {
  auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = ns_cache_.find(name);
    if (it != ns_cache_.end() && now - it->second.first < options_.namespace_cache_ttl) {
      return it->second.second;
    }
  }
  Labels labels;
  auto ns = lookups_.get("/api/v1/namespaces/" + web::uri::encode_data_string(name));
  if (!ns.isOk()) {
    // Unknown labels: only the pod's own annotation or label decides (refusing every pod of the
    // cluster while the API server is slow would be worse). Not cached: asked again next time.
    LOG_WARN("webhook", "namespace " << name << ": " << ns.status().toString());
    return labels;
  }
  if (ns->has_field("metadata") && ns->at("metadata").has_field("labels") &&
      ns->at("metadata").at("labels").is_object()) {
    for (const auto& [k, v] : ns->at("metadata").at("labels").as_object()) {
      if (v.is_string()) labels[k] = v.as_string();
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  ns_cache_[name] = {now, labels};
  return labels;
}

WebhookCertKeeper::Deps Webhook::keeperDeps() {
  const std::string secret_path =
      "/api/v1/namespaces/" + options_.name_space + "/secrets/" + options_.secret_name;
  const std::string config_path = kWebhookConfigs + options_.config_name;
  WebhookCertKeeper::Deps d;
  d.load = [this, secret_path]() -> StatusOr<std::optional<CertState>> {
    auto r = kube_.call("GET", secret_path);
    if (!r.isOk()) return r.status();
    if (r->status == 404) return std::optional<CertState>();
    CAIRN_RETURN_IF_ERROR(toStatus(*r));
    std::map<std::string, std::string> data;
    if (r->body.has_field("data") && r->body.at("data").is_object()) {
      for (const auto& [k, v] : r->body.at("data").as_object()) {
        if (!v.is_string()) continue;
        auto decoded = fromBase64(v.as_string());
        if (!decoded.isOk()) return invalidArgument("secret key " + k + " is not base64");
        data[k] = *decoded;
      }
    }
    auto state = CertState::fromSecretData(data);
    if (!state.isOk()) return state.status();
    return std::optional<CertState>(std::move(*state));
  };
  d.save = [this, secret_path](const CertState& state) -> Status {
    value data = value::object();
    for (const auto& [k, v] : state.toSecretData()) data[k] = value::string(toBase64(v));
    auto updated = kube_.update(secret_path, [&data](value& obj) {
      obj["data"] = data;
      return Status::ok();
    });
    if (updated.isOk() || updated.status().code() != StatusCode::kNotFound) {
      return updated.status();
    }
    value secret = value::object();
    secret["apiVersion"] = value::string("v1");
    secret["kind"] = value::string("Secret");
    secret["metadata"]["name"] = value::string(options_.secret_name);
    secret["metadata"]["namespace"] = value::string(options_.name_space);
    secret["metadata"]["labels"]["app.kubernetes.io/managed-by"] = value::string("cairn-operator");
    secret["type"] = value::string("Opaque");
    secret["data"] = data;
    return kube_.create("/api/v1/namespaces/" + options_.name_space + "/secrets", secret).status();
  };
  d.read_bundle = [this, config_path]() -> StatusOr<std::string> {
    auto config = kube_.get(config_path);
    if (!config.isOk()) return config.status();
    std::vector<value*> hooks = ourWebhooks(*config, options_);
    if (hooks.empty()) {
      return notFound(options_.config_name + " has no webhook for service " + options_.service);
    }
    std::string first;
    for (size_t i = 0; i < hooks.size(); ++i) {
      auto pem = fromBase64(str(hooks[i]->at("clientConfig"), "caBundle"));
      std::string text = pem.isOk() ? *pem : "";
      if (i == 0) first = text;
      if (text != first) return std::string();  // they differ: write them all again
    }
    return first;
  };
  d.write_bundle = [this, config_path](const std::string& pem) -> Status {
    std::string encoded = toBase64(pem);
    return kube_
        .update(config_path,
                [this, &encoded](value& obj) {
                  for (value* w : ourWebhooks(obj, options_)) {
                    (*w)["clientConfig"]["caBundle"] = value::string(encoded);
                  }
                  return Status::ok();
                })
        .status();
  };
  d.serve = [this](const KeyPair& pair) { return server_.setCertificate(pair); };
  d.now = [] { return std::chrono::system_clock::now(); };
  return d;
}

std::string Webhook::renderMetrics() const {
  std::ostringstream out;
  out << "# HELP cairn_operator_webhook_admissions_total Admission reviews answered, by result.\n"
      << "# TYPE cairn_operator_webhook_admissions_total counter\n";
  for (const auto& [result, n] :
       {std::pair<const char*, uint64_t>{"injected", counters_.patched.load()},
        {"allowed", counters_.allowed.load()},
        {"denied", counters_.denied.load()},
        {"malformed", counters_.malformed.load()}}) {
    out << "cairn_operator_webhook_admissions_total{result=\"" << result << "\"} " << n << "\n";
  }
  out << "# HELP cairn_operator_webhook_rotations_total Certificate rotations started.\n"
      << "# TYPE cairn_operator_webhook_rotations_total counter\n"
      << "cairn_operator_webhook_rotations_total " << counters_.rotations.load() << "\n"
      << "# HELP cairn_operator_webhook_cert_errors_total Certificate passes that failed.\n"
      << "# TYPE cairn_operator_webhook_cert_errors_total counter\n"
      << "cairn_operator_webhook_cert_errors_total " << counters_.cert_errors.load() << "\n";
  return out.str();
}

}  // namespace cairn::op
