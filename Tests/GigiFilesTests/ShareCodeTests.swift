import XCTest
@testable import GigiFiles

final class ShareCodeTests: XCTestCase {
    /// A stand-in list with BIP-39's shape: 2048 words, unique 4-letter prefixes,
    /// some 3-letter words. (The real list comes from GigiAuth.)
    static let list: ShareWordList = {
        let letters = Array("abcdefghijklmnopqrstuvwxyz")
        var words: [String] = ["act", "zoo"]
        var i = 0
        while words.count < 2048 {
            let w = String([letters[i / 676 % 26], letters[i / 26 % 26], letters[i % 26], "e"]) + "lly"
            if !w.hasPrefix("act") && !w.hasPrefix("zoo") { words.append(w) }
            i += 1
        }
        return ShareWordList(words: words)
    }()
    var list: ShareWordList { Self.list }

    func testGenerateAndParseRoundTrip() throws {
        for n in [2, 3, 5] {
            let code = ShareCode.generate(words: n)
            XCTAssertEqual(code.wordIndices.count, n)
            XCTAssertEqual(code.secretBits, 11 * n)
            XCTAssertTrue((1...9999).contains(Int(code.nameplate)!))
            XCTAssertEqual(try ShareCode.parse(code.text(list), list: list), code)
        }
    }

    func testForgivingInput() throws {
        let code = ShareCode(nameplate: "4821", wordIndices: [0, 5, 2047])
        let text = code.text(list)
        let w = text.split(separator: "-").map(String.init)
        XCTAssertEqual(try ShareCode.parse(text.uppercased(), list: list), code)
        XCTAssertEqual(try ShareCode.parse("  4821  \(w[1]) \(w[2])   \(w[3]) ", list: list), code)
        // 4-letter prefixes, and misspellings after the prefix.
        XCTAssertEqual(try ShareCode.parse("4821-\(w[1])-\(w[2].prefix(4))-\(w[3].prefix(4))xyz", list: list), code)
    }

    func testUnknownWordSuggests() {
        XCTAssertThrowsError(try ShareCode.parse("12-act-zop", list: list)) { error in
            guard case .unknownWord(let pos, let suggestions) = error as? ShareCodeError else { return XCTFail() }
            XCTAssertEqual(pos, 2)
            XCTAssertTrue(suggestions.contains("zoo"))
            XCTAssertFalse((error as! ShareCodeError).message.isEmpty)
        }
    }

    func testMalformedCodes() {
        XCTAssertThrowsError(try ShareCode.parse("", list: list)) { XCTAssertEqual($0 as? ShareCodeError, .empty) }
        XCTAssertThrowsError(try ShareCode.parse("act-zoo-act", list: list)) { XCTAssertEqual($0 as? ShareCodeError, .badNameplate) }
        XCTAssertThrowsError(try ShareCode.parse("12345-act-zoo", list: list)) { XCTAssertEqual($0 as? ShareCodeError, .badNameplate) }
        XCTAssertThrowsError(try ShareCode.parse("0-act-zoo", list: list)) { XCTAssertEqual($0 as? ShareCodeError, .badNameplate) }
        XCTAssertThrowsError(try ShareCode.parse("12-act", list: list)) { XCTAssertEqual($0 as? ShareCodeError, .tooFewWords(1)) }
    }

    func testSecretSeparatesWordsAndNameplate() {
        let a = ShareCode(nameplate: "1", wordIndices: [1, 2, 3])
        XCTAssertNotEqual(a.secret, ShareCode(nameplate: "1", wordIndices: [1, 2, 4]).secret)
        XCTAssertNotEqual(a.secret, ShareCode(nameplate: "2", wordIndices: [1, 2, 3]).secret)
        XCTAssertNotEqual(ShareCode(nameplate: "1", wordIndices: [1, 2]).secret,
                          ShareCode(nameplate: "1", wordIndices: [1, 2, 0]).secret)
    }

    func testRendezvousKeyDependsOnlyOnNameplate() {
        let k = ShareCode.rendezvousKey(nameplate: "4821")
        XCTAssertEqual(k.count, 32)
        XCTAssertEqual(k, ShareCode.rendezvousKey(nameplate: "4821"))
        XCTAssertNotEqual(k, ShareCode.rendezvousKey(nameplate: "4822"))
    }

    func testCompletions() {
        XCTAssertEqual(list.completions(for: "ZO"), ["zoo"])
        XCTAssertTrue(ShareCode.looksLikeCode(" 12-a-b"))
        XCTAssertFalse(ShareCode.looksLikeCode("gigi1abc"))
    }
}
