#include "core/filter/filter.h"

#include "core/filter/evaluate.h"
#include "core/filter/parser.h"

namespace cairn::filter {

StatusOr<Filter> Filter::parse(std::string_view expression) {
  StatusOr<internal::Node> root = internal::parseExpression(expression);
  if (!root.isOk()) return root.status();
  return Filter(std::make_shared<const internal::Node>(std::move(root).value()));
}

bool Filter::matches(const web::json::value& element) const {
  return internal::evaluate(*root_, element);
}

}  // namespace cairn::filter
