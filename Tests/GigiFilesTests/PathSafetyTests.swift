import XCTest
@testable import GigiFiles

final class PathSafetyTests: XCTestCase {
    func testAcceptsOrdinaryNames() throws {
        for p in ["a", "a/b", "dir with space/ünïcödé ✓.txt", ".hidden", "a/..b", "...", "cone/x", "icon"] {
            XCTAssertNoThrow(try PathSafety.validate(p), p)
        }
    }

    func testRejectsUnsafeNames() {
        for p in ["", "/etc/passwd", "../x", "a/../../x", "a/..", ".", "./a", "a//b", "a/", "a\0b", "a\\b",
                  "CON", "dir/nul.txt", "com1", "LPT9.log", String(repeating: "x", count: 256),
                  Array(repeating: "d", count: 65).joined(separator: "/")] {
            XCTAssertThrowsError(try PathSafety.validate(p), p)
        }
    }

    func testSlashesThatAreNotCharactersOfTheirOwnAreRefused() throws {
        // A combining mark after "/" makes "/\u{301}" one Character: split on Characters,
        // "../\u{301}x" was a single harmless component, but on disk it is ".." then "\u{301}x".
        for p in ["../\u{301}x", "d/\u{301}x", "a/../\u{301}b", "/\u{301}etc", "a\u{600}/b", "a\\\u{301}b", "con.\u{301}txt",
                  ".gigi-partial-\u{301}x"] {
            XCTAssertThrowsError(try PathSafety.validate(p), p)
        }
        XCTAssertNoThrow(try PathSafety.validate("d/e\u{301}/\u{e9}"))
        let escape = ManifestEntry(path: "../\u{301}x", kind: .file, size: 0, mode: 0o644, mtime: 0, mtimeNanos: 0,
                                   sha256: Array(repeating: 0, count: 32))
        XCTAssertThrowsError(try Manifest.decode(Manifest(entries: [escape]).encoded()))
    }

    /// The byte rules give the Character rules' verdict (and reason) on every ASCII name,
    /// and refuse at least what they refuse on other names.
    func testByteRulesAgreeWithCharacterRules() {
        var rng = SplitMix64(seed: 0x7061_7468)
        let pieces = ["a", "b", ".", "..", "/", "//", " ", "\\", "\0", "C", "o", "n", "N", "U", "l", "x", "$", "1", "-",
                      "\r\n", "\n", "con", "LPT", "com9", ".gigi-partial-", "ü", "e\u{301}", "\u{301}", "\u{212a}"]
        var refused = 0, asciiCount = 0
        for _ in 0..<20_000 {
            let p = (0..<Int.random(in: 1...6, using: &rng)).map { _ in pieces.randomElement(using: &rng)! }.joined()
            let bytes = verdict { try PathSafety.check(p) }
            let characters = verdict { try PathSafety.checkCharacters(p) }
            if bytes != "ok" { refused += 1 }
            if p.utf8.allSatisfy({ $0 < 0x80 }) {
                asciiCount += 1
                XCTAssertEqual(bytes, characters, p.debugDescription)
            } else if characters != "ok" && bytes == "ok" {
                XCTFail("accepted \(p.debugDescription), which the Character rules refuse")
            }
        }
        XCTAssertGreaterThan(refused, 5000)
        XCTAssertGreaterThan(20_000 - refused, 2000)
        XCTAssertGreaterThan(asciiCount, 5000)
    }

    func verdict(_ check: () throws -> Void) -> String {
        do { try check(); return "ok" } catch { return "\(error)" }
    }

    func testPartialFileNamesAreReservedAndNotIndexed() throws {
        for p in [".gigi-partial-0123456789abcdef", "d/.gigi-partial-x"] {
            XCTAssertThrowsError(try PathSafety.validate(p), p)
        }
        XCTAssertNoThrow(try PathSafety.validate("d/x.gigi-partial-"))
        let dir = NSTemporaryDirectory() + "gigi-reserved-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir + "/t", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        FileManager.default.createFile(atPath: dir + "/t/kept", contents: Data([1]))
        FileManager.default.createFile(atPath: dir + "/t/.gigi-partial-0123456789abcdef", contents: Data([2]))
        let indexer = Indexer()
        let share = try indexer.index(paths: [dir + "/t"])
        XCTAssertEqual(share.manifest.entries.map(\.path), ["t", "t/kept"])
        XCTAssertEqual(indexer.skipped, [dir + "/t/.gigi-partial-0123456789abcdef"])
    }

    func testDisplayEscapesControls() {
        XCTAssertEqual(PathSafety.displayName("a\u{1b}[31mb"), "a\\u{1b}[31mb")
        XCTAssertEqual(PathSafety.displayName("x\u{202e}y\n"), "x\\u{202e}y\\u{a}")
        XCTAssertEqual(PathSafety.displayName("plain ü"), "plain ü")
        let err = PathSafetyError.unsafe(path: "\u{1b}]0;pwned\u{7}", reason: "test")
        XCTAssertFalse(err.message.contains("\u{1b}"))
    }
}
