// CBLAKE3: Gigi's own BLAKE3 (https://github.com/BLAKE3-team/BLAKE3-specs).
//
// Goals: all three modes (hash, keyed hash, derive key), extendable output,
// incremental hashing, SIMD kernels (SSE4.1, AVX2, AVX-512) chosen at run
// time that compress many 1 KiB chunks at once, and a subtree interface so
// callers can hash one large input on several threads.
// Non-goals: NEON kernels, threads inside C (Swift owns them).
#pragma once

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GIGI_BLAKE3_KEY_LEN 32
#define GIGI_BLAKE3_OUT_LEN 32
#define GIGI_BLAKE3_BLOCK_LEN 64
#define GIGI_BLAKE3_CHUNK_LEN 1024
/// 2^54 chunks of 1 KiB is 2^64 bytes, the largest input BLAKE3 allows.
#define GIGI_BLAKE3_MAX_DEPTH 54

/// The state of the chunk being absorbed (at most 1024 bytes).
typedef struct {
    uint32_t cv[8];
    uint64_t chunk_counter;
    uint8_t buf[GIGI_BLAKE3_BLOCK_LEN];
    uint8_t buf_len;
    uint8_t blocks_compressed;
    uint8_t flags;
} gigi_blake3_chunk_state;

/// An incremental hasher. Plain data: copying it forks the hash.
typedef struct {
    uint32_t key[8];
    gigi_blake3_chunk_state chunk;
    uint8_t cv_stack_len;
    /// Chaining values of complete subtrees, merged lazily (one extra slot for
    /// the pair pushed after a subtree).
    uint8_t cv_stack[(GIGI_BLAKE3_MAX_DEPTH + 1) * GIGI_BLAKE3_OUT_LEN];
} gigi_blake3_hasher;

void gigi_blake3_init(gigi_blake3_hasher *self);
void gigi_blake3_init_keyed(gigi_blake3_hasher *self, const uint8_t key[GIGI_BLAKE3_KEY_LEN]);
void gigi_blake3_init_derive_key(gigi_blake3_hasher *self, const void *context, size_t context_len);
void gigi_blake3_update(gigi_blake3_hasher *self, const void *input, size_t input_len);
/// Writes `out_len` bytes of output starting at byte `seek` of the output stream.
/// Does not change the hasher; more input may follow.
void gigi_blake3_finalize_seek(const gigi_blake3_hasher *self, uint64_t seek, uint8_t *out, size_t out_len);

/// BLAKE3 (hash mode) of a whole input in one call, the same value as init,
/// update and finalize: every chunk's chaining value from one call of the widest
/// kernel, then the tree level by level (pairs of nodes, an odd last node carried
/// up: BLAKE3's left-filled tree). Incremental hashing instead runs each aligned
/// subtree on its own, so a 10 KiB input goes 4, 4, 1 and 1 chunks wide.
void gigi_blake3_hash(const void *input, size_t input_len, uint8_t out[GIGI_BLAKE3_OUT_LEN]);

// ── Subtree interface (for multi-threaded hashing) ──────────────────────────
//
// A caller hashing a large buffer on several threads:
//  1. absorbs input with gigi_blake3_update until gigi_blake3_chunk_len() is 0,
//     or calls gigi_blake3_flush_full_chunk() when the chunk is full and more
//     input follows;
//  2. cuts the rest into complete subtrees of 2^k chunks, each starting at a
//     chunk counter that is a multiple of its size;
//  3. computes their chaining values in parallel with gigi_blake3_subtree_cv();
//  4. pushes them in order with gigi_blake3_push_subtree_cv().
// The hasher's whole input must never be exactly one pushed subtree (that
// subtree would be the root, which needs the ROOT flag): with a single
// subtree at chunk counter 0, push its two halves instead.

/// Bytes buffered in the current chunk (0…1024). 0 means the next input starts
/// at a chunk boundary.
size_t gigi_blake3_chunk_len(const gigi_blake3_hasher *self);
/// Index of the chunk the next input goes to.
uint64_t gigi_blake3_chunk_counter(const gigi_blake3_hasher *self);
/// When the current chunk holds exactly 1024 bytes, moves it onto the CV stack
/// so the chunk state is empty. Call only when more input follows.
void gigi_blake3_flush_full_chunk(gigi_blake3_hasher *self);
/// Chaining value (non-root) of the complete subtree of `num_chunks` (a power of
/// two) chunks at `input`, whose first chunk has index `chunk_counter`, using
/// the key and mode of `self`. Thread-safe: reads `self` only.
void gigi_blake3_subtree_cv(const gigi_blake3_hasher *self, const void *input, size_t num_chunks,
                            uint64_t chunk_counter, uint8_t out[GIGI_BLAKE3_OUT_LEN]);
/// Appends a subtree's chaining value. Returns 0 on success, -1 when the chunk
/// state is not empty or the subtree is not aligned at the current chunk counter.
int gigi_blake3_push_subtree_cv(gigi_blake3_hasher *self, const uint8_t cv[GIGI_BLAKE3_OUT_LEN],
                                size_t num_chunks);

// ── Kernel selection ────────────────────────────────────────────────────────

/// SIMD kernels, from slowest to fastest.
typedef enum {
    GIGI_BLAKE3_PORTABLE = 0,
    GIGI_BLAKE3_SSE41 = 1,
    GIGI_BLAKE3_AVX2 = 2,
    /// AVX-512F + AVX-512VL, sixteen chunks at once.
    GIGI_BLAKE3_AVX512 = 3,
} gigi_blake3_kernel;

/// The best kernel this CPU supports.
gigi_blake3_kernel gigi_blake3_detected_kernel(void);
/// The kernel in use: the detected one, unless limited by
/// gigi_blake3_limit_kernel or, before that is called, by the environment
/// variable GIGI_BLAKE3_KERNEL (a kernel name; for benchmarks and tests).
gigi_blake3_kernel gigi_blake3_active_kernel(void);
/// Limits the kernels used to at most `kernel` (tests use it to check each
/// kernel; GIGI_BLAKE3_AVX512 lifts the limit); returns the kernel now in use.
gigi_blake3_kernel gigi_blake3_limit_kernel(gigi_blake3_kernel kernel);
/// "portable", "sse4.1", "avx2" or "avx512".
const char *gigi_blake3_kernel_name(gigi_blake3_kernel kernel);

#ifdef __cplusplus
}
#endif
