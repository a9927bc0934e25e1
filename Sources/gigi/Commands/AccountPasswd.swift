// `gigi account passwd`: re-encrypts the recovery phrase under a new password.

import ArgumentParser
import GigiAuth
import GigiBase

struct AccountPasswd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "passwd",
        abstract: "Change the account password.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var passwordOptions: PasswordOptions

    @Option(name: .long, help: ArgumentHelp("Read the new password from the first line of this file.", valueName: "file"))
    var newPasswordFile: String?

    func run() throws {
        let store = Keystore(home: global.homeDirectory)
        _ = try store.info()
        let cost = try AccountSecrets.cost()
        let old = try passwordOptions.password(prompt: "Current password: ")
        let new = try AccountSecrets.password(file: newPasswordFile, variable: "GIGI_NEW_PASSWORD",
                                              prompt: "New password: ", confirm: true)
        try store.changePassword(old: old, new: new, cost: cost)
        if !global.json { print("Password changed.") }
    }
}
