#pragma once
// Query-string parameters as Consul reads them: repeatable (tag=a&tag=b), presence-based flags
// (`?recurse`, `?recurse=false` and `?recurse=1` all mean set), percent-decoded.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cairn::http {

class QueryParams {
 public:
  // Parses "a=1&b&c=x%20y". '+' decodes to a space, as Go's url.ParseQuery does.
  static QueryParams parse(std::string_view raw);

  bool has(std::string_view name) const;
  // The first value of `name`, if present ("" for a bare flag).
  std::optional<std::string> get(std::string_view name) const;
  std::vector<std::string> all(std::string_view name) const;

 private:
  std::vector<std::pair<std::string, std::string>> params_;
};

// Decodes %XX escapes (and '+' as space when `plus_is_space`). Returns nullopt on a malformed
// escape.
std::optional<std::string> percentDecode(std::string_view in, bool plus_is_space);

}  // namespace cairn::http
