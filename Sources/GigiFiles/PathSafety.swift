// Safety of names received from a peer (DESIGN.md "Files"; the original app
// joined the remote name to the output path unchecked).
//
// A received path must be relative, normalised ("a/b", never "a//b", "./a",
// "a/", "a/../b"), valid UTF-8 without NUL or "\\", with no component that is
// "." or "..", a Windows device name, or longer than 255 bytes. Writers also
// refuse to follow symlinks inside the destination (see FileWriter). When a
// name is printed, control and bidi characters are escaped.
//
// The rules hold for the UTF-8 bytes, which is what the file system sees, and
// every "/" must be a Character of its own, so that code splitting on
// Characters (DownloadWriter) sees the same components.

import GigiBase

public enum PathSafetyError: Error, Equatable, Sendable, UserFacingError {
    case unsafe(path: String, reason: String)

    public var message: String {
        switch self {
        case .unsafe(let path, let reason):
            return "The sender offered an unsafe file name \"\(PathSafety.displayName(path))\" (\(reason)); nothing was written. Ask the sender to rename it."
        }
    }
    public var exitCode: GigiExitCode { .dataError }
}

public enum PathSafety {
    public static let maxPathBytes = 4096
    public static let maxComponentBytes = 255
    public static let maxDepth = 64
    /// Names the fetcher gives its partial files (DownloadWriter). A received name may
    /// not start with it: renaming such a file into place would replace another
    /// entry's partial file, whose final name would then get the wrong data.
    public static let partialPrefix = ".gigi-partial-"

    static let deviceNames: Set<String> = {
        var s: Set<String> = ["con", "prn", "aux", "nul", "conin$", "conout$"]
        for i in 0...9 { s.insert("com\(i)"); s.insert("lpt\(i)") }
        return s
    }()

    /// The device names as the bytes of their (3 to 7 ASCII letter) names, big-endian.
    static let deviceNameCodes: Set<UInt64> = Set(deviceNames.map { $0.utf8.reduce(0) { $0 << 8 | UInt64($1) } })

    /// Checks a received relative path and returns its components.
    @discardableResult
    public static func validate(_ path: String) throws -> [Substring] {
        try check(path)
        return path.split(separator: "/", omittingEmptySubsequences: false)
    }

    /// Checks a received relative path without allocating. The rules apply to the
    /// UTF-8 bytes, as the file system sees them (for an ASCII name that is all it
    /// takes). A non-ASCII name must also pass them on Characters (`checkCharacters`,
    /// the original form of the rules), and each of its "/" bytes must be a Character
    /// of its own: "../\u{301}x" is one Character component but two on disk, the
    /// first of them "..".
    static func check(_ path: String) throws {
        var utf8 = path
        let slashes = try utf8.withUTF8 { try checkBytes($0, path) }
        guard let slashes else { return }
        try checkCharacters(path)
        var characterSlashes = 0
        for c in path where c == "/" { characterSlashes += 1 }
        guard characterSlashes == slashes else {
            throw PathSafetyError.unsafe(path: path, reason: "a \"/\" joined to the character next to it")
        }
    }

    /// The rules on the bytes; returns nil for an ASCII name, else its number of "/" bytes.
    private static func checkBytes(_ b: UnsafeBufferPointer<UInt8>, _ path: String) throws -> Int? {
        func fail(_ reason: String) -> PathSafetyError { .unsafe(path: path, reason: reason) }
        guard !b.isEmpty else { throw fail("empty name") }
        guard b.count <= maxPathBytes else { throw fail("name too long") }
        guard b[0] != UInt8(ascii: "/") else { throw fail("absolute path") }
        var all: UInt8 = 0, nul = false, backslash = false, slashes = 0
        for c in b {
            all |= c
            switch c {
            case 0: nul = true
            case UInt8(ascii: "\\"): backslash = true
            case UInt8(ascii: "/"): slashes += 1
            default: break
            }
        }
        guard !nul else { throw fail("NUL byte") }
        guard !backslash else { throw fail("backslash") }
        guard slashes < maxDepth else { throw fail("too deeply nested") }
        var start = 0
        while start <= b.count {
            var end = start
            while end < b.count && b[end] != UInt8(ascii: "/") { end += 1 }
            try checkComponent(UnsafeBufferPointer(rebasing: b[start..<end]), fail)
            start = end + 1
        }
        return all < 0x80 ? nil : slashes
    }

    private static let partialPrefixBytes = Array(partialPrefix.utf8)

    private static func checkComponent(_ c: UnsafeBufferPointer<UInt8>, _ fail: (String) -> PathSafetyError) throws {
        let dot = UInt8(ascii: ".")
        guard !c.isEmpty else { throw fail("empty path component") }
        if c.count <= 2 && c.allSatisfy({ $0 == dot }) { throw fail("\"\(String(decoding: c, as: UTF8.self))\" component") }
        guard c.count <= maxComponentBytes else { throw fail("component too long") }
        guard !c.starts(with: partialPrefixBytes) else { throw fail("a name reserved for unfinished downloads") }
        // The stem: the first run of characters other than ".", lower-cased, without trailing spaces.
        var i = 0
        while i < c.count && c[i] == dot { i += 1 }
        var j = i
        while j < c.count && c[j] != dot { j += 1 }
        while j > i && c[j - 1] == UInt8(ascii: " ") { j -= 1 }
        guard (3...7).contains(j - i) else { return }
        var code: UInt64 = 0
        for k in i..<j {
            let x = c[k]
            code = code << 8 | UInt64((UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(x) ? x | 0x20 : x)
        }
        guard !deviceNameCodes.contains(code) else { throw fail("device name") }
    }

    /// The rules on Characters (for non-ASCII names; see `check`).
    static func checkCharacters(_ path: String) throws {
        func fail(_ reason: String) -> PathSafetyError { .unsafe(path: path, reason: reason) }
        guard !path.isEmpty else { throw fail("empty name") }
        guard path.utf8.count <= maxPathBytes else { throw fail("name too long") }
        guard !path.hasPrefix("/") else { throw fail("absolute path") }
        guard !path.utf8.contains(0) else { throw fail("NUL byte") }
        guard !path.contains("\\") else { throw fail("backslash") }
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= maxDepth else { throw fail("too deeply nested") }
        for p in parts {
            guard !p.isEmpty else { throw fail("empty path component") }
            guard p != ".", p != ".." else { throw fail("\"\(p)\" component") }
            guard p.utf8.count <= maxComponentBytes else { throw fail("component too long") }
            guard !p.hasPrefix(partialPrefix) else { throw fail("a name reserved for unfinished downloads") }
            let stem = p.split(separator: ".", maxSplits: 1).first.map { $0.lowercased() } ?? ""
            guard !deviceNames.contains(stem.trimmingTrailingSpaces) else { throw fail("device name") }
        }
    }

    /// Whether `child` names a path below `parent` (both validated, relative).
    public static func isInside(_ child: String, _ parent: String) -> Bool {
        child.hasPrefix(parent + "/")
    }

    /// `name` with control, format (bidi) and non-printing characters escaped
    /// as \u{…}, safe to print on a terminal.
    public static func displayName(_ name: String) -> String {
        var out = ""
        for scalar in name.unicodeScalars {
            let v = scalar.value
            let props = scalar.properties
            let unsafe = v < 0x20 || (0x7f...0x9f).contains(v)
                || props.generalCategory == .format || props.generalCategory == .lineSeparator
                || props.generalCategory == .paragraphSeparator || props.generalCategory == .unassigned
                || props.generalCategory == .surrogate || props.generalCategory == .privateUse
            if unsafe || scalar == "\\" {
                out += scalar == "\\" ? "\\\\" : "\\u{\(String(v, radix: 16))}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}

extension String {
    var trimmingTrailingSpaces: String {
        var s = self
        while s.last == " " { s.removeLast() }
        return s
    }
}
