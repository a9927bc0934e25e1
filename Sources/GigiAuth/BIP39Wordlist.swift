// The BIP-39 English word list: 2048 words, sorted, each identified by its
// first four letters. Compiled in (BIP39English.swift: the list of the
// reference implementation, checked by SHA-256 in the tests).
//
// Used for mnemonics here and for the words of share codes (GigiFiles), which
// rely on the same properties: 11 bits per word, unique 4-letter prefixes, so
// a typo can be corrected and a word completed after four letters.

import Foundation

/// The BIP-39 English word list with lookup, prefix completion and typo suggestions.
public enum BIP39Wordlist {
    /// The 2048 words in list order (index = 11-bit value).
    public static let english: [String] = loadEnglish()

    /// Number of letters that identify a word uniquely.
    public static let uniquePrefixLength = 4

    private static let indexByWord: [String: Int] = {
        var d = [String: Int](minimumCapacity: 2048)
        for (i, w) in english.enumerated() { d[w] = i }
        return d
    }()

    private static let indexByPrefix: [String: Int] = {
        var d = [String: Int](minimumCapacity: 2048)
        for (i, w) in english.enumerated() { d[String(w.prefix(uniquePrefixLength))] = i }
        return d
    }()

    /// The 11-bit index of an exact (lower-case) word, or nil.
    public static func index(of word: String) -> Int? {
        indexByWord[word]
    }

    /// The word a typed prefix stands for: the exact word if it is one,
    /// otherwise the single word that starts with `prefix` when `prefix` has at
    /// least four letters (or fewer letters that only one word begins with).
    /// Case is ignored. Nil when no word or more than one word matches.
    public static func word(forPrefix prefix: String) -> String? {
        let p = prefix.lowercased()
        if indexByWord[p] != nil { return p }
        let matches = words(withPrefix: p)
        return matches.count == 1 ? matches[0] : nil
    }

    /// All words that begin with `prefix` (case ignored), in list order; for tab completion.
    public static func words(withPrefix prefix: String) -> [String] {
        let p = prefix.lowercased()
        guard !p.isEmpty else { return english }
        if p.count >= uniquePrefixLength {
            guard let i = indexByPrefix[String(p.prefix(uniquePrefixLength))], english[i].hasPrefix(p) else { return [] }
            return [english[i]]
        }
        // The list is sorted: binary search for the first word >= p, then walk.
        var lo = 0, hi = english.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if english[mid] < p { lo = mid + 1 } else { hi = mid }
        }
        var out = [String]()
        while lo < english.count, english[lo].hasPrefix(p) { out.append(english[lo]); lo += 1 }
        return out
    }

    /// The most likely intended word for something that is not in the list:
    /// the word with the same first four letters if there is one (`aban` → `abandon`,
    /// `abandonn` → `abandon`), otherwise the nearest word by edit distance when it
    /// is close enough to be a plausible typo. Nil for exact words and for input
    /// too far from every word.
    public static func suggestion(for typed: String) -> String? {
        let w = typed.lowercased()
        guard !w.isEmpty, indexByWord[w] == nil else { return nil }
        if w.count >= uniquePrefixLength, let i = indexByPrefix[String(w.prefix(uniquePrefixLength))] {
            return english[i]
        }
        let a = Array(w.utf8)
        let limit = max(2, a.count / 3)
        var best: (word: String, distance: Int)?
        for candidate in english {
            let d = editDistance(a, Array(candidate.utf8), limit: best.map { $0.distance - 1 } ?? limit)
            if let d, d < (best?.distance ?? Int.max) { best = (candidate, d) }
        }
        return best?.word
    }

    /// Edit distance (Levenshtein plus adjacent transpositions, the "optimal
    /// string alignment" variant) between two byte strings, or nil if it exceeds `limit`.
    static func editDistance(_ a: [UInt8], _ b: [UInt8], limit: Int) -> Int? {
        guard limit >= 0, abs(a.count - b.count) <= limit else { return nil }
        if a.isEmpty || b.isEmpty { return max(a.count, b.count) }
        var beforePrevious = [Int](repeating: 0, count: b.count + 1)
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            var rowMin = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                var d = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    d = min(d, beforePrevious[j - 2] + 1)
                }
                current[j] = d
                rowMin = min(rowMin, d)
            }
            if rowMin > limit { return nil }
            (beforePrevious, previous, current) = (previous, current, beforePrevious)
        }
        return previous[b.count] <= limit ? previous[b.count] : nil
    }

    private static func loadEnglish() -> [String] {
        let words = englishText.split(separator: "\n").map(String.init)
        precondition(words.count == 2048, "the compiled-in BIP-39 word list is damaged (\(words.count) words)")
        return words
    }
}
