// Run-time choice of the hash_many kernel.
#include <stdatomic.h>

#include "blake3_internal.h"

static _Atomic int limit = -1;  // -1: no limit set

gigi_blake3_kernel gigi_blake3_detected_kernel(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2")) return GIGI_BLAKE3_AVX2;
    if (__builtin_cpu_supports("sse4.1")) return GIGI_BLAKE3_SSE41;
#endif
    return GIGI_BLAKE3_PORTABLE;
}

gigi_blake3_kernel gigi_blake3_active_kernel(void) {
    static _Atomic int detected = -1;
    int d = atomic_load_explicit(&detected, memory_order_relaxed);
    if (d < 0) {
        d = (int)gigi_blake3_detected_kernel();
        atomic_store_explicit(&detected, d, memory_order_relaxed);
    }
    int l = atomic_load_explicit(&limit, memory_order_relaxed);
    return (gigi_blake3_kernel)(l >= 0 && l < d ? l : d);
}

gigi_blake3_kernel gigi_blake3_limit_kernel(gigi_blake3_kernel kernel) {
    atomic_store_explicit(&limit, (int)kernel, memory_order_relaxed);
    return gigi_blake3_active_kernel();
}

const char *gigi_blake3_kernel_name(gigi_blake3_kernel kernel) {
    switch (kernel) {
    case GIGI_BLAKE3_AVX2: return "avx2";
    case GIGI_BLAKE3_SSE41: return "sse4.1";
    default: return "portable";
    }
}

b3_hash_many_fn b3_hash_many(void) {
    switch (gigi_blake3_active_kernel()) {
#if defined(__x86_64__) || defined(__i386__)
    case GIGI_BLAKE3_AVX2: return b3_hash_many_avx2;
    case GIGI_BLAKE3_SSE41: return b3_hash_many_sse41;
#endif
    default: return b3_hash_many_portable;
    }
}
