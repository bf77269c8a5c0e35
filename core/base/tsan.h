#pragma once
// Happens-before edges ThreadSanitizer cannot see by itself: a hand-off through a library built
// without TSan (Debian's gRPC), whose internal locks and atomics are invisible to it. The thread
// that hands an object over calls tsanRelease(object) last; the thread that takes it calls
// tsanAcquire(object) first. Both compile to nothing outside a TSan build.

#if defined(__SANITIZE_THREAD__)
#define CAIRN_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define CAIRN_TSAN 1
#endif
#endif

#ifdef CAIRN_TSAN
extern "C" void __tsan_acquire(void* addr);
extern "C" void __tsan_release(void* addr);
#endif

namespace cairn {

inline void tsanRelease([[maybe_unused]] void* object) {
#ifdef CAIRN_TSAN
  __tsan_release(object);
#endif
}

inline void tsanAcquire([[maybe_unused]] void* object) {
#ifdef CAIRN_TSAN
  __tsan_acquire(object);
#endif
}

}  // namespace cairn
