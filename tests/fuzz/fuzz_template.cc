// Fuzz target for core/template: every input is parsed as a template and, when it parses,
// rendered against fixed fake data with small limits. Parse and render errors are expected;
// crashes, sanitizer reports, hangs, and errors without the "<name>:<line>:<column>: " prefix are
// findings.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/template/render.h"

namespace {

using cairn::tmpl::Dependency;
using cairn::tmpl::Value;

// One answer per kind of dependency, so data functions return something to range over.
Value fakeData(const Dependency& dep) {
  Value record = Value::record({{"Name", Value::string("web")},
                                {"Address", Value::string("127.0.0.1")},
                                {"Port", Value::integer(8080)},
                                {"Tags", Value::list({Value::string("a")})},
                                {"Key", Value::string("k")},
                                {"Value", Value::string("{\"a\":[1,2]}")}});
  switch (dep.kind) {
    case Dependency::Kind::kKey:
      return dep.name == "missing" ? Value() : Value::string("[1,\"x\",{\"y\":null}]");
    case Dependency::Kind::kNode:
      return Value::record({{"Node", record}, {"Services", Value::list({record})}});
    default:
      return Value::list({record, record});
  }
}

bool hasPosition(const std::string& message) {
  if (message.rfind("fuzz:", 0) != 0) return false;
  size_t i = 5;
  for (int part = 0; part < 2; ++part) {
    size_t start = i;
    while (i < message.size() && message[i] >= '0' && message[i] <= '9') ++i;
    if (i == start || i >= message.size() || message[i] != ':') return false;
    ++i;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = cairn::tmpl::Template::parse(text, "fuzz");
  if (!parsed.isOk()) {
    if (!hasPosition(parsed.status().message())) std::abort();
    return 0;
  }
  cairn::tmpl::RenderDeps deps;
  deps.data = [](const Dependency& dep) -> std::optional<Value> { return fakeData(dep); };
  deps.env = [](const std::string&) -> std::optional<std::string> { return "env"; };
  cairn::tmpl::RenderLimits limits;
  limits.max_steps = 100'000;
  limits.max_output = 1 << 20;
  auto rendered = parsed->render(deps, limits);
  if (!rendered.isOk() && !hasPosition(rendered.status().message())) std::abort();
  return 0;
}
