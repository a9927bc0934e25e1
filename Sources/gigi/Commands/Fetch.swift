// `gigi fetch [CODE]`: find the sharer, prove the code, pull the data.

import ArgumentParser
import Foundation
import GigiBase
import GigiFiles
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

    @Argument(help: ArgumentHelp("The share code (4821-ocean-lantern-velvet) or a ticket (gigi1...); with --resume, the number `gigi downloads` shows.",
                                 valueName: "code"),
              completion: .custom(Fetch.completeCode))
    var code: String?

    /// Tab completion of a code's words: "4821-oce" → "4821-ocean".
    @Sendable static func completeCode(_ arguments: [String], _ index: Int, _ prefix: String) -> [String] {
        let parts = prefix.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count >= 2, !parts[0].isEmpty, parts[0].allSatisfy(\.isASCII), parts[0].allSatisfy(\.isNumber),
              let last = parts.last else { return [] }
        let head = parts.dropLast().joined(separator: "-")
        return ShareWords.completions(for: last.lowercased()).map { head + "-" + $0 }
    }

    @Flag(name: .long, help: "Continue a partial download (the only one, or the one numbered), with the code it was started with.")
    var resume = false

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

    @Flag(name: [.short, .long], help: "Accept the offer without asking (asked only on a terminal, never with --json).")
    var yes = false

    @OptionGroup var global: GlobalOptions
    @OptionGroup var lan: LANOptions

    func run() async throws {
        let log = global.logger("fetch")
        var input: String, peer = self.peer, output = self.output
        if resume {
            let id: UInt64?
            if let code {
                guard let n = UInt64(code) else {
                    throw GigiError("--resume takes the number of a partial download (`gigi downloads`), not \(TerminalSafe.escape(code)).",
                                    exitCode: .usage)
                }
                id = n
            } else {
                id = nil
            }
            let r = try GigiNode.resumeRequest(home: global.homeDirectory, id: id)
            (input, output) = (r.input, r.output)
            if peer.isEmpty { peer = r.peers }
        } else {
            input = try shareInput()
        }
        try GigiNode.validateFetchInput(input)
        if let daemon = await GigiControlClient.connectIfRunning(home: global.homeDirectory) {
            try await fetchThroughDaemon(daemon, input: input, peer: peer, output: output)
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
        var request = FetchRequest(input: input, peers: peer, output: output, overwrite: overwrite,
                                   reuseLocalChunks: !noReuse, durable: fsync)
        let started = StartTime()
        if !yes && !global.json && Terminal.isInteractive {
            request.confirm = { offer in
                let accepted = Self.askToAccept(offer)
                started.reset()   // the rate counts from the answer, not from the prompt
                return accepted
            }
        }
        if !global.json {
            request.waitingForFileList = { Console.err("Code accepted; the sender is still indexing its files, waiting for the list…") }
        } else {
            request.waitingForFileList = { out.emit(["event": "waiting", "reason": "the sender is still indexing"]) }
        }
        let fetchRequest = request
        let jsonProgress = ProgressThrottle()
        let outcome = await untilInterrupted(interrupt) { () async -> Result<FetchResult, Error> in
            do {
                return .success(try await node.fetch(fetchRequest, progress: { s in
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
               seconds: max(Date().timeIntervalSince(started.value), 0.001), out: out)
    }

    /// Shows what is offered and asks on the terminal; anything but yes declines.
    static func askToAccept(_ offer: FetchOffer) -> Bool {
        let names = offer.names.map(TerminalSafe.escape).joined(separator: ", ")
        var what = "\(offer.files) file\(offer.files == 1 ? "" : "s")"
        if offer.directories > 0 { what += " in \(offer.directories) director\(offer.directories == 1 ? "y" : "ies")" }
        Console.err("Offered: \(names) (\(what), \(ByteCount.text(offer.bytes))) by \(offer.peer).")
        guard let answer = Terminal.readLine(prompt: "Receive it? [y/N] ") else { return false }
        return ["y", "yes"].contains(answer.trimmingCharacters(in: .whitespaces).lowercased())
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
    private func fetchThroughDaemon(_ daemon: GigiControlClient, input: String, peer: [String], output: String) async throws {
        let cwd = FileManager.default.currentDirectoryPath
        let absolute = output.hasPrefix("/") ? output : cwd + "/" + output
        let meter = ProgressMeter(enabled: !global.json && isatty(STDERR_FILENO) == 1, label: "Fetching")
        let events = try await daemon.events()
        let ask = !yes && !global.json && Terminal.isInteractive
        let download = UUID().uuidString.lowercased()
        let home = global.homeDirectory
        let progress = Task {
            for await e in events where e["download"]?.string == download {
                switch e["event"]?.string {
                case "download_progress":
                    meter.update(UInt64(e["bytes_done"]?.int ?? 0), UInt64(e["bytes_total"]?.int ?? 0))
                case "download_offer":
                    let offer = FetchOffer(peer: e["peer"]?.string ?? "?",
                                           names: (e["names"]?.array ?? []).compactMap(\.string),
                                           files: e["files"]?.int ?? 0, directories: e["directories"]?.int ?? 0,
                                           bytes: UInt64(e["bytes"]?.int ?? 0))
                    let yes = Self.askToAccept(offer)
                    _ = try? await GigiControlClient.call(home: home, "accept", ["download": .string(download),
                                                                                 "accept": .bool(yes)])
                default: break
                }
            }
        }
        let started = Date()
        defer { progress.cancel() }
        let r = try await daemon.call("fetch", ["code": .string(input), "peers": .array(peer.map(JSONValue.string)),
                                                "output": .string(absolute), "overwrite": .bool(overwrite),
                                                "no_reuse": .bool(noReuse), "fsync": .bool(fsync),
                                                "download": .string(download), "confirm": .bool(ask)])
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

/// When a fetch started (reset once the offer is accepted).
final class StartTime: @unchecked Sendable {
    private let lock = NSLock()
    private var start = Date()
    var value: Date { lock.withLock { start } }
    func reset() { lock.withLock { start = Date() } }
}

/// `gigi downloads`: partial downloads, to resume or discard.
struct Downloads: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "downloads",
        abstract: "List partial downloads (continue one with `gigi fetch --resume N`).",
        discussion: """
            "on disk" counts the bytes in the partial files; a resumed fetch checks each \
            chunk's BLAKE3 again and keeps what matches. "synced" counts what a fetch \
            with --fsync recorded as on stable storage.
            """)

    @Option(name: .long, help: ArgumentHelp("Delete partial download N: its record and its partial files.",
                                            valueName: "n"))
    var discard: UInt64?

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let home = global.homeDirectory
        if let discard {
            let d = try GigiNode.discardDownload(home: home, id: discard)
            if global.json {
                Console.out(JSONValue.object(["discarded": .int(Int(d.id)), "destination": .string(d.destination)]).text)
            } else {
                Console.out("Discarded download \(d.id) (\(TerminalSafe.escape(d.destination))).")
            }
            return
        }
        let list = try GigiNode.partialDownloads(home: home)
        if global.json {
            for d in list {
                Console.out(JSONValue.object([
                    "download": .int(Int(d.id)), "names": .array(d.names.map(JSONValue.string)),
                    "destination": .string(d.destination), "files": .int(d.files),
                    "bytes_total": .int(Int(d.bytesTotal)), "bytes_on_disk": .int(Int(d.bytesOnDisk)),
                    "bytes_synced": .int(Int(d.bytesRecorded)), "peers": .array(d.peers.map(JSONValue.string)),
                    "updated": .string(ISO8601DateFormatter().string(from: d.updated)), "resumable": .bool(d.resumable),
                ]).text)
            }
            return
        }
        if list.isEmpty { Console.out("No partial downloads."); return }
        for d in list {
            let pct = d.bytesTotal == 0 ? 100 : Int(d.bytesOnDisk * 100 / d.bytesTotal)
            let names = d.names.map(TerminalSafe.escape).joined(separator: ", ")
            Console.out("\(d.id)  \(names.isEmpty ? TerminalSafe.escape(d.destination) : names)  "
                        + "\(ByteCount.text(d.bytesOnDisk)) of \(ByteCount.text(d.bytesTotal)) on disk (\(pct)%), "
                        + "\(ByteCount.text(d.bytesRecorded)) synced  -> \(TerminalSafe.escape(d.root))"
                        + (d.resumable ? "" : "  (needs its code again)"))
        }
    }
}
