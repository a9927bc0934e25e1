// Internal definitions shared by the BLAKE3 kernels and the tree code.
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cblake3.h"

enum {
    B3_CHUNK_START = 1 << 0,
    B3_CHUNK_END = 1 << 1,
    B3_PARENT = 1 << 2,
    B3_ROOT = 1 << 3,
    B3_KEYED_HASH = 1 << 4,
    B3_DERIVE_KEY_CONTEXT = 1 << 5,
    B3_DERIVE_KEY_MATERIAL = 1 << 6,
};

/// The SHA-256 initial hash values, as the BLAKE3 spec prescribes.
static const uint32_t B3_IV[8] = {
    0x6A09E667u, 0xBB67AE85u, 0x3C6EF372u, 0xA54FF53Au,
    0x510E527Fu, 0x9B05688Cu, 0x1F83D9ABu, 0x5BE0CD19u,
};

/// Message word order of each of the 7 rounds: round r applies the spec's
/// permutation r times.
static const uint8_t B3_SCHEDULE[7][16] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
    {2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8},
    {3, 4, 10, 12, 13, 2, 7, 14, 6, 5, 9, 0, 11, 15, 8, 1},
    {10, 7, 12, 9, 14, 3, 13, 15, 4, 0, 11, 2, 5, 8, 1, 6},
    {12, 13, 9, 11, 15, 10, 14, 8, 7, 2, 5, 3, 0, 1, 6, 4},
    {9, 14, 11, 5, 8, 12, 15, 1, 13, 3, 0, 10, 2, 6, 4, 7},
    {11, 15, 5, 0, 1, 9, 8, 6, 14, 10, 2, 12, 3, 4, 7, 13},
};

static inline uint32_t b3_load32(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static inline void b3_store32(uint8_t *p, uint32_t w) {
    p[0] = (uint8_t)w;
    p[1] = (uint8_t)(w >> 8);
    p[2] = (uint8_t)(w >> 16);
    p[3] = (uint8_t)(w >> 24);
}

static inline void b3_load_key(uint32_t out[8], const uint8_t key[32]) {
    for (int i = 0; i < 8; i++) out[i] = b3_load32(key + 4 * i);
}

static inline void b3_store_cv(uint8_t out[32], const uint32_t cv[8]) {
    for (int i = 0; i < 8; i++) b3_store32(out + 4 * i, cv[i]);
}

/// Hashes `num_inputs` inputs of `blocks` full 64-byte blocks each, all with the
/// same key. Input i uses counter `counter + i` when `increment_counter`, else
/// `counter`. The first block gets `flags | flags_start`, the last `flags |
/// flags_end`. Writes one 32-byte chaining value per input to `out`.
/// Chunks: blocks = 16, start/end = CHUNK_START/CHUNK_END. Parents: blocks = 1.
typedef void (*b3_hash_many_fn)(const uint8_t *const *inputs, size_t num_inputs, size_t blocks,
                                const uint32_t key[8], uint64_t counter, bool increment_counter,
                                uint8_t flags, uint8_t flags_start, uint8_t flags_end, uint8_t *out);

/// Compresses one block; `out` receives the full 16-word state after the
/// feed-forward of the extended output (words 0…7 are the new chaining value).
void b3_compress_xof(const uint32_t cv[8], const uint8_t block[64], uint8_t block_len,
                     uint64_t counter, uint8_t flags, uint32_t out[16]);
/// Compresses one block and writes the new chaining value over `cv`.
void b3_compress_in_place(uint32_t cv[8], const uint8_t block[64], uint8_t block_len,
                          uint64_t counter, uint8_t flags);

void b3_hash_many_portable(const uint8_t *const *inputs, size_t num_inputs, size_t blocks,
                           const uint32_t key[8], uint64_t counter, bool increment_counter,
                           uint8_t flags, uint8_t flags_start, uint8_t flags_end, uint8_t *out);
void b3_hash_many_sse41(const uint8_t *const *inputs, size_t num_inputs, size_t blocks,
                        const uint32_t key[8], uint64_t counter, bool increment_counter,
                        uint8_t flags, uint8_t flags_start, uint8_t flags_end, uint8_t *out);
void b3_hash_many_avx2(const uint8_t *const *inputs, size_t num_inputs, size_t blocks,
                       const uint32_t key[8], uint64_t counter, bool increment_counter,
                       uint8_t flags, uint8_t flags_start, uint8_t flags_end, uint8_t *out);
void b3_hash_many_avx512(const uint8_t *const *inputs, size_t num_inputs, size_t blocks,
                         const uint32_t key[8], uint64_t counter, bool increment_counter,
                         uint8_t flags, uint8_t flags_start, uint8_t flags_end, uint8_t *out);

/// The hash_many of the active kernel.
b3_hash_many_fn b3_hash_many(void);
