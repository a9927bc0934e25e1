// SHA-256 / SHA-512, HMAC and PBKDF2 through OpenSSL 3's EVP interface
// (which uses the CPU's SHA extensions where present).

import COpenSSL

/// Incremental SHA-256 (OpenSSL EVP), a value type (copy-on-write of the
/// OpenSSL context). One-shot: `SHA256.hash(_:)`.
public struct SHA256: @unchecked Sendable {
    public static let digestSize = 32

    final class Context {
        let ctx: OpaquePointer
        init() {
            guard let c = EVP_MD_CTX_new() else { fatalError("EVP_MD_CTX_new failed: out of memory") }
            precondition(EVP_DigestInit_ex(c, EVP_sha256(), nil) == 1, "EVP_DigestInit_ex(sha256) failed")
            ctx = c
        }
        init(copying other: Context) {
            guard let c = EVP_MD_CTX_new() else { fatalError("EVP_MD_CTX_new failed: out of memory") }
            precondition(EVP_MD_CTX_copy_ex(c, other.ctx) == 1, "EVP_MD_CTX_copy_ex failed")
            ctx = c
        }
        deinit { EVP_MD_CTX_free(ctx) }
    }
    private var context = Context()

    public init() {}

    public mutating func update(_ data: UnsafeRawBufferPointer) {
        guard data.count > 0 else { return }
        if !isKnownUniquelyReferenced(&context) { context = Context(copying: context) }
        precondition(EVP_DigestUpdate(context.ctx, data.baseAddress, data.count) == 1, "EVP_DigestUpdate failed")
    }

    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// The digest of everything so far. The hasher itself is left unchanged.
    public func finalize() -> Digest32 {
        let copy = Context(copying: context)
        var out = [UInt8](repeating: 0, count: 32)
        var len: UInt32 = 0
        precondition(EVP_DigestFinal_ex(copy.ctx, &out, &len) == 1 && len == 32, "EVP_DigestFinal_ex failed")
        return Digest32(bytes: out)!
    }

    public static func hash(_ data: UnsafeRawBufferPointer) -> Digest32 {
        var out = [UInt8](repeating: 0, count: 32)
        var len: UInt32 = 0
        precondition(EVP_Digest(data.baseAddress, data.count, &out, &len, EVP_sha256(), nil) == 1)
        return Digest32(bytes: out)!
    }

    public static func hash(_ bytes: [UInt8]) -> Digest32 {
        bytes.withUnsafeBytes { hash($0) }
    }
}

/// SHA-512 (one-shot; OpenSSL EVP).
public enum SHA512 {
    public static let digestSize = 64

    public static func hash(_ data: UnsafeRawBufferPointer) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 64)
        var len: UInt32 = 0
        precondition(EVP_Digest(data.baseAddress, data.count, &out, &len, EVP_sha512(), nil) == 1)
        return out
    }

    public static func hash(_ bytes: [UInt8]) -> [UInt8] {
        bytes.withUnsafeBytes { hash($0) }
    }
}

/// The hash functions usable with HMAC and PBKDF2.
public enum HashFunction: Sendable {
    case sha256, sha512

    var evp: OpaquePointer { self == .sha256 ? EVP_sha256() : EVP_sha512() }
    public var outputSize: Int { self == .sha256 ? 32 : 64 }
}

/// HMAC (RFC 2104) with SHA-256 or SHA-512.
public enum HMAC {
    public static func authenticate(_ hash: HashFunction, key: UnsafeRawBufferPointer,
                                    message: UnsafeRawBufferPointer) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: hash.outputSize)
        var len: UInt32 = 0
        // A zero-length key needs a valid pointer for OpenSSL.
        let keyPtr = key.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!
        let r = COpenSSL.HMAC(hash.evp, keyPtr, Int32(key.count),
                              message.baseAddress?.assumingMemoryBound(to: UInt8.self), message.count, &out, &len)
        precondition(r != nil && Int(len) == hash.outputSize, "HMAC failed")
        return out
    }

    public static func authenticate(_ hash: HashFunction, key: [UInt8], message: [UInt8]) -> [UInt8] {
        key.withUnsafeBytes { k in message.withUnsafeBytes { m in authenticate(hash, key: k, message: m) } }
    }

    /// Checks a tag in constant time.
    public static func verify(_ hash: HashFunction, tag: [UInt8], key: [UInt8], message: [UInt8]) -> Bool {
        constantTimeEquals(authenticate(hash, key: key, message: message), tag)
    }
}

/// PBKDF2 (RFC 8018) with HMAC-SHA-256 or HMAC-SHA-512.
public enum PBKDF2 {
    public static func derive(_ hash: HashFunction, password: UnsafeRawBufferPointer, salt: [UInt8],
                              iterations: Int, keyLength: Int) -> SecureBytes {
        precondition(iterations > 0 && keyLength > 0)
        let out = SecureBytes(zeroes: keyLength)
        let ok = out.withUnsafeMutableBytes { dst in
            PKCS5_PBKDF2_HMAC(password.baseAddress?.assumingMemoryBound(to: CChar.self), Int32(password.count),
                              salt, Int32(salt.count), Int32(iterations), hash.evp, Int32(keyLength),
                              dst.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
        precondition(ok == 1, "PKCS5_PBKDF2_HMAC failed")
        return out
    }

    public static func derive(_ hash: HashFunction, password: [UInt8], salt: [UInt8],
                              iterations: Int, keyLength: Int) -> SecureBytes {
        password.withUnsafeBytes { derive(hash, password: $0, salt: salt, iterations: iterations, keyLength: keyLength) }
    }
}

/// HKDF (RFC 5869) with HMAC-SHA-256 or -512, built on `HMAC` (used by Noise and our protocols).
public enum HKDF {
    public static func extract(_ hash: HashFunction, salt: [UInt8], ikm: [UInt8]) -> [UInt8] {
        HMAC.authenticate(hash, key: salt, message: ikm)
    }

    public static func expand(_ hash: HashFunction, prk: [UInt8], info: [UInt8], length: Int) -> [UInt8] {
        precondition(length <= 255 * hash.outputSize)
        var out = [UInt8]()
        var t = [UInt8]()
        var counter: UInt8 = 1
        while out.count < length {
            t = HMAC.authenticate(hash, key: prk, message: t + info + [counter])
            out += t
            counter &+= 1
        }
        return Array(out.prefix(length))
    }

    public static func derive(_ hash: HashFunction, ikm: [UInt8], salt: [UInt8], info: [UInt8], length: Int) -> [UInt8] {
        expand(hash, prk: extract(hash, salt: salt, ikm: ikm), info: info, length: length)
    }
}
