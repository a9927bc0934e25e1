// `gigi account export`: reveals the recovery phrase after the password.

import ArgumentParser
import Foundation
import GigiAuth
import GigiBase

struct AccountExport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Show the recovery phrase (asks for the password).")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var passwordOptions: PasswordOptions

    func run() throws {
        let store = Keystore(home: global.homeDirectory)
        _ = try store.info()  // "no account" before asking for a password
        let account = try store.unlock(password: try passwordOptions.password())
        let phrase = account.mnemonic.words.joined(separator: " ")
        if global.json {
            struct Exported: Encodable { let mnemonic: String; let passphraseSet: Bool }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(Exported(mnemonic: phrase, passphraseSet: !account.passphrase.isEmpty)),
                         as: UTF8.self))
        } else {
            FileHandle.standardError.write(Data("Anyone who sees these words controls this account.\n".utf8))
            print(phrase)
        }
    }
}
