// Fuzz target for the request bodies of /v1/acl/*: every input is decoded as a token, a policy
// (whose Rules go through the rules parser) and a role body. Decode errors are expected (and must
// say what is wrong); crashes, sanitizer reports and exceptions escaping are findings.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/http/acl_json.h"

namespace {

template <typename T>
void check(const cairn::StatusOr<T>& decoded) {
  if (!decoded.isOk() && decoded.status().message().empty()) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  auto token = cairn::http::decodeTokenRequest(body);
  check(token);
  if (token.isOk() && token->expiration_time_unix_ns != 0) {
    (void)cairn::http::formatRfc3339(token->expiration_time_unix_ns);
  }
  check(cairn::http::decodePolicyRequest(body));
  check(cairn::http::decodeRoleRequest(body));
  return 0;
}
