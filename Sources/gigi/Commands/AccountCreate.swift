// `gigi account create`: a new random recovery phrase, shown once, stored encrypted.

import ArgumentParser
import Foundation
import GigiAuth
import GigiBase

struct AccountCreate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Create a new account and show its recovery phrase once.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var passwordOptions: PasswordOptions

    @Option(name: .long, help: ArgumentHelp("Number of words: 12 or 24.", valueName: "n"))
    var words = 12

    @Option(name: .long, help: ArgumentHelp("A name other peers see on the LAN.", valueName: "name"))
    var nickname: String?

    @Flag(name: .long, help: "Replace an existing account (its recovery phrase is lost unless you saved it).")
    var force = false

    func validate() throws {
        guard words == 12 || words == 24 else { throw ValidationError("--words must be 12 or 24.") }
    }

    func run() throws {
        let store = Keystore(home: global.homeDirectory)
        guard force || !store.exists else { throw KeystoreError.alreadyExists(home: store.home) }
        let cost = try AccountSecrets.cost()
        let mnemonic = try Mnemonic.generate(wordCount: words)
        let password = try passwordOptions.password(prompt: "New password: ", confirm: true)
        let info = try store.create(mnemonic: mnemonic, password: password, nickname: nickname,
                                    cost: cost, force: force)
        let summary = AccountSummary(info)
        if global.json {
            struct Created: Encodable { let mnemonic: String; let account: AccountSummary }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            let out = try encoder.encode(Created(mnemonic: mnemonic.words.joined(separator: " "), account: summary))
            print(String(decoding: out, as: UTF8.self))
            return
        }
        print("""
            Your recovery phrase (\(mnemonic.wordCount) words). Write it down on paper and keep it safe:
            it is shown only now, and it is the only way to restore this account.

            \(Self.grid(mnemonic.words))

            Account created in \(TerminalSafe.escape(store.home)):
            \(summary.text)
            """)
    }

    /// Numbered words, four per line.
    static func grid(_ words: [String]) -> String {
        stride(from: 0, to: words.count, by: 4).map { row in
            words[row..<min(row + 4, words.count)].enumerated().map { i, w in
                let n = String(row + i + 1)
                return String(repeating: " ", count: 4 - n.count) + n + ". " + w.padding(toLength: 10, withPad: " ", startingAt: 0)
            }.joined().replacingOccurrences(of: " +$", with: "", options: .regularExpression)
        }.joined(separator: "\n")
    }
}
