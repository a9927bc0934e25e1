// Portable BLAKE3 compression function and one-input-at-a-time hash_many.
#include "blake3_internal.h"

static inline uint32_t rotr32(uint32_t w, int c) { return (w >> c) | (w << (32 - c)); }

#define B3_VEC uint32_t
#define B3_FN __attribute__((always_inline)) static inline
#define B3_ADD(a, b) ((a) + (b))
#define B3_XOR(a, b) ((a) ^ (b))
#define B3_ROT16(x) rotr32(x, 16)
#define B3_ROT12(x) rotr32(x, 12)
#define B3_ROT8(x) rotr32(x, 8)
#define B3_ROT7(x) rotr32(x, 7)
#include "blake3_rounds.h"

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
    b3_rounds(v, m);
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
