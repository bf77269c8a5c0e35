#pragma once
// A parsed template and its renderer: the engine behind `cairn template`, pure (no I/O).
//
// A render reads Consul data only through RenderDeps::data, which answers from what the runner
// has fetched so far. Every dependency the render touched is listed in the result; while one of
// them has no data yet (or a `key` does not exist), the result is incomplete and must not be
// written. The runner then starts a blocking query for each listed dependency and renders again
// when one answers or changes (consul-template's model).
//
// Threading: a Template is immutable after parse(); render() may run on several threads.

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/status.h"
#include "core/template/ast.h"
#include "core/template/dependency.h"
#include "core/template/value.h"

namespace cairn::tmpl {

struct RenderDeps {
  // The current data of a dependency (decodeResponse's value), nullopt while not fetched yet.
  std::function<std::optional<Value>(const Dependency&)> data;
  // The process environment for `env`; unset variables are nullopt.
  std::function<std::optional<std::string>(const std::string&)> env;
};

// Bounds on one render, so a template cannot make the process loop or grow without end.
struct RenderLimits {
  size_t max_steps = 10'000'000;  // nodes executed plus loop iterations
  size_t max_output = 64u << 20;  // bytes
};

struct Rendered {
  std::string text;
  std::vector<Dependency> used;  // in first-use order, without duplicates
  bool complete = true;
};

class Template {
 public:
  // Parse errors read "<name>:<line>:<column>: <what>".
  static StatusOr<Template> parse(std::string_view text, std::string name);

  // Errors read "<name>:<line>:<column>: executing ...: <what>".
  StatusOr<Rendered> render(const RenderDeps& deps, const RenderLimits& limits = {}) const;

  const std::string& name() const { return name_; }

 private:
  Template(std::string name, std::shared_ptr<const NodeList> nodes)
      : name_(std::move(name)), nodes_(std::move(nodes)) {}
  std::string name_;
  std::shared_ptr<const NodeList> nodes_;
};

}  // namespace cairn::tmpl
