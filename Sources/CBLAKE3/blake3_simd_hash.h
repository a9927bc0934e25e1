// hash_many for one SIMD width: B3_DEGREE inputs at once, one per 32-bit lane.
// Include after blake3_rounds.h, with B3_DEGREE, B3_TARGET (attributes of
// non-inlined functions), B3_SET1, B3_LOADU (unaligned load of B3_DEGREE words),
// B3_HASH_MANY (the name to define), B3_HASH_MANY_NARROWER (the fallback for
// the last inputs), and the functions
//   load_message(inputs, offset, m): message words of one block, transposed;
//   store_cvs(h, out): the chaining values, transposed back, 32 bytes per input.

B3_TARGET static void hash_degree(const uint8_t *const *inputs, size_t blocks, const uint32_t key[8],
                                  uint64_t counter, bool increment_counter, uint8_t flags, uint8_t flags_start,
                                  uint8_t flags_end, uint8_t *out) {
    B3_VEC h[8];
    for (int i = 0; i < 8; i++) h[i] = B3_SET1(key[i]);
    uint32_t lo[B3_DEGREE], hi[B3_DEGREE];
    for (int i = 0; i < B3_DEGREE; i++) {
        uint64_t c = counter + (increment_counter ? (uint64_t)i : 0);
        lo[i] = (uint32_t)c;
        hi[i] = (uint32_t)(c >> 32);
    }
    const B3_VEC counter_lo = B3_LOADU(lo);
    const B3_VEC counter_hi = B3_LOADU(hi);
    uint8_t block_flags = flags | flags_start;
    for (size_t b = 0; b < blocks; b++) {
        if (b + 1 == blocks) block_flags |= flags_end;
        B3_VEC m[16];
        load_message(inputs, b * GIGI_BLAKE3_BLOCK_LEN, m);
        B3_VEC v[16] = {
            h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7],
            B3_SET1(B3_IV[0]), B3_SET1(B3_IV[1]), B3_SET1(B3_IV[2]), B3_SET1(B3_IV[3]),
            counter_lo, counter_hi, B3_SET1(GIGI_BLAKE3_BLOCK_LEN), B3_SET1(block_flags),
        };
        b3_rounds(v, m);
        for (int i = 0; i < 8; i++) h[i] = B3_XOR(v[i], v[i + 8]);
        block_flags = flags;
    }
    store_cvs(h, out);
}

B3_TARGET void B3_HASH_MANY(const uint8_t *const *inputs, size_t num_inputs, size_t blocks, const uint32_t key[8],
                            uint64_t counter, bool increment_counter, uint8_t flags, uint8_t flags_start,
                            uint8_t flags_end, uint8_t *out) {
    while (num_inputs >= B3_DEGREE) {
        hash_degree(inputs, blocks, key, counter, increment_counter, flags, flags_start, flags_end, out);
        inputs += B3_DEGREE;
        num_inputs -= B3_DEGREE;
        if (increment_counter) counter += B3_DEGREE;
        out += B3_DEGREE * GIGI_BLAKE3_OUT_LEN;
    }
    B3_HASH_MANY_NARROWER(inputs, num_inputs, blocks, key, counter, increment_counter, flags, flags_start,
                          flags_end, out);
}
