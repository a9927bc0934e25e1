// Human share codes: NAMEPLATE-WORD-WORD-WORD (DESIGN.md "Share codes").
//
// The nameplate is public: it only locates the sharer (its rendezvous key is
// a personalised BLAKE2b of it). The words are the secret, 11 bits each from
// the BIP-39 English list, and never leave the machine: they are the PAKE's
// password (`ShareCode.secret`). Input is forgiving: any case, spaces or
// dashes between parts, and a word may be given by its unique 4-letter
// prefix (or misspelt after it); unknown words get suggestions.

import GigiAuth
import GigiBase
import GigiCrypto

/// Share-code words: BIP-39 English (GigiAuth), 11 bits each, unique 4-letter prefixes.
public enum ShareWords {
    public static var list: [String] { BIP39Wordlist.english }

    /// The index of a typed word: exact match, else the word with the same first
    /// four letters (so "lanturn" is "lantern").
    public static func lookup(_ token: String) -> Int? {
        if let i = BIP39Wordlist.index(of: token) { return i }
        guard token.count >= BIP39Wordlist.uniquePrefixLength,
              let w = BIP39Wordlist.suggestion(for: token), w.hasPrefix(token.prefix(4)) else { return nil }
        return BIP39Wordlist.index(of: w)
    }

    /// Completions for a partially typed code word (shell tab completion).
    public static func completions(for prefix: String) -> [String] {
        BIP39Wordlist.words(withPrefix: prefix)
    }
}

/// Problems with a typed share code.
public enum ShareCodeError: Error, Equatable, Sendable, UserFacingError {
    case empty
    case badNameplate
    case tooFewWords(Int)
    case tooManyWords
    case unknownWord(position: Int, suggestions: [String])

    public var message: String {
        switch self {
        case .empty:
            return "No share code was given: type the code the sender sees, like 4821-ocean-lantern-velvet."
        case .badNameplate:
            return "A share code starts with a number, like 4821-ocean-lantern-velvet: check the code."
        case .tooFewWords(let n):
            return "The share code has \(n) word(s) but needs at least \(ShareCode.minWords): check the code."
        case .tooManyWords:
            return "The share code has more than \(ShareCode.maxWords) words: check the code."
        case .unknownWord(let position, let suggestions):
            let hint = suggestions.isEmpty ? "" : " (did you mean \(suggestions.joined(separator: ", "))?)"
            return "Word \(position) of the share code is not a code word\(hint): check the code."
        }
    }
    public var exitCode: GigiExitCode { .dataError }
}

/// A parsed or generated share code.
public struct ShareCode: Equatable, Sendable {
    public static let minWords = 2
    public static let maxWords = 16
    public static let defaultWords = 3
    /// Largest nameplate: at most four digits.
    public static let maxNameplate = 9999

    /// The public part, decimal digits without leading zeros.
    public let nameplate: String
    /// The secret part: word indices, 11 bits each.
    public let wordIndices: [Int]

    public init(nameplate: String, wordIndices: [Int]) {
        self.nameplate = nameplate
        self.wordIndices = wordIndices
    }

    /// A fresh random code.
    public static func generate(words: Int = defaultWords) -> ShareCode {
        precondition((minWords...maxWords).contains(words))
        let nameplate = Int(SystemRandom.uniform(UInt32(maxNameplate))) + 1
        let indices = (0..<words).map { _ in Int(SystemRandom.uniform(2048)) }
        return ShareCode(nameplate: String(nameplate), wordIndices: indices)
    }

    /// The text form, e.g. `4821-ocean-lantern-velvet`.
    public var text: String {
        ([nameplate] + wordIndices.map { ShareWords.list[$0] }).joined(separator: "-")
    }

    /// Bits of secret in the words.
    public var secretBits: Int { wordIndices.count * 11 }

    /// The PAKE password: a label, the nameplate and the word indices.
    public var secret: [UInt8] {
        var out = Array("gigi-code/1".utf8)
        out += CPaceRistretto255.prependLen(Array(nameplate.utf8))
        for i in wordIndices { out += [UInt8(i >> 8), UInt8(i & 0xff)] }
        return out
    }

    /// Parses forgiving input: case, spaces/dashes, 4-letter prefixes.
    public static func parse(_ input: String) throws -> ShareCode {
        let separators: Set<Character> = ["-", " ", "\t", "\n", "\r", "_", "."]
        let tokens = input.lowercased().split(whereSeparator: { separators.contains($0) }).map(String.init)
        guard let first = tokens.first else { throw ShareCodeError.empty }
        guard first.count <= 4, first.allSatisfy({ $0.isASCII && $0.isNumber }),
              let n = Int(first), n >= 1, n <= maxNameplate else { throw ShareCodeError.badNameplate }
        let wordTokens = tokens.dropFirst()
        guard wordTokens.count >= minWords else { throw ShareCodeError.tooFewWords(wordTokens.count) }
        guard wordTokens.count <= maxWords else { throw ShareCodeError.tooManyWords }
        var indices: [Int] = []
        for (pos, token) in wordTokens.enumerated() {
            guard let i = ShareWords.lookup(token) else {
                let suggestion = BIP39Wordlist.suggestion(for: token)
                throw ShareCodeError.unknownWord(position: pos + 1, suggestions: suggestion.map { [$0] } ?? [])
            }
            indices.append(i)
        }
        return ShareCode(nameplate: String(n), wordIndices: indices)
    }

    /// The rendezvous key: BLAKE2b-256 of the nameplate, personalised
    /// "gigi-nameplate". Public; it locates the sharer and reveals nothing of the words.
    public static func rendezvousKey(nameplate: String) -> [UInt8] {
        // The personalisation is within BLAKE2b's 16 bytes, so this cannot throw.
        try! BLAKE2b.hash(Array(nameplate.utf8), outputSize: 32, personal: Array("gigi-nameplate".utf8))
    }

    /// Whether `input` looks like a share code (starts with a nameplate) rather than a ticket.
    public static func looksLikeCode(_ input: String) -> Bool {
        let t = input.trimmingPrefix(while: { $0 == " " })
        return t.first.map { $0.isASCII && $0.isNumber } ?? false
    }
}

extension StringProtocol {
    func trimmingPrefix(while predicate: (Character) -> Bool) -> Substring {
        Substring(self.drop(while: predicate))
    }
}
