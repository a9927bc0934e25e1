// Run-time choice of the hash_many kernel: the CPU's features from cpuid, and
// for AVX and AVX-512 also whether the OS saves those registers on a context
// switch (XCR0 via xgetbv); a CPU feature the OS does not enable would fault.
#include <stdatomic.h>
#include <stdlib.h>

#include "blake3_internal.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

/// XCR0: which register states the OS saves (bit 1 SSE, 2 AVX, 5-7 AVX-512).
static uint64_t read_xcr0(void) {
    uint32_t eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((uint64_t)edx << 32) | eax;
}

static gigi_blake3_kernel detect_x86(void) {
    unsigned eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return GIGI_BLAKE3_PORTABLE;
    const bool sse41 = (ecx >> 19) & 1, osxsave = (ecx >> 27) & 1, avx = (ecx >> 28) & 1;
    if (!sse41) return GIGI_BLAKE3_PORTABLE;
    if (!osxsave || !avx) return GIGI_BLAKE3_SSE41;
    const uint64_t xcr0 = read_xcr0();
    if ((xcr0 & 0x6) != 0x6) return GIGI_BLAKE3_SSE41;  // XMM and YMM state
    unsigned max_leaf = __get_cpuid_max(0, NULL);
    if (max_leaf < 7) return GIGI_BLAKE3_SSE41;
    __cpuid_count(7, 0, eax, ebx, ecx, edx);
    const bool avx2 = (ebx >> 5) & 1, avx512f = (ebx >> 16) & 1, avx512vl = (ebx >> 31) & 1;
    if (!avx2) return GIGI_BLAKE3_SSE41;
    if (avx512f && avx512vl && (xcr0 & 0xE6) == 0xE6) return GIGI_BLAKE3_AVX512;  // + opmask, ZMM
    return GIGI_BLAKE3_AVX2;
}
#endif

gigi_blake3_kernel gigi_blake3_detected_kernel(void) {
#if defined(__x86_64__) || defined(__i386__)
    return detect_x86();
#else
    return GIGI_BLAKE3_PORTABLE;
#endif
}

static _Atomic int limit = -1;  // -1: not read yet from GIGI_BLAKE3_KERNEL
static _Atomic int detected = -1;

static int kernel_named(const char *name) {
    for (int k = GIGI_BLAKE3_PORTABLE; k <= GIGI_BLAKE3_AVX512; k++)
        if (strcmp(name, gigi_blake3_kernel_name((gigi_blake3_kernel)k)) == 0) return k;
    return GIGI_BLAKE3_AVX512;  // unknown names do not limit
}

gigi_blake3_kernel gigi_blake3_active_kernel(void) {
    int d = atomic_load_explicit(&detected, memory_order_relaxed);
    if (d < 0) {
        d = (int)gigi_blake3_detected_kernel();
        atomic_store_explicit(&detected, d, memory_order_relaxed);
    }
    int l = atomic_load_explicit(&limit, memory_order_relaxed);
    if (l < 0) {
        const char *env = getenv("GIGI_BLAKE3_KERNEL");
        int from_env = env && *env ? kernel_named(env) : GIGI_BLAKE3_AVX512;
        int expected = -1;
        atomic_compare_exchange_strong(&limit, &expected, from_env);
        l = atomic_load_explicit(&limit, memory_order_relaxed);
    }
    return (gigi_blake3_kernel)(l < d ? l : d);
}

gigi_blake3_kernel gigi_blake3_limit_kernel(gigi_blake3_kernel kernel) {
    atomic_store_explicit(&limit, (int)kernel, memory_order_relaxed);
    return gigi_blake3_active_kernel();
}

const char *gigi_blake3_kernel_name(gigi_blake3_kernel kernel) {
    switch (kernel) {
    case GIGI_BLAKE3_AVX512: return "avx512";
    case GIGI_BLAKE3_AVX2: return "avx2";
    case GIGI_BLAKE3_SSE41: return "sse4.1";
    default: return "portable";
    }
}

b3_hash_many_fn b3_hash_many(void) {
    switch (gigi_blake3_active_kernel()) {
#if defined(__x86_64__) || defined(__i386__)
    case GIGI_BLAKE3_AVX512: return b3_hash_many_avx512;
    case GIGI_BLAKE3_AVX2: return b3_hash_many_avx2;
    case GIGI_BLAKE3_SSE41: return b3_hash_many_sse41;
#endif
    default: return b3_hash_many_portable;
    }
}
