// Safety of names received from a peer (DESIGN.md "Files"; the original app
// joined the remote name to the output path unchecked).
//
// A received path must be relative, normalised ("a/b", never "a//b", "./a",
// "a/", "a/../b"), valid UTF-8 without NUL or "\\", with no component that is
// "." or "..", a Windows device name, or longer than 255 bytes. Writers also
// refuse to follow symlinks inside the destination (see FileWriter). When a
// name is printed, control and bidi characters are escaped.

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

    /// Checks a received relative path and returns its components.
    @discardableResult
    public static func validate(_ path: String) throws -> [Substring] {
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
        return parts
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
