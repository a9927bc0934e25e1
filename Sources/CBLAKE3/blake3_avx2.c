// AVX2 hash_many: eight inputs at once, one input per 32-bit lane.
#include "blake3_internal.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2"), always_inline)) static inline

AVX2 __m256i add(__m256i a, __m256i b) { return _mm256_add_epi32(a, b); }
AVX2 __m256i xor(__m256i a, __m256i b) { return _mm256_xor_si256(a, b); }
AVX2 __m256i set1(uint32_t x) { return _mm256_set1_epi32((int32_t)x); }
AVX2 __m256i rot16(__m256i x) {
    return _mm256_shuffle_epi8(x, _mm256_set_epi8(13, 12, 15, 14, 9, 8, 11, 10, 5, 4, 7, 6, 1, 0, 3, 2,
                                                  13, 12, 15, 14, 9, 8, 11, 10, 5, 4, 7, 6, 1, 0, 3, 2));
}
AVX2 __m256i rot8(__m256i x) {
    return _mm256_shuffle_epi8(x, _mm256_set_epi8(12, 15, 14, 13, 8, 11, 10, 9, 4, 7, 6, 5, 0, 3, 2, 1,
                                                  12, 15, 14, 13, 8, 11, 10, 9, 4, 7, 6, 5, 0, 3, 2, 1));
}
AVX2 __m256i rot12(__m256i x) { return _mm256_or_si256(_mm256_srli_epi32(x, 12), _mm256_slli_epi32(x, 20)); }
AVX2 __m256i rot7(__m256i x) { return _mm256_or_si256(_mm256_srli_epi32(x, 7), _mm256_slli_epi32(x, 25)); }

#define B3_VEC __m256i
#define B3_FN AVX2
#include "blake3_rounds.h"

/// 8x8 transpose of 32-bit words: rows (one per input) to columns (one per word).
AVX2 void transpose8(__m256i r[8]) {
    __m256i ab0145 = _mm256_unpacklo_epi32(r[0], r[1]);
    __m256i ab2367 = _mm256_unpackhi_epi32(r[0], r[1]);
    __m256i cd0145 = _mm256_unpacklo_epi32(r[2], r[3]);
    __m256i cd2367 = _mm256_unpackhi_epi32(r[2], r[3]);
    __m256i ef0145 = _mm256_unpacklo_epi32(r[4], r[5]);
    __m256i ef2367 = _mm256_unpackhi_epi32(r[4], r[5]);
    __m256i gh0145 = _mm256_unpacklo_epi32(r[6], r[7]);
    __m256i gh2367 = _mm256_unpackhi_epi32(r[6], r[7]);
    __m256i abcd04 = _mm256_unpacklo_epi64(ab0145, cd0145);
    __m256i abcd15 = _mm256_unpackhi_epi64(ab0145, cd0145);
    __m256i abcd26 = _mm256_unpacklo_epi64(ab2367, cd2367);
    __m256i abcd37 = _mm256_unpackhi_epi64(ab2367, cd2367);
    __m256i efgh04 = _mm256_unpacklo_epi64(ef0145, gh0145);
    __m256i efgh15 = _mm256_unpackhi_epi64(ef0145, gh0145);
    __m256i efgh26 = _mm256_unpacklo_epi64(ef2367, gh2367);
    __m256i efgh37 = _mm256_unpackhi_epi64(ef2367, gh2367);
    r[0] = _mm256_permute2x128_si256(abcd04, efgh04, 0x20);
    r[4] = _mm256_permute2x128_si256(abcd04, efgh04, 0x31);
    r[1] = _mm256_permute2x128_si256(abcd15, efgh15, 0x20);
    r[5] = _mm256_permute2x128_si256(abcd15, efgh15, 0x31);
    r[2] = _mm256_permute2x128_si256(abcd26, efgh26, 0x20);
    r[6] = _mm256_permute2x128_si256(abcd26, efgh26, 0x31);
    r[3] = _mm256_permute2x128_si256(abcd37, efgh37, 0x20);
    r[7] = _mm256_permute2x128_si256(abcd37, efgh37, 0x31);
}

AVX2 void load_message(const uint8_t *const *inputs, size_t offset, __m256i m[16]) {
    for (int half = 0; half < 2; half++) {
        for (int i = 0; i < 8; i++)
            m[8 * half + i] = _mm256_loadu_si256((const __m256i *)(inputs[i] + offset + 32 * half));
        transpose8(&m[8 * half]);
    }
    for (int i = 0; i < 8; i++) _mm_prefetch((const char *)(inputs[i] + offset + 256), _MM_HINT_T0);
}

AVX2 void store_cvs(__m256i h[8], uint8_t *out) {
    transpose8(h);
    for (int i = 0; i < 8; i++) _mm256_storeu_si256((__m256i *)(out + 32 * i), h[i]);
}

#define B3_DEGREE 8
#define B3_TARGET __attribute__((target("avx2")))
#define B3_SET1 set1
#define B3_LOADU(p) _mm256_loadu_si256((const __m256i *)(p))
#define B3_HASH_MANY b3_hash_many_avx2
#define B3_HASH_MANY_NARROWER b3_hash_many_sse41
#include "blake3_simd_hash.h"
#endif
