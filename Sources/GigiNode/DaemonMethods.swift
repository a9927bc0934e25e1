// The control API's methods (see docs/control-api.md).

import Foundation
import GigiBase

extension GigiDaemon {
    func dispatch(_ method: String, _ p: [String: JSONValue]) async throws -> JSONValue {
        switch method {
        case "status": return await status()
        case "stop":
            Task { try? await Task.sleep(nanoseconds: 50_000_000); self.requestStop() }
            return ["stopping": true]
        case "share": return try await share(p)
        case "unshare": return try await unshare(p)
        case "shares": return listShares()
        case "fetch": return try await fetch(p)
        case "accept": return try accept(p)
        default:
            if let result = try await extraDispatch(method, p) { return result }
            throw GigiError("Unknown control method '\(TerminalSafe.escape(method))'; see docs/control-api.md.",
                            exitCode: .usage)
        }
    }

    func status() async -> JSONValue {
        let addrs = await node.dialableAddresses()
        return ["version": .string(GigiVersion.string), "api": .int(ControlAPI.version),
                "pid": .int(Int(getpid())), "peer": .string(node.peerID),
                "addrs": .array(addrs.map(JSONValue.string)), "home": .string(node.options.home),
                "uptime": .double(Date().timeIntervalSince(started)),
                "shares": .int(shares.withLock { $0.count }), "subscribers": .int(bus.subscriberCount)]
    }

    func share(_ p: [String: JSONValue]) async throws -> JSONValue {
        guard let paths = p["paths"]?.array?.compactMap(\.string), !paths.isEmpty else {
            throw GigiError("share needs \"paths\": a list of absolute paths.", exitCode: .usage)
        }
        for path in paths where !path.hasPrefix("/") {
            throw GigiError("share paths must be absolute (the daemon has its own working directory): \(TerminalSafe.escape(path)).",
                            exitCode: .usage)
        }
        let words = p["words"]?.int ?? ShareRequest.defaultWords
        guard ShareRequest.wordRange.contains(words) else {
            throw GigiError("\"words\" must be between \(ShareRequest.wordRange.lowerBound) and \(ShareRequest.wordRange.upperBound).",
                            exitCode: .usage)
        }
        var expires: Date? = nil
        if let seconds = p["expire_seconds"]?.doubleValue {
            guard seconds > 0, seconds <= ShareRequest.maxExpireSeconds else {
                throw GigiError("\"expire_seconds\" must be positive and at most a year.", exitCode: .usage)
            }
            expires = Date().addingTimeInterval(seconds)
        }
        let request = ShareRequest(paths: paths, words: words, ticket: p["ticket"]?.bool ?? false)
        if p["early"]?.bool == true { return try await shareEarly(request, expires: expires) }
        let active = try await node.share(request)
        shares.withLock { $0[active.shareID] = DaemonShare(share: active, paths: paths, created: Date(), expires: expires) }
        persist(shareID: active.shareID, code: active.code, ticket: active.ticket, paths: paths, words: words, expires: expires)
        if let expires { scheduleExpiry(shareID: active.shareID, at: expires) }
        bus.publish("share_added", ["share": .string(active.shareID), "files": .int(active.files),
                                    "bytes": .int(Int(active.bytes))])
        return Self.json(active, paths: paths, addrs: await node.dialableAddresses(), peer: node.peerID)
    }

    /// `share` with "early": the reply (code, ticket, no file counts yet) comes before the paths
    /// are indexed, as `gigi share` prints its code; `share_indexed` follows (or `share_removed`
    /// with reason "indexing failed"). Large files' SHA-256 digests follow their chunks.
    private func shareEarly(_ request: ShareRequest, expires: Date?) async throws -> JSONValue {
        try GigiNode.checkSharePaths(request.paths)
        let announced = try await node.announce(request)
        let id = announced.shareID, paths = request.paths
        indexing.withLock { $0[id] = IndexingShare(share: announced, paths: paths, created: Date(), expires: expires) }
        persist(shareID: id, code: announced.code, ticket: announced.ticket, paths: paths, words: request.words, expires: expires)
        if let expires { scheduleExpiry(shareID: id, at: expires) }
        bus.publish("share_added", ["share": .string(id), "indexing": true])
        Task { await self.finishIndexing(announced, paths: paths, expires: expires) }
        var o = Self.json(indexing: announced, paths: paths, peer: node.peerID)
        o["addrs"] = .array(await node.dialableAddresses().map(JSONValue.string))
        return .object(o)
    }

    /// What the API says of a share still being indexed (no counts yet).
    static func json(indexing s: AnnouncedShare, paths: [String], peer: String) -> [String: JSONValue] {
        var o: [String: JSONValue] = ["share": .string(s.shareID), "code": .string(s.code), "indexing": true,
                                      "paths": .array(paths.map(JSONValue.string)), "peer": .string(peer)]
        if let t = s.ticket { o["ticket"] = .string(t) }
        return o
    }

    /// Indexes an early share and gives it its data (unless it was unshared meanwhile).
    private func finishIndexing(_ announced: AnnouncedShare, paths: [String], expires: Date?) async {
        let id = announced.shareID
        do {
            let prepared = try await GigiNode.index(paths, deferDigests: true)
            let active = try await node.provide(announced, prepared)
            guard let pending = indexing.withLock({ $0.removeValue(forKey: id) }) else { return }   // unshared meanwhile
            if await node.isClosed(active) {   // closed meanwhile (wrong codes): gone for good
                forget(shareID: id)
                return
            }
            shares.withLock { $0[id] = DaemonShare(share: active, paths: paths, created: pending.created, expires: expires) }
            bus.publish("share_indexed", ["share": .string(id), "manifest": .string(active.manifestID),
                                          "files": .int(active.files), "directories": .int(active.directories),
                                          "bytes": .int(Int(active.bytes)), "chunks": .int(active.chunks)])
        } catch {
            guard indexing.withLock({ $0.removeValue(forKey: id) }) != nil else { return }
            await node.unshare(announced, reason: "indexing failed")
            forget(shareID: id)
            logger.notice("share \(id) ended: indexing failed: \(describe(error))")
            bus.publish("share_removed", ["share": .string(id), "reason": "indexing failed",
                                          "message": .string((error as? UserFacingError)?.message ?? describe(error))])
        }
    }

    static func json(_ s: ActiveShare, paths: [String], addrs: [String], peer: String) -> JSONValue {
        var o: [String: JSONValue] = [
            "share": .string(s.shareID), "code": .string(s.code), "manifest": .string(s.manifestID),
            "files": .int(s.files), "directories": .int(s.directories), "bytes": .int(Int(s.bytes)),
            "chunks": .int(s.chunks), "names": .array(s.topNames.map(JSONValue.string)),
            "paths": .array(paths.map(JSONValue.string)), "peer": .string(peer),
            "addrs": .array(addrs.map(JSONValue.string)),
        ]
        if let t = s.ticket { o["ticket"] = .string(t) }
        return .object(o)
    }

    func unshare(_ p: [String: JSONValue]) async throws -> JSONValue {
        guard let key = p["share"]?.string ?? p["code"]?.string else {
            throw GigiError("unshare needs \"share\" (an id from `gigi shares`) or \"code\".", exitCode: .usage)
        }
        let matches = { (id: String, code: String) in id == key || code == key || id.hasPrefix(key) }
        guard let id = shares.withLock({ s in s.values.first { matches($0.share.shareID, $0.share.code) }?.share.shareID })
                ?? indexing.withLock({ s in s.values.first { matches($0.share.shareID, $0.share.code) }?.share.shareID }),
              try await removeShare(id, reason: "unshared") else {
            throw GigiError("No share matches '\(TerminalSafe.escape(key))'; `gigi shares` lists them.", exitCode: .noInput)
        }
        return ["share": .string(id), "removed": true]
    }

    /// Stops serving share `id` and forgets it; false if there is no such share.
    @discardableResult
    func removeShare(_ id: String, reason: String) async throws -> Bool {
        if let found = shares.withLock({ $0.removeValue(forKey: id) }) {
            await node.unshare(found.share, reason: reason)
        } else if let found = indexing.withLock({ $0.removeValue(forKey: id) }) {
            await node.unshare(found.share, reason: reason)
        } else {
            return false
        }
        forget(shareID: id)
        bus.publish("share_removed", ["share": .string(id), "reason": .string(reason)])
        return true
    }

    func listShares() -> JSONValue {
        var rows: [(Date, JSONValue)] = shares.withLock { Array($0.values) }.map { d in
            var o = Self.json(d.share, paths: d.paths, addrs: [], peer: node.peerID).object!
            o["created"] = .double(d.created.timeIntervalSince1970)
            if let e = d.expires { o["expires"] = .double(e.timeIntervalSince1970) }
            o["addrs"] = nil
            return (d.created, .object(o))
        }
        rows += indexing.withLock { Array($0.values) }.map { d in
            var o = Self.json(indexing: d.share, paths: d.paths, peer: node.peerID)
            o["created"] = .double(d.created.timeIntervalSince1970)
            if let e = d.expires { o["expires"] = .double(e.timeIntervalSince1970) }
            return (d.created, .object(o))
        }
        return ["shares": .array(rows.sorted { $0.0 < $1.0 }.map(\.1))]
    }

    func fetch(_ p: [String: JSONValue]) async throws -> JSONValue {
        guard let input = p["code"]?.string ?? p["ticket"]?.string else {
            throw GigiError("fetch needs \"code\" (a share code or ticket).", exitCode: .usage)
        }
        guard let output = p["output"]?.string, output.hasPrefix("/") else {
            throw GigiError("fetch needs \"output\": an absolute directory.", exitCode: .usage)
        }
        var request = FetchRequest(input: input, peers: p["peers"]?.array?.compactMap(\.string) ?? [],
                                   output: output, overwrite: p["overwrite"]?.bool ?? false,
                                   reuseLocalChunks: !(p["no_reuse"]?.bool ?? false),
                                   durable: p["fsync"]?.bool ?? false)
        let download: String
        if let chosen = p["download"]?.string {
            guard (1...64).contains(chosen.utf8.count),
                  chosen.utf8.allSatisfy({ $0 == UInt8(ascii: "-") || (0x30...0x39).contains($0) || (0x61...0x7a).contains($0) }),
                  offers.withLock({ $0[chosen] == nil }) else {
                throw GigiError("\"download\" must be 1-64 characters of a-z, 0-9 and '-', and not in use.", exitCode: .usage)
            }
            download = chosen
        } else {
            download = UUID().uuidString.lowercased()
        }
        let bus = self.bus
        if p["confirm"]?.bool == true {
            // The fetch pauses after the PAKE: the offer goes out as an event and the
            // client answers with `accept` (no answer within offerTimeout: declined).
            let id = download, offers = self.offers
            request.confirm = { offer in
                await withCheckedContinuation { (c: CheckedContinuation<Bool, Never>) in
                    let timeout = Task {
                        try? await Task.sleep(nanoseconds: UInt64(Self.offerTimeout * 1e9))
                        guard !Task.isCancelled else { return }
                        offers.withLock { $0.removeValue(forKey: id) }?.answer.resume(returning: false)
                    }
                    offers.withLock { $0[id] = PendingOffer(answer: c, timeout: timeout) }
                    bus.publish("download_offer", ["download": .string(id), "peer": .string(offer.peer),
                                                   "names": .array(offer.names.map(JSONValue.string)),
                                                   "files": .int(offer.files), "directories": .int(offer.directories),
                                                   "bytes": .int(Int(offer.bytes))])
                }
            }
        }
        bus.publish("download_started", ["download": .string(download), "output": .string(output)])
        let throttle = ProgressThrottle()
        do {
            let r = try await node.fetch(request) { s in
                if throttle.due(UInt64(s.chunksDone), final: s.chunksDone == s.totalChunks) {
                    bus.publish("download_progress", ["download": .string(download), "bytes_done": .int(Int(s.bytesDone)),
                                                      "bytes_total": .int(Int(s.totalBytes)), "chunks_done": .int(s.chunksDone),
                                                      "chunks_total": .int(s.totalChunks)])
                }
            }
            let result = Self.json(r, download: download, output: output)
            bus.publish("download_completed", result.object!)
            return result
        } catch {
            bus.publish("download_failed", ["download": .string(download),
                                            "reason": .string((error as? UserFacingError)?.message ?? "\(error)")])
            throw error
        }
    }

    /// Answers a fetch waiting on its offer (`fetch` with "confirm").
    func accept(_ p: [String: JSONValue]) throws -> JSONValue {
        guard let id = p["download"]?.string, let yes = p["accept"]?.bool else {
            throw GigiError("accept needs \"download\" and \"accept\" (true or false).", exitCode: .usage)
        }
        guard let waiting = offers.withLock({ $0.removeValue(forKey: id) }) else {
            throw GigiError("No fetch is waiting for an answer as download \(TerminalSafe.escape(id)).", exitCode: .noInput)
        }
        waiting.timeout.cancel()
        waiting.answer.resume(returning: yes)
        return ["download": .string(id), "accepted": .bool(yes)]
    }

    /// A fetch result as the control API and `gigi fetch --json` show it.
    public static func json(_ r: FetchResult, download: String, output: String) -> JSONValue {
        ["download": .string(download), "peer": .string(r.peer), "manifest": .string(r.manifestID),
         "names": .array(r.names.map(JSONValue.string)), "output": .string(output),
         "files": .int(r.files), "directories": .int(r.directories), "bytes": .int(Int(r.bytes)),
         "chunks": .int(r.totalChunks), "network_chunks": .int(r.networkChunks),
         "local_chunks": .int(r.localChunks), "resumed_chunks": .int(r.resumedChunks), "sha256": .string(r.sha256)]
    }

    /// Methods added by other parts of the daemon (messaging, discovery); nil: unknown.
    func extraDispatch(_ method: String, _ p: [String: JSONValue]) async throws -> JSONValue? {
        try await node.call(method, p)
    }
}
