#include "core/base/status.h"

namespace cairn {

std::string Status::toString() const {
  static constexpr const char* kNames[] = {"OK",        "INVALID_ARGUMENT", "NOT_FOUND", "CONFLICT",
                                           "TOO_LARGE", "UNAVAILABLE",      "INTERNAL"};
  if (isOk()) return "OK";
  return std::string(kNames[static_cast<int>(code_)]) + ": " + message_;
}

}  // namespace cairn
