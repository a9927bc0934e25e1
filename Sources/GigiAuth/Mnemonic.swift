// BIP-39 mnemonics (English): entropy ↔ words with a SHA-256 checksum, and
// the seed by PBKDF2-HMAC-SHA512 (2048 rounds, salt "mnemonic" + passphrase).
// Spec: https://github.com/bitcoin/bips/blob/master/bip-0039.mediawiki

import Foundation
import GigiBase
import GigiCrypto

/// Why a mnemonic was rejected. Messages name the word position, never the whole phrase.
public enum MnemonicError: UserFacingError, Equatable {
    /// The phrase had a word count other than 12, 15, 18, 21 or 24.
    case wrongWordCount(Int)
    /// A word is not in the English list; `suggestion` is the likely intended word.
    case unknownWord(position: Int, word: String, suggestion: String?)
    /// Every word is valid but the checksum does not match (a wrong or swapped word).
    case badChecksum
    /// Entropy must be 16, 20, 24, 28 or 32 bytes.
    case invalidEntropyLength(Int)

    public var message: String {
        switch self {
        case .wrongWordCount(let n):
            return "The recovery phrase has \(n) word\(n == 1 ? "" : "s"); it must have 12, 15, 18, 21 or 24 words."
        case .unknownWord(let position, let word, let suggestion?):
            return "Word \(position) (\"\(word)\") is not a BIP-39 English word; did you mean \"\(suggestion)\"?"
        case .unknownWord(let position, let word, nil):
            return "Word \(position) (\"\(word)\") is not a BIP-39 English word; check the recovery phrase."
        case .badChecksum:
            return "The recovery phrase fails its checksum: a word is wrong or out of order; check it against your copy."
        case .invalidEntropyLength(let n):
            return "Mnemonic entropy must be 16, 20, 24, 28 or 32 bytes, not \(n)."
        }
    }

    public var exitCode: GigiExitCode { .dataError }
}

/// A valid BIP-39 English mnemonic. The secret is kept as entropy in
/// `SecureBytes`; the words are produced only on request. `description` is redacted.
public struct Mnemonic: Sendable, CustomStringConvertible {
    /// Word counts accepted on restore; generation offers 12 and 24.
    public static let allowedWordCounts = [12, 15, 18, 21, 24]

    /// 16–32 bytes of entropy (the checksum is recomputed from it).
    public let entropy: SecureBytes

    /// Number of words: 3 per 4 bytes of entropy.
    public var wordCount: Int { entropy.count * 3 / 4 }

    /// From raw entropy (16, 20, 24, 28 or 32 bytes).
    public init(entropy: SecureBytes) throws(MnemonicError) {
        guard [16, 20, 24, 28, 32].contains(entropy.count) else {
            throw .invalidEntropyLength(entropy.count)
        }
        self.entropy = entropy
    }

    /// A new mnemonic from the system's random generator.
    public static func generate(wordCount: Int = 12) throws(MnemonicError) -> Mnemonic {
        guard allowedWordCounts.contains(wordCount) else { throw .wrongWordCount(wordCount) }
        return try Mnemonic(entropy: SecureBytes.random(count: wordCount * 4 / 3))
    }

    /// Parses a phrase as a person typed it: Unicode NFKD, any case, any
    /// whitespace between words. Unknown words are reported with a suggestion.
    public init(phrase: String) throws(MnemonicError) {
        let words = Mnemonic.normalizedWords(phrase)
        guard Mnemonic.allowedWordCounts.contains(words.count) else { throw .wrongWordCount(words.count) }
        var indices = [Int]()
        indices.reserveCapacity(words.count)
        for (n, word) in words.enumerated() {
            guard let i = BIP39Wordlist.index(of: word) else {
                throw .unknownWord(position: n + 1, word: word, suggestion: BIP39Wordlist.suggestion(for: word))
            }
            indices.append(i)
        }
        // 11 bits per word: ENT bits of entropy then ENT/32 bits of checksum.
        let checksumBits = words.count / 3
        let entropyBytes = words.count * 4 / 3
        let bits = SecureBytes(zeroes: (words.count * 11 + 7) / 8)
        bits.withUnsafeMutableBytes { out in
            for (n, index) in indices.enumerated() {
                for b in 0..<11 where index & (1 << (10 - b)) != 0 {
                    let bit = n * 11 + b
                    out[bit / 8] |= 0x80 >> UInt8(bit % 8)
                }
            }
        }
        let entropy = SecureBytes(zeroes: entropyBytes)
        let checksumOK: Bool = bits.withUnsafeBytes { all in
            entropy.withUnsafeMutableBytes { e in
                e.copyMemory(from: UnsafeRawBufferPointer(rebasing: all[0..<entropyBytes]))
            }
            let expected = Mnemonic.checksum(entropy)
            let actual = all[entropyBytes]
            let mask = UInt8(0xff) << UInt8(8 - checksumBits)
            return (actual & mask) == (expected & mask)
        }
        guard checksumOK else { throw .badChecksum }
        self.entropy = entropy
    }

    /// The words (reveals the secret: show it once, never log it).
    public var words: [String] {
        let checksumBits = wordCount / 3
        let checksum = Mnemonic.checksum(entropy)
        return entropy.withUnsafeBytes { e -> [String] in
            func bit(_ i: Int) -> Int {
                let byte = i / 8 < e.count ? e[i / 8] : checksum
                return Int(byte >> UInt8(7 - i % 8)) & 1
            }
            precondition(checksumBits <= 8)
            return (0..<wordCount).map { n in
                var index = 0
                for b in 0..<11 { index = index << 1 | bit(n * 11 + b) }
                return BIP39Wordlist.english[index]
            }
        }
    }

    /// The phrase as UTF-8 with single spaces (the PBKDF2 password), in secure storage.
    public var phraseBytes: SecureBytes {
        SecureBytes(Array(words.joined(separator: " ").utf8))
    }

    /// The 64-byte BIP-39 seed: PBKDF2-HMAC-SHA512, 2048 rounds, salt
    /// "mnemonic" + passphrase (both NFKD-normalised).
    public func seed(passphrase: String = "") -> SecureBytes {
        let salt = Array(("mnemonic" + passphrase).decomposedStringWithCompatibilityMapping.utf8)
        return phraseBytes.withUnsafeBytes { password in
            PBKDF2.derive(.sha512, password: password, salt: salt, iterations: 2048, keyLength: 64)
        }
    }

    public var description: String { "Mnemonic(\(wordCount) words, redacted)" }

    /// NFKD, lower case, split on any whitespace; empty pieces dropped.
    static func normalizedWords(_ phrase: String) -> [String] {
        phrase.decomposedStringWithCompatibilityMapping.lowercased()
            .split(whereSeparator: { $0.isWhitespace }).map(String.init)
    }

    /// The first byte of SHA-256(entropy); the top ENT/32 bits are the checksum.
    private static func checksum(_ entropy: SecureBytes) -> UInt8 {
        entropy.withUnsafeBytes { SHA256.hash($0) }.bytes[0]
    }
}
