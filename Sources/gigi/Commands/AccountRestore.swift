// `gigi account restore`: an existing recovery phrase (standard input or a
// no-echo prompt, never argv) becomes this home's account.

import ArgumentParser
import Foundation
import GigiAuth
import GigiBase

struct AccountRestore: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Restore an account from its recovery phrase (read from standard input or a hidden prompt).")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var passwordOptions: PasswordOptions

    @Option(name: .long, help: ArgumentHelp("A name other peers see on the LAN.", valueName: "name"))
    var nickname: String?

    @Option(name: .long, help: ArgumentHelp("Identity index i of the paths m/44'/60'/{0,1,2}'/0/i.", valueName: "i"))
    var index: UInt32 = 0

    @Flag(name: .long, help: "Replace an existing account (its recovery phrase is lost unless you saved it).")
    var force = false

    func validate() throws {
        guard index <= DerivedIdentity.maxIndex else {
            throw ValidationError("--index must be at most \(DerivedIdentity.maxIndex).")
        }
    }

    func run() throws {
        let store = Keystore(home: global.homeDirectory)
        guard force || !store.exists else { throw KeystoreError.alreadyExists(home: store.home) }
        let cost = try AccountSecrets.cost()
        let mnemonic = try AccountSecrets.phrase()
        let password = try passwordOptions.password(prompt: "New password: ", confirm: true)
        let info = try store.create(mnemonic: mnemonic, password: password, nickname: nickname, index: index,
                                    cost: cost, force: force)
        let summary = AccountSummary(info)
        print(global.json ? summary.json : "Account restored in \(TerminalSafe.escape(store.home)):\n" + summary.text)
    }
}
