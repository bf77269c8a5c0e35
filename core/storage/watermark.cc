#include "core/storage/watermark.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <memory>

#include "core/base/logging.h"

namespace cairn::storage {
namespace {

constexpr const char* kMagic = "cairn-raft-watermark-v1";
// Fixed width: every rewrite has the same length, so an in-place write never leaves a stale tail.
constexpr int kFieldWidth = 20;

uint32_t fnv1a(const std::string& text) {
  uint32_t h = 2166136261u;
  for (unsigned char c : text) h = (h ^ c) * 16777619u;
  return h;
}

std::string body(const WatermarkValues& v) {
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "%s %0*" PRIu64 " %0*" PRIu64 " %0*" PRIu64 " %0*" PRIu64 " %0*" PRIu64, kMagic,
                kFieldWidth, v.last_index, kFieldWidth, v.last_term, kFieldWidth, v.commit,
                kFieldWidth, v.term, kFieldWidth, v.vote);
  return buf;
}

}  // namespace

std::string encodeWatermark(const WatermarkValues& values) {
  std::string text = body(values);
  char sum[16];
  std::snprintf(sum, sizeof sum, " %08x\n", fnv1a(text));
  return text + sum;
}

std::optional<WatermarkValues> decodeWatermark(const std::string& text) {
  WatermarkValues v;
  char magic[64];
  unsigned sum = 0;
  if (std::sscanf(text.c_str(),
                  "%63s %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %8x", magic,
                  &v.last_index, &v.last_term, &v.commit, &v.term, &v.vote, &sum) != 7) {
    return std::nullopt;
  }
  if (std::strcmp(magic, kMagic) != 0 || encodeWatermark(v) != text) return std::nullopt;
  return v;
}

StatusOr<std::unique_ptr<Watermark>> Watermark::open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return internalError("opening " + path + ": " + std::strerror(errno));
  auto out = std::unique_ptr<Watermark>(new Watermark(path, fd));
  std::string text(512, '\0');
  ssize_t n = ::pread(fd, text.data(), text.size(), 0);
  if (n < 0) return internalError("reading " + path + ": " + std::strerror(errno));
  text.resize(static_cast<size_t>(n));
  if (!text.empty()) {
    out->recorded_ = decodeWatermark(text);
    if (!out->recorded_) {
      LOG_WARN("raft.log", path << " is unreadable (torn by a crash?); the log's completeness "
                                   "cannot be checked on this start");
    }
  }
  out->current_ = out->recorded_;
  return out;
}

Watermark::~Watermark() {
  if (fd_ >= 0) ::close(fd_);
}

Status Watermark::record(const WatermarkValues& values) { return write(values, false); }

Status Watermark::lower(const WatermarkValues& values) { return write(values, true); }

Status Watermark::write(const WatermarkValues& values, bool sync) {
  if (current_ == values) return Status::ok();
  std::string text = encodeWatermark(values);
  ssize_t n = ::pwrite(fd_, text.data(), text.size(), 0);
  if (n != static_cast<ssize_t>(text.size())) {
    return unavailable(std::string(errno == ENOSPC ? "disk full" : "storage I/O error") +
                       ": writing " + path_ + ": " + std::strerror(errno));
  }
  if (sync && ::fdatasync(fd_) != 0) {
    return unavailable(std::string(errno == ENOSPC ? "disk full" : "storage I/O error") +
                       ": syncing " + path_ + ": " + std::strerror(errno));
  }
  current_ = values;
  return Status::ok();
}

}  // namespace cairn::storage
