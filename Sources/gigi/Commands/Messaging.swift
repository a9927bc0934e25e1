// `gigi send`, `gigi inbox`, `gigi messages`, `gigi chat`: direct messages.

import ArgumentParser
import Foundation
import GigiBase
import GigiNode

/// How a message line looks on a terminal.
enum MessageText {
    static func line(_ m: JSONValue) -> String {
        let when = Date(timeIntervalSince1970: m["sent_at"]?.doubleValue ?? 0)
        let f = DateFormatter()
        f.dateFormat = "yyyy-MM-dd HH:mm"
        let incoming = m["direction"]?.string == "incoming"
        let who = incoming ? (m["nickname"]?.string.map(TerminalSafe.escape) ?? short(m["peer"]?.string)) : "me"
        var status = ""
        if !incoming, let s = m["status"]?.string, s != "delivered" { status = " [\(s)]" }
        return "\(f.string(from: when))  \(who): \(TerminalSafe.escape(m["text"]?.string ?? ""))\(status)"
    }

    /// Oldest first, so the newest message is the last line on the screen.
    static func chronological(_ list: [JSONValue]) -> [JSONValue] {
        list.sorted { ($0["sent_at"]?.doubleValue ?? 0) < ($1["sent_at"]?.doubleValue ?? 0) }
    }

    static func short(_ peer: String?) -> String {
        guard let p = peer, p.count > 12 else { return peer ?? "?" }
        return String(p.prefix(8)) + "…" + String(p.suffix(4))
    }
}

struct Send: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "send",
        abstract: "Send a direct message to a contact, nickname, peer ID or multiaddr.",
        discussion: """
            The text is the remaining arguments, or standard input with `-` (at most \
            64 KiB). Exit status 0 means the peer acknowledged it; 3 means it was queued: \
            it stays in the outbox and is delivered when the peer is reachable while a \
            node runs (`gigi daemon`), for up to 7 days.
            """)

    @Argument(help: ArgumentHelp("Who: a contact name, a LAN nickname, a peer ID, or a multiaddr ending in /p2p/ID.",
                                 valueName: "peer"))
    var peer: String

    @Argument(help: ArgumentHelp("The message; `-` reads it from standard input.", valueName: "text"))
    var text: [String] = []

    @Option(name: .long, help: "Seconds to wait for the peer to acknowledge (default 10).")
    var timeout: Double = 10

    @Option(name: .long, help: ArgumentHelp("Answer to this message id.", valueName: "id"))
    var replyTo: String?

    @OptionGroup var global: GlobalOptions
    @OptionGroup var lan: LANOptions

    func validate() throws {
        guard timeout > 0, timeout <= 3600 else { throw ValidationError("--timeout must be between 0 and 3600 seconds.") }
    }

    func run() async throws {
        let body: String
        if text == ["-"] || text.isEmpty {
            guard text == ["-"] || isatty(STDIN_FILENO) == 0 else {
                throw GigiError("No message given: put it after the peer, or pipe it in with `-`.", exitCode: .usage)
            }
            let data = FileHandle.standardInput.readData(ofLength: 64 * 1024 + 1)
            guard data.count <= 64 * 1024 else {
                throw GigiError("The message is longer than 64 KiB; send a file with `gigi share` instead.", exitCode: .dataError)
            }
            guard let s = String(data: data, encoding: .utf8) else {
                throw GigiError("The message on standard input is not UTF-8 text.", exitCode: .dataError)
            }
            body = s.hasSuffix("\n") ? String(s.dropLast()) : s
        } else {
            body = text.joined(separator: " ")
        }
        let session = try await NodeSession.open(global, lan: lan, label: "send")
        var params: [String: JSONValue] = ["peer": .string(peer), "text": .string(body),
                                           "timeout": .double(timeout), "wait": true]
        if let replyTo { params["reply_to"] = .string(replyTo) }
        let result: JSONValue
        do { result = try await session.call("send", params) } catch {
            await session.close()
            throw error
        }
        let daemon = session.usesDaemon
        await session.close()
        let state = result["state"]?.string ?? "?"
        if global.json { Console.out(result.text) }
        switch state {
        case "delivered":
            if !global.json { Console.out("delivered (\(result["id"]?.string ?? ""))") }
        case "queued":
            if !global.json {
                let later = daemon ? "the daemon keeps trying" : "it is delivered when a node runs (`gigi daemon`) and the peer is reachable"
                Console.out("queued: \(result["reason"]?.string ?? "the peer is not reachable"); \(later)")
            }
            throw ExitCode(GigiExitCode.queued.rawValue)
        default:
            throw GigiError("The peer refused the message: \(result["reason"]?.string ?? "no reason").", exitCode: .dataError)
        }
    }
}

struct Inbox: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inbox",
        abstract: "Show received direct messages (and mark them read).")

    @Flag(name: .long, help: "Only messages not shown before.")
    var unread = false

    @Option(name: .long, help: "At most this many messages (newest).")
    var limit = 100

    @OptionGroup var global: GlobalOptions
    @OptionGroup var lan: LANOptions

    func run() async throws {
        let session = try await NodeSession.open(global, lan: LANOptions.off, label: "inbox")
        defer { Task { await session.close() } }
        let r = try await session.call("inbox", ["unread": .bool(unread), "limit": .int(limit)])
        let list = MessageText.chronological(r["messages"]?.array ?? [])
        for m in list { Console.out(global.json ? m.text : MessageText.line(m)) }
        if list.isEmpty && !global.json { Console.out(unread ? "no unread messages" : "no messages") }
        for peer in Set(list.compactMap { $0["peer"]?.string }) {
            _ = try await session.call("mark_read", ["peer": .string(peer)])
        }
        await session.close()
    }
}

struct Messages: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "messages",
        abstract: "Show the conversation with a peer; --follow streams new messages.")

    @Argument(help: ArgumentHelp("A contact name, LAN nickname, peer ID or multiaddr.", valueName: "peer"))
    var peer: String

    @Option(name: .long, help: "At most this many messages (newest).")
    var limit = 50

    @Flag(name: .long, help: "Keep running and print new messages as they arrive.")
    var follow = false

    @OptionGroup var global: GlobalOptions
    @OptionGroup var lan: LANOptions

    func run() async throws {
        let session = try await NodeSession.open(global, lan: follow ? lan : LANOptions.off,
                                                 listen: follow ? ["/ip4/0.0.0.0/tcp/0"] : [], label: "messages")
        do {
            let r = try await session.call("messages", ["peer": .string(peer), "limit": .int(limit)])
            let id = r["peer"]?.string ?? ""
            let list = MessageText.chronological(r["messages"]?.array ?? [])
            for m in list { Console.out(global.json ? m.text : MessageText.line(m)) }
            _ = try await session.call("mark_read", ["peer": .string(id)])
            if follow {
                let events = try await session.events()
                _ = await untilInterrupted(SignalWatcher.interrupts()) {
                    for await e in events where e["peer"]?.string == id {
                        guard let name = e["event"]?.string, name.hasPrefix("message_") else { continue }
                        Console.out(global.json ? e.text : MessageText.line(e))
                    }
                }
            }
        } catch {
            await session.close()
            throw error
        }
        await session.close()
    }
}

struct Chat: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat",
        abstract: "Chat with a peer in line mode: your lines go out, theirs are printed.")

    @Argument(help: ArgumentHelp("A contact name, LAN nickname, peer ID or multiaddr.", valueName: "peer"))
    var peer: String

    @OptionGroup var global: GlobalOptions
    @OptionGroup var lan: LANOptions

    func run() async throws {
        let session = try await NodeSession.open(global, lan: lan, listen: ["/ip4/0.0.0.0/tcp/0"], label: "chat")
        let resolved = try await session.call("resolve", ["peer": .string(peer)])
        let id = resolved["peer"]?.string ?? ""
        let events = try await session.events()
        Console.err("chatting with \(MessageText.short(id)); end with Ctrl-D")
        let printer = Task {
            for await e in events where e["peer"]?.string == id && e["event"]?.string == "message_received" {
                Console.out(MessageText.line(e))
            }
        }
        _ = await untilInterrupted(SignalWatcher.interrupts()) {
            while let line = readLine(strippingNewline: true) {
                guard !line.isEmpty else { continue }
                do {
                    let r = try await session.call("send", ["peer": .string(id), "text": .string(line), "timeout": 10])
                    if r["state"]?.string != "delivered" { Console.err("(queued: \(r["reason"]?.string ?? "not reachable"))") }
                } catch let e as UserFacingError {
                    Console.err("gigi: \(e.message)")
                } catch {
                    Console.err("gigi: \(error)")
                }
            }
        }
        printer.cancel()
        await session.close()
    }
}
