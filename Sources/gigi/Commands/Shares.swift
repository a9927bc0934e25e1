// `gigi shares` and `gigi unshare`: the daemon's shares.

import ArgumentParser
import Foundation
import GigiBase
import GigiNode

struct Shares: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shares",
        abstract: "List the shares the daemon is serving.")

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let r = try await GigiControlClient.call(home: global.homeDirectory, "shares")
        let list = r["shares"]?.array ?? []
        if global.json {
            for s in list { Console.out(s.text) }
            return
        }
        if list.isEmpty { Console.out("no shares"); return }
        for s in list {
            let names = (s["names"]?.array ?? []).compactMap(\.string).map(TerminalSafe.escape).joined(separator: ", ")
            let bytes = UInt64(s["bytes"]?.int ?? 0)
            Console.out("\((s["share"]?.string ?? "").prefix(8))  \(s["code"]?.string ?? "")  \(names) (\(ByteCount.text(bytes)))")
        }
    }
}

struct Unshare: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unshare",
        abstract: "Stop serving a share of the daemon (by the id `gigi shares` shows, a prefix of it, or its code).")

    @Argument(help: ArgumentHelp("The share id (or a prefix) or the share code.", valueName: "share"))
    var share: String

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let r = try await GigiControlClient.call(home: global.homeDirectory, "unshare", ["share": .string(share)])
        if global.json { Console.out(r.text) } else { Console.out("unshared \(r["share"]?.string ?? share)") }
    }
}

struct Events: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "Print the daemon's event stream (JSON lines) until interrupted.")

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let client = try await GigiControlClient.connect(home: global.homeDirectory)
        let events = try await client.events()
        let interrupt = SignalWatcher.interrupts()
        _ = await untilInterrupted(interrupt) {
            for await e in events { Console.out(e.text) }
        }
        await client.close()
    }
}
