// AVX-512 hash_many: sixteen inputs at once, one input per 32-bit lane.
// Needs AVX-512F (512-bit integer ops, vprord rotations) and AVX-512VL; the
// dispatcher uses it only when cpuid reports both and the OS saves the ZMM
// state (xgetbv), see blake3_dispatch.c.
#include "blake3_internal.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f,avx512vl"), always_inline)) static inline

AVX512 __m512i add(__m512i a, __m512i b) { return _mm512_add_epi32(a, b); }
AVX512 __m512i xor(__m512i a, __m512i b) { return _mm512_xor_si512(a, b); }
AVX512 __m512i set1(uint32_t x) { return _mm512_set1_epi32((int32_t)x); }
AVX512 __m512i rot16(__m512i x) { return _mm512_ror_epi32(x, 16); }
AVX512 __m512i rot12(__m512i x) { return _mm512_ror_epi32(x, 12); }
AVX512 __m512i rot8(__m512i x) { return _mm512_ror_epi32(x, 8); }
AVX512 __m512i rot7(__m512i x) { return _mm512_ror_epi32(x, 7); }

#define B3_VEC __m512i
#define B3_FN AVX512
#include "blake3_rounds.h"

/// 16x16 transpose of 32-bit words, in place: row i word j goes to row j word i.
/// Words are first interleaved inside each 128-bit lane (4x4 transposes of
/// rows grouped by four), then the 128-bit lanes are transposed across groups.
AVX512 void transpose16(__m512i r[16]) {
    __m512i u[16];
    for (int g = 0; g < 4; g++) {
        const __m512i *x = &r[4 * g];
        __m512i ab_lo = _mm512_unpacklo_epi32(x[0], x[1]);
        __m512i ab_hi = _mm512_unpackhi_epi32(x[0], x[1]);
        __m512i cd_lo = _mm512_unpacklo_epi32(x[2], x[3]);
        __m512i cd_hi = _mm512_unpackhi_epi32(x[2], x[3]);
        // u[4j + g], 128-bit lane l: word 4l+j of rows 4g…4g+3.
        u[0 + g] = _mm512_unpacklo_epi64(ab_lo, cd_lo);
        u[4 + g] = _mm512_unpackhi_epi64(ab_lo, cd_lo);
        u[8 + g] = _mm512_unpacklo_epi64(ab_hi, cd_hi);
        u[12 + g] = _mm512_unpackhi_epi64(ab_hi, cd_hi);
    }
    for (int j = 0; j < 4; j++) {
        const __m512i *y = &u[4 * j];
        __m512i v0 = _mm512_shuffle_i32x4(y[0], y[1], 0x44);  // y0.L0 y0.L1 y1.L0 y1.L1
        __m512i v1 = _mm512_shuffle_i32x4(y[0], y[1], 0xEE);  // y0.L2 y0.L3 y1.L2 y1.L3
        __m512i v2 = _mm512_shuffle_i32x4(y[2], y[3], 0x44);
        __m512i v3 = _mm512_shuffle_i32x4(y[2], y[3], 0xEE);
        r[0 + j] = _mm512_shuffle_i32x4(v0, v2, 0x88);   // lane 0 of y0…y3
        r[4 + j] = _mm512_shuffle_i32x4(v0, v2, 0xDD);   // lane 1
        r[8 + j] = _mm512_shuffle_i32x4(v1, v3, 0x88);   // lane 2
        r[12 + j] = _mm512_shuffle_i32x4(v1, v3, 0xDD);  // lane 3
    }
}

AVX512 void load_message(const uint8_t *const *inputs, size_t offset, __m512i m[16]) {
    for (int i = 0; i < 16; i++) m[i] = _mm512_loadu_si512((const void *)(inputs[i] + offset));
    transpose16(m);
    for (int i = 0; i < 16; i++) _mm_prefetch((const char *)(inputs[i] + offset + 256), _MM_HINT_T0);
}

AVX512 void store_cvs(__m512i h[8], uint8_t *out) {
    __m512i t[16];
    for (int i = 0; i < 8; i++) t[i] = h[i];
    for (int i = 8; i < 16; i++) t[i] = _mm512_setzero_si512();
    transpose16(t);  // row i: the 8 words of input i, then zeros
    for (int i = 0; i < 16; i++) _mm256_storeu_si256((__m256i *)(out + 32 * i), _mm512_castsi512_si256(t[i]));
}

#define B3_DEGREE 16
#define B3_TARGET __attribute__((target("avx512f,avx512vl")))
#define B3_SET1 set1
#define B3_LOADU(p) _mm512_loadu_si512((const void *)(p))
#define B3_HASH_MANY b3_hash_many_avx512
#define B3_HASH_MANY_NARROWER b3_hash_many_avx2
#include "blake3_simd_hash.h"
#endif
