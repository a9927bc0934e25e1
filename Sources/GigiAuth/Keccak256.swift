// Keccak-256 as Ethereum uses it: the Keccak-f[1600] permutation (FIPS 202)
// with rate 1088 bits and the original Keccak padding (0x01 … 0x80), not
// SHA3-256's 0x06 domain byte. OpenSSL 3.0 offers only SHA3, hence this file.
// Spec: The Keccak reference, version 3.0; FIPS 202 §3 for the permutation.

/// Keccak-256 (the pre-FIPS padding used by Ethereum). Incremental or one-shot.
public struct Keccak256: Sendable {
    public static let digestSize = 32
    static let rate = 136  // bytes: 1600 - 2 × 256 bits

    private var state = [UInt64](repeating: 0, count: 25)
    private var buffer = [UInt8]()

    public init() { buffer.reserveCapacity(Self.rate) }

    public static func hash<C: Collection>(_ data: C) -> [UInt8] where C.Element == UInt8 {
        var k = Keccak256()
        k.update(data)
        return k.finalize()
    }

    public mutating func update<C: Collection>(_ data: C) where C.Element == UInt8 {
        for byte in data {
            buffer.append(byte)
            if buffer.count == Self.rate { absorbBuffer() }
        }
    }

    public consuming func finalize() -> [UInt8] {
        // Pad: 0x01, zeros, final bit 0x80 (one byte 0x81 if only one byte is left).
        buffer.append(0x01)
        buffer.append(contentsOf: repeatElement(0, count: Self.rate - buffer.count))
        buffer[Self.rate - 1] |= 0x80
        absorbBuffer()
        var out = [UInt8]()
        out.reserveCapacity(32)
        for lane in state.prefix(4) {
            for shift in stride(from: 0, to: 64, by: 8) { out.append(UInt8(truncatingIfNeeded: lane >> UInt64(shift))) }
        }
        return out
    }

    private mutating func absorbBuffer() {
        for i in 0..<(Self.rate / 8) {
            var lane: UInt64 = 0
            for b in 0..<8 { lane |= UInt64(buffer[i * 8 + b]) << UInt64(8 * b) }
            state[i] ^= lane
        }
        buffer.removeAll(keepingCapacity: true)
        Self.permute(&state)
    }

    private static let roundConstants: [UInt64] = [
        0x0000_0000_0000_0001, 0x0000_0000_0000_8082, 0x8000_0000_0000_808A, 0x8000_0000_8000_8000,
        0x0000_0000_0000_808B, 0x0000_0000_8000_0001, 0x8000_0000_8000_8081, 0x8000_0000_0000_8009,
        0x0000_0000_0000_008A, 0x0000_0000_0000_0088, 0x0000_0000_8000_8009, 0x0000_0000_8000_000A,
        0x0000_0000_8000_808B, 0x8000_0000_0000_008B, 0x8000_0000_0000_8089, 0x8000_0000_0000_8003,
        0x8000_0000_0000_8002, 0x8000_0000_0000_0080, 0x0000_0000_0000_800A, 0x8000_0000_8000_000A,
        0x8000_0000_8000_8081, 0x8000_0000_0000_8080, 0x0000_0000_8000_0001, 0x8000_0000_8000_8008,
    ]

    /// Rotation offsets r[x + 5y] (FIPS 202 Table 2).
    private static let rotations: [UInt64] = [
        0, 1, 62, 28, 27,
        36, 44, 6, 55, 20,
        3, 10, 43, 25, 39,
        41, 45, 15, 21, 8,
        18, 2, 61, 56, 14,
    ]

    @inline(__always)
    private static func rotl(_ v: UInt64, _ n: UInt64) -> UInt64 {
        n == 0 ? v : (v << n) | (v >> (64 - n))
    }

    /// Keccak-f[1600]: 24 rounds of θ, ρ, π, χ, ι over lanes A[x + 5y].
    static func permute(_ a: inout [UInt64]) {
        var c = [UInt64](repeating: 0, count: 5)
        var b = [UInt64](repeating: 0, count: 25)
        for round in 0..<24 {
            // θ
            for x in 0..<5 { c[x] = a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20] }
            for x in 0..<5 {
                let d = c[(x + 4) % 5] ^ rotl(c[(x + 1) % 5], 1)
                for y in 0..<5 { a[x + 5 * y] ^= d }
            }
            // ρ and π: B[y, 2x + 3y] = rot(A[x, y], r[x, y])
            for x in 0..<5 {
                for y in 0..<5 {
                    b[y + 5 * ((2 * x + 3 * y) % 5)] = rotl(a[x + 5 * y], rotations[x + 5 * y])
                }
            }
            // χ
            for y in 0..<5 {
                for x in 0..<5 {
                    a[x + 5 * y] = b[x + 5 * y] ^ (~b[(x + 1) % 5 + 5 * y] & b[(x + 2) % 5 + 5 * y])
                }
            }
            // ι
            a[0] ^= roundConstants[round]
        }
    }
}
