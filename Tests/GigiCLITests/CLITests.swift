// End-to-end tests of the CLI skeleton: version, help, errors, and that the
// checked-in man page and completion scripts match the parser.

import Foundation
import XCTest

final class CLITests: XCTestCase {
    func testVersionPrintsSemver() throws {
        let home = try GigiProcess.temporaryDirectory(for: self)
        let r = try GigiProcess.run(["--version"], environment: GigiProcess.environment(home: home))
        XCTAssertEqual(r.status, 0)
        XCTAssertNotNil(r.stdout.range(of: #"^\d+\.\d+\.\d+\n$"#, options: .regularExpression), r.stdout)
    }

    func testHelpListsExitCodes() throws {
        let home = try GigiProcess.temporaryDirectory(for: self)
        let r = try GigiProcess.run(["--help"], environment: GigiProcess.environment(home: home))
        XCTAssertEqual(r.status, 0)
        XCTAssertTrue(r.stdout.contains("EXIT STATUS"), r.stdout)
        XCTAssertTrue(r.stdout.contains("77 permission denied"), r.stdout)
    }

    func testUnknownSubcommandIsUsageError() throws {
        let home = try GigiProcess.temporaryDirectory(for: self)
        let r = try GigiProcess.run(["frobnicate"], environment: GigiProcess.environment(home: home))
        XCTAssertEqual(r.status, 64, r.stderr)
        XCTAssertTrue(r.stderr.contains("frobnicate"), r.stderr)
    }

    /// The checked-in completion scripts must be exactly what the parser generates now.
    /// Regenerate with `scripts/gen-docs` after changing any command or option.
    func testCompletionScriptsMatchParser() throws {
        let home = try GigiProcess.temporaryDirectory(for: self)
        for shell in ["bash", "zsh", "fish"] {
            let r = try GigiProcess.run(["--generate-completion-script", shell],
                                        environment: GigiProcess.environment(home: home))
            XCTAssertEqual(r.status, 0)
            let name = ["bash": "gigi.bash", "zsh": "_gigi", "fish": "gigi.fish"][shell]!
            let checkedIn = try String(contentsOf: GigiProcess.packageRoot.appendingPathComponent("completions/\(name)"),
                                       encoding: .utf8)
            XCTAssertEqual(r.stdout, checkedIn, "completions/\(name) is stale: run scripts/gen-docs")
        }
    }

    /// The man page is generated from the parser's tool description; the description it was
    /// generated from is checked in beside it, and must match the parser now.
    /// The shipped bash completion completes a share code's words ("4821-ocean-lan" →
    /// "4821-ocean-language") through the real binary.
    func testBashCompletesShareCodeWords() throws {
        let script = GigiProcess.packageRoot.appendingPathComponent("completions/gigi.bash").path
        func complete(_ line: String) throws -> String {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/bash")
            p.arguments = ["-c", #"source "$1"; read -ra COMP_WORDS <<< "$2"; COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); "#
                            + #"COMP_LINE="$2"; COMP_POINT=${#COMP_LINE}; _gigi; echo "${COMPREPLY[*]}""#,
                           "bash", script, line]
            p.environment = ["PATH": GigiProcess.binary.deletingLastPathComponent().path + ":/usr/bin:/bin",
                             "GIGI_LAN_DISCOVERY": "off"]
            let out = Pipe()
            p.standardOutput = out
            p.standardError = FileHandle.nullDevice
            try p.run()
            let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            return text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        XCTAssertEqual(try complete("gigi fetch 4821-ocean-lan"), "4821-ocean-language")
        XCTAssertEqual(Set(try complete("gigi fetch 4821-zo").split(separator: " ")), ["4821-zone", "4821-zoo"])
        XCTAssertEqual(try complete("gigi fetch notacode"), "")
    }

    func testManPageSourceMatchesParser() throws {
        let home = try GigiProcess.temporaryDirectory(for: self)
        let r = try GigiProcess.run(["--experimental-dump-help"], environment: GigiProcess.environment(home: home))
        XCTAssertEqual(r.status, 0)
        let checkedIn = try String(contentsOf: GigiProcess.packageRoot.appendingPathComponent("man/gigi.help.json"),
                                   encoding: .utf8)
        XCTAssertEqual(r.stdout, checkedIn, "man/gigi.help.json is stale: run scripts/gen-docs")
        let man = try String(contentsOf: GigiProcess.packageRoot.appendingPathComponent("man/gigi.1"), encoding: .utf8)
        XCTAssertTrue(man.contains(".Nm gigi") || man.contains("gigi"), "man/gigi.1 looks empty")
    }
}
