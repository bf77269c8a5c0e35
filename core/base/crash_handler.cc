#include "core/base/crash_handler.h"

#include <execinfo.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <cstdlib>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define CAIRN_UNDER_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define CAIRN_UNDER_SANITIZER 1
#endif
#endif

namespace cairn {

#ifndef CAIRN_UNDER_SANITIZER
namespace {

constexpr int kFatalSignals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL};

void writeText(const char* text) {
  ssize_t ignored = ::write(STDERR_FILENO, text, strlen(text));
  (void)ignored;
}

// Only async-signal-safe calls (backtrace() is, once loaded: see installCrashHandler).
void onFatalSignal(int sig) {
  writeText("\ncairn: fatal signal ");
  writeText(sigabbrev_np(sig) ? sigabbrev_np(sig) : "?");
  writeText(", stack:\n");
  void* frames[64];
  int n = backtrace(frames, 64);
  backtrace_symbols_fd(frames, n, STDERR_FILENO);
  signal(sig, SIG_DFL);  // SA_RESETHAND did this too; re-raise with the default action
  raise(sig);
}

}  // namespace
#endif

void installCrashHandler() {
#ifndef CAIRN_UNDER_SANITIZER
  // backtrace() loads libgcc on first use, which allocates: do it now, not in the handler.
  void* warm[1];
  backtrace(warm, 1);
  // An alternate stack, so that a stack overflow can still be reported.
  static char alt_stack[64 * 1024];
  stack_t ss{};
  ss.ss_sp = alt_stack;
  ss.ss_size = sizeof(alt_stack);
  sigaltstack(&ss, nullptr);
  struct sigaction sa {};
  sa.sa_handler = onFatalSignal;
  sa.sa_flags = SA_RESETHAND | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  for (int sig : kFatalSignals) sigaction(sig, &sa, nullptr);
#endif
}

}  // namespace cairn
