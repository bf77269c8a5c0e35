#include "core/local/local_persistence.h"

#include <memory>

#include "core/base/logging.h"

namespace cairn::local {
namespace {

constexpr char kServicePrefix[] = "svc/";
constexpr char kCheckPrefix[] = "chk/";

Status fromRocks(const rocksdb::Status& s, const char* what) {
  if (s.ok()) return Status::ok();
  return internalError(std::string("local registry ") + what + ": " + s.ToString());
}

bool startsWith(const rocksdb::Slice& key, std::string_view prefix) {
  return key.size() >= prefix.size() && std::string_view(key.data(), prefix.size()) == prefix;
}

}  // namespace

localstore::StoredCheckDefinition storedDefinition(const health::CheckDefinition& d) {
  localstore::StoredCheckDefinition s;
  s.set_http(d.http);
  s.set_method(d.method);
  for (const auto& [name, values] : d.header) {
    for (const auto& v : values) (*s.mutable_header())[name].add_values(v);
  }
  s.set_body(d.body);
  s.set_disable_redirects(d.disable_redirects);
  s.set_tls_skip_verify(d.tls_skip_verify);
  s.set_tls_server_name(d.tls_server_name);
  s.set_tcp(d.tcp);
  s.set_tcp_use_tls(d.tcp_use_tls);
  s.set_grpc(d.grpc);
  s.set_grpc_use_tls(d.grpc_use_tls);
  s.set_ttl_ns(d.ttl.count());
  for (const auto& a : d.script_args) s.add_script_args(a);
  s.set_interval_ns(d.interval.count());
  s.set_timeout_ns(d.timeout.count());
  s.set_output_max_size(d.output_max_size);
  s.set_success_before_passing(d.success_before_passing);
  s.set_failures_before_warning(d.failures_before_warning);
  s.set_failures_before_critical(d.failures_before_critical);
  s.set_deregister_critical_service_after_ns(d.deregister_critical_service_after.count());
  return s;
}

health::CheckDefinition definitionOf(const localstore::StoredCheckDefinition& s) {
  health::CheckDefinition d;
  d.http = s.http();
  d.method = s.method();
  for (const auto& [name, values] : s.header()) {
    d.header[name].assign(values.values().begin(), values.values().end());
  }
  d.body = s.body();
  d.disable_redirects = s.disable_redirects();
  d.tls_skip_verify = s.tls_skip_verify();
  d.tls_server_name = s.tls_server_name();
  d.tcp = s.tcp();
  d.tcp_use_tls = s.tcp_use_tls();
  d.grpc = s.grpc();
  d.grpc_use_tls = s.grpc_use_tls();
  d.ttl = Nanos(s.ttl_ns());
  d.script_args.assign(s.script_args().begin(), s.script_args().end());
  d.interval = Nanos(s.interval_ns());
  d.timeout = Nanos(s.timeout_ns());
  d.output_max_size = s.output_max_size();
  d.success_before_passing = s.success_before_passing();
  d.failures_before_warning = s.failures_before_warning();
  d.failures_before_critical = s.failures_before_critical();
  d.deregister_critical_service_after = Nanos(s.deregister_critical_service_after_ns());
  return d;
}

StatusOr<LocalPersistence::Loaded> LocalPersistence::load() const {
  Loaded out;
  if (db_ == nullptr) return out;
  std::unique_ptr<rocksdb::Iterator> it(
      db_->db()->NewIterator(rocksdb::ReadOptions(), db_->family(storage::kLocalFamily)));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    rocksdb::Slice key = it->key(), value = it->value();
    bool ok = true;
    if (startsWith(key, kServicePrefix)) {
      ok = out.services.emplace_back().ParseFromArray(value.data(), static_cast<int>(value.size()));
      if (!ok) out.services.pop_back();
    } else if (startsWith(key, kCheckPrefix)) {
      ok = out.checks.emplace_back().ParseFromArray(value.data(), static_cast<int>(value.size()));
      if (!ok) out.checks.pop_back();
    }
    if (!ok) LOG_WARN("local", "skipping unreadable local registry record " << key.ToString());
  }
  CAIRN_RETURN_IF_ERROR(fromRocks(it->status(), "read"));
  return out;
}

Status LocalPersistence::putService(const localstore::StoredLocalService& s, bool sync) {
  return put(kServicePrefix + s.service().id(), s.SerializeAsString(), sync);
}

Status LocalPersistence::putCheck(const localstore::StoredLocalCheck& c, bool sync) {
  return put(kCheckPrefix + c.check().check_id(), c.SerializeAsString(), sync);
}

Status LocalPersistence::eraseService(const std::string& id) { return erase(kServicePrefix + id); }
Status LocalPersistence::eraseCheck(const std::string& id) { return erase(kCheckPrefix + id); }

Status LocalPersistence::put(const std::string& key, const std::string& value, bool sync) {
  if (db_ == nullptr) return Status::ok();
  rocksdb::WriteOptions opts;
  opts.sync = sync;
  return fromRocks(db_->db()->Put(opts, db_->family(storage::kLocalFamily), key, value), "write");
}

Status LocalPersistence::erase(const std::string& key) {
  if (db_ == nullptr) return Status::ok();
  rocksdb::WriteOptions opts;
  opts.sync = true;
  return fromRocks(db_->db()->Delete(opts, db_->family(storage::kLocalFamily), key), "delete");
}

}  // namespace cairn::local
