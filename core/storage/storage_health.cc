#include "core/storage/storage_health.h"

#include "core/base/logging.h"

namespace cairn::storage {
namespace {
constexpr const char* kComponent = "storage";
}  // namespace

const char* writeFaultName(StorageHealth::WriteFault fault) {
  switch (fault) {
    case StorageHealth::WriteFault::kNone:
      return "ok";
    case StorageHealth::WriteFault::kDiskFull:
      return "disk full";
    case StorageHealth::WriteFault::kIoError:
      return "storage I/O error";
  }
  return "unknown";
}

void StorageHealth::reportWriteFailure(WriteFault fault, const std::string& error) {
  std::lock_guard lock(mu_);
  bool changed = view_.write_fault != fault;
  view_.write_fault = fault;
  view_.write_error = error;
  if (changed) {
    LOG_ERROR(kComponent, writeFaultName(fault)
                              << ": writes to " << dir_
                              << " fail; this server refuses writes and stops acknowledging "
                                 "Raft entries until space is freed, then resumes by itself ("
                              << error << ")");
  }
}

void StorageHealth::reportWriteSuccess() {
  std::lock_guard lock(mu_);
  if (view_.write_fault == WriteFault::kNone) return;
  LOG_INFO(kComponent, "writes to " << dir_ << " succeed again after "
                                    << writeFaultName(view_.write_fault) << ": resumed");
  view_.write_fault = WriteFault::kNone;
  view_.write_error.clear();
}

void StorageHealth::reportCorruption(const std::string& what) {
  std::lock_guard lock(mu_);
  if (view_.corrupted) return;
  view_.corrupted = true;
  view_.corruption = what;
  LOG_ERROR(kComponent, "corruption in " << dir_ << ": " << what
                                         << "; this server is now unhealthy. Stop it and recover "
                                            "the data dir (docs/operations.md, \"Damaged data "
                                            "directories\")");
}

StorageHealth::View StorageHealth::view() const {
  std::lock_guard lock(mu_);
  return view_;
}

bool StorageHealth::hasWriteFault() const {
  std::lock_guard lock(mu_);
  return view_.write_fault != WriteFault::kNone;
}

}  // namespace cairn::storage
