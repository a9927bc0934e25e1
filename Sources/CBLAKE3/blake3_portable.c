// Portable BLAKE3 compression function and one-input-at-a-time hash_many.
#include "blake3_internal.h"

static inline uint32_t rotr32(uint32_t w, int c) { return (w >> c) | (w << (32 - c)); }

static inline void g(uint32_t *v, int a, int b, int c, int d, uint32_t x, uint32_t y) {
    v[a] = v[a] + v[b] + x;
    v[d] = rotr32(v[d] ^ v[a], 16);
    v[c] = v[c] + v[d];
    v[b] = rotr32(v[b] ^ v[c], 12);
    v[a] = v[a] + v[b] + y;
    v[d] = rotr32(v[d] ^ v[a], 8);
    v[c] = v[c] + v[d];
    v[b] = rotr32(v[b] ^ v[c], 7);
}

static inline void round_fn(uint32_t v[16], const uint32_t m[16], const uint8_t s[16]) {
    // Columns, then diagonals.
    g(v, 0, 4, 8, 12, m[s[0]], m[s[1]]);
    g(v, 1, 5, 9, 13, m[s[2]], m[s[3]]);
    g(v, 2, 6, 10, 14, m[s[4]], m[s[5]]);
    g(v, 3, 7, 11, 15, m[s[6]], m[s[7]]);
    g(v, 0, 5, 10, 15, m[s[8]], m[s[9]]);
    g(v, 1, 6, 11, 12, m[s[10]], m[s[11]]);
    g(v, 2, 7, 8, 13, m[s[12]], m[s[13]]);
    g(v, 3, 4, 9, 14, m[s[14]], m[s[15]]);
}

static inline void compress_rounds(uint32_t v[16], const uint32_t cv[8], const uint8_t block[64],
                                   uint8_t block_len, uint64_t counter, uint8_t flags) {
    uint32_t m[16];
    for (int i = 0; i < 16; i++) m[i] = b3_load32(block + 4 * i);
    for (int i = 0; i < 8; i++) v[i] = cv[i];
    for (int i = 0; i < 4; i++) v[8 + i] = B3_IV[i];
    v[12] = (uint32_t)counter;
    v[13] = (uint32_t)(counter >> 32);
    v[14] = block_len;
    v[15] = flags;
    for (int r = 0; r < 7; r++) round_fn(v, m, B3_SCHEDULE[r]);
}

void b3_compress_in_place(uint32_t cv[8], const uint8_t block[64], uint8_t block_len,
                          uint64_t counter, uint8_t flags) {
    uint32_t v[16];
    compress_rounds(v, cv, block, block_len, counter, flags);
    for (int i = 0; i < 8; i++) cv[i] = v[i] ^ v[i + 8];
}

void b3_compress_xof(const uint32_t cv[8], const uint8_t block[64], uint8_t block_len,
                     uint64_t counter, uint8_t flags, uint32_t out[16]) {
    uint32_t v[16];
    compress_rounds(v, cv, block, block_len, counter, flags);
    for (int i = 0; i < 8; i++) {
        out[i] = v[i] ^ v[i + 8];
        out[i + 8] = v[i + 8] ^ cv[i];
    }
}

void b3_hash_many_portable(const uint8_t *const *inputs, size_t num_inputs, size_t blocks,
                           const uint32_t key[8], uint64_t counter, bool increment_counter,
                           uint8_t flags, uint8_t flags_start, uint8_t flags_end, uint8_t *out) {
    for (size_t i = 0; i < num_inputs; i++) {
        uint32_t cv[8];
        memcpy(cv, key, sizeof cv);
        uint8_t block_flags = flags | flags_start;
        for (size_t b = 0; b < blocks; b++) {
            if (b + 1 == blocks) block_flags |= flags_end;
            b3_compress_in_place(cv, inputs[i] + b * GIGI_BLAKE3_BLOCK_LEN, GIGI_BLAKE3_BLOCK_LEN,
                                 counter, block_flags);
            block_flags = flags;
        }
        b3_store_cv(out + i * GIGI_BLAKE3_OUT_LEN, cv);
        if (increment_counter) counter++;
    }
}
