// End-to-end tests of `gigi account …`: the built binary, a temporary
// GIGI_HOME per test, passwords through GIGI_PASSWORD / --password-file,
// the cheapest Argon2id cost (GIGI_KDF=fast).

import Foundation
import XCTest

final class AccountCommandTests: XCTestCase {
    static let phrase = "test test test test test test test test test test test junk"
    static let password = "hunter2 but longer"

    private func env(_ home: URL, _ extra: [String: String] = [:]) -> [String: String] {
        GigiProcess.environment(home: home, extra: ["GIGI_KDF": "fast", "GIGI_PASSWORD": Self.password].merging(extra) { $1 })
    }

    private func gigi(_ args: [String], home: URL, input: String? = nil, extra: [String: String] = [:]) throws -> GigiResult {
        try GigiProcess.run(args, environment: env(home, extra), input: input)
    }

    private func restore(_ home: URL, _ args: [String] = [], phrase: String = phrase) throws -> GigiResult {
        try gigi(["account", "restore"] + args, home: home, input: phrase + "\n")
    }

    /// Every byte of every file under `dir`.
    private func allFileContents(_ dir: URL) throws -> [(String, Data)] {
        let walker = FileManager.default.enumerator(at: dir, includingPropertiesForKeys: [.isRegularFileKey])!
        var out = [(String, Data)]()
        for case let url as URL in walker where (try url.resourceValues(forKeys: [.isRegularFileKey])).isRegularFile == true {
            out.append((url.path, try Data(contentsOf: url)))
        }
        return out
    }

    private func mode(_ path: String) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue ?? -1
    }

    func testRestoreTwiceGivesIdenticalShow() throws {
        let a = try GigiProcess.temporaryDirectory(for: self), b = try GigiProcess.temporaryDirectory(for: self)
        for home in [a, b] {
            let r = try restore(home, ["--nickname", "alice"])
            XCTAssertEqual(r.status, 0, r.stderr)
        }
        let showA = try gigi(["account", "show", "--json"], home: a, extra: ["GIGI_PASSWORD": ""])
        let showB = try gigi(["account", "show", "--json"], home: b, extra: ["GIGI_PASSWORD": ""])
        XCTAssertEqual(showA.status, 0, showA.stderr)
        XCTAssertEqual(showA.stdout, showB.stdout)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(showA.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(json["evmAddress"] as? String, "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266")
        XCTAssertEqual(json["peerId"] as? String, "12D3KooWBL11SBwFyJGefwUdpR4xEMDZ6DuiidCBwgmDdLsoQ9mg")
        XCTAssertEqual(json["groupId"] as? String, "12D3KooWEFWqysgMXdtRAPAEXobvckL5pFJkrnKbB2uf9FFNGejr")
        XCTAssertEqual(json["nickname"] as? String, "alice")
        XCTAssertEqual(json["index"] as? Int, 0)
    }

    func testMessyPhraseAndIndex() throws {
        let home = try GigiProcess.temporaryDirectory(for: self)
        let r = try restore(home, ["--index", "1", "--json"], phrase: "  TEST test\ttest test test test\ntest test test test test   Junk ")
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("0x70997970C51812dc3A010C7d01b50e0d17dc79C8"), r.stdout)
    }

    func testFilesArePrivateAndHoldNoPlainMnemonic() throws {
        let home = try GigiProcess.temporaryDirectory(for: self)
        let restored = try restore(home, ["-v", "-v"])
        XCTAssertEqual(restored.status, 0, restored.stderr)
        XCTAssertEqual(try mode(home.appendingPathComponent("account.json").path), 0o600)
        XCTAssertEqual(try mode(home.appendingPathComponent("identity.key").path), 0o600)
        let export = try gigi(["account", "export"], home: home)
        XCTAssertEqual(export.status, 0, export.stderr)
        XCTAssertEqual(export.stdout, Self.phrase + "\n")
        let show = try gigi(["account", "show"], home: home)
        for r in [restored, export, show] {
            XCTAssertFalse(r.stderr.contains("junk"), r.stderr)
            XCTAssertFalse(r.stderr.contains("test test"), r.stderr)
        }
        for (path, data) in try allFileContents(home) {
            let text = String(decoding: data, as: UTF8.self)
            XCTAssertFalse(text.contains("junk") || text.contains("test test"), "\(path) holds the mnemonic")
            XCTAssertNil(data.range(of: Data(Self.password.utf8)), "\(path) holds the password")
        }
    }

    func testCreateShowsPhraseOnceAndExportMatches() throws {
        let home = try GigiProcess.temporaryDirectory(for: self)
        let created = try gigi(["account", "create", "--words", "24", "--nickname", "bob", "--json"], home: home)
        XCTAssertEqual(created.status, 0, created.stderr)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(created.stdout.utf8)) as? [String: Any])
        let phrase = try XCTUnwrap(json["mnemonic"] as? String)
        XCTAssertEqual(phrase.split(separator: " ").count, 24)
        XCTAssertFalse(created.stderr.contains(phrase))
        let export = try gigi(["account", "export"], home: home)
        XCTAssertEqual(export.stdout, phrase + "\n")
        let show = try gigi(["account", "show"], home: home)
        XCTAssertFalse(show.stdout.contains(phrase))
        for (_, data) in try allFileContents(home) {
            XCTAssertNil(data.range(of: Data(phrase.utf8)))
            XCTAssertNil(data.range(of: Data(phrase.split(separator: " ").prefix(3).joined(separator: " ").utf8)))
        }
        // Plain-text output shows numbered words.
        let other = try GigiProcess.temporaryDirectory(for: self)
        let text = try gigi(["account", "create"], home: other)
        XCTAssertEqual(text.status, 0, text.stderr)
        XCTAssertTrue(text.stdout.contains("  1. ") && text.stdout.contains(" 12. "), text.stdout)
        XCTAssertTrue(text.stdout.contains("12D3KooW"))
    }

    func testWrongPasswordLeavesFileUntouched() throws {
        let home = try GigiProcess.temporaryDirectory(for: self)
        XCTAssertEqual(try restore(home).status, 0)
        let file = home.appendingPathComponent("account.json")
        let before = try Data(contentsOf: file)
        let export = try gigi(["account", "export"], home: home, extra: ["GIGI_PASSWORD": "wrong"])
        XCTAssertEqual(export.status, 77, export.stderr)
        XCTAssertEqual(export.stdout, "")
        XCTAssertTrue(export.stderr.contains("password is wrong"), export.stderr)
        let passwd = try gigi(["account", "passwd"], home: home, extra: ["GIGI_PASSWORD": "wrong", "GIGI_NEW_PASSWORD": "new"])
        XCTAssertEqual(passwd.status, 77, passwd.stderr)
        XCTAssertEqual(try Data(contentsOf: file), before)
        XCTAssertEqual(try mode(file.path), 0o600)
    }

    func testPasswdAndPasswordFile() throws {
        let home = try GigiProcess.temporaryDirectory(for: self)
        XCTAssertEqual(try restore(home).status, 0)
        let newFile = home.appendingPathComponent("new-password.txt")
        try Data("second password\n".utf8).write(to: newFile)
        let passwd = try gigi(["account", "passwd", "--new-password-file", newFile.path], home: home)
        XCTAssertEqual(passwd.status, 0, passwd.stderr)
        XCTAssertEqual(try gigi(["account", "export"], home: home).status, 77, "old password no longer works")
        let export = try gigi(["account", "export", "--password-file", newFile.path], home: home,
                              extra: ["GIGI_PASSWORD": "ignored: the file wins"])
        XCTAssertEqual(export.status, 0, export.stderr)
        XCTAssertEqual(export.stdout, Self.phrase + "\n")
    }

    func testErrorsAndExitCodes() throws {
        let home = try GigiProcess.temporaryDirectory(for: self)
        let none = try gigi(["account", "show"], home: home)
        XCTAssertEqual(none.status, 66, none.stderr)
        XCTAssertTrue(none.stderr.contains("gigi account create"), none.stderr)

        let badWord = try restore(home, phrase: "test test test test test test test test test test test jnuk")
        XCTAssertEqual(badWord.status, 65)
        XCTAssertTrue(badWord.stderr.contains("Word 12"), badWord.stderr)
        XCTAssertTrue(badWord.stderr.contains("did you mean \"junk\""), badWord.stderr)

        let badChecksum = try restore(home, phrase: "test test test test test test test test test test test test")
        XCTAssertEqual(badChecksum.status, 65)
        XCTAssertTrue(badChecksum.stderr.contains("checksum"), badChecksum.stderr)

        let short = try restore(home, phrase: "test test test")
        XCTAssertEqual(short.status, 65)
        let noPassword = try gigi(["account", "restore"], home: home, input: Self.phrase, extra: ["GIGI_PASSWORD": ""])
        XCTAssertNotEqual(noPassword.status, 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: home.appendingPathComponent("account.json").path),
                       "nothing written by failed restores")

        XCTAssertEqual(try restore(home).status, 0)
        let again = try restore(home)
        XCTAssertEqual(again.status, 73)
        XCTAssertTrue(again.stderr.contains("--force"), again.stderr)
        XCTAssertEqual(try restore(home, ["--force", "--index", "2"]).status, 0)

        let badWords = try gigi(["account", "create", "--words", "13"], home: home)
        XCTAssertEqual(badWords.status, 64)
    }

    func testDelete() throws {
        let home = try GigiProcess.temporaryDirectory(for: self)
        XCTAssertEqual(try restore(home).status, 0)
        let unconfirmed = try gigi(["account", "delete"], home: home)
        XCTAssertNotEqual(unconfirmed.status, 0)
        XCTAssertTrue(FileManager.default.fileExists(atPath: home.appendingPathComponent("account.json").path))
        let deleted = try gigi(["account", "delete", "--yes"], home: home)
        XCTAssertEqual(deleted.status, 0, deleted.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: home.appendingPathComponent("account.json").path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: home.appendingPathComponent("identity.key").path))
        XCTAssertEqual(try gigi(["account", "show"], home: home).status, 66)
    }
}
