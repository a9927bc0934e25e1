// SSE4.1 hash_many: four inputs at once, one input per 32-bit lane.
#include "blake3_internal.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define SSE41 __attribute__((target("sse4.1"), always_inline)) static inline

SSE41 __m128i add(__m128i a, __m128i b) { return _mm_add_epi32(a, b); }
SSE41 __m128i xor(__m128i a, __m128i b) { return _mm_xor_si128(a, b); }
SSE41 __m128i set1(uint32_t x) { return _mm_set1_epi32((int32_t)x); }
SSE41 __m128i rot16(__m128i x) {
    return _mm_shuffle_epi8(x, _mm_set_epi8(13, 12, 15, 14, 9, 8, 11, 10, 5, 4, 7, 6, 1, 0, 3, 2));
}
SSE41 __m128i rot8(__m128i x) {
    return _mm_shuffle_epi8(x, _mm_set_epi8(12, 15, 14, 13, 8, 11, 10, 9, 4, 7, 6, 5, 0, 3, 2, 1));
}
SSE41 __m128i rot12(__m128i x) { return _mm_or_si128(_mm_srli_epi32(x, 12), _mm_slli_epi32(x, 20)); }
SSE41 __m128i rot7(__m128i x) { return _mm_or_si128(_mm_srli_epi32(x, 7), _mm_slli_epi32(x, 25)); }

#define B3_VEC __m128i
#define B3_FN SSE41
#include "blake3_rounds.h"

/// Rows (one per input) to columns (one per word), in place.
SSE41 void transpose4(__m128i r[4]) {
    __m128i ab01 = _mm_unpacklo_epi32(r[0], r[1]);
    __m128i ab23 = _mm_unpackhi_epi32(r[0], r[1]);
    __m128i cd01 = _mm_unpacklo_epi32(r[2], r[3]);
    __m128i cd23 = _mm_unpackhi_epi32(r[2], r[3]);
    r[0] = _mm_unpacklo_epi64(ab01, cd01);
    r[1] = _mm_unpackhi_epi64(ab01, cd01);
    r[2] = _mm_unpacklo_epi64(ab23, cd23);
    r[3] = _mm_unpackhi_epi64(ab23, cd23);
}

SSE41 void load_message(const uint8_t *const *inputs, size_t offset, __m128i m[16]) {
    for (int q = 0; q < 4; q++) {
        for (int i = 0; i < 4; i++) m[4 * q + i] = _mm_loadu_si128((const __m128i *)(inputs[i] + offset + 16 * q));
        transpose4(&m[4 * q]);
    }
}

SSE41 void store_cvs(__m128i h[8], uint8_t *out) {
    transpose4(&h[0]);
    transpose4(&h[4]);
    for (int i = 0; i < 4; i++) {
        _mm_storeu_si128((__m128i *)(out + 32 * i), h[i]);
        _mm_storeu_si128((__m128i *)(out + 32 * i + 16), h[4 + i]);
    }
}

#define B3_DEGREE 4
#define B3_TARGET __attribute__((target("sse4.1")))
#define B3_SET1 set1
#define B3_LOADU(p) _mm_loadu_si128((const __m128i *)(p))
#define B3_HASH_MANY b3_hash_many_sse41
#define B3_HASH_MANY_NARROWER b3_hash_many_portable
#include "blake3_simd_hash.h"
#endif
