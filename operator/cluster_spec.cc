#include "operator/cluster_spec.h"

#include <array>
#include <regex>
#include <string_view>

namespace cairn::op {
namespace {

using web::json::value;

// Keys of spec.config the operator sets itself (as flags or in the ConfigMap): letting a user
// override them would break joining, identity or the data dir.
constexpr std::array<std::string_view, 14> kOwnedConfigKeys = {"server",
                                                               "bootstrap",
                                                               "bootstrap_expect",
                                                               "data_dir",
                                                               "ports",
                                                               "retry_join",
                                                               "node_name",
                                                               "bind_addr",
                                                               "client_addr",
                                                               "advertise_addr",
                                                               "addresses",
                                                               "leave_on_terminate",
                                                               "datacenter",
                                                               "skip_leave_on_interrupt"};

Status fieldError(const std::string& field, const std::string& what) {
  return invalidArgument("spec." + field + ": " + what);
}

Status readString(const value& obj, const char* key, const std::string& field, std::string& out) {
  if (!obj.has_field(key)) return Status::ok();
  const value& v = obj.at(key);
  if (!v.is_string()) return fieldError(field, "must be a string");
  out = v.as_string();
  return Status::ok();
}

Status readRetention(const value& obj, const char* key, PvcRetention& out) {
  std::string text;
  CAIRN_RETURN_IF_ERROR(readString(obj, key, std::string("storage.") + key, text));
  if (text.empty() && !obj.has_field(key)) return Status::ok();
  if (text == "Delete") {
    out = PvcRetention::kDelete;
  } else if (text == "Retain") {
    out = PvcRetention::kRetain;
  } else {
    return fieldError(std::string("storage.") + key,
                      "must be Delete or Retain, not \"" + text + "\"");
  }
  return Status::ok();
}

Status readServers(const value& spec, ClusterSpec& out) {
  if (!spec.has_field("servers")) return Status::ok();
  const value& v = spec.at("servers");
  if (!v.is_number() || !v.as_number().is_integral()) {
    return fieldError("servers", "must be an integer");
  }
  if (!v.as_number().is_int32() || v.as_integer() < 1 || v.as_integer() > kMaxServers) {
    return fieldError("servers", "must be between 1 and " + std::to_string(kMaxServers));
  }
  out.servers = v.as_integer();
  return Status::ok();
}

Status readStorage(const value& spec, ClusterSpec& out) {
  if (!spec.has_field("storage")) return Status::ok();
  const value& s = spec.at("storage");
  if (!s.is_object()) return fieldError("storage", "must be an object");
  CAIRN_RETURN_IF_ERROR(readString(s, "size", "storage.size", out.storage_size));
  static const std::regex kQuantity(R"(^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$)");
  if (!std::regex_match(out.storage_size, kQuantity)) {
    return fieldError("storage.size", "\"" + out.storage_size + "\" is not a quantity like 10Gi");
  }
  CAIRN_RETURN_IF_ERROR(
      readString(s, "storageClassName", "storage.storageClassName", out.storage_class));
  CAIRN_RETURN_IF_ERROR(readRetention(s, "whenScaledDown", out.when_scaled_down));
  return readRetention(s, "whenDeleted", out.when_deleted);
}

Status readUpdateStrategy(const value& spec, ClusterSpec& out) {
  if (!spec.has_field("updateStrategy")) return Status::ok();
  const value& u = spec.at("updateStrategy");
  if (!u.is_object()) return fieldError("updateStrategy", "must be an object");
  std::string type = "RollingUpdate";
  CAIRN_RETURN_IF_ERROR(readString(u, "type", "updateStrategy.type", type));
  if (type == "RollingUpdate") {
    out.update_strategy = UpdateStrategy::kRollingUpdate;
  } else if (type == "OnDelete") {
    out.update_strategy = UpdateStrategy::kOnDelete;
  } else {
    return fieldError("updateStrategy.type",
                      "must be RollingUpdate or OnDelete, not \"" + type + "\"");
  }
  return Status::ok();
}

// Placement and resources are passed through; only their JSON type is checked here.
Status readPassThrough(const value& spec, const char* key, bool array, value& out) {
  if (!spec.has_field(key)) return Status::ok();
  const value& v = spec.at(key);
  if (array ? !v.is_array() : !v.is_object()) {
    return fieldError(key, array ? "must be a list" : "must be an object");
  }
  out = v;
  return Status::ok();
}

Status readConfig(const value& spec, ClusterSpec& out) {
  CAIRN_RETURN_IF_ERROR(readPassThrough(spec, "config", false, out.config));
  if (out.config.is_null()) return Status::ok();
  for (std::string_view key : kOwnedConfigKeys) {
    if (out.config.has_field(utility::string_t(key))) {
      return fieldError("config." + std::string(key),
                        "is set by the operator and cannot be overridden");
    }
  }
  return Status::ok();
}

}  // namespace

StatusOr<ClusterSpec> parseClusterSpec(const value& spec) {
  if (!spec.is_object()) return invalidArgument("spec: must be an object");
  ClusterSpec out;
  CAIRN_RETURN_IF_ERROR(readServers(spec, out));
  CAIRN_RETURN_IF_ERROR(readString(spec, "image", "image", out.image));
  if (out.image.empty()) return fieldError("image", "must not be empty");
  CAIRN_RETURN_IF_ERROR(
      readString(spec, "imagePullPolicy", "imagePullPolicy", out.image_pull_policy));
  CAIRN_RETURN_IF_ERROR(readStorage(spec, out));
  CAIRN_RETURN_IF_ERROR(readUpdateStrategy(spec, out));
  CAIRN_RETURN_IF_ERROR(readConfig(spec, out));
  CAIRN_RETURN_IF_ERROR(readPassThrough(spec, "resources", false, out.resources));
  CAIRN_RETURN_IF_ERROR(readPassThrough(spec, "affinity", false, out.affinity));
  CAIRN_RETURN_IF_ERROR(readPassThrough(spec, "tolerations", true, out.tolerations));
  CAIRN_RETURN_IF_ERROR(readPassThrough(spec, "nodeSelector", false, out.node_selector));
  CAIRN_RETURN_IF_ERROR(
      readPassThrough(spec, "topologySpreadConstraints", true, out.topology_spread));
  CAIRN_RETURN_IF_ERROR(
      readString(spec, "priorityClassName", "priorityClassName", out.priority_class));
  return out;
}

}  // namespace cairn::op
