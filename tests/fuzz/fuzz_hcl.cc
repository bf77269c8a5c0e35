// Fuzz target for core/hcl: every input is parsed as an HCL (or JSON) document. Parse errors are
// expected; crashes, sanitizer reports, exceptions escaping, errors without a position and nodes
// without one are findings.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/hcl/hcl.h"

namespace {

void walk(const cairn::hcl::Value& value) {
  if (value.pos.line < 1 || value.pos.column < 1) std::abort();
  for (const cairn::hcl::Value& item : value.items) walk(item);
  for (const cairn::hcl::Entry& entry : value.entries) {
    if (entry.key_pos.line < 1 || entry.key_pos.column < 1) std::abort();
    walk(entry.value);
    (void)value.blocks(entry.key);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = cairn::hcl::parse(text, "fuzz");
  if (!parsed.isOk()) {
    // Every error is "fuzz:<line>:<column>: <what>".
    if (parsed.status().message().rfind("fuzz:", 0) != 0) std::abort();
    return 0;
  }
  walk(*parsed);
  return 0;
}
