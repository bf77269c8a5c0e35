#pragma once
// StorageHealth: what the agent knows about its own disk, shared by everything that reads or
// writes the agent's RocksDB and by everything that reports it (/v1/agent/self, autopilot health,
// /metrics, the log).
//
// Two independent faults:
//  - a write fault (disk full, or another I/O error on write): set by the failed write, cleared
//    by the next write that succeeds (RocksDb::write resumes RocksDB first). Writes are refused
//    meanwhile; reads keep working.
//  - corruption found while serving (a checksum mismatch in an SST, a record that does not
//    parse): sticky until restart, because the data on disk is damaged and will stay damaged.
//
// Each transition is logged once, at the moment it happens. Thread-safe.

#include <mutex>
#include <string>

namespace cairn::storage {

class StorageHealth {
 public:
  enum class WriteFault { kNone, kDiskFull, kIoError };

  struct View {
    WriteFault write_fault = WriteFault::kNone;
    std::string write_error;  // the failed write's error, as RocksDB reported it
    bool corrupted = false;
    std::string corruption;  // what was found damaged, first occurrence
    bool healthy() const { return write_fault == WriteFault::kNone && !corrupted; }
    bool diskFull() const { return write_fault == WriteFault::kDiskFull; }
  };

  // `dir` names the storage in log lines.
  explicit StorageHealth(std::string dir) : dir_(std::move(dir)) {}

  void reportWriteFailure(WriteFault fault, const std::string& error);
  void reportWriteSuccess();
  void reportCorruption(const std::string& what);

  View view() const;
  bool hasWriteFault() const;

 private:
  const std::string dir_;
  mutable std::mutex mu_;
  View view_;
};

// "disk full", "storage I/O error": how a write fault is named in messages.
const char* writeFaultName(StorageHealth::WriteFault fault);

}  // namespace cairn::storage
