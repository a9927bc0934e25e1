// `gigi contacts add|ls|rm|rename`: the address book.

import ArgumentParser
import Foundation
import GigiBase
import GigiNode

struct Contacts: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "contacts",
        abstract: "Name peers: a contact name can stand wherever a peer is asked for.",
        subcommands: [ContactsAdd.self, ContactsList.self, ContactsRemove.self, ContactsRename.self],
        defaultSubcommand: ContactsList.self)
}

/// Runs one contacts method on the daemon or the store, and prints the result.
private func contactsCall(_ global: GlobalOptions, _ method: String, _ params: [String: JSONValue]) async throws -> JSONValue {
    let session = try await NodeSession.open(global, lan: LANOptions.off, label: "contacts")
    do {
        let r = try await session.call(method, params)
        await session.close()
        return r
    } catch {
        await session.close()
        throw error
    }
}

private func contactLine(_ c: JSONValue) -> String {
    let addrs = (c["addrs"]?.array ?? []).compactMap(\.string)
    return "\(TerminalSafe.escape(c["name"]?.string ?? ""))  \(c["peer"]?.string ?? "")" + (addrs.isEmpty ? "" : "  " + addrs.joined(separator: " "))
}

struct ContactsAdd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "add", abstract: "Add a contact.")

    @Argument(help: ArgumentHelp("The name to use for the peer.", valueName: "name"))
    var name: String
    @Argument(help: ArgumentHelp("Its peer ID (12D3KooW…).", valueName: "peer-id"))
    var peerID: String
    @Option(name: .customLong("addr"), help: ArgumentHelp("An address where it listens (repeatable).", valueName: "multiaddr"))
    var addrs: [String] = []
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let r = try await contactsCall(global, "contacts.add", ["name": .string(name), "peer_id": .string(peerID),
                                                               "addrs": .array(addrs.map(JSONValue.string))])
        Console.out(global.json ? r.text : "added " + contactLine(r))
    }
}

struct ContactsList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List the contacts.")
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let r = try await contactsCall(global, "contacts.list", [:])
        let list = r["contacts"]?.array ?? []
        for c in list { Console.out(global.json ? c.text : contactLine(c)) }
        if list.isEmpty && !global.json { Console.out("no contacts") }
    }
}

struct ContactsRemove: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove a contact.")
    @Argument(help: ArgumentHelp("The contact's name.", valueName: "name"))
    var name: String
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let r = try await contactsCall(global, "contacts.remove", ["name": .string(name)])
        Console.out(global.json ? r.text : "removed " + contactLine(r))
    }
}

struct ContactsRename: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rename", abstract: "Rename a contact.")
    @Argument(help: ArgumentHelp("The contact's name now.", valueName: "name"))
    var name: String
    @Argument(help: ArgumentHelp("Its new name.", valueName: "new-name"))
    var newName: String
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let r = try await contactsCall(global, "contacts.rename", ["name": .string(name), "new_name": .string(newName)])
        Console.out(global.json ? r.text : "renamed: " + contactLine(r))
    }
}
