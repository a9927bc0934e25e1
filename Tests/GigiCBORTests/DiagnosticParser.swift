// Test helper: parses the subset of RFC 8949 diagnostic notation used in Appendix A,
// so the vectors can be checked in both directions against an independent source.
import GigiCBOR

struct DiagnosticParser {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    private let chars: [Character]
    private var i = 0

    static func parse(_ text: String) throws -> CBOR {
        var p = DiagnosticParser(chars: Array(text))
        let v = try p.value()
        p.skipSpace()
        guard p.i == p.chars.count else { throw Failure(description: "trailing text in \(text)") }
        return v
    }

    private init(chars: [Character]) { self.chars = chars }

    private mutating func skipSpace() { while i < chars.count, chars[i] == " " { i += 1 } }

    private mutating func expect(_ c: Character) throws {
        skipSpace()
        guard i < chars.count, chars[i] == c else { throw Failure(description: "expected \(c) at \(i)") }
        i += 1
    }

    private mutating func peek() -> Character? {
        skipSpace()
        return i < chars.count ? chars[i] : nil
    }

    private mutating func word(_ w: String) -> Bool {
        let w = Array(w)
        guard i + w.count <= chars.count, Array(chars[i..<i + w.count]) == w else { return false }
        i += w.count
        return true
    }

    private mutating func indefiniteMarker() {
        skipSpace()
        if i < chars.count, chars[i] == "_" { i += 1 }
    }

    private mutating func value() throws -> CBOR {
        guard let c = peek() else { throw Failure(description: "unexpected end") }
        if word("false") { return false }
        if word("true") { return true }
        if word("null") { return .null }
        if word("undefined") { return .undefined }
        if word("NaN") { return .float(.nan) }
        if word("Infinity") { return .float(.infinity) }
        if word("-Infinity") { return .float(-.infinity) }
        if word("simple(") {
            let n = try number()
            try expect(")")
            return .simple(UInt8(n.uint64Value!))
        }
        switch c {
        case "h":
            i += 1
            try expect("'")
            var hex = ""
            while chars[i] != "'" { hex.append(chars[i]); i += 1 }
            i += 1
            return .bytes(hexBytes(hex))
        case "\"": return .text(try string())
        case "[":
            i += 1
            indefiniteMarker()
            var elements: [CBOR] = []
            while peek() != "]" {
                elements.append(try value())
                if peek() == "," { i += 1 }
            }
            i += 1
            return .array(elements)
        case "{":
            i += 1
            indefiniteMarker()
            var entries: [(key: CBOR, value: CBOR)] = []
            while peek() != "}" {
                let k = try value()
                try expect(":")
                entries.append((k, try value()))
                if peek() == "," { i += 1 }
            }
            i += 1
            return .map(entries)
        case "(":
            // Indefinite-length string: (_ chunk, chunk)
            i += 1
            indefiniteMarker()
            var parts: [CBOR] = []
            while peek() != ")" {
                parts.append(try value())
                if peek() == "," { i += 1 }
            }
            i += 1
            if case .text = parts.first {
                return .text(parts.map { $0.stringValue! }.joined())
            }
            return .bytes(parts.flatMap { $0.bytesValue! })
        default:
            let n = try number()
            if peek() == "(" {
                i += 1
                let inner = try value()
                try expect(")")
                return .tagged(n.uint64Value!, inner)
            }
            return n
        }
    }

    private mutating func number() throws -> CBOR {
        skipSpace()
        var s = ""
        while i < chars.count, "0123456789-+.e".contains(chars[i]) { s.append(chars[i]); i += 1 }
        if s.contains(".") || s.contains("e") {
            guard let d = Double(s) else { throw Failure(description: "bad float \(s)") }
            return .float(d)
        }
        if s.hasPrefix("-") {
            if s == "-18446744073709551616" { return .negative(UInt64.max) }
            guard let m = UInt64(s.dropFirst()) else { throw Failure(description: "bad int \(s)") }
            return .negative(m - 1)
        }
        guard let n = UInt64(s) else { throw Failure(description: "bad int \(s)") }
        return .unsigned(n)
    }

    private mutating func string() throws -> String {
        i += 1  // opening quote
        var scalars: [UInt32] = []
        while chars[i] != "\"" {
            if chars[i] == "\\" {
                i += 1
                if chars[i] == "u" {
                    let hex = String(chars[(i + 1)...(i + 4)])
                    scalars.append(UInt32(hex, radix: 16)!)
                    i += 5
                } else {
                    scalars.append(chars[i].unicodeScalars.first!.value)
                    i += 1
                }
            } else {
                scalars.append(contentsOf: chars[i].unicodeScalars.map(\.value))
                i += 1
            }
        }
        i += 1
        // Combine UTF-16 surrogate pairs written as \uD800\uDD51.
        var out = String.UnicodeScalarView()
        var k = 0
        while k < scalars.count {
            let v = scalars[k]
            if (0xD800..<0xDC00).contains(v), k + 1 < scalars.count {
                let low = scalars[k + 1]
                out.append(Unicode.Scalar(0x10000 + ((v - 0xD800) << 10) + (low - 0xDC00))!)
                k += 2
            } else {
                out.append(Unicode.Scalar(v)!)
                k += 1
            }
        }
        return String(out)
    }
}

func hexBytes(_ hex: String) -> [UInt8] {
    var out: [UInt8] = []
    var it = hex.makeIterator()
    while let h = it.next(), let l = it.next() {
        out.append(UInt8(String([h, l]), radix: 16)!)
    }
    return out
}

func hexString(_ bytes: [UInt8]) -> String {
    bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
}
