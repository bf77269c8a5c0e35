#include "core/http/kv_key.h"

#include <string>

namespace cairn::http {

Status validateKvKey(std::string_view key) {
  if (!key.empty() && (key.front() == ' ' || key.back() == ' ')) {
    return invalidArgument("Invalid key name \"" + std::string(key) +
                           "\": keys must not begin or end with a space");
  }
  size_t start = 0;
  while (start <= key.size()) {
    size_t slash = key.find('/', start);
    std::string_view segment =
        key.substr(start, slash == std::string_view::npos ? slash : slash - start);
    if (segment == "..") {
      return invalidArgument("Invalid key name \"" + std::string(key) +
                             "\": path traversal is not allowed");
    }
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return Status::ok();
}

}  // namespace cairn::http
