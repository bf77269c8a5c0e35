#include "core/http/query_options.h"

#include <charconv>

namespace cairn::http {

std::optional<uint64_t> parseUint64(std::string_view text) {
  uint64_t value = 0;
  if (text.empty()) return std::nullopt;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

StatusOr<QueryOptions> parseQueryOptions(const QueryParams& query) {
  QueryOptions opts;
  bool stale = query.has("stale");
  bool consistent = query.has("consistent");
  if (stale && consistent) {
    return invalidArgument("Cannot specify ?stale with ?consistent, conflicting semantics.");
  }
  if (query.has("leader")) {
    opts.mode = node::ReadMode::kDefault;
  } else if (stale) {
    opts.mode = node::ReadMode::kStale;
  } else if (consistent) {
    opts.mode = node::ReadMode::kConsistent;
  }
  if (auto wait = query.get("wait")) {
    auto parsed = parseGoDuration(*wait);
    if (!parsed.isOk()) return invalidArgument("Invalid wait time");
    opts.wait = *parsed;
  }
  if (auto index = query.get("index")) {
    auto parsed = parseUint64(*index);
    if (!parsed) return invalidArgument("Invalid index");
    opts.min_index = *parsed;
    opts.blocking = *parsed > 0;
  }
  if (opts.wait <= Nanos(0)) opts.wait = kDefaultBlockingWait;
  if (opts.wait > kMaxBlockingWait) opts.wait = kMaxBlockingWait;
  return opts;
}

}  // namespace cairn::http
