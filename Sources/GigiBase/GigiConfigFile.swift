// GIGI_HOME/config.toml: settings that options and environment variables can
// also give (options win, then the environment, then this file).
//
// Reads the subset of TOML 1.0 that Gigi's settings need: `[table]` headers
// (dotted names allowed), `key = value` with bare or quoted keys, values that
// are basic strings ("…" with \" \\ \n \t \r \uXXXX escapes), literal strings
// ('…'), integers, booleans, and one-line arrays of those; `#` comments.
// Anything else (multi-line strings, inline tables, dates, floats) is rejected
// with the line number, never guessed. Pure: the text is passed in.
//
// Example:
//
//     [lan]
//     discovery = "off"            # or true / false
//     interfaces = ["eth0", "wlan0"]

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One value from config.toml.
public enum GigiConfigValue: Equatable, Sendable {
    case string(String)
    case integer(Int64)
    case bool(Bool)
    case array([GigiConfigValue])

    public var string: String? { if case .string(let s) = self { s } else { nil } }
    public var bool: Bool? { if case .bool(let b) = self { b } else { nil } }
    public var integer: Int64? { if case .integer(let i) = self { i } else { nil } }

    /// A list of strings: an array of strings, or one comma-separated string.
    public var stringList: [String]? {
        switch self {
        case .array(let items):
            let strings = items.compactMap(\.string)
            return strings.count == items.count ? strings : nil
        case .string(let s):
            return s.split(separator: ",").map { $0.trimmingASCIISpaces() }.filter { !$0.isEmpty }
        default:
            return nil
        }
    }
}

/// The parsed file: values by full dotted name, e.g. `lan.interfaces`.
public struct GigiConfigFile: Equatable, Sendable {
    public static let fileName = "config.toml"
    /// A settings file is a few hundred bytes; this bounds what a stray big file costs.
    public static let maxBytes = 64 * 1024
    public static let maxKeys = 1024
    static let maxArrayItems = 256

    public private(set) var values: [String: GigiConfigValue] = [:]

    public init() {}

    public subscript(_ name: String) -> GigiConfigValue? { values[name] }

    /// Parses `text`; `source` names the file in error messages.
    public init(text: String, source: String = fileName) throws {
        guard text.utf8.count <= Self.maxBytes else {
            throw GigiError("\(source) is larger than \(Self.maxBytes / 1024) KiB; it is not a Gigi settings file.",
                            exitCode: .dataError)
        }
        var table: [String] = []
        for (number, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var p = ConfigLineParser(line: Array(rawLine.utf8), number: number + 1, source: source)
            p.skipSpaces()
            if p.atEndOrComment { continue }
            if p.peek == UInt8(ascii: "[") {
                p.pos += 1
                table = try p.dottedKey(until: UInt8(ascii: "]"))
                p.pos += 1
                try p.expectEnd()
                continue
            }
            let key = table + (try p.dottedKey(until: UInt8(ascii: "=")))
            p.pos += 1
            p.skipSpaces()
            let value = try p.value()
            try p.expectEnd()
            let name = key.joined(separator: ".")
            guard values[name] == nil else { throw p.error("sets \(name) twice") }
            guard values.count < Self.maxKeys else { throw p.error("has more than \(Self.maxKeys) settings") }
            values[name] = value
        }
    }

    /// Reads `home/config.toml`; an empty configuration when the file does not exist.
    public static func load(home: String) throws -> GigiConfigFile {
        let path = home + "/" + fileName
        guard let text = try readSmallFile(path) else { return GigiConfigFile() }
        return try GigiConfigFile(text: text, source: path)
    }

    private static func readSmallFile(_ path: String) throws -> String? {
        guard let f = fopen(path, "rb") else {
            if errno == ENOENT { return nil }
            throw GigiError("Could not read \(path): \(String(cString: strerror(errno))).", exitCode: .ioError)
        }
        defer { fclose(f) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = fread(&chunk, 1, chunk.count, f)
            if n == 0 { break }
            bytes += chunk[0..<n]
            guard bytes.count <= maxBytes else {
                throw GigiError("\(path) is larger than \(maxBytes / 1024) KiB; it is not a Gigi settings file.",
                                exitCode: .dataError)
            }
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw GigiError("\(path) is not UTF-8 text.", exitCode: .dataError)
        }
        return text
    }
}

/// A cursor over one line of config.toml.
private struct ConfigLineParser {
    let line: [UInt8]
    let number: Int
    let source: String
    var pos = 0

    init(line: [UInt8], number: Int, source: String) {
        self.line = line.last == UInt8(ascii: "\r") ? Array(line.dropLast()) : line
        self.number = number
        self.source = source
    }

    var peek: UInt8? { pos < line.count ? line[pos] : nil }
    var atEndOrComment: Bool { peek == nil || peek == UInt8(ascii: "#") }

    func error(_ what: String) -> GigiError {
        GigiError("\(source) line \(number) \(what); fix or remove that line.", exitCode: .dataError)
    }

    mutating func skipSpaces() {
        while let c = peek, c == 0x20 || c == 0x09 { pos += 1 }
    }

    mutating func expectEnd() throws {
        skipSpaces()
        guard atEndOrComment else { throw error("has unexpected text after the value") }
    }

    /// `a.b."c d"` up to (not including) `terminator`.
    mutating func dottedKey(until terminator: UInt8) throws -> [String] {
        var parts: [String] = []
        while true {
            skipSpaces()
            if peek == UInt8(ascii: "\"") || peek == UInt8(ascii: "'") {
                guard case .string(let s) = try value() else { throw error("has a bad key") }
                parts.append(s)
            } else {
                let start = pos
                while let c = peek, Self.isBareKey(c) { pos += 1 }
                guard pos > start else { throw error("is not `key = value` or `[table]`") }
                parts.append(String(decoding: line[start..<pos], as: UTF8.self))
            }
            skipSpaces()
            if peek == UInt8(ascii: ".") { pos += 1; continue }
            guard peek == terminator else { throw error("is not `key = value` or `[table]`") }
            return parts
        }
    }

    static func isBareKey(_ c: UInt8) -> Bool {
        (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39) || c == 0x2D || c == 0x5F
    }

    mutating func value(depth: Int = 0) throws -> GigiConfigValue {
        guard let c = peek else { throw error("has no value after '='") }
        switch c {
        case UInt8(ascii: "\""): return .string(try basicString())
        case UInt8(ascii: "'"): return .string(try literalString())
        case UInt8(ascii: "["):
            guard depth < 4 else { throw error("nests arrays too deeply") }
            pos += 1
            var items: [GigiConfigValue] = []
            while true {
                skipSpaces()
                if peek == UInt8(ascii: "]") { pos += 1; return .array(items) }
                guard items.count < GigiConfigFile.maxArrayItems else { throw error("has a longer array than Gigi reads") }
                items.append(try value(depth: depth + 1))
                skipSpaces()
                if peek == UInt8(ascii: ",") { pos += 1; continue }
                guard peek == UInt8(ascii: "]") else { throw error("has an array that is not closed on the same line") }
            }
        default:
            let start = pos
            while let c = peek, Self.isBareKey(c) || c == UInt8(ascii: "+") { pos += 1 }
            let word = String(decoding: line[start..<pos], as: UTF8.self)
            if word == "true" { return .bool(true) }
            if word == "false" { return .bool(false) }
            if let i = Int64(word.replacingUnderscores()) { return .integer(i) }
            throw error("has a value Gigi does not read (use \"text\", a number, true/false or [\"a\", \"b\"])")
        }
    }

    mutating func literalString() throws -> String {
        pos += 1
        let start = pos
        while let c = peek, c != UInt8(ascii: "'") { pos += 1 }
        guard peek != nil else { throw error("has a string that is not closed") }
        defer { pos += 1 }
        return String(decoding: line[start..<pos], as: UTF8.self)
    }

    mutating func basicString() throws -> String {
        pos += 1
        var out: [UInt8] = []
        while let c = peek {
            pos += 1
            switch c {
            case UInt8(ascii: "\""):
                return String(decoding: out, as: UTF8.self)
            case UInt8(ascii: "\\"):
                guard let e = peek else { throw error("has a string that is not closed") }
                pos += 1
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"): out.append(e)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "u"):
                    guard pos + 4 <= line.count,
                          let v = UInt32(String(decoding: line[pos..<pos + 4], as: UTF8.self), radix: 16),
                          let scalar = Unicode.Scalar(v) else { throw error("has a bad \\u escape") }
                    pos += 4
                    out += Array(String(Character(scalar)).utf8)
                default:
                    throw error("has an escape Gigi does not read")
                }
            default:
                out.append(c)
            }
        }
        throw error("has a string that is not closed")
    }
}

extension StringProtocol {
    fileprivate func trimmingASCIISpaces() -> String {
        String(self.drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }

    fileprivate func replacingUnderscores() -> String {
        String(self.filter { $0 != "_" })
    }
}
