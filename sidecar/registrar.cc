#include "sidecar/registrar.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

namespace cairn::sidecar {
namespace {

// A stable byte form of a registration (proto maps serialize in no fixed order).
std::string fingerprint(const local::ServiceRegistration& r) {
  std::string out;
  auto add = [&out](const google::protobuf::Message& m) {
    std::string bytes;
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    m.SerializeToCodedStream(&coded);
    coded.Trim();
    out += std::to_string(bytes.size()) + ":" + bytes;
  };
  add(r.service);
  for (const auto& c : r.checks) {
    add(c.check);
    const auto& d = c.definition;
    out += d.http + "|" + d.tcp + "|" + d.grpc + "|" + std::to_string(d.ttl.count()) + "|" +
           std::to_string(d.interval.count()) + "|" + std::to_string(d.timeout.count()) + "|" +
           std::to_string(d.deregister_critical_service_after.count()) + ";";
  }
  return out;
}

}  // namespace

ApplyResult Registrar::apply(const SidecarPlan& plan) {
  ApplyResult result;
  std::set<std::string> wanted;
  for (local::ServiceRegistration r : plan.services) {
    (*r.service.mutable_meta())[kManagedByKey] = kManagedByValue;
    const std::string id = r.service.id();
    wanted.insert(id);
    std::string print = fingerprint(r);
    if (auto it = applied_.find(id); it != applied_.end() && it->second == print) continue;
    if (Status s = registry_.addService(std::move(r)); !s.isOk()) {
      result.errors.push_back("register " + id + ": " + s.message());
      continue;
    }
    applied_[id] = std::move(print);
    ++result.registered;
  }
  for (const std::string& id : registry_.managedServiceIds()) {
    if (wanted.count(id) != 0) continue;
    if (Status s = registry_.removeService(id); !s.isOk() && s.code() != StatusCode::kNotFound) {
      result.errors.push_back("deregister " + id + ": " + s.message());
      continue;
    }
    applied_.erase(id);
    ++result.removed;
  }
  return result;
}

ApplyResult Registrar::markCritical() {
  ApplyResult result;
  for (const std::string& id : registry_.managedServiceIds()) {
    if (Status s = registry_.setServiceMaintenance(id, true, kDrainReason); !s.isOk()) {
      result.errors.push_back("mark " + id + " critical: " + s.message());
    }
  }
  return result;
}

ApplyResult Registrar::deregisterAll() {
  ApplyResult result;
  for (const std::string& id : registry_.managedServiceIds()) {
    if (Status s = registry_.removeService(id); !s.isOk() && s.code() != StatusCode::kNotFound) {
      result.errors.push_back("deregister " + id + ": " + s.message());
      continue;
    }
    ++result.removed;
  }
  applied_.clear();
  return result;
}

}  // namespace cairn::sidecar
