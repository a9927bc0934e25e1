// `gigi daemon [run|status|stop]`: the long-running node and its control socket.

import ArgumentParser
import Foundation
import GigiBase
import GigiNode

struct Daemon: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "daemon",
        abstract: "Run the node in the foreground, or ask a running one for its status or to stop.",
        discussion: """
            The daemon serves shares until `gigi unshare`, receives messages and delivers \
            the outbox. Other commands talk to it over GIGI_HOME/gigi.sock (mode 0600; only \
            the same user is served); when none runs, they start a node of their own for \
            their duration. One daemon per GIGI_HOME. See docs/control-api.md for the API \
            a GUI can use, and contrib/gigi.service for a systemd user unit.
            """,
        subcommands: [DaemonRun.self, DaemonStatus.self, DaemonStop.self],
        defaultSubcommand: DaemonRun.self)
}

struct DaemonRun: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the daemon in the foreground until SIGINT/SIGTERM or `gigi daemon stop`.")

    @Option(name: .long, help: ArgumentHelp("Listen on this multiaddr (repeatable; default /ip4/0.0.0.0/tcp/0).",
                                            valueName: "multiaddr"))
    var listen: [String] = []

    @OptionGroup var global: GlobalOptions
    @OptionGroup var lan: LANOptions

    func run() async throws {
        let log = global.logger("daemon")
        let home = global.homeDirectory
        let options = GigiNodeOptions(home: home, listen: listen.isEmpty ? ["/ip4/0.0.0.0/tcp/0"] : listen,
                                      lan: try lan.serviceConfig(home: home), nickname: lan.announcedNickname(home: home),
                                      rememberLANPeers: true, logger: log)
        let daemon = try await GigiDaemon.start(options)
        let addrs = await daemon.node.dialableAddresses()
        if global.json {
            JSONLines(enabled: true).emit(["event": "ready", "peer": .string(daemon.node.peerID),
                                           "addrs": .array(addrs.map(JSONValue.string)),
                                           "socket": .string(DaemonPaths.socket(home: options.home)),
                                           "pid": .int(Int(getpid()))])
        } else {
            Console.err("gigi daemon: peer \(daemon.node.peerID)")
            for a in addrs { Console.err("gigi daemon: listening on \(a)") }
            Console.err("gigi daemon: control socket \(DaemonPaths.socket(home: options.home))")
        }
        let interrupt = SignalWatcher.interrupts()
        _ = await untilInterrupted(interrupt) { await daemon.waitUntilStopped() }
        daemon.requestStop()
        await daemon.shutdown()
        if !global.json { Console.err("gigi daemon: stopped") }
    }
}

struct DaemonStatus: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show whether a daemon runs for this GIGI_HOME, its peer ID and addresses.")

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let s = try await GigiControlClient.call(home: global.homeDirectory, "status")
        if global.json { Console.out(s.text); return }
        Console.out("running      pid \(s["pid"]?.int ?? 0), up \(Int(s["uptime"].flatMap(\.doubleValue) ?? 0)) s")
        Console.out("peer ID      \(s["peer"]?.string ?? "?")")
        for a in s["addrs"]?.array?.compactMap(\.string) ?? [] { Console.out("address      \(a)") }
        Console.out("shares       \(s["shares"]?.int ?? 0)")
    }
}

struct DaemonStop: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stop",
        abstract: "Ask the daemon of this GIGI_HOME to stop, and wait until it has.")

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let home = global.homeDirectory
        _ = try await GigiControlClient.call(home: home, "stop")
        let socket = DaemonPaths.socket(home: home)
        for _ in 0..<200 where FileManager.default.fileExists(atPath: socket) {
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        if !global.json { Console.out("stopped") }
    }
}
