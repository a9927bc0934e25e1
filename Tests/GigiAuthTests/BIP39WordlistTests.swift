import Foundation
import GigiCrypto
import XCTest
@testable import GigiAuth

final class BIP39WordlistTests: XCTestCase {
    func testListShape() {
        let words = BIP39Wordlist.english
        XCTAssertEqual(words.count, 2048)
        XCTAssertEqual(words.first, "abandon")
        XCTAssertEqual(words.last, "zoo")
        XCTAssertEqual(words, words.sorted(), "the list is sorted")
        XCTAssertEqual(Set(words.map { $0.prefix(4) }).count, 2048, "4-letter prefixes are unique")
        XCTAssertTrue(words.allSatisfy { $0.allSatisfy { $0 >= "a" && $0 <= "z" } })
    }

    /// The compiled-in list is word for word the reference list (python-mnemonic's english.txt).
    func testListMatchesReferenceDigest() {
        XCTAssertEqual(SHA256.hash(Array((BIP39Wordlist.english.joined(separator: "\n") + "\n").utf8)).hex,
                       "2f5eed53a4727b4bf8880d8f3f199efc90e58503646d9ff8eff3a2ed3b24dbda")
    }

    func testIndex() {
        XCTAssertEqual(BIP39Wordlist.index(of: "abandon"), 0)
        XCTAssertEqual(BIP39Wordlist.index(of: "zoo"), 2047)
        XCTAssertEqual(BIP39Wordlist.index(of: "junk"), 970)
        XCTAssertNil(BIP39Wordlist.index(of: "Abandon"))
        XCTAssertNil(BIP39Wordlist.index(of: "gigi"))
    }

    func testPrefixCompletion() {
        XCTAssertEqual(BIP39Wordlist.word(forPrefix: "aban"), "abandon")
        XCTAssertEqual(BIP39Wordlist.word(forPrefix: "ABAND"), "abandon")
        XCTAssertEqual(BIP39Wordlist.word(forPrefix: "zoo"), "zoo")
        XCTAssertEqual(BIP39Wordlist.word(forPrefix: "act"), "act", "an exact short word wins over longer ones")
        XCTAssertNil(BIP39Wordlist.word(forPrefix: "ab"), "ambiguous")
        XCTAssertNil(BIP39Wordlist.word(forPrefix: "abanx"))
        XCTAssertEqual(BIP39Wordlist.words(withPrefix: "zo"), ["zone", "zoo"])
        XCTAssertEqual(BIP39Wordlist.words(withPrefix: "ocea"), ["ocean"])
        XCTAssertEqual(BIP39Wordlist.words(withPrefix: "").count, 2048)
        XCTAssertEqual(BIP39Wordlist.words(withPrefix: "qz"), [])
    }

    func testSuggestions() {
        XCTAssertEqual(BIP39Wordlist.suggestion(for: "aban"), "abandon")
        XCTAssertEqual(BIP39Wordlist.suggestion(for: "abandonn"), "abandon")
        XCTAssertEqual(BIP39Wordlist.suggestion(for: "lnaguage"), "language", "a transposition in the first four letters")
        XCTAssertEqual(BIP39Wordlist.suggestion(for: "langage"), "language", "a dropped letter: prefix 'lang' decides")
        XCTAssertEqual(BIP39Wordlist.suggestion(for: "oecan"), "ocean")
        XCTAssertEqual(BIP39Wordlist.suggestion(for: "zo"), "zoo")
        XCTAssertNil(BIP39Wordlist.suggestion(for: "ocean"), "an exact word needs no suggestion")
        XCTAssertNil(BIP39Wordlist.suggestion(for: "qqqqqqqqqqqq"), "too far from every word")
    }

    func testEditDistance() {
        func d(_ a: String, _ b: String, _ limit: Int = 10) -> Int? {
            BIP39Wordlist.editDistance(Array(a.utf8), Array(b.utf8), limit: limit)
        }
        XCTAssertEqual(d("kitten", "sitting"), 3)
        XCTAssertEqual(d("oecan", "ocean"), 1, "a transposition costs one")
        XCTAssertEqual(d("", "abc"), 3)
        XCTAssertEqual(d("abc", "abc"), 0)
        XCTAssertNil(d("kitten", "sitting", 2))
    }
}
