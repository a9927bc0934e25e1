// The BLAKE3 rounds, written once for every lane width. Before including,
// define B3_VEC (uint32_t or a SIMD vector of 32-bit lanes), B3_FN (the
// function attributes), and either functions add, xor, rot16, rot12, rot8, rot7
// or the macros B3_ADD … B3_ROT7.

#ifndef B3_ADD
#define B3_ADD add
#define B3_XOR xor
#define B3_ROT16 rot16
#define B3_ROT12 rot12
#define B3_ROT8 rot8
#define B3_ROT7 rot7
#endif

B3_FN void b3_g(B3_VEC *v, int a, int b, int c, int d, B3_VEC x, B3_VEC y) {
    v[a] = B3_ADD(B3_ADD(v[a], v[b]), x);
    v[d] = B3_ROT16(B3_XOR(v[d], v[a]));
    v[c] = B3_ADD(v[c], v[d]);
    v[b] = B3_ROT12(B3_XOR(v[b], v[c]));
    v[a] = B3_ADD(B3_ADD(v[a], v[b]), y);
    v[d] = B3_ROT8(B3_XOR(v[d], v[a]));
    v[c] = B3_ADD(v[c], v[d]);
    v[b] = B3_ROT7(B3_XOR(v[b], v[c]));
}

B3_FN void b3_round(B3_VEC v[16], const B3_VEC m[16], const uint8_t s[16]) {
    // Columns, then diagonals.
    b3_g(v, 0, 4, 8, 12, m[s[0]], m[s[1]]);
    b3_g(v, 1, 5, 9, 13, m[s[2]], m[s[3]]);
    b3_g(v, 2, 6, 10, 14, m[s[4]], m[s[5]]);
    b3_g(v, 3, 7, 11, 15, m[s[6]], m[s[7]]);
    b3_g(v, 0, 5, 10, 15, m[s[8]], m[s[9]]);
    b3_g(v, 1, 6, 11, 12, m[s[10]], m[s[11]]);
    b3_g(v, 2, 7, 8, 13, m[s[12]], m[s[13]]);
    b3_g(v, 3, 4, 9, 14, m[s[14]], m[s[15]]);
}

/// All seven rounds, unrolled so the schedule's indices are constants.
B3_FN void b3_rounds(B3_VEC v[16], const B3_VEC m[16]) {
    b3_round(v, m, B3_SCHEDULE[0]);
    b3_round(v, m, B3_SCHEDULE[1]);
    b3_round(v, m, B3_SCHEDULE[2]);
    b3_round(v, m, B3_SCHEDULE[3]);
    b3_round(v, m, B3_SCHEDULE[4]);
    b3_round(v, m, B3_SCHEDULE[5]);
    b3_round(v, m, B3_SCHEDULE[6]);
}
