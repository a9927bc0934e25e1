// `gigi fetch [CODE]`: find the sharer, prove the code, pull the data.

import ArgumentParser
import Foundation
import GigiBase
import GigiNode

struct Fetch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fetch",
        abstract: "Fetch what `gigi share` offers, by share code or ticket.",
        discussion: """
            Every chunk is checked against its BLAKE3 before it is written, every file \
            against its SHA-256 before it is renamed into place; nothing half-received \
            ever carries the final name. An interrupted fetch resumes where it stopped \
            when the same command runs again, and chunks this machine already holds \
            (say, an older version of the file) are copied instead of fetched.

            Like rsync and cp, gigi leaves writing the received files to disk to the \
            kernel: they are complete and verified when it finishes, and a power cut in \
            the next seconds can still lose them. With --fsync it waits until they are on \
            stable storage, and records resume progress as it goes. A file that replaces \
            an existing one is always synced before the rename, so a crash leaves the old \
            version or the new one, never a broken file.

            The code may be given as an argument, but other users can read the command \
            line: without one, gigi reads GIGI_CODE or asks for it on the terminal.
            """)

    @Argument(help: ArgumentHelp("The share code (4821-ocean-lantern-velvet) or a ticket (gigi1...).",
                                 valueName: "code"))
    var code: String?

    @Option(name: .long, help: ArgumentHelp("The sharer's address, as printed by `gigi share` (repeatable).",
                                            valueName: "multiaddr"))
    var peer: [String] = []

    @Option(name: [.short, .long], help: ArgumentHelp("Directory to fetch into (default: the current directory).",
                                                      valueName: "dir"))
    var output: String = "."

    @Flag(name: .long, help: "Replace files that already exist at the destination.")
    var overwrite = false

    @Flag(name: .long, help: "Fetch every chunk over the network, even ones held locally.")
    var noReuse = false

    @Flag(name: .long, help: "Wait until the received files are on stable storage before finishing.")
    var fsync = false

    @OptionGroup var global: GlobalOptions
    @OptionGroup var lan: LANOptions

    func run() async throws {
        let log = global.logger("fetch")
        let input = try shareInput()
        try GigiNode.validateFetchInput(input)
        if let daemon = await GigiControlClient.connectIfRunning(home: global.homeDirectory) {
            try await fetchThroughDaemon(daemon, input: input)
            return
        }
        let home = global.homeDirectory
        // Only listens to the LAN (no --peer): finding the sharer by its nameplate's rendezvous key.
        let lanConfig = peer.isEmpty ? try lan.serviceConfig(home: home) : nil
        let node = try await GigiNode.start(GigiNodeOptions(home: home, listen: [], lan: lanConfig,
                                                            nickname: lan.announcedNickname(home: home), logger: log))
        let interrupt = SignalWatcher.interrupts()
        let out = JSONLines(enabled: global.json)
        let meter = ProgressMeter(enabled: !global.json && isatty(STDERR_FILENO) == 1, label: "Fetching")
        let request = FetchRequest(input: input, peers: peer, output: output, overwrite: overwrite,
                                   reuseLocalChunks: !noReuse, durable: fsync)
        let started = Date()
        let jsonProgress = ProgressThrottle()
        let outcome = await untilInterrupted(interrupt) { () async -> Result<FetchResult, Error> in
            do {
                return .success(try await node.fetch(request, progress: { s in
                    meter.update(s.bytesDone, s.totalBytes)
                    if jsonProgress.due(s.bytesDone, final: s.chunksDone == s.totalChunks) {
                        out.emit(["event": "progress", "bytes_done": .int(Int(s.bytesDone)), "bytes_total": .int(Int(s.totalBytes)),
                                  "chunks_done": .int(s.chunksDone), "chunks_total": .int(s.totalChunks)])
                    }
                }))
            } catch { return .failure(error) }
        }
        let result = outcome ?? .failure(GigiError("Interrupted; run the same command again to resume.", exitCode: .interrupted))
        meter.finish()
        await node.shutdown()
        let r = try result.get()
        report(GigiDaemon.json(r, download: "", output: output),
               seconds: max(Date().timeIntervalSince(started), 0.001), out: out)
    }

    /// Prints a finished fetch (the fields of the control API's `fetch` result).
    private func report(_ r: JSONValue, seconds: Double, out: JSONLines) {
        if global.json {
            var o = r.object ?? [:]
            o["event"] = "completed"
            o["seconds"] = .double(seconds)
            o["download"] = nil
            out.emit(o)
            return
        }
        let names = (r["names"]?.array ?? []).compactMap(\.string).map(TerminalSafe.escape).joined(separator: ", ")
        let files = r["files"]?.int ?? 0, bytes = UInt64(r["bytes"]?.int ?? 0)
        let network = r["network_chunks"]?.int ?? 0, local = r["local_chunks"]?.int ?? 0
        let resumed = r["resumed_chunks"]?.int ?? 0
        Console.out("Received \(names) (\(files) file\(files == 1 ? "" : "s"), \(ByteCount.text(bytes))) into \(TerminalSafe.escape(output)).")
        Console.out("Verified: every chunk's BLAKE3 and every file's SHA-256; SHA-256 \(r["sha256"]?.string ?? "")")
        var how = "\(network) chunk\(network == 1 ? "" : "s") over the network"
        if local > 0 { how += ", \(local) copied locally" }
        if resumed > 0 { how += ", \(resumed) resumed" }
        Console.out("\(how), \(ByteCount.rate(bytes, seconds: seconds)).")
    }

    /// Lets the running daemon fetch (its event stream shows the progress).
    private func fetchThroughDaemon(_ daemon: GigiControlClient, input: String) async throws {
        let cwd = FileManager.default.currentDirectoryPath
        let absolute = output.hasPrefix("/") ? output : cwd + "/" + output
        let meter = ProgressMeter(enabled: !global.json && isatty(STDERR_FILENO) == 1, label: "Fetching")
        let events = try await daemon.events()
        let progress = Task {
            for await e in events where e["event"]?.string == "download_progress" {
                meter.update(UInt64(e["bytes_done"]?.int ?? 0), UInt64(e["bytes_total"]?.int ?? 0))
            }
        }
        let started = Date()
        defer { progress.cancel() }
        let r = try await daemon.call("fetch", ["code": .string(input), "peers": .array(peer.map(JSONValue.string)),
                                                "output": .string(absolute), "overwrite": .bool(overwrite),
                                                "no_reuse": .bool(noReuse), "fsync": .bool(fsync)])
        meter.finish()
        await daemon.close()
        report(r, seconds: max(Date().timeIntervalSince(started), 0.001), out: JSONLines(enabled: global.json))
    }

    /// The code from the argument, GIGI_CODE, or a terminal prompt.
    private func shareInput() throws -> String {
        if let code, !code.isEmpty { return code }
        if let env = ProcessInfo.processInfo.environment["GIGI_CODE"], !env.isEmpty { return env }
        if let typed = Terminal.readLine(prompt: "Share code: "), !typed.isEmpty { return typed }
        throw GigiError("No share code given: pass it as an argument, set GIGI_CODE, or run in a terminal to type it.",
                        exitCode: .usage)
    }
}
