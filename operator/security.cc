#include "operator/security.h"

#include <cctype>

#include "core/tls/cert_gen.h"
#include "operator/desired_objects.h"
#include "operator/webhook_certs.h"

namespace cairn::op {
namespace {

using web::json::value;

value str(const std::string& s) { return value::string(s); }

// Reads spec.security.<block>.<field> as a boolean (absent: false).
Status readSwitch(const value& security, const char* block, const char* field, bool& out) {
  if (!security.has_field(block)) return Status::ok();
  const value& b = security.at(block);
  std::string where = std::string("security.") + block;
  if (!b.is_object()) return invalidArgument("spec." + where + ": must be an object");
  if (!b.has_field(field)) return Status::ok();
  if (!b.at(field).is_boolean()) {
    return invalidArgument("spec." + where + "." + field + ": must be true or false");
  }
  out = b.at(field).as_bool();
  return Status::ok();
}

}  // namespace

StatusOr<SecuritySpec> parseSecuritySpec(const value& spec) {
  SecuritySpec out;
  if (!spec.is_object() || !spec.has_field("security")) return out;
  const value& security = spec.at("security");
  if (!security.is_object()) return invalidArgument("spec.security: must be an object");
  CAIRN_RETURN_IF_ERROR(readSwitch(security, "tls", "enabled", out.tls));
  CAIRN_RETURN_IF_ERROR(readSwitch(security, "acls", "manageSystemACLs", out.manage_acls));
  return out;
}

std::string tlsSecretName(const std::string& cluster) { return cluster + "-tls"; }

std::string managementTokenSecretName(const std::string& cluster) {
  return cluster + "-acl-management";
}

std::string sidecarTokenSecretName(const std::string& cluster, const std::string& service) {
  std::string name = cluster + "-sidecar-";
  for (char c : service) {
    auto u = static_cast<unsigned char>(c);
    name += std::isalnum(u) ? static_cast<char>(std::tolower(u)) : '-';
  }
  while (!name.empty() && name.back() == '-') name.pop_back();  // must end alphanumeric
  return name.substr(0, 253);
}

value securityConfig(const SecuritySpec& security) {
  if (!security.tls && !security.manage_acls) return value::null();
  value config = value::object();
  if (security.tls) {
    std::string dir = kTlsMountPath;
    value defaults = value::object();
    defaults["ca_file"] = str(dir + "/ca.pem");
    defaults["cert_file"] = str(dir + "/server.pem");
    defaults["key_file"] = str(dir + "/server-key.pem");
    defaults["verify_incoming"] = value::boolean(true);
    defaults["verify_outgoing"] = value::boolean(true);
    value internal = value::object();
    internal["verify_server_hostname"] = value::boolean(true);
    // Clients of the HTTPS API (apps, the UI through a port-forward) need no certificate; the
    // ACLs decide what they may do.
    value https = value::object();
    https["verify_incoming"] = value::boolean(false);
    config["tls"] = value::object();
    config["tls"]["defaults"] = defaults;
    config["tls"]["internal_rpc"] = internal;
    config["tls"]["https"] = https;
    config["ports"] = value::object();
    config["ports"]["https"] = value::number(kHttpsPort);
  }
  if (security.manage_acls) {
    value acl = value::object();
    acl["enabled"] = value::boolean(true);
    acl["default_policy"] = str("deny");
    acl["down_policy"] = str("extend-cache");
    config["acl"] = acl;
  }
  return config;
}

void applySecurity(const SecuritySpec& security, const std::string& cluster, value& config_map,
                   value& stateful_set) {
  value extra = securityConfig(security);
  if (extra.is_null()) return;
  value& data = config_map["data"];
  value config = value::parse(data.has_field("server.json") ? data.at("server.json").as_string()
                                                            : std::string("{}"));
  for (const auto& [key, v] : extra.as_object()) {
    if (key == "ports" && config.has_field("ports") && config.at("ports").is_object()) {
      for (const auto& [name, number] : v.as_object()) config["ports"][name] = number;
    } else {
      config[key] = v;
    }
  }
  data["server.json"] = str(config.serialize());
  value& pod = stateful_set["spec"]["template"];
  std::string switches = std::string(security.tls ? "tls" : "") +
                         (security.tls && security.manage_acls ? "," : "") +
                         (security.manage_acls ? "acls" : "");
  pod["metadata"]["annotations"]["cairn.io/security"] = str(switches);
  if (!security.tls) return;
  value volume = value::object();
  volume["name"] = str("tls");
  volume["secret"]["secretName"] = str(tlsSecretName(cluster));
  volume["secret"]["defaultMode"] = value::number(0400);
  pod["spec"]["volumes"][pod["spec"]["volumes"].size()] = volume;
  value& container = pod["spec"]["containers"][0];
  value mount = value::object();
  mount["name"] = str("tls");
  mount["mountPath"] = str(kTlsMountPath);
  mount["readOnly"] = value::boolean(true);
  container["volumeMounts"][container["volumeMounts"].size()] = mount;
  value https = value::object();
  https["name"] = str("https");
  https["containerPort"] = value::number(kHttpsPort);
  https["protocol"] = str("TCP");
  container["ports"][container["ports"].size()] = https;
}

std::vector<std::string> serverCertNames(const std::string& cluster, const std::string& ns) {
  std::string peers = peersServiceName(cluster);
  std::vector<std::string> names;
  for (const std::string& service : {cluster, peers}) {
    names.push_back(service);
    names.push_back(service + "." + ns);
    names.push_back(service + "." + ns + ".svc");
  }
  names.push_back("*." + peers + "." + ns + ".svc");  // each pod: <pod>.<peers>.<ns>.svc
  return names;
}

TlsAction tlsAction(const std::optional<SecretData>& existing,
                    std::chrono::system_clock::time_point now) {
  if (!existing) return TlsAction::kCreate;
  auto has = [&](const char* key) {
    auto it = existing->find(key);
    return it != existing->end() && !it->second.empty();
  };
  if (!has("ca.pem") || !has("ca-key.pem") || !notAfter(existing->at("ca.pem")).isOk()) {
    return TlsAction::kCreate;
  }
  auto ca_expiry = notAfter(existing->at("ca.pem"));
  if (*ca_expiry - now < kRenewBefore) return TlsAction::kCreate;  // a CA rotation: see docs
  if (!has("server.pem") || !has("server-key.pem")) return TlsAction::kRenewServerCert;
  auto expiry = notAfter(existing->at("server.pem"));
  if (!expiry.isOk() || *expiry - now < kRenewBefore) return TlsAction::kRenewServerCert;
  return TlsAction::kNone;
}

StatusOr<SecretData> makeTlsSecretData(TlsAction action, const SecretData& existing,
                                       const std::string& cluster, const std::string& ns) {
  tls::PemPair ca;
  if (action == TlsAction::kCreate) {
    auto made = tls::createCa({});
    if (!made.isOk()) return made.status();
    ca = std::move(*made);
  } else if (action == TlsAction::kRenewServerCert) {
    auto cert = existing.find("ca.pem"), key = existing.find("ca-key.pem");
    if (cert == existing.end() || key == existing.end()) {
      return invalidArgument("the TLS Secret has no CA to renew the server certificate with");
    }
    ca = {cert->second, key->second};
  } else {
    return existing;
  }
  tls::CertRequest request;
  request.server = true;
  request.extra_dns = serverCertNames(cluster, ns);
  auto server = tls::createCert(ca, request);
  if (!server.isOk()) return server.status();
  return SecretData{{"ca.pem", ca.cert},
                    {"ca-key.pem", ca.key},
                    {"server.pem", server->cert},
                    {"server-key.pem", server->key}};
}

AclStep aclStep(const SecuritySpec& security, bool has_leader, bool management_secret_exists) {
  if (!security.manage_acls || management_secret_exists) return AclStep::kNone;
  return has_leader ? AclStep::kBootstrap : AclStep::kWaitForLeader;
}

ServicePolicy sidecarPolicy(const std::string& service, const std::vector<std::string>& reads) {
  // Names go into HCL strings: JSON string escaping is valid HCL escaping for them.
  auto quoted = [](const std::string& s) { return value::string(s).serialize(); };
  ServicePolicy policy{"sidecar-" + service, ""};
  policy.rules = "service " + quoted(service) + " { policy = \"write\" }\n";
  for (const std::string& read : reads) {
    if (read == service) continue;
    policy.rules += "service " + quoted(read) + " { policy = \"read\" }\n";
  }
  return policy;
}

value sidecarTokenEnv(const std::string& secret_name) {
  value ref = value::object();
  ref["name"] = str(secret_name);
  ref["key"] = str("token");
  value env = value::object();
  env["name"] = str("CONSUL_HTTP_TOKEN");
  env["valueFrom"] = value::object();
  env["valueFrom"]["secretKeyRef"] = ref;
  return env;
}

}  // namespace cairn::op
