#pragma once
// The functions a template can call: Go text/template's builtins (and, or, not, eq, ne, lt, le,
// gt, ge, len, index, print, printf, println) and consul-template's everyday set (key,
// keyOrDefault, keyExists, ls, tree, service, services, node, nodes, env, toJSON, toJSONPretty,
// parseJSON, join, split, toLower, toUpper, toTitle, trimSpace, contains, replaceAll). The data
// functions read through a FunctionContext, so they are tested with a fake.
//
// Threading: pure functions of their arguments and context.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/status.h"
#include "core/template/dependency.h"
#include "core/template/value.h"

namespace cairn::tmpl {

// What a function sees of the render it runs in.
class FunctionContext {
 public:
  virtual ~FunctionContext() = default;
  // The data of `dep`, which the render records as used; nullopt while it has not been fetched
  // (the render is then incomplete and its output is not written).
  virtual std::optional<Value> data(const Dependency& dep) = 0;
  // Marks the render incomplete: `key` of a key that does not exist yet waits for it, as in
  // consul-template.
  virtual void markIncomplete() = 0;
  virtual std::optional<std::string> env(const std::string& name) = 0;
};

using Function = StatusOr<Value> (*)(FunctionContext& ctx, const std::vector<Value>& args);

// nullptr for an unknown name. `and` and `or` are listed, but the renderer evaluates their
// arguments lazily itself, as Go does.
Function findFunction(std::string_view name);
bool isKnownFunction(std::string_view name);

// Go's fmt.Sprintf for %v %s %d %f %e %g %q %x %X %t %c %% with flags, width and precision,
// and Go's %!verb(type=value) / %!(EXTRA ...) / %!v(MISSING) for mismatches.
std::string goSprintf(std::string_view format, const std::vector<Value>& args);

}  // namespace cairn::tmpl
