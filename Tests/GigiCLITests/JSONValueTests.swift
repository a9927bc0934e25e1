// The control API's JSON: the hand-written writer must print what Foundation's
// JSONEncoder (sorted keys, unescaped slashes) prints, and the parser must read RFC 8259.

import Foundation
import GigiNode
import XCTest

final class JSONValueTests: XCTestCase {
    /// What the writer replaced: JSONEncoder with the same options, on the same value.
    func foundation(_ v: JSONValue) throws -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try e.encode(v), as: UTF8.self)
    }

    func testTextIsWhatJSONEncoderWrites() throws {
        let strings = ["", "plain", "a\"b\\c/d", "line\nnext\ttab\r\u{8}\u{c}", "\u{1}\u{1f}\u{7f}", "é ✓ 🙂 \u{2028}", "12D3KooW/p2p/x"]
        let doubles = [0.0, -0.0, 5.0, 1.5, 0.1, 0.001, 1733050000.123, 1764582345.6789, 1e21, 1e-7, -2.5e-3, 123456789012345678.0]
        let ints = [0, -1, 42, Int.max, Int.min]
        var values: [JSONValue] = [.null, .bool(true), .bool(false), .array([]), .object([:])]
        values += strings.map(JSONValue.string) + doubles.map(JSONValue.double) + ints.map(JSONValue.int)
        values.append(.object(["z": 1, "a": ["x": .array([.null, "y", .double(2.5)])], "m": .string("v"), "é": true, "B": false]))
        values.append(.array(values))
        for v in values {
            XCTAssertEqual(v.text, try foundation(v), "\(v)")
        }
    }

    func testParseReadsWhatTextWrites() throws {
        let v: JSONValue = ["id": 7, "method": "send", "params": ["peer": "/ip4/127.0.0.1/tcp/1/p2p/12D3KooWx",
            "text": .string("q\"\\\n\u{1}é🙂"), "timeout": .double(2.5), "wait": true, "list": [1, -2, .double(3.25), .null, [:]]]]
        XCTAssertEqual(JSONValue.parse(v.text), v)
        XCTAssertEqual(JSONValue.parse(#" { "a" : [ 1 , 2 ] , "b" : "\u00e9\ud83d\ude42\/" } "#),
                       ["a": [1, 2], "b": "é🙂/"])
        XCTAssertEqual(JSONValue.parse("-0.5e2"), .double(-50))
        XCTAssertEqual(JSONValue.parse("12345678901234567890"), .double(12345678901234567890))
        XCTAssertEqual(JSONValue.parse("5.0")?.int, 5)
    }

    func testParseRefusesWhatIsNotJSON() {
        for bad in ["", " ", "{", "[1,]", "{\"a\"}", "{\"a\":1,}", "01", "1.", ".5", "-", "1e", "tru", "nul", "\"open",
                    "\"raw\ncontrol\"", "\"\\x\"", "\"\\ud800\"", "\"\\udc00\"", "[1] 2", "{'a':1}", "NaN",
                    String(repeating: "[", count: 600) + String(repeating: "]", count: 600)] {
            XCTAssertNil(JSONValue.parse(bad), bad.prefix(40).description)
        }
        let deep = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        XCTAssertNotNil(JSONValue.parse(deep))
    }
}
