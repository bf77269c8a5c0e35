// Fuzz target for core/acl's rules parser: every input is parsed as a policy's rules (HCL or
// JSON). Rules that parse are merged into an authorizer, which is asked about a few names. Parse
// errors are expected; crashes, sanitizer reports and errors without a position are findings.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/acl/authorizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto rules = cairn::acl::parseRules(text, "fuzz");
  if (!rules.isOk()) {
    if (rules.status().message().rfind("fuzz:", 0) != 0) std::abort();
    return 0;
  }
  auto authz = cairn::acl::Authorizer::fromRules({&*rules}, cairn::acl::DefaultPolicy::kDeny);
  for (const cairn::acl::Rule& rule : rules->rules) {
    (void)authz->allowed(rule.resource, rule.segment, cairn::acl::Access::kRead);
    (void)authz->allowed(rule.resource, rule.segment + "x", cairn::acl::Access::kWrite);
    (void)authz->allowedPrefixWrite(rule.resource, rule.segment);
    (void)authz->allowedPrefixWrite(rule.resource, "");
  }
  return 0;
}
