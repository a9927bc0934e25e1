// TEMPORARY (not committed): stands in for GigiCrypto.BLAKE3 until it lands.
import GigiCrypto
enum BLAKE3 {
    static func hash(_ d: UnsafeRawBufferPointer) -> Digest32 { SHA256.hash(d) }
    static func hash(_ b: [UInt8]) -> Digest32 { SHA256.hash(b) }
}
