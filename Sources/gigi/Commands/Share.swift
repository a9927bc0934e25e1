// `gigi share PATH...`: index the paths, print a share code, and serve the
// data until one fetch completes (or, with --keep, until interrupted).

import ArgumentParser
import Foundation
import GigiBase
import GigiNode

struct Share: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "share",
        abstract: "Share files or a directory tree; prints a share code for `gigi fetch`.",
        discussion: """
            The data is cut into 256 KiB chunks (BLAKE3 each, SHA-256 per file) and \
            served from the files themselves; nothing is copied. The code looks like \
            4821-ocean-lantern-velvet: the number only locates this machine, the words \
            are the secret (11 bits each) and never leave it. A fetcher proves it knows \
            the words with a PAKE; a wrong guess learns nothing, and the share closes \
            after 3 wrong guesses.

            Without --keep the share ends after one complete fetch. On the same LAN the \
            fetcher finds this machine by the code alone (GigiDNS announces the \
            nameplate's rendezvous key, never the words); from elsewhere it needs the \
            address printed here (--peer) or the ticket (--ticket). When a daemon runs, \
            the share is handed to it and served until `gigi unshare`.
            """)

    @Argument(help: ArgumentHelp("Files or directories to share.", valueName: "path"))
    var paths: [String]

    @Option(name: .long, help: "Secret words in the code (2-16; each adds 11 bits).")
    var words: Int = ShareRequest.defaultWords

    @Flag(name: .long, help: "Also print a ticket: a long token that needs no rendezvous (peer, addresses, 128-bit secret).")
    var ticket = false

    @Flag(name: .long, help: "Keep serving after a fetch completes, until interrupted.")
    var keep = false

    @Option(name: .long, help: ArgumentHelp("Stop taking new fetches after this long (90s, 30m, 2h, 7d); a fetch under way finishes.",
                                            valueName: "duration"))
    var expire: String?

    @Option(name: .long, help: ArgumentHelp("Listen on this multiaddr (repeatable; default /ip4/0.0.0.0/tcp/0).",
                                            valueName: "multiaddr"))
    var listen: [String] = []

    @OptionGroup var global: GlobalOptions
    @OptionGroup var lan: LANOptions

    /// `--expire` in seconds.
    var expireSeconds: Double? {
        get throws {
            guard let expire else { return nil }
            guard let s = DurationText.parseSeconds(expire), s > 0, s <= ShareRequest.maxExpireSeconds else {
                throw ValidationError("--expire takes a duration such as 90s, 30m, 2h or 7d (at most a year), not '\(expire)'.")
            }
            return s
        }
    }

    func validate() throws {
        _ = try expireSeconds
        guard ShareRequest.wordRange.contains(words) else {
            throw ValidationError("--words must be between \(ShareRequest.wordRange.lowerBound) and \(ShareRequest.wordRange.upperBound).")
        }
    }

    func run() async throws {
        let log = global.logger("share")
        let out = JSONLines(enabled: global.json)
        if let daemon = await GigiControlClient.connectIfRunning(home: global.homeDirectory) {
            try await shareThroughDaemon(daemon, out: out)
            return
        }
        let home = global.homeDirectory
        let lanConfig = try lan.serviceConfig(home: home)
        let options = GigiNodeOptions(home: home, listen: listen.isEmpty ? ["/ip4/0.0.0.0/tcp/0"] : listen,
                                      lan: lanConfig, nickname: lan.announcedNickname(home: home), logger: log)
        // Bad paths fail here, before a code is printed; indexing needs no node: it runs
        // while the node starts (identity, store, listening) and after the code is shown.
        try GigiNode.checkSharePaths(paths)
        let meter = ProgressMeter(enabled: !global.json && isatty(STDERR_FILENO) == 1, label: "Indexing")
        let paths = self.paths
        // Large files' SHA-256 passes are deferred: their chunks can be fetched meanwhile.
        let indexing = Task { try await GigiNode.index(paths, deferDigests: true, progress: { done, total in meter.update(done, total) }) }
        let node: GigiNode
        do { node = try await GigiNode.start(options) } catch {
            _ = try? await indexing.value
            throw error
        }
        let interrupt = SignalWatcher.interrupts()
        do {
            // The code is printed (and works) while the paths are still being indexed, as
            // magic-wormhole prints its code at once: a fetcher that proves it gets the
            // manifest when indexing is done.
            let announced = try await node.announce(ShareRequest(paths: paths, words: words, ticket: ticket))
            let addresses = await node.dialableAddresses()
            meter.printAbove {
                if global.json {
                    var ready: [String: JSONValue] = [
                        "event": "ready", "code": .string(announced.code), "peer_id": .string(node.peerID),
                        "peer": .string(node.peerID), "addrs": .array(addresses.map(JSONValue.string)),
                    ]
                    if let t = announced.ticket { ready["ticket"] = .string(t) }
                    out.emit(ready)
                } else {
                    Console.out("Share code: \(announced.code)")
                    if lanConfig.enabled {
                        Console.out("On the other machine run:  gigi fetch \(announced.code)")
                        if let first = addresses.first {
                            Console.out("From another network:      gigi fetch --peer \(first) \(announced.code)")
                        }
                    } else if let first = addresses.first {
                        Console.out("On the other machine run:  gigi fetch --peer \(first) \(announced.code)")
                    }
                    if let t = announced.ticket { Console.out("Ticket (no code needed):   gigi fetch \(t)") }
                }
            }
            let share: ActiveShare
            do {
                let prepared = try await indexing.value
                meter.finish()
                for s in prepared.skipped {
                    FileHandle.standardError.write(Data("gigi: skipped \(TerminalSafe.escape(s)) (not a regular file or directory, or an unfinished download)\n".utf8))
                }
                if !global.json {
                    // (Chunks can be fetched from here on; large files' SHA-256 digests follow.)
                    let what = prepared.files == 1 && prepared.directories == 0
                        ? "1 file" : "\(prepared.files) files in \(prepared.topNames.count) item\(prepared.topNames.count == 1 ? "" : "s")"
                    Console.out("Sharing \(what), \(ByteCount.text(prepared.bytes)) (\(prepared.chunks) chunks)"
                                + (prepared.digestsPending ? "; SHA-256 still being computed." : "."))
                    if !keep { Console.out("Waiting for one fetch; Ctrl-C stops sharing.") }
                }
                share = try await node.provide(announced, prepared)
            } catch {
                meter.finish()
                await node.unshare(announced, reason: "indexing failed")
                throw error
            }
            if global.json {
                out.emit(["event": "indexed", "manifest": .string(share.manifestID),
                          "files": .int(share.files), "directories": .int(share.directories),
                          "bytes": .int(Int(share.bytes)), "chunks": .int(share.chunks)])
            }
            try await serve(node: node, share: share, out: out, interrupt: interrupt)
        } catch {
            await node.shutdown()
            throw error
        }
        await node.shutdown()
    }

    /// Hands the share to the running daemon, which serves it until `gigi unshare`.
    private func shareThroughDaemon(_ daemon: GigiControlClient, out: JSONLines) async throws {
        let cwd = FileManager.default.currentDirectoryPath
        let absolute = paths.map { $0.hasPrefix("/") ? $0 : cwd + "/" + $0 }
        var params: [String: JSONValue] = ["paths": .array(absolute.map(JSONValue.string)),
                                           "words": .int(words), "ticket": .bool(ticket)]
        if let s = try expireSeconds { params["expire_seconds"] = .double(s) }
        let r = try await daemon.call("share", params)
        await daemon.close()
        if global.json {
            var o = r.object ?? [:]
            o["event"] = "ready"
            out.emit(o)
            return
        }
        let code = r["code"]?.string ?? "?"
        Console.out("Share code: \(code)")
        if let first = r["addrs"]?.array?.first?.string {
            Console.out("On the other machine run:  gigi fetch --peer \(first) \(code)")
        }
        if let t = r["ticket"]?.string { Console.out("Ticket (no code needed):   gigi fetch \(t)") }
        Console.out("The daemon serves it until `gigi unshare \((r["share"]?.string ?? "").prefix(8))`"
                    + (expire.map { " or for \($0)" } ?? "") + ".")
    }

    /// Reports share events until the share is done: one completed fetch
    /// (without --keep), a closed share, or an interrupt.
    private func serve(node: GigiNode, share: ActiveShare, out: JSONLines, interrupt: SignalWatcher) async throws {
        enum Outcome: Sendable { case done, interrupted, closed(String), expired }
        let events = node.shareEvents
        let keep = self.keep, json = global.json
        let expiry = try expireSeconds.map { seconds in
            Task {
                try await Task.sleep(nanoseconds: UInt64(seconds * 1e9))
                await node.unshare(share, reason: Self.expiredReason)
            }
        }
        defer { expiry?.cancel() }
        let outcome: Outcome = await untilInterrupted(interrupt) { () async -> Outcome in
            for await e in events {
                switch e {
                case .fetchStarted(let peer):
                    out.emit(["event": "fetch_started", "peer": .string(peer)])
                    if !json { Console.err("gigi: \(peer) is fetching") }
                case .fetchCompleted(let peer):
                    let served = await node.chunksServed(to: peer)
                    out.emit(["event": "fetch_completed", "peer": .string(peer), "chunks_served": .int(served)])
                    if !json { Console.out("Sent to \(peer).") }
                    if !keep { return .done }
                case .fetchStopped(let peer):
                    let served = await node.chunksServed(to: peer)
                    out.emit(["event": "fetch_stopped", "peer": .string(peer), "chunks_served": .int(served)])
                    if !json { Console.err("gigi: \(peer) stopped fetching before the end (it may resume)") }
                case .wrongCode(let peer, let n):
                    out.emit(["event": "wrong_code", "peer": .string(peer), "failed_attempts": .int(n)])
                    if !json { Console.err("gigi: \(peer) tried a wrong code (\(n) of 3 allowed)") }
                case .closed(let reason) where reason == Self.expiredReason:
                    out.emit(["event": "closed", "reason": .string(reason)])
                    // No new fetches; one under way finishes first.
                    while await node.isServingChunks() { try? await Task.sleep(nanoseconds: 200_000_000) }
                    return .expired
                case .closed(let reason):
                    out.emit(["event": "closed", "reason": .string(reason)])
                    return .closed(reason)
                case .fileChanged(let path):
                    out.emit(["event": "file_changed", "path": .string(path)])
                    Console.err("gigi: \(TerminalSafe.escape(path)) changed since it was shared; it is no longer served (share it again)")
                }
            }
            return .done
        } ?? .interrupted
        switch outcome {
        case .done: return
        case .expired:
            if !json { Console.out("The share expired (--expire \(expire ?? "")).") }
        case .interrupted:
            await node.unshare(share, reason: "interrupted")
            throw GigiError("Interrupted; the share has ended.", exitCode: .interrupted)
        case .closed(let reason):
            throw GigiError("The share closed after \(reason): someone may be guessing the code; share again for a new one.",
                            exitCode: .noPermission)
        }
    }

    static let expiredReason = "expired"
}
