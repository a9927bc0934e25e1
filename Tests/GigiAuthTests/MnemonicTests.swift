import Foundation
import GigiBase
import GigiCrypto
import XCTest
@testable import GigiAuth

/// Loads a JSON data file from Tests/GigiAuthTests/Vectors.
func loadVector<T: Decodable>(_ name: String, as type: T.Type) throws -> T {
    let url = try XCTUnwrap(Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Vectors"))
    return try JSONDecoder().decode(T.self, from: Data(contentsOf: url))
}

final class MnemonicTests: XCTestCase {
    /// trezor/python-mnemonic vectors.json (English): entropy → words → seed (passphrase "TREZOR").
    func testTrezorVectors() throws {
        let vectors = try loadVector("bip39-vectors", as: [String: [[String]]].self)
        let english = try XCTUnwrap(vectors["english"])
        XCTAssertEqual(english.count, 24)
        for v in english {
            let entropy = try XCTUnwrap(Hex.decode(v[0]))
            let m = try Mnemonic(entropy: SecureBytes(entropy))
            XCTAssertEqual(m.words.joined(separator: " "), v[1])
            let parsed = try Mnemonic(phrase: v[1])
            XCTAssertEqual(parsed.entropy.unsafeBytes, entropy)
            XCTAssertEqual(Hex.encode(parsed.seed(passphrase: "TREZOR").unsafeBytes), v[2])
        }
    }

    func testGenerate() throws {
        for n in [12, 24] {
            let m = try Mnemonic.generate(wordCount: n)
            XCTAssertEqual(m.words.count, n)
            let again = try Mnemonic(phrase: m.words.joined(separator: " "))
            XCTAssertEqual(again.entropy, m.entropy)
        }
        XCTAssertNotEqual(try Mnemonic.generate().entropy, try Mnemonic.generate().entropy)
        XCTAssertThrowsError(try Mnemonic.generate(wordCount: 13)) {
            XCTAssertEqual($0 as? MnemonicError, .wrongWordCount(13))
        }
    }

    func testAcceptsAllStandardLengths() throws {
        for bytes in [16, 20, 24, 28, 32] {
            let m = try Mnemonic(entropy: SecureBytes([UInt8](repeating: 0x5a, count: bytes)))
            XCTAssertEqual(m.wordCount, bytes * 3 / 4)
            XCTAssertEqual(try Mnemonic(phrase: m.words.joined(separator: " ")).entropy, m.entropy)
        }
    }

    func testNormalisation() throws {
        let phrase = "test test test test test test test test test test test junk"
        let messy = "  Test\tTEST test  test\ntest test test test test test\u{3000}test   JUNK \n"
        XCTAssertEqual(try Mnemonic(phrase: messy).entropy, try Mnemonic(phrase: phrase).entropy)
        // NFKD applies to the passphrase: composed and decomposed forms give one seed.
        let m = try Mnemonic(phrase: phrase)
        XCTAssertEqual(m.seed(passphrase: "caf\u{e9}"), m.seed(passphrase: "cafe\u{301}"))
        XCTAssertNotEqual(m.seed(passphrase: ""), m.seed(passphrase: "x"))
    }

    func testErrors() {
        func error(_ phrase: String) -> MnemonicError? {
            do { _ = try Mnemonic(phrase: phrase); return nil } catch { return error }
        }
        XCTAssertEqual(error("abandon abandon"), .wrongWordCount(2))
        XCTAssertEqual(error(""), .wrongWordCount(0))
        XCTAssertEqual(error("abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon"),
                       .badChecksum)
        XCTAssertEqual(error("abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon aban about"),
                       .unknownWord(position: 11, word: "aban", suggestion: "abandon"))
        let e = error("abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon aban about")
        XCTAssertEqual(e?.exitCode, .dataError)
        XCTAssertTrue(e?.message.contains("did you mean \"abandon\"") ?? false)
        XCTAssertThrowsError(try Mnemonic(entropy: SecureBytes([UInt8](repeating: 0, count: 15))))
    }

    func testDescriptionIsRedacted() throws {
        let m = try Mnemonic(phrase: "test test test test test test test test test test test junk")
        XCTAssertFalse("\(m)".contains("junk"))
        XCTAssertFalse(String(reflecting: m).contains("junk"))
    }
}
