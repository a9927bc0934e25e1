// BLAKE3 (https://github.com/BLAKE3-team/BLAKE3-specs): Swift API over our C
// implementation in the CBLAKE3 target.
//
// Goals: the three modes (hash, keyed hash, derive key), incremental hashing,
// extendable output, and hashing large buffers on several threads with the
// result identical to single-threaded hashing.
// Non-goals: the "guts" API of other implementations beyond what multi-threading needs.

import CBLAKE3
import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// An incremental BLAKE3 hasher. A value type: copying it forks the hash state.
///
///     var h = BLAKE3()
///     h.update(part1); h.update(part2)
///     let digest = h.finalize()
public struct BLAKE3: Sendable {
    public static let keySize = 32
    public static let digestSize = 32
    /// The BLAKE3 chunk (leaf) size.
    public static let chunkSize = 1024

    @usableFromInline var state = gigi_blake3_hasher()

    /// The default hash mode.
    public init() {
        gigi_blake3_init(&state)
    }

    /// The keyed hash mode (a MAC / PRF). The key must be 32 bytes.
    public init(key: [UInt8]) throws {
        try requireLength("BLAKE3 key", key.count, Self.keySize)
        key.withUnsafeBufferPointer { gigi_blake3_init_keyed(&state, $0.baseAddress) }
    }

    /// The keyed hash mode with a secret key of 32 bytes.
    public init(key: SecureBytes) throws {
        try requireLength("BLAKE3 key", key.count, Self.keySize)
        key.withUnsafeBytes { gigi_blake3_init_keyed(&state, $0.bindMemory(to: UInt8.self).baseAddress) }
    }

    /// The key derivation mode: the context string should be hard-coded, globally
    /// unique and application-specific, e.g. "gigi 2026-11-29 share key v1".
    /// The key material is then fed with `update`.
    public init(deriveKeyContext context: String) {
        var context = context
        context.withUTF8 { gigi_blake3_init_derive_key(&state, $0.baseAddress, $0.count) }
    }

    /// Absorbs bytes.
    public mutating func update(_ data: UnsafeRawBufferPointer) {
        guard data.count > 0 else { return }
        gigi_blake3_update(&state, data.baseAddress, data.count)
    }

    /// Absorbs bytes.
    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// The 32-byte hash of everything absorbed so far. The hasher is unchanged:
    /// more input may follow.
    public func finalize() -> Digest32 {
        withUnsafeTemporaryAllocation(byteCount: 32, alignment: 8) { out in
            withUnsafePointer(to: state) { gigi_blake3_finalize_seek($0, 0, out.baseAddress!.assumingMemoryBound(to: UInt8.self), 32) }
            return Digest32(pointer: UnsafeRawPointer(out.baseAddress!))
        }
    }

    /// `count` bytes of extended output starting at byte `seek` of the output
    /// stream. The first 32 bytes at seek 0 are `finalize()`.
    public func finalize(count: Int, seek: UInt64 = 0) -> [UInt8] {
        precondition(count >= 0, "negative output length")
        var out = [UInt8](repeating: 0, count: count)
        out.withUnsafeMutableBufferPointer { o in
            withUnsafePointer(to: state) { gigi_blake3_finalize_seek($0, seek, o.baseAddress, count) }
        }
        return out
    }

    /// Writes extended output into `out`, starting at byte `seek` of the output stream.
    public func finalize(into out: UnsafeMutableRawBufferPointer, seek: UInt64 = 0) {
        guard out.count > 0 else { return }
        withUnsafePointer(to: state) {
            gigi_blake3_finalize_seek($0, seek, out.baseAddress!.assumingMemoryBound(to: UInt8.self), out.count)
        }
    }

    // ── One-shot helpers ────────────────────────────────────────────────────

    /// (One call into the C code: all chunks of an input up to 512 KiB go through the
    /// SIMD kernel at once, about 3× faster than `update` for 4–16 KiB.)
    public static func hash(_ data: UnsafeRawBufferPointer) -> Digest32 {
        var out: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        return withUnsafeMutableBytes(of: &out) { o in
            gigi_blake3_hash(data.baseAddress, data.count, o.baseAddress!.assumingMemoryBound(to: UInt8.self))
            return Digest32(pointer: UnsafeRawPointer(o.baseAddress!))
        }
    }

    public static func hash(_ bytes: [UInt8]) -> Digest32 {
        bytes.withUnsafeBytes { hash($0) }
    }

    /// The keyed hash of `bytes` under a 32-byte key.
    public static func keyedHash(key: [UInt8], _ bytes: [UInt8]) throws -> Digest32 {
        var h = try BLAKE3(key: key)
        h.update(bytes)
        return h.finalize()
    }

    /// Derives `count` bytes of key from `material` in the given context.
    public static func deriveKey(context: String, material: [UInt8], count: Int = 32) -> SecureBytes {
        var h = BLAKE3(deriveKeyContext: context)
        h.update(material)
        let out = SecureBytes(zeroes: count)
        out.withUnsafeMutableBytes { h.finalize(into: $0) }
        return out
    }

    /// The number of online processors: the default thread count for large inputs.
    public static var defaultThreadCount: Int { ParallelJobs.processorCount }

    /// The SIMD kernel in use: "avx512", "avx2", "sse4.1" or "portable".
    public static var kernel: String {
        String(cString: gigi_blake3_kernel_name(gigi_blake3_active_kernel()))
    }
}

// ── Multi-threaded hashing ──────────────────────────────────────────────────

extension BLAKE3 {
    /// Inputs smaller than this are hashed on the calling thread only.
    static let parallelThreshold = 128 * 1024
    /// The largest subtree given to one thread at a time (1 MiB).
    static let maxPieceChunks = 1024

    /// Absorbs `data` using up to `threads` threads. The result equals `update(data)`.
    /// Parallelism comes from BLAKE3's tree: complete subtrees of the input are
    /// hashed independently and their chaining values merged in order.
    public mutating func update(_ data: UnsafeRawBufferPointer, threads: Int) {
        let pass = beginParallelUpdate(data, threads: threads)
        ParallelJobs.run(count: pass.jobCount, threads: threads) { pass.job($0) }
        finishParallelUpdate(pass)
    }

    /// Starts a parallel update: absorbs bytes up to the next chunk boundary and
    /// cuts the rest into subtrees. Run every `job(i)` for i in 0..<jobCount (on
    /// any threads, in any order), then call `finishParallelUpdate`.
    mutating func beginParallelUpdate(_ data: UnsafeRawBufferPointer, threads: Int) -> ParallelUpdate {
        guard threads > 1, data.count >= Self.parallelThreshold, let base = data.baseAddress else {
            return ParallelUpdate(state: state, input: data, pieces: [])
        }
        var offset = 0
        let buffered = gigi_blake3_chunk_len(&state)
        if buffered != 0 {
            // Complete the current chunk, so subtrees start on a chunk boundary.
            offset = Swift.min(Self.chunkSize - buffered, data.count)
            update(UnsafeRawBufferPointer(start: base, count: offset))
            if offset == data.count { return ParallelUpdate(state: state, input: UnsafeRawBufferPointer(start: base + offset, count: 0), pieces: []) }
            gigi_blake3_flush_full_chunk(&state)
        }
        let rest = UnsafeRawBufferPointer(start: base + offset, count: data.count - offset)
        let pieces = Self.planSubtrees(counter: gigi_blake3_chunk_counter(&state), byteCount: rest.count,
                                       threads: threads)
        return ParallelUpdate(state: state, input: rest, pieces: pieces)
    }

    /// Pushes the subtrees' chaining values in order and absorbs the tail.
    mutating func finishParallelUpdate(_ pass: ParallelUpdate) {
        defer { pass.cvs.deallocate() }
        var consumed = 0
        for (i, piece) in pass.pieces.enumerated() {
            let rc = gigi_blake3_push_subtree_cv(
                &state, (pass.cvs.baseAddress! + 32 * i).assumingMemoryBound(to: UInt8.self), piece.chunks)
            precondition(rc == 0, "BLAKE3 subtree plan out of step with the hasher")
            consumed += piece.chunks * Self.chunkSize
        }
        update(UnsafeRawBufferPointer(rebasing: pass.input[consumed...]))
    }

    /// A complete subtree: `chunks` (a power of two) chunks starting `offset` bytes
    /// into the input, at chunk index `counter` of the whole message.
    struct Subtree: Sendable {
        var offset: Int
        var chunks: Int
        var counter: UInt64
    }

    /// Cuts `byteCount` bytes starting at chunk index `counter` into complete
    /// subtrees, each aligned to its size and at most `maxPieceChunks`; what is
    /// left (less than a chunk) goes through `update`. A subtree starting at
    /// chunk 0 never covers all the input: it could be the root, which needs
    /// the ROOT flag.
    static func planSubtrees(counter start: UInt64, byteCount: Int, threads: Int) -> [Subtree] {
        let totalChunks = byteCount / chunkSize
        // Several pieces per thread, so uneven pieces at the end balance out.
        let target = Swift.max(1, totalChunks / (threads * 4))
        let maxChunks = Swift.min(maxPieceChunks, 1 << (Int.bitWidth - 1 - target.leadingZeroBitCount))
        var pieces: [Subtree] = []
        var counter = start
        var offset = 0
        while true {
            let remaining = byteCount - offset
            let fullChunks = remaining / chunkSize
            guard fullChunks > 0 else { break }
            var n = Swift.min(maxChunks, 1 << (Int.bitWidth - 1 - fullChunks.leadingZeroBitCount))
            if counter != 0 {
                n = Swift.min(n, Int(counter & (~counter &+ 1)))  // the lowest set bit: alignment
            } else if n * chunkSize == remaining {
                n /= 2
            }
            guard n > 0 else { break }
            pieces.append(Subtree(offset: offset, chunks: n, counter: counter))
            offset += n * chunkSize
            counter += UInt64(n)
        }
        return pieces
    }
}

/// One parallel update: the hasher's key and mode, the input after the chunk
/// boundary, its subtrees, and a 32-byte slot per subtree for its chaining value.
/// Each job writes only its own slot.
struct ParallelUpdate: @unchecked Sendable {
    let state: gigi_blake3_hasher
    let input: UnsafeRawBufferPointer
    let pieces: [BLAKE3.Subtree]
    let cvs: UnsafeMutableRawBufferPointer

    init(state: gigi_blake3_hasher, input: UnsafeRawBufferPointer, pieces: [BLAKE3.Subtree]) {
        self.state = state
        self.input = input
        self.pieces = pieces
        cvs = .allocate(byteCount: Swift.max(pieces.count, 1) * 32, alignment: 16)
    }

    var jobCount: Int { pieces.count }

    func job(_ i: Int) {
        let p = pieces[i]
        withUnsafePointer(to: state) { sp in
            gigi_blake3_subtree_cv(sp, input.baseAddress! + p.offset, p.chunks, p.counter,
                                   (cvs.baseAddress! + 32 * i).assumingMemoryBound(to: UInt8.self))
        }
    }
}

/// Runs independent jobs on a few threads, each thread taking the next job in order.
enum ParallelJobs {
    final class Cursor: Sendable {
        let next = Atomic<Int>(0)
    }

    static func run(count: Int, threads: Int, _ job: @Sendable (Int) -> Void) {
        guard threads > 1, count > 1 else {
            for i in 0..<count { job(i) }
            return
        }
        let cursor = Cursor()
        DispatchQueue.concurrentPerform(iterations: Swift.min(threads, count)) { _ in
            while true {
                let i = cursor.next.wrappingAdd(1, ordering: .relaxed).oldValue
                if i >= count { break }
                job(i)
            }
        }
    }

    /// The number of online processors.
    static var processorCount: Int {
        Swift.max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }
}
