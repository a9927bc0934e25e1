// Byte containers: a fixed 32-byte digest value type, and secret bytes that zero themselves.

import CSodium
import GigiBase

/// A 32-byte hash value (BLAKE3-256, SHA-256, keys). Stored inline: no heap
/// allocation, cheap to hash and compare, suitable as a dictionary key for
/// millions of chunks. Ordering is bytewise lexicographic (as LMDB orders keys).
public struct Digest32: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var a: UInt64, b: UInt64, c: UInt64, d: UInt64   // big-endian words of the bytes

    /// The all-zero digest.
    public static let zero = Digest32(a: 0, b: 0, c: 0, d: 0)

    public init(a: UInt64, b: UInt64, c: UInt64, d: UInt64) {
        self.a = a; self.b = b; self.c = c; self.d = d
    }

    /// From exactly 32 bytes; nil for any other length.
    public init?<C: Collection>(bytes: C) where C.Element == UInt8 {
        guard bytes.count == 32 else { return nil }
        var words = [UInt64](repeating: 0, count: 4)
        var i = 0
        for byte in bytes {
            words[i >> 3] = (words[i >> 3] << 8) | UInt64(byte)
            i += 1
        }
        self.init(a: words[0], b: words[1], c: words[2], d: words[3])
    }

    /// From a raw pointer to 32 bytes.
    public init(pointer p: UnsafeRawPointer) {
        func word(_ o: Int) -> UInt64 { UInt64(bigEndian: p.loadUnaligned(fromByteOffset: o, as: UInt64.self)) }
        self.init(a: word(0), b: word(8), c: word(16), d: word(24))
    }

    /// From 64 hex digits (either case); nil otherwise.
    public init?(hex: String) {
        guard let bytes = Hex.decode(hex), bytes.count == 32 else { return nil }
        self.init(bytes: bytes)
    }

    /// The 32 bytes.
    public var bytes: [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        out.withUnsafeMutableBytes { withUnsafeBytes(to: $0) }
        return out
    }

    /// Writes the 32 bytes to `dst` (which must have room for 32).
    public func withUnsafeBytes(to dst: UnsafeMutableRawBufferPointer) {
        precondition(dst.count >= 32)
        dst.storeBytes(of: a.bigEndian, toByteOffset: 0, as: UInt64.self)
        dst.storeBytes(of: b.bigEndian, toByteOffset: 8, as: UInt64.self)
        dst.storeBytes(of: c.bigEndian, toByteOffset: 16, as: UInt64.self)
        dst.storeBytes(of: d.bigEndian, toByteOffset: 24, as: UInt64.self)
    }

    /// Lower-case hex, 64 digits.
    public var hex: String { Hex.encode(bytes) }
    public var description: String { hex }

    public static func < (l: Digest32, r: Digest32) -> Bool {
        (l.a, l.b, l.c, l.d) < (r.a, r.b, r.c, r.d)
    }
}

/// Secret bytes (keys, seeds, passwords, mnemonics). The storage is zeroed
/// with `sodium_memzero` when the last reference goes away. Copies of a
/// `SecureBytes` share one buffer. Never printed: `description` is redacted.
public struct SecureBytes: Sendable, CustomStringConvertible {
    final class Storage: @unchecked Sendable {
        let pointer: UnsafeMutableRawBufferPointer
        init(count: Int) {
            pointer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(count, 1), alignment: 16)
            pointer.initializeMemory(as: UInt8.self, repeating: 0)
            self.count = count
        }
        let count: Int
        deinit {
            sodium_memzero(pointer.baseAddress, pointer.count)
            pointer.deallocate()
        }
    }
    let storage: Storage

    /// `count` zero bytes.
    public init(zeroes count: Int) { storage = Storage(count: count) }

    /// A copy of `bytes`. The caller should wipe its own copy if it can.
    public init<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        storage = Storage(count: bytes.count)
        UnsafeMutableRawBufferPointer(rebasing: storage.pointer[0..<bytes.count]).copyBytes(from: bytes)
    }

    /// `count` random bytes from the system generator.
    public static func random(count: Int) -> SecureBytes {
        let s = SecureBytes(zeroes: count)
        s.withUnsafeMutableBytes { SystemRandom.fill($0) }
        return s
    }

    public var count: Int { storage.count }

    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(rebasing: storage.pointer[0..<storage.count]))
    }

    /// Mutation is allowed (the buffer is shared between copies by design: it is a secret box).
    public func withUnsafeMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeMutableRawBufferPointer(rebasing: storage.pointer[0..<storage.count]))
    }

    /// A plain copy of the bytes. Use only where an API needs `[UInt8]`.
    public var unsafeBytes: [UInt8] { withUnsafeBytes { Array($0) } }

    public var description: String { "SecureBytes(\(count) bytes, redacted)" }
}

extension SecureBytes: Equatable {
    /// Constant-time comparison of the contents.
    public static func == (l: SecureBytes, r: SecureBytes) -> Bool {
        l.withUnsafeBytes { a in r.withUnsafeBytes { b in constantTimeEquals(a, b) } }
    }
}

/// Compares two byte sequences in time that depends only on their lengths.
public func constantTimeEquals(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
    guard a.count == b.count else { return false }
    if a.count == 0 { return true }
    ensureSodium()
    return sodium_memcmp(a.baseAddress, b.baseAddress, a.count) == 0
}

/// Compares two byte arrays in constant time (for equal lengths).
public func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    a.withUnsafeBytes { pa in b.withUnsafeBytes { pb in constantTimeEquals(pa, pb) } }
}

/// The operating system's cryptographic random generator (libsodium `randombytes`).
public enum SystemRandom {
    public static func fill(_ buffer: UnsafeMutableRawBufferPointer) {
        ensureSodium()
        guard let base = buffer.baseAddress, buffer.count > 0 else { return }
        randombytes_buf(base, buffer.count)
    }

    public static func bytes(_ count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        out.withUnsafeMutableBytes { fill($0) }
        return out
    }

    /// A uniform random integer in 0..<upperBound.
    public static func uniform(_ upperBound: UInt32) -> UInt32 {
        ensureSodium()
        return randombytes_uniform(upperBound)
    }
}

/// A `RandomNumberGenerator` backed by the system CSPRNG, for Swift APIs like `shuffled(using:)`.
public struct SecureRandomNumberGenerator: RandomNumberGenerator, Sendable {
    public init() {}
    public mutating func next() -> UInt64 {
        var v: UInt64 = 0
        withUnsafeMutableBytes(of: &v) { SystemRandom.fill($0) }
        return v
    }
}
