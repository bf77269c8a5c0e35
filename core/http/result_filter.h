#pragma once
// The per-element filters of Consul's list endpoints: ?filter= (go-bexpr, core/filter) over each
// element's JSON and ?node-meta=key:value (repeatable, all must match) over a node's Meta.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cairn/v1/catalog.pb.h"
#include "core/base/status.h"
#include "core/http/query.h"

namespace cairn::filter {
class Filter;
}

namespace cairn::http {

class ResultFilter {
 public:
  // kInvalidArgument for a malformed filter expression or node-meta pair.
  static StatusOr<ResultFilter> parse(const QueryParams& query);

  bool nodeMatches(const v1::CatalogNode& node) const;
  // True when the element, as JSON text, passes ?filter= (always true without one).
  bool elementMatches(const std::string& element_json) const;

  // A JSON array of the elements that pass elementMatches().
  std::string array(const std::vector<std::string>& elements) const;

 private:
  std::shared_ptr<const filter::Filter> expression_;  // null: no ?filter=
  std::vector<std::pair<std::string, std::string>> node_meta_;
};

}  // namespace cairn::http
