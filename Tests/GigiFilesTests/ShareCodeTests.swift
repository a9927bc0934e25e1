import XCTest
@testable import GigiFiles

final class ShareCodeTests: XCTestCase {
    func testGenerateAndParseRoundTrip() throws {
        for n in [2, 3, 5] {
            let code = ShareCode.generate(words: n)
            XCTAssertEqual(code.wordIndices.count, n)
            XCTAssertEqual(code.secretBits, 11 * n)
            XCTAssertTrue((1...9999).contains(Int(code.nameplate)!))
            XCTAssertEqual(try ShareCode.parse(code.text), code)
        }
    }

    func testForgivingInput() throws {
        let code = ShareCode(nameplate: "4821", wordIndices: [0, 5, 1000])
        let text = code.text
        let w = text.split(separator: "-").map(String.init)
        XCTAssertEqual(try ShareCode.parse(text.uppercased()), code)
        XCTAssertEqual(try ShareCode.parse("  4821  \(w[1]) \(w[2])   \(w[3]) "), code)
        // 4-letter prefixes, and misspellings after the prefix.
        XCTAssertEqual(try ShareCode.parse("4821-\(w[1])-\(w[2].prefix(4))-\(w[3].prefix(4))xyz"), code)
    }

    func testUnknownWordSuggests() {
        XCTAssertThrowsError(try ShareCode.parse("12-abandon-zoq")) { error in
            guard case .unknownWord(let pos, let suggestions) = error as? ShareCodeError else { return XCTFail() }
            XCTAssertEqual(pos, 2)
            XCTAssertTrue(suggestions.contains("zoo"))
            XCTAssertFalse((error as! ShareCodeError).message.isEmpty)
        }
    }

    func testMalformedCodes() {
        XCTAssertThrowsError(try ShareCode.parse("")) { XCTAssertEqual($0 as? ShareCodeError, .empty) }
        XCTAssertThrowsError(try ShareCode.parse("act-zoo-act")) { XCTAssertEqual($0 as? ShareCodeError, .badNameplate) }
        XCTAssertThrowsError(try ShareCode.parse("12345-act-zoo")) { XCTAssertEqual($0 as? ShareCodeError, .badNameplate) }
        XCTAssertThrowsError(try ShareCode.parse("0-act-zoo")) { XCTAssertEqual($0 as? ShareCodeError, .badNameplate) }
        XCTAssertThrowsError(try ShareCode.parse("12-act")) { XCTAssertEqual($0 as? ShareCodeError, .tooFewWords(1)) }
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
        XCTAssertEqual(ShareWords.completions(for: "ZO"), ["zone", "zoo"])
        XCTAssertEqual(ShareWords.lookup("lanturn"), ShareWords.lookup("lantern"))
        XCTAssertNil(ShareWords.lookup("zzzz"))
        XCTAssertTrue(ShareCode.looksLikeCode(" 12-a-b"))
        XCTAssertFalse(ShareCode.looksLikeCode("gigi1abc"))
    }
}
