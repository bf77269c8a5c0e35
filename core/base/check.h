#pragma once
// CHECK: an always-on invariant whose violation means continuing would corrupt data (Raft safety,
// a corrupt committed log, a failed log fsync). ASSERT: a debug-only invariant.

#include <cstdio>
#include <cstdlib>

namespace cairn::detail {
[[noreturn]] inline void checkFailed(const char* expr, const char* file, int line,
                                     const char* msg) {
  std::fprintf(stderr, "CHECK failed: %s at %s:%d %s\n", expr, file, line, msg ? msg : "");
  std::abort();
}
}  // namespace cairn::detail

#define CHECK(cond) \
  ((cond) ? (void)0 : ::cairn::detail::checkFailed(#cond, __FILE__, __LINE__, nullptr))
#define CHECK_MSG(cond, msg) \
  ((cond) ? (void)0 : ::cairn::detail::checkFailed(#cond, __FILE__, __LINE__, (msg)))
#ifdef NDEBUG
#define ASSERT(cond) ((void)0)
#else
#define ASSERT(cond) CHECK(cond)
#endif
