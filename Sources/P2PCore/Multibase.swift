// Multibase (multiformats/multibase): a one-character prefix naming the base.
// Gigi needs base58btc (`z`, and bare for legacy peer IDs) and base32
// (RFC 4648 alphabet, no padding; `b` lower case, `B` upper case accepted).

/// The bases Gigi reads and writes, keyed by their multibase prefix.
public enum Multibase: Character, Sendable, CaseIterable {
    /// Bitcoin base58 alphabet.
    case base58btc = "z"
    /// RFC 4648 base32, lower case, no padding.
    case base32 = "b"
    /// RFC 4648 base32, upper case, no padding (read only; written lower case by convention).
    case base32Upper = "B"

    /// Longest text any multibase decoder here accepts. Base58 decoding is
    /// quadratic, so inputs are capped well above any peer ID or CID (about 60 characters).
    public static let maxEncodedLength = 1024

    /// `prefix ‖ encoding(bytes)`.
    public static func encode(_ bytes: [UInt8], as base: Multibase) -> String {
        String(base.rawValue) + base.encodeBare(bytes)
    }

    /// Decodes a prefixed string; returns the base that was named and the bytes.
    public static func decode(_ text: String) throws -> (base: Multibase, bytes: [UInt8]) {
        guard let first = text.first else {
            throw P2PCoreError(.multibase, "The multibase text is empty.")
        }
        guard let base = Multibase(rawValue: first) else {
            throw P2PCoreError(.multibase, "The multibase prefix '\(first)' is not one Gigi supports (z, b, B).")
        }
        return (base, try base.decodeBare(text.dropFirst()))
    }

    /// The encoding of `bytes` without the prefix.
    public func encodeBare(_ bytes: [UInt8]) -> String {
        switch self {
        case .base58btc: return Base58.encode(bytes)
        case .base32: return Base32.encode(bytes, upperCase: false)
        case .base32Upper: return Base32.encode(bytes, upperCase: true)
        }
    }

    /// Decodes `text` (without the prefix) in this base.
    public func decodeBare<S: StringProtocol>(_ text: S) throws -> [UInt8] {
        guard text.utf8.count <= Multibase.maxEncodedLength else {
            throw P2PCoreError(.multibase, "The encoded text is longer than \(Multibase.maxEncodedLength) characters.")
        }
        switch self {
        case .base58btc: return try Base58.decode(text)
        case .base32: return try Base32.decode(text, upperCase: false)
        case .base32Upper: return try Base32.decode(text, upperCase: true)
        }
    }
}

/// Base58 with the Bitcoin alphabet: leading zero bytes become leading `1`s.
public enum Base58 {
    static let alphabet = Array("123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz".utf8)
    static let reverse: [Int8] = {
        var table = [Int8](repeating: -1, count: 128)
        for (i, c) in alphabet.enumerated() { table[Int(c)] = Int8(i) }
        return table
    }()

    public static func encode(_ bytes: [UInt8]) -> String {
        let zeros = bytes.prefix(while: { $0 == 0 }).count
        // Base-256 to base-58 by repeated division; output is at most 138/100 as long.
        var digits = [UInt8](repeating: 0, count: (bytes.count - zeros) * 138 / 100 + 1)
        var used = 0
        for byte in bytes[zeros...] {
            var carry = Int(byte)
            var i = 0
            while carry != 0 || i < used {
                let index = digits.count - 1 - i
                carry += 256 * Int(digits[index])
                digits[index] = UInt8(carry % 58)
                carry /= 58
                i += 1
            }
            used = i
        }
        var out = [UInt8](repeating: alphabet[0], count: zeros)
        out.append(contentsOf: digits[(digits.count - used)...].map { alphabet[Int($0)] })
        return String(decoding: out, as: UTF8.self)
    }

    public static func decode<S: StringProtocol>(_ text: S) throws -> [UInt8] {
        let chars = Array(text.utf8)
        let ones = chars.prefix(while: { $0 == alphabet[0] }).count
        var bytes = [UInt8](repeating: 0, count: (chars.count - ones) * 733 / 1000 + 1)
        var used = 0
        for c in chars[ones...] {
            guard c < 128, reverse[Int(c)] >= 0 else {
                throw P2PCoreError(.multibase, "'\(Character(Unicode.Scalar(c)))' is not a base58 character.")
            }
            var carry = Int(reverse[Int(c)])
            var i = 0
            while carry != 0 || i < used {
                let index = bytes.count - 1 - i
                carry += 58 * Int(bytes[index])
                bytes[index] = UInt8(carry & 0xff)
                carry >>= 8
                i += 1
            }
            used = i
        }
        return [UInt8](repeating: 0, count: ones) + bytes[(bytes.count - used)...]
    }
}

/// RFC 4648 base32 without padding, one case at a time (multibase keeps the cases apart).
public enum Base32 {
    static let lower = Array("abcdefghijklmnopqrstuvwxyz234567".utf8)
    static let upper = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".utf8)

    public static func encode(_ bytes: [UInt8], upperCase: Bool = false) -> String {
        let alphabet = upperCase ? upper : lower
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count * 8 + 4) / 5)
        var buffer: UInt32 = 0
        var bits = 0
        for byte in bytes {
            buffer = (buffer << 8) | UInt32(byte)
            bits += 8
            while bits >= 5 {
                bits -= 5
                out.append(alphabet[Int((buffer >> UInt32(bits)) & 31)])
            }
        }
        if bits > 0 {
            out.append(alphabet[Int((buffer << UInt32(5 - bits)) & 31)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    public static func decode<S: StringProtocol>(_ text: S, upperCase: Bool = false) throws -> [UInt8] {
        var out: [UInt8] = []
        var buffer: UInt32 = 0
        var bits = 0
        let count = text.utf8.count
        // Lengths 1, 3 and 6 mod 8 cannot come from whole bytes.
        guard ![1, 3, 6].contains(count % 8) else {
            throw P2PCoreError(.multibase, "The base32 text has an impossible length (\(count) characters).")
        }
        for c in text.utf8 {
            let value: UInt32
            switch c {
            case UInt8(ascii: "a")...UInt8(ascii: "z") where !upperCase: value = UInt32(c - UInt8(ascii: "a"))
            case UInt8(ascii: "A")...UInt8(ascii: "Z") where upperCase: value = UInt32(c - UInt8(ascii: "A"))
            case UInt8(ascii: "2")...UInt8(ascii: "7"): value = UInt32(c - UInt8(ascii: "2")) + 26
            default:
                throw P2PCoreError(.multibase, "'\(Character(Unicode.Scalar(c)))' is not a base32 character in this case.")
            }
            buffer = (buffer << 5) | value
            bits += 5
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: buffer >> UInt32(bits)))
            }
        }
        // Leftover bits must be zero padding, or the text is not canonical.
        if bits > 0 && buffer & ((1 << UInt32(bits)) - 1) != 0 {
            throw P2PCoreError(.multibase, "The base32 text has non-zero trailing bits.")
        }
        return out
    }
}
