// The OpenSSL-backed ChaCha20-Poly1305 paths (used by the Noise transport) against the
// libsodium one-shot API: streamed pieces of every size and out-of-place opening.

import GigiCrypto
import XCTest

final class ChaChaPolyOpenSSLTests: XCTestCase {
    private func bytes(_ count: Int, seed: UInt8) -> [UInt8] {
        var x = UInt32(seed) &+ 1
        return (0..<count).map { _ in x = x &* 1_664_525 &+ 1_013_904_223; return UInt8(truncatingIfNeeded: x >> 24) }
    }

    func testSealerOverPiecesMatchesOneShotSeal() throws {
        let keyBytes = bytes(32, seed: 1)
        let nonce = bytes(12, seed: 2)
        let message = bytes(200_003, seed: 3)
        let expected = try ChaChaPoly.seal(message, key: SecureBytes(keyBytes), nonce: nonce)
        // Piece sizes that straddle 64-byte blocks in every way.
        for split in [1, 7, 12, 63, 64, 65, 1000, 65_507, 65_536] {
            var out = [UInt8](repeating: 0, count: message.count + 16)
            keyBytes.withUnsafeBytes { k in
                nonce.withUnsafeBytes { n in
                    let sealer = ChaChaPolySealer(key: k.baseAddress!, nonce: n.baseAddress!)
                    out.withUnsafeMutableBytes { dst in
                        message.withUnsafeBytes { src in
                            var offset = 0
                            var size = split
                            while offset < message.count {
                                let count = min(size, message.count - offset)
                                sealer.update(UnsafeRawBufferPointer(rebasing: src[offset..<offset + count]),
                                              to: dst.baseAddress! + offset)
                                offset += count
                                size = size == split ? split * 3 + 1 : split  // vary the rhythm
                            }
                            sealer.finish(tag: dst.baseAddress! + message.count)
                        }
                    }
                }
            }
            XCTAssertEqual(out, expected, "pieces of \(split)")
        }
    }

    func testOpenOutOfPlace() throws {
        let keyBytes = bytes(32, seed: 4)
        let nonce = bytes(12, seed: 5)
        let message = bytes(70_000, seed: 6)
        var sealed = try ChaChaPoly.seal(message, key: SecureBytes(keyBytes), nonce: nonce)
        var plain = [UInt8](repeating: 0, count: message.count)
        let open = { (input: [UInt8], output: inout [UInt8]) -> Bool in
            keyBytes.withUnsafeBytes { k in
                nonce.withUnsafeBytes { n in
                    input.withUnsafeBytes { src in
                        output.withUnsafeMutableBytes { dst in
                            ChaChaPoly.open(from: src.baseAddress!, count: src.count, to: dst.baseAddress!,
                                            key: k.baseAddress!, nonce: n.baseAddress!)
                        }
                    }
                }
            }
        }
        XCTAssertTrue(open(sealed, &plain))
        XCTAssertEqual(plain, message)
        sealed[sealed.count - 1] ^= 1
        XCTAssertFalse(open(sealed, &plain))
    }
}
