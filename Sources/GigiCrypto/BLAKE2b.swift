// BLAKE2b (RFC 7693) through libb2, with key, salt and personalisation for
// domain-separated derivations (nameplate rendezvous keys, group topic ids).

import CBlake2

public enum BLAKE2b {
    public static let maxOutputSize = 64
    public static let maxKeySize = 64
    public static let saltSize = 16
    public static let personalSize = 16

    /// BLAKE2b of `message`. `salt` and `personal` are zero-padded to 16 bytes
    /// (libb2 takes fixed-size fields) and must not be longer.
    public static func hash(_ message: [UInt8], outputSize: Int = 32, key: [UInt8] = [],
                            salt: [UInt8] = [], personal: [UInt8] = []) throws -> [UInt8] {
        guard (1...maxOutputSize).contains(outputSize) else {
            throw CryptoError.invalidLength(what: "BLAKE2b output", expected: maxOutputSize, got: outputSize)
        }
        guard key.count <= maxKeySize else {
            throw CryptoError.invalidLength(what: "BLAKE2b key", expected: maxKeySize, got: key.count)
        }
        guard salt.count <= saltSize else {
            throw CryptoError.invalidLength(what: "BLAKE2b salt", expected: saltSize, got: salt.count)
        }
        guard personal.count <= personalSize else {
            throw CryptoError.invalidLength(what: "BLAKE2b personalisation", expected: personalSize, got: personal.count)
        }
        var param = blake2b_param()
        param.digest_length = UInt8(outputSize)
        param.key_length = UInt8(key.count)
        param.fanout = 1
        param.depth = 1
        withUnsafeMutableBytes(of: &param.salt) { dst in
            for (i, b) in salt.enumerated() { dst[i] = b }
        }
        withUnsafeMutableBytes(of: &param.personal) { dst in
            for (i, b) in personal.enumerated() { dst[i] = b }
        }
        var state = blake2b_state()
        guard blake2b_init_param(&state, &param) == 0 else { throw CryptoError.libraryFailure("blake2b_init_param") }
        if !key.isEmpty {
            // Keyed mode: the key, zero-padded to one block, is the first block (RFC 7693 §3.3).
            var block = [UInt8](repeating: 0, count: Int(BLAKE2B_BLOCKBYTES.rawValue))
            block.replaceSubrange(0..<key.count, with: key)
            guard blake2b_update(&state, block, block.count) == 0 else { throw CryptoError.libraryFailure("blake2b_update") }
            block.withUnsafeMutableBytes { ptr in for i in ptr.indices { ptr[i] = 0 } }
        }
        guard blake2b_update(&state, message, message.count) == 0 else { throw CryptoError.libraryFailure("blake2b_update") }
        var out = [UInt8](repeating: 0, count: outputSize)
        guard blake2b_final(&state, &out, outputSize) == 0 else { throw CryptoError.libraryFailure("blake2b_final") }
        return out
    }
}
