#include "core/http/result_filter.h"

#include "core/filter/filter.h"
#include "core/http/json_reader.h"

namespace cairn::http {

StatusOr<ResultFilter> ResultFilter::parse(const QueryParams& query) {
  ResultFilter out;
  if (auto text = query.get("filter"); text && !text->empty()) {
    auto parsed = filter::Filter::parse(*text);
    if (!parsed.isOk()) {
      return invalidArgument("Failed to create boolean expression evaluator: " +
                             parsed.status().message());
    }
    out.expression_ = std::make_shared<const filter::Filter>(std::move(*parsed));
  }
  for (const std::string& pair : query.all("node-meta")) {
    size_t colon = pair.find(':');
    if (colon == std::string::npos) {
      out.node_meta_.emplace_back(pair, "");
    } else {
      out.node_meta_.emplace_back(pair.substr(0, colon), pair.substr(colon + 1));
    }
  }
  return out;
}

bool ResultFilter::nodeMatches(const v1::CatalogNode& node) const {
  for (const auto& [key, value] : node_meta_) {
    auto it = node.meta().find(key);
    if (it == node.meta().end() || it->second != value) return false;
  }
  return true;
}

bool ResultFilter::elementMatches(const std::string& element_json) const {
  if (!expression_) return true;
  auto parsed = parseJson(element_json);
  return parsed.isOk() && expression_->matches(*parsed);
}

std::string ResultFilter::array(const std::vector<std::string>& elements) const {
  std::string out = "[";
  bool first = true;
  for (const std::string& e : elements) {
    if (!elementMatches(e)) continue;
    if (!first) out.push_back(',');
    out += e;
    first = false;
  }
  out.push_back(']');
  return out;
}

}  // namespace cairn::http
