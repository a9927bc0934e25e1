// `gigi account show`: the public facts; no password needed.

import ArgumentParser
import GigiAuth

struct AccountShow: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show the nickname, peer ID, EVM address, group id and identity index.")

    @OptionGroup var global: GlobalOptions

    func run() throws {
        let summary = AccountSummary(try Keystore(home: global.homeDirectory).info())
        print(global.json ? summary.json : summary.text)
    }
}
