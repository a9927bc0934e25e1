// CPace over ristretto255 with SHA-512 (draft-irtf-cfrg-cpace, suite
// CPACE-RISTR255-SHA512), the balanced PAKE behind share codes.
//
// Only the primitive operations live here: the generator from (PRS, CI, sid),
// the public shares Y = y·g, the shared point K and the intermediate session
// key ISK. The message flow, key confirmation and the binding to peer IDs are
// in SharePAKE.swift. Checked against the draft's test vectors
// (Tests/GigiFilesTests/Vectors/cpace-ristretto255-sha512.json).

import CSodium
import GigiCrypto

/// Errors of the CPace primitives.
public enum CPaceError: Error, Equatable, Sendable {
    /// The peer's share did not decode to a ristretto255 element, or the
    /// shared point was the identity (the draft's abort condition).
    case invalidPeerShare
    /// A scalar or point had the wrong length.
    case invalidLength
}

/// CPace primitive operations for ristretto255 / SHA-512.
public enum CPaceRistretto255 {
    /// G.DSI for ristretto255 (draft section "CPace group objects G_Ristretto255").
    public static let dsi: [UInt8] = Array("CPaceRistretto255".utf8)
    /// SHA-512's input block size, H.s_in_bytes.
    static let hashBlockSize = 128
    /// Size of an encoded element and of a scalar.
    public static let elementSize = 32

    static let sodiumReady: Bool = { sodium_init() >= 0 }()

    /// prepend_len: the LEB128 length followed by the data.
    public static func prependLen(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        var n = data.count
        repeat {
            var byte = UInt8(n & 0x7f)
            n >>= 7
            if n > 0 { byte |= 0x80 }
            out.append(byte)
        } while n > 0
        return out + data
    }

    /// lv_cat: the concatenation of prepend_len of every argument.
    public static func lvCat(_ parts: [UInt8]...) -> [UInt8] { lvCat(parts) }

    public static func lvCat(_ parts: [[UInt8]]) -> [UInt8] {
        parts.reduce(into: []) { $0 += prependLen($1) }
    }

    /// generator_string(DSI, PRS, CI, sid, s_in_bytes): zero padding fills the
    /// first hash block after DSI and PRS.
    public static func generatorString(prs: [UInt8], ci: [UInt8], sid: [UInt8]) -> [UInt8] {
        let zpad = max(0, hashBlockSize - 1 - prependLen(prs).count - prependLen(dsi).count)
        return lvCat(dsi, prs, [UInt8](repeating: 0, count: zpad), ci, sid)
    }

    static func sha512(_ data: [UInt8]) -> [UInt8] { SHA512.hash(data) }

    /// calculate_generator: SHA-512 of the generator string mapped with
    /// ristretto255's element derivation. Returns the encoded generator.
    public static func generator(prs: [UInt8], ci: [UInt8], sid: [UInt8]) -> [UInt8] {
        precondition(sodiumReady)
        var gs = generatorString(prs: prs, ci: ci, sid: sid)
        defer { sodium_memzero(&gs, gs.count) }
        var hash = sha512(gs)
        defer { sodium_memzero(&hash, hash.count) }
        var g = [UInt8](repeating: 0, count: elementSize)
        _ = crypto_core_ristretto255_from_hash(&g, hash)
        return g
    }

    /// A uniformly random non-zero scalar.
    public static func randomScalar() -> [UInt8] {
        precondition(sodiumReady)
        var s = [UInt8](repeating: 0, count: Int(crypto_core_ristretto255_SCALARBYTES))
        crypto_core_ristretto255_scalar_random(&s)
        return s
    }

    /// scalar_mult_vfy: y · decode(X); fails if X does not decode or the
    /// result is the identity (libsodium refuses both).
    public static func scalarMult(_ y: [UInt8], _ point: [UInt8]) throws -> [UInt8] {
        precondition(sodiumReady)
        guard y.count == elementSize, point.count == elementSize else { throw CPaceError.invalidLength }
        var out = [UInt8](repeating: 0, count: elementSize)
        guard crypto_scalarmult_ristretto255(&out, y, point) == 0 else { throw CPaceError.invalidPeerShare }
        return out
    }

    /// transcript_ir(Ya, ADa, Yb, ADb) for the initiator–responder setting.
    public static func transcriptIR(ya: [UInt8], ada: [UInt8], yb: [UInt8], adb: [UInt8]) -> [UInt8] {
        lvCat(ya, ada) + lvCat(yb, adb)
    }

    /// ISK = H(lv_cat(DSI || "_ISK", sid, K) || transcript_ir(...)).
    public static func isk(sid: [UInt8], k: [UInt8], ya: [UInt8], ada: [UInt8],
                           yb: [UInt8], adb: [UInt8]) -> [UInt8] {
        var input = lvCat(dsi + Array("_ISK".utf8), sid, k) + transcriptIR(ya: ya, ada: ada, yb: yb, adb: adb)
        defer { sodium_memzero(&input, input.count) }
        return sha512(input)
    }

    /// The optional session-id output H("CPaceSidOutput" || transcript_ir).
    public static func sidOutput(ya: [UInt8], ada: [UInt8], yb: [UInt8], adb: [UInt8]) -> [UInt8] {
        sha512(Array("CPaceSidOutput".utf8) + transcriptIR(ya: ya, ada: ada, yb: yb, adb: adb))
    }

    /// HMAC-SHA-512 truncated to 32 bytes, for key confirmation.
    static func confirmationTag(key: [UInt8], label: String) -> [UInt8] {
        Array(HMAC.authenticate(.sha512, key: key, message: Array("gigi-share/1 \(label)".utf8))[0..<32])
    }
}
