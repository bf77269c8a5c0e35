#pragma once
// Gzip (RFC 1952) of whole in-memory buffers, through zlib. Thread-safe (no shared state).

#include <cstddef>
#include <string>
#include <string_view>

#include "core/base/status.h"

namespace cairn {

// One gzip member holding `data`. `level` is zlib's 1 (fastest) .. 9 (smallest).
std::string gzipCompress(std::string_view data, int level = 1);

// The content of the single gzip member `data`. Errors (kInvalidArgument): not gzip, corrupt or
// truncated data, a CRC or length mismatch, bytes after the member; kTooLarge when the content
// exceeds `max_size` bytes (decompression stops there, so a small bomb cannot exhaust memory).
StatusOr<std::string> gzipDecompress(std::string_view data, size_t max_size);

// True when `data` starts with the gzip magic bytes 1f 8b.
bool isGzip(std::string_view data);

}  // namespace cairn
