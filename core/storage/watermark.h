#pragma once
// Watermark: what the Raft log store has made durable, recorded in a small file next to RocksDB's
// own files (<data-dir>/db/RAFT-WATERMARK) and checked on every open.
//
// Why: RocksDB recovers its WAL in point-in-time mode, which cuts the log at the first damaged
// record and opens normally. That is right for the torn tail a power loss leaves (it was never
// acknowledged), but a WAL truncated or bit-flipped before its tail would silently lose entries
// this server had acknowledged, or the vote it had cast. The watermark lets the store tell the
// two apart: after every synced write it records the last log index and term, the commit index
// and the term/vote, all durable at that moment, so a recovered log behind it is damaged.
//
// Writes: record() rewrites the file in place without fsync (values only ever reported after
// they were durable in RocksDB, so a lost or older watermark only weakens the check); lower()
// fsyncs, because it must reach the disk before a write that legitimately shrinks the log (a
// conflicting suffix truncated, a snapshot installed). A torn file (checksum mismatch) is
// treated as absent, with a warning.
//
// Threads: as the log store (one writer).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "core/base/status.h"

namespace cairn::storage {

struct WatermarkValues {
  uint64_t last_index = 0;  // the log's last index (0: no claim about the log)
  uint64_t last_term = 0;   // its term
  uint64_t commit = 0;
  uint64_t term = 0;  // hard state term and vote
  uint64_t vote = 0;
  bool operator==(const WatermarkValues&) const = default;
};

class Watermark {
 public:
  // Opens (creating it when missing) the file at `path`. recorded() is what it held.
  static StatusOr<std::unique_ptr<Watermark>> open(const std::string& path);
  ~Watermark();

  const std::optional<WatermarkValues>& recorded() const { return recorded_; }
  Status record(const WatermarkValues& values);  // no fsync
  Status lower(const WatermarkValues& values);   // fsync
  const std::optional<WatermarkValues>& current() const { return current_; }

 private:
  Watermark(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  Status write(const WatermarkValues& values, bool sync);

  const std::string path_;
  int fd_ = -1;
  std::optional<WatermarkValues> recorded_;  // at open
  std::optional<WatermarkValues> current_;   // last written (or recorded)
};

// Encoding (exposed for tests): one text line with a checksum; nullopt when it does not parse.
std::string encodeWatermark(const WatermarkValues& values);
std::optional<WatermarkValues> decodeWatermark(const std::string& text);

}  // namespace cairn::storage
