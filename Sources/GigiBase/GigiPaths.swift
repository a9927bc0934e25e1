// Where Gigi keeps its state. Pure: the environment is passed in.

/// Resolves `GIGI_HOME`: an explicit `--home` wins, then `$GIGI_HOME`, then
/// `$XDG_DATA_HOME/gigi`, then `$HOME/.local/share/gigi` (DESIGN.md "Local state").
public enum GigiPaths {
    public static func home(explicit: String?, environment: [String: String]) -> String {
        if let e = explicit, !e.isEmpty { return e }
        if let g = environment["GIGI_HOME"], !g.isEmpty { return g }
        if let x = environment["XDG_DATA_HOME"], !x.isEmpty { return x + "/gigi" }
        let h = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        return h + "/.local/share/gigi"
    }
}

/// Makes untrusted text safe to show on a terminal: control characters
/// (C0, DEL, C1, and the Unicode bidi overrides) are shown as escapes, so a
/// remote file name cannot move the cursor or rewrite the screen.
public enum TerminalSafe {
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            let v = scalar.value
            let isControl = v < 0x20 || v == 0x7f || (0x80...0x9f).contains(v)
            let isBidi = (0x202a...0x202e).contains(v) || (0x2066...0x2069).contains(v) || v == 0x200e || v == 0x200f
            if isControl || isBidi {
                switch v {
                case 0x0a: out += "\\n"
                case 0x0d: out += "\\r"
                case 0x09: out += "\\t"
                default: out += v <= 0xff ? "\\x" + hex2(v) : "\\u{" + String(v, radix: 16) + "}"
                }
            } else if scalar == "\\" {
                out += "\\\\"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    private static func hex2(_ v: UInt32) -> String {
        let s = String(v, radix: 16)
        return s.count == 1 ? "0" + s : s
    }
}
