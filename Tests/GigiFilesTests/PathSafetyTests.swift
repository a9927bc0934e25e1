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

    func testDisplayEscapesControls() {
        XCTAssertEqual(PathSafety.displayName("a\u{1b}[31mb"), "a\\u{1b}[31mb")
        XCTAssertEqual(PathSafety.displayName("x\u{202e}y\n"), "x\\u{202e}y\\u{a}")
        XCTAssertEqual(PathSafety.displayName("plain ü"), "plain ü")
        let err = PathSafetyError.unsafe(path: "\u{1b}]0;pwned\u{7}", reason: "test")
        XCTAssertFalse(err.message.contains("\u{1b}"))
    }
}
