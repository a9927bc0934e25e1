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
