#include "core/base/gzip.h"

#include <zlib.h>

#include <algorithm>
#include <climits>

#include "core/base/check.h"

namespace cairn {
namespace {

constexpr int kGzipWindowBits = 15 + 16;  // 32 KiB window, gzip header and trailer
constexpr size_t kChunk = 1 << 20;

// zlib counts in uInt: feed large inputs in slices.
void feed(z_stream& zs, std::string_view data, size_t& offset) {
  if (zs.avail_in != 0 || offset == data.size()) return;
  size_t n = std::min<size_t>(data.size() - offset, UINT_MAX);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data() + offset));
  zs.avail_in = static_cast<uInt>(n);
  offset += n;
}

}  // namespace

bool isGzip(std::string_view data) {
  return data.size() >= 2 && static_cast<unsigned char>(data[0]) == 0x1f &&
         static_cast<unsigned char>(data[1]) == 0x8b;
}

std::string gzipCompress(std::string_view data, int level) {
  z_stream zs{};
  CHECK(deflateInit2(&zs, level, Z_DEFLATED, kGzipWindowBits, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  std::string out;
  size_t offset = 0;
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    feed(zs, data, offset);
    size_t used = out.size();
    out.resize(used + kChunk);
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + used);
    zs.avail_out = static_cast<uInt>(kChunk);
    rc = deflate(&zs, offset == data.size() ? Z_FINISH : Z_NO_FLUSH);
    CHECK_MSG(rc == Z_OK || rc == Z_STREAM_END || rc == Z_BUF_ERROR, "deflate failed");
    out.resize(used + kChunk - zs.avail_out);
  }
  deflateEnd(&zs);
  return out;
}

StatusOr<std::string> gzipDecompress(std::string_view data, size_t max_size) {
  if (!isGzip(data)) return invalidArgument("not gzip data");
  z_stream zs{};
  CHECK(inflateInit2(&zs, kGzipWindowBits) == Z_OK);
  std::string out;
  size_t offset = 0;
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    feed(zs, data, offset);
    size_t used = out.size();
    if (used >= max_size + 1) break;
    size_t room = std::min(kChunk, max_size + 1 - used);
    out.resize(used + room);
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + used);
    zs.avail_out = static_cast<uInt>(room);
    rc = inflate(&zs, Z_NO_FLUSH);
    out.resize(used + room - zs.avail_out);
    bool stalled = rc == Z_BUF_ERROR && zs.avail_in == 0 && offset == data.size();
    if (stalled || (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR)) {
      std::string why = stalled ? "unexpected end of data" : (zs.msg ? zs.msg : "corrupt data");
      inflateEnd(&zs);
      return invalidArgument("gzip: " + why);
    }
  }
  bool trailing = zs.avail_in != 0 || offset != data.size();
  inflateEnd(&zs);
  if (out.size() > max_size) {
    return tooLarge("gzip: content larger than " + std::to_string(max_size) + " bytes");
  }
  if (trailing) return invalidArgument("gzip: unexpected data after the compressed stream");
  return out;
}

}  // namespace cairn
