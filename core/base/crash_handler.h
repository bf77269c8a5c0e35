#pragma once
// A last word from a crashing process: on SIGSEGV, SIGBUS, SIGFPE or SIGILL, writes the signal and
// a raw stack trace (binary+offset per frame; `addr2line -e cairn -f -C <offset>` names them) to
// stderr, then lets the signal kill the process as usual. Does nothing under a sanitizer, whose
// own report is better.

namespace cairn {

void installCrashHandler();

}  // namespace cairn
