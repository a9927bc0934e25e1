// GigiBase.GigiConfigFile: the config.toml subset. Pure (text in, values out).
// It lives in GigiCLITests because that target already depends on GigiBase alone.

import GigiBase
import XCTest

final class GigiConfigFileTests: XCTestCase {
    func testReadsTablesStringsArraysBooleansIntegersAndComments() throws {
        let c = try GigiConfigFile(text: """
            # Gigi settings
            top = 'literal \\n stays'
            [lan]
            discovery = "off"   # a comment
            interfaces = [ "eth0", 'wlan0' , ]
            ttl = 1_200
            [lan."odd name".x]
            on = true
            escaped = "a\\"b\\\\c\\u00e9\\t"
            \r
            """)
        XCTAssertEqual(c["top"], .string("literal \\n stays"))
        XCTAssertEqual(c["lan.discovery"]?.string, "off")
        XCTAssertEqual(c["lan.interfaces"]?.stringList, ["eth0", "wlan0"])
        XCTAssertEqual(c["lan.ttl"]?.integer, 1200)
        XCTAssertEqual(c["lan.odd name.x.on"]?.bool, true)
        XCTAssertEqual(c["lan.odd name.x.escaped"]?.string, "a\"b\\cé\t")
        XCTAssertEqual(c.values.count, 6)
    }

    func testCommaSeparatedStringIsAStringList() throws {
        let c = try GigiConfigFile(text: "[lan]\ninterfaces = \"eth0, wlan0,\"\n")
        XCTAssertEqual(c["lan.interfaces"]?.stringList, ["eth0", "wlan0"])
        XCTAssertNil(try GigiConfigFile(text: "x = [1, \"a\"]")["x"]?.stringList)
    }

    func testRejectsWhatItDoesNotReadWithTheLineNumber() {
        let bad: [(String, Int)] = [
            ("a = \"open", 1), ("\n[lan\n", 2), ("a = 1.5", 1), ("a = {x = 1}", 1), ("a = 1 2", 1),
            ("a = 1\na = 2", 2), ("= 3", 1), ("a = [1, 2", 1), ("a = \"\\q\"", 1), ("a = '''x'''", 1),
            ("a = 1979-05-27", 1), ("just words", 1), ("a = [[[[[1]]]]]", 1), ("a =", 1),
        ]
        for (text, line) in bad {
            XCTAssertThrowsError(try GigiConfigFile(text: text, source: "c.toml"), text) { e in
                let u = e as? GigiError
                XCTAssertEqual(u?.exitCode, .dataError, text)
                XCTAssertTrue(u?.message.hasPrefix("c.toml line \(line) ") ?? false, "\(text): \(String(describing: u?.message))")
            }
        }
    }

    func testSizeIsBounded() {
        let big = String(repeating: "# padding\n", count: GigiConfigFile.maxBytes / 10 + 1)
        XCTAssertThrowsError(try GigiConfigFile(text: big))
        let many = (0...GigiConfigFile.maxKeys).map { "k\($0) = 1" }.joined(separator: "\n")
        XCTAssertThrowsError(try GigiConfigFile(text: many))
    }

    func testMissingFileIsEmptyAndAFileIsRead() throws {
        let home = try GigiProcess.temporaryDirectory(for: self)
        XCTAssertEqual(try GigiConfigFile.load(home: home.path), GigiConfigFile())
        try "[lan]\ndiscovery = false\n".write(to: home.appendingPathComponent("config.toml"), atomically: true, encoding: .utf8)
        XCTAssertEqual(try GigiConfigFile.load(home: home.path)["lan.discovery"], .bool(false))
    }
}
