// The BLAKE3 tree: chunk state, lazily merged chaining-value stack, subtrees
// hashed with the SIMD kernels, root output (XOF).
#include "blake3_internal.h"

/// Chunks hashed per hash_many call when computing a subtree; their CVs are
/// then reduced to one with parent hash_many calls. The last levels (fewer
/// parents than the kernel's width) run narrower, so a large batch keeps that
/// tail small: 512 chunks use ~28 KiB of stack.
#define SUBTREE_BATCH_CHUNKS 512

// ── Output of a chunk or parent node, before it is known to be the root ─────

typedef struct {
    uint32_t input_cv[8];
    uint8_t block[GIGI_BLAKE3_BLOCK_LEN];
    uint64_t counter;
    uint8_t block_len;
    uint8_t flags;
} output_t;

static void output_chaining_value(const output_t *o, uint8_t cv_out[32]) {
    uint32_t cv[8];
    memcpy(cv, o->input_cv, sizeof cv);
    b3_compress_in_place(cv, o->block, o->block_len, o->counter, o->flags);
    b3_store_cv(cv_out, cv);
}

static void output_root_bytes(const output_t *o, uint64_t seek, uint8_t *out, size_t out_len) {
    uint64_t block_counter = seek / 64;
    size_t offset = (size_t)(seek % 64);
    while (out_len > 0) {
        uint32_t words[16];
        uint8_t bytes[64];
        b3_compress_xof(o->input_cv, o->block, o->block_len, block_counter, o->flags | B3_ROOT, words);
        for (int i = 0; i < 16; i++) b3_store32(bytes + 4 * i, words[i]);
        size_t take = 64 - offset;
        if (take > out_len) take = out_len;
        memcpy(out, bytes + offset, take);
        out += take;
        out_len -= take;
        offset = 0;
        block_counter++;
    }
}

static output_t parent_output(const uint8_t block[64], const uint32_t key[8], uint8_t flags) {
    output_t o;
    memcpy(o.input_cv, key, sizeof o.input_cv);
    memcpy(o.block, block, 64);
    o.counter = 0;
    o.block_len = 64;
    o.flags = flags | B3_PARENT;
    return o;
}

// ── Chunk state ──────────────────────────────────────────────────────────────

static void chunk_reset(gigi_blake3_chunk_state *cs, const uint32_t key[8], uint64_t counter, uint8_t flags) {
    memcpy(cs->cv, key, sizeof cs->cv);
    cs->chunk_counter = counter;
    memset(cs->buf, 0, sizeof cs->buf);
    cs->buf_len = 0;
    cs->blocks_compressed = 0;
    cs->flags = flags;
}

static size_t chunk_len(const gigi_blake3_chunk_state *cs) {
    return (size_t)cs->blocks_compressed * GIGI_BLAKE3_BLOCK_LEN + cs->buf_len;
}

static uint8_t chunk_start_flag(const gigi_blake3_chunk_state *cs) {
    return cs->blocks_compressed == 0 ? B3_CHUNK_START : 0;
}

/// Absorbs at most the rest of the chunk. The last block stays buffered: it
/// needs CHUNK_END, known only when the chunk is finished.
static void chunk_update(gigi_blake3_chunk_state *cs, const uint8_t *input, size_t len) {
    while (len > 0) {
        if (cs->buf_len == GIGI_BLAKE3_BLOCK_LEN) {
            b3_compress_in_place(cs->cv, cs->buf, GIGI_BLAKE3_BLOCK_LEN, cs->chunk_counter,
                                 cs->flags | chunk_start_flag(cs));
            cs->blocks_compressed++;
            cs->buf_len = 0;
            memset(cs->buf, 0, sizeof cs->buf);
        }
        size_t take = GIGI_BLAKE3_BLOCK_LEN - cs->buf_len;
        if (take > len) take = len;
        memcpy(cs->buf + cs->buf_len, input, take);
        cs->buf_len += (uint8_t)take;
        input += take;
        len -= take;
    }
}

static output_t chunk_output(const gigi_blake3_chunk_state *cs) {
    output_t o;
    memcpy(o.input_cv, cs->cv, sizeof o.input_cv);
    memcpy(o.block, cs->buf, 64);
    o.counter = cs->chunk_counter;
    o.block_len = cs->buf_len;
    o.flags = cs->flags | chunk_start_flag(cs) | B3_CHUNK_END;
    return o;
}

// ── Subtrees ─────────────────────────────────────────────────────────────────

static void hash_chunks(const uint8_t *input, size_t num_chunks, const uint32_t key[8], uint64_t counter,
                        uint8_t flags, uint8_t *out) {
    const uint8_t *ptrs[SUBTREE_BATCH_CHUNKS];
    for (size_t i = 0; i < num_chunks; i++) ptrs[i] = input + i * GIGI_BLAKE3_CHUNK_LEN;
    b3_hash_many()(ptrs, num_chunks, GIGI_BLAKE3_CHUNK_LEN / GIGI_BLAKE3_BLOCK_LEN, key, counter, true,
                   flags, B3_CHUNK_START, B3_CHUNK_END, out);
}

/// Hashes `num_parents` parents whose children are the 64-byte pairs at `cvs`.
static void hash_parents(const uint8_t *cvs, size_t num_parents, const uint32_t key[8], uint8_t flags,
                         uint8_t *out) {
    const uint8_t *ptrs[SUBTREE_BATCH_CHUNKS / 2];
    for (size_t i = 0; i < num_parents; i++) ptrs[i] = cvs + i * 2 * GIGI_BLAKE3_OUT_LEN;
    b3_hash_many()(ptrs, num_parents, 1, key, 0, false, flags | B3_PARENT, 0, 0, out);
}

/// Hashes the `n` chaining values at `cur` up the tree, level by level (pairs of nodes,
/// an odd last node carried up: BLAKE3's left-filled tree), until at most `until` remain;
/// `cur` and `next` alternate as buffers. Returns the buffer holding what remains.
static uint8_t *reduce_cvs(uint8_t *cur, uint8_t *next, size_t n, size_t until, const uint32_t key[8],
                           uint8_t flags) {
    while (n > until) {
        size_t pairs = n / 2;
        hash_parents(cur, pairs, key, flags, next);
        if (n & 1) memcpy(next + pairs * GIGI_BLAKE3_OUT_LEN, cur + (n - 1) * GIGI_BLAKE3_OUT_LEN, GIGI_BLAKE3_OUT_LEN);
        n = pairs + (n & 1);
        uint8_t *t = cur;
        cur = next;
        next = t;
    }
    return cur;
}

static void subtree_cv(const uint32_t key[8], uint8_t flags, const uint8_t *input, size_t num_chunks,
                       uint64_t counter, uint8_t out[32]) {
    if (num_chunks > SUBTREE_BATCH_CHUNKS) {
        uint8_t children[64];
        size_t half = num_chunks / 2;
        subtree_cv(key, flags, input, half, counter, children);
        subtree_cv(key, flags, input + half * GIGI_BLAKE3_CHUNK_LEN, half, counter + half, children + 32);
        hash_parents(children, 1, key, flags, out);
        return;
    }
    uint8_t a[SUBTREE_BATCH_CHUNKS * GIGI_BLAKE3_OUT_LEN];
    uint8_t b[SUBTREE_BATCH_CHUNKS / 2 * GIGI_BLAKE3_OUT_LEN];
    hash_chunks(input, num_chunks, key, counter, flags, a);
    memcpy(out, reduce_cvs(a, b, num_chunks, 1, key, flags), 32);
}

// ── Hasher ───────────────────────────────────────────────────────────────────

static void hasher_init(gigi_blake3_hasher *self, const uint32_t key[8], uint8_t flags) {
    memcpy(self->key, key, sizeof self->key);
    chunk_reset(&self->chunk, key, 0, flags);
    self->cv_stack_len = 0;
}

void gigi_blake3_init(gigi_blake3_hasher *self) { hasher_init(self, B3_IV, 0); }

void gigi_blake3_init_keyed(gigi_blake3_hasher *self, const uint8_t key[GIGI_BLAKE3_KEY_LEN]) {
    uint32_t words[8];
    b3_load_key(words, key);
    hasher_init(self, words, B3_KEYED_HASH);
}

void gigi_blake3_init_derive_key(gigi_blake3_hasher *self, const void *context, size_t context_len) {
    gigi_blake3_hasher context_hasher;
    hasher_init(&context_hasher, B3_IV, B3_DERIVE_KEY_CONTEXT);
    gigi_blake3_update(&context_hasher, context, context_len);
    uint8_t context_key[32];
    gigi_blake3_finalize_seek(&context_hasher, 0, context_key, 32);
    uint32_t words[8];
    b3_load_key(words, context_key);
    hasher_init(self, words, B3_DERIVE_KEY_MATERIAL);
}

/// Merges the top of the stack until it holds one entry per 1 bit of
/// `total_chunks`: the subtrees completed so far. Merging lazily (before a push,
/// not after) keeps the last two entries apart, so the root is compressed only
/// at finalize with the ROOT flag.
static void merge_cv_stack(uint8_t *stack, uint8_t *stack_len, const uint32_t key[8], uint8_t flags,
                           uint64_t total_chunks) {
    size_t post_merge = (size_t)__builtin_popcountll(total_chunks);
    while (*stack_len > post_merge) {
        uint8_t *left = stack + (*stack_len - 2) * GIGI_BLAKE3_OUT_LEN;
        output_t o = parent_output(left, key, flags);
        output_chaining_value(&o, left);
        (*stack_len)--;
    }
}

static void push_cv(gigi_blake3_hasher *self, const uint8_t cv[32], uint64_t chunk_counter) {
    merge_cv_stack(self->cv_stack, &self->cv_stack_len, self->key, self->chunk.flags, chunk_counter);
    memcpy(self->cv_stack + self->cv_stack_len * GIGI_BLAKE3_OUT_LEN, cv, 32);
    self->cv_stack_len++;
}

static size_t round_down_to_power_of_2(size_t x) { return (size_t)1 << (63 - __builtin_clzll(x)); }

void gigi_blake3_update(gigi_blake3_hasher *self, const void *input_void, size_t input_len) {
    const uint8_t *input = input_void;
    if (input_len == 0) return;
    // Finish a partly filled chunk first.
    if (chunk_len(&self->chunk) > 0) {
        size_t take = GIGI_BLAKE3_CHUNK_LEN - chunk_len(&self->chunk);
        if (take > input_len) take = input_len;
        chunk_update(&self->chunk, input, take);
        input += take;
        input_len -= take;
        if (input_len == 0) return;
        gigi_blake3_flush_full_chunk(self);
    }
    // Whole subtrees straight from the input, each aligned to its size. The
    // last bytes (1…1024) stay in the chunk state unless a subtree takes all
    // of them; a subtree is pushed as its two halves so it is never the root.
    while (input_len > GIGI_BLAKE3_CHUNK_LEN) {
        uint64_t counter = self->chunk.chunk_counter;
        size_t subtree_chunks = round_down_to_power_of_2(input_len) / GIGI_BLAKE3_CHUNK_LEN;
        while ((((uint64_t)subtree_chunks - 1) & counter) != 0) subtree_chunks /= 2;
        if (subtree_chunks == 1) {
            uint8_t cv[32];
            hash_chunks(input, 1, self->key, counter, self->chunk.flags, cv);
            push_cv(self, cv, counter);
        } else {
            size_t half = subtree_chunks / 2;
            uint8_t cv[32];
            subtree_cv(self->key, self->chunk.flags, input, half, counter, cv);
            push_cv(self, cv, counter);
            subtree_cv(self->key, self->chunk.flags, input + half * GIGI_BLAKE3_CHUNK_LEN, half,
                       counter + half, cv);
            push_cv(self, cv, counter + half);
        }
        self->chunk.chunk_counter += subtree_chunks;
        input += subtree_chunks * GIGI_BLAKE3_CHUNK_LEN;
        input_len -= subtree_chunks * GIGI_BLAKE3_CHUNK_LEN;
    }
    if (input_len > 0) chunk_update(&self->chunk, input, input_len);
}

void gigi_blake3_finalize_seek(const gigi_blake3_hasher *self, uint64_t seek, uint8_t *out, size_t out_len) {
    if (self->cv_stack_len == 0) {
        output_t o = chunk_output(&self->chunk);
        output_root_bytes(&o, seek, out, out_len);
        return;
    }
    uint8_t stack[sizeof self->cv_stack];
    uint8_t n = self->cv_stack_len;
    memcpy(stack, self->cv_stack, (size_t)n * GIGI_BLAKE3_OUT_LEN);
    output_t o;
    if (chunk_len(&self->chunk) > 0) {
        merge_cv_stack(stack, &n, self->key, self->chunk.flags, self->chunk.chunk_counter);
        o = chunk_output(&self->chunk);
    } else {
        // The input ended on a subtree boundary: the last two entries are the
        // children of the deepest node on the right edge (n ≥ 2, see the header).
        o = parent_output(stack + (n - 2) * GIGI_BLAKE3_OUT_LEN, self->key, self->chunk.flags);
        n -= 2;
    }
    while (n > 0) {
        uint8_t block[64];
        memcpy(block, stack + (n - 1) * GIGI_BLAKE3_OUT_LEN, 32);
        output_chaining_value(&o, block + 32);
        o = parent_output(block, self->key, self->chunk.flags);
        n--;
    }
    output_root_bytes(&o, seek, out, out_len);
}

// ── One-shot hashing ─────────────────────────────────────────────────────────

/// Lanes the active kernel hashes at once.
static size_t kernel_degree(void) {
    switch (gigi_blake3_active_kernel()) {
    case GIGI_BLAKE3_AVX512: return 16;
    case GIGI_BLAKE3_AVX2: return 8;
    case GIGI_BLAKE3_SSE41: return 4;
    default: return 1;
    }
}

/// How many inputs to give a hash_many call for `n`: a pass of the kernels costs
/// about the same at any width (16 chunks with AVX-512, 8 with AVX2, 4 with SSE4.1),
/// so a tail that would run narrower, and fill more than half of the wider pass,
/// is padded (with a repeated input, its output discarded) to fill it.
static size_t padded_inputs(size_t n) {
    for (size_t w = kernel_degree(); w >= 4; w /= 2) {
        size_t r = n % w;
        if (r == 0) return n;
        if (2 * r > w || (w == 4 && 2 * r == w)) return n + (w - r);
    }
    return n;
}

void gigi_blake3_hash(const void *input_void, size_t input_len, uint8_t out[GIGI_BLAKE3_OUT_LEN]) {
    const uint8_t *input = input_void;
    size_t chunks = input_len == 0 ? 1 : (input_len + GIGI_BLAKE3_CHUNK_LEN - 1) / GIGI_BLAKE3_CHUNK_LEN;
    if (chunks == 1 || chunks > SUBTREE_BATCH_CHUNKS) {
        // One chunk is its own root; a long input is wide enough as subtrees.
        gigi_blake3_hasher h;
        gigi_blake3_init(&h);
        gigi_blake3_update(&h, input, input_len);
        gigi_blake3_finalize_seek(&h, 0, out, GIGI_BLAKE3_OUT_LEN);
        return;
    }
    uint8_t a[(SUBTREE_BATCH_CHUNKS + 16) * GIGI_BLAKE3_OUT_LEN];
    uint8_t b[SUBTREE_BATCH_CHUNKS / 2 * GIGI_BLAKE3_OUT_LEN];
    // Full chunks in one kernel call; a short last chunk through the chunk state.
    // None is the root: there are at least two.
    size_t full = input_len % GIGI_BLAKE3_CHUNK_LEN == 0 ? chunks : chunks - 1;
    size_t lanes = padded_inputs(full);
    const uint8_t *ptrs[SUBTREE_BATCH_CHUNKS + 16];
    for (size_t i = 0; i < lanes; i++) ptrs[i] = input + (i < full ? i : full - 1) * GIGI_BLAKE3_CHUNK_LEN;
    b3_hash_many()(ptrs, lanes, GIGI_BLAKE3_CHUNK_LEN / GIGI_BLAKE3_BLOCK_LEN, B3_IV, 0, true,
                   0, B3_CHUNK_START, B3_CHUNK_END, a);
    if (full < chunks) {
        gigi_blake3_chunk_state last;
        chunk_reset(&last, B3_IV, full, 0);
        chunk_update(&last, input + full * GIGI_BLAKE3_CHUNK_LEN, input_len - full * GIGI_BLAKE3_CHUNK_LEN);
        output_t o = chunk_output(&last);
        output_chaining_value(&o, a + full * GIGI_BLAKE3_OUT_LEN);
    }
    output_t root = parent_output(reduce_cvs(a, b, chunks, 2, B3_IV, 0), B3_IV, 0);
    output_root_bytes(&root, 0, out, GIGI_BLAKE3_OUT_LEN);
}

// ── Subtree interface ────────────────────────────────────────────────────────

size_t gigi_blake3_chunk_len(const gigi_blake3_hasher *self) { return chunk_len(&self->chunk); }

uint64_t gigi_blake3_chunk_counter(const gigi_blake3_hasher *self) { return self->chunk.chunk_counter; }

void gigi_blake3_flush_full_chunk(gigi_blake3_hasher *self) {
    if (chunk_len(&self->chunk) != GIGI_BLAKE3_CHUNK_LEN) return;
    output_t o = chunk_output(&self->chunk);
    uint8_t cv[32];
    output_chaining_value(&o, cv);
    uint64_t counter = self->chunk.chunk_counter;
    push_cv(self, cv, counter);
    chunk_reset(&self->chunk, self->key, counter + 1, self->chunk.flags);
}

void gigi_blake3_subtree_cv(const gigi_blake3_hasher *self, const void *input, size_t num_chunks,
                            uint64_t chunk_counter, uint8_t out[GIGI_BLAKE3_OUT_LEN]) {
    subtree_cv(self->key, self->chunk.flags, input, num_chunks, chunk_counter, out);
}

int gigi_blake3_push_subtree_cv(gigi_blake3_hasher *self, const uint8_t cv[GIGI_BLAKE3_OUT_LEN],
                                size_t num_chunks) {
    uint64_t counter = self->chunk.chunk_counter;
    if (chunk_len(&self->chunk) != 0 || num_chunks == 0 || (num_chunks & (num_chunks - 1)) != 0 ||
        (counter & ((uint64_t)num_chunks - 1)) != 0)
        return -1;
    push_cv(self, cv, counter);
    self->chunk.chunk_counter += num_chunks;
    return 0;
}
