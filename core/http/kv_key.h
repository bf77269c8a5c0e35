#pragma once
// Validation of KV keys, as Consul does since its CVE-2025-11392 fix: reject path traversal and
// leading/trailing spaces, never ban other characters. (Non-printable characters are rejected for
// every path by the server.)

#include <string_view>

#include "core/base/status.h"

namespace cairn::http {

Status validateKvKey(std::string_view key);

}  // namespace cairn::http
