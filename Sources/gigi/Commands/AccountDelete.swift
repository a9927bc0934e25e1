// `gigi account delete`: removes the keystore and the node identity key.

import ArgumentParser
import Foundation
import GigiAuth
import GigiBase

struct AccountDelete: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete",
        abstract: "Delete the account from this GIGI_HOME (asks for confirmation).")

    @OptionGroup var global: GlobalOptions

    @Flag(name: .long, help: "Do not ask for confirmation.")
    var yes = false

    func run() throws {
        let store = Keystore(home: global.homeDirectory)
        let info = try store.info()
        if !yes {
            let question = "Delete the account \(info.identity.peerID) in \(store.home)? Without its recovery phrase it is gone for good. Type yes: "
            guard let answer = Terminal.readLine(prompt: question) else {
                throw GigiError("Deleting needs confirmation: run in a terminal or add --yes.", exitCode: .usage)
            }
            guard answer.trimmingCharacters(in: .whitespaces).lowercased() == "yes" else {
                throw GigiError("Not confirmed; the account was kept.", exitCode: .failure)
            }
        }
        try store.delete()
        if !global.json { print("Account deleted.") }
    }
}
