// A command's view of "the node": the running daemon when there is one, else
// a node started in this process for the command's duration. Both answer the
// same JSON methods (docs/control-api.md), so commands are written once.

import Foundation
import GigiBase
import GigiNode

final class NodeSession: Sendable {
    private let client: GigiControlClient?
    private let node: GigiNode?

    var usesDaemon: Bool { client != nil }

    private init(client: GigiControlClient?, node: GigiNode?) {
        self.client = client
        self.node = node
    }

    /// The daemon of the home, or a new in-process node. `listen` and LAN discovery
    /// matter only for the in-process node (a daemon has its own).
    static func open(_ global: GlobalOptions, lan: LANOptions, listen: [String] = [],
                     label: String) async throws -> NodeSession {
        let home = global.homeDirectory
        if let client = await GigiControlClient.connectIfRunning(home: home) {
            return NodeSession(client: client, node: nil)
        }
        let options = GigiNodeOptions(home: home, listen: listen, lan: try lan.serviceConfig(home: home),
                                      nickname: lan.announcedNickname(home: home), logger: global.logger(label))
        return NodeSession(client: nil, node: try await GigiNode.start(options))
    }

    func call(_ method: String, _ params: [String: JSONValue] = [:]) async throws -> JSONValue {
        if let client { return try await client.call(method, params) }
        guard let result = try await node!.call(method, params) else {
            throw GigiError("'\(method)' needs a running daemon (`gigi daemon`).", exitCode: .unavailable)
        }
        return result
    }

    /// Events as the control API sends them (objects with an "event" key).
    func events() async throws -> AsyncStream<JSONValue> {
        if let client { return try await client.events() }
        let source = node!.messageEvents
        return AsyncStream(bufferingPolicy: .bufferingNewest(4096)) { continuation in
            let task = Task {
                for await (name, value) in source {
                    var o = value.object ?? [:]
                    o["event"] = .string(name)
                    continuation.yield(.object(o))
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    func close() async {
        await client?.close()
        await node?.shutdown()
    }
}

extension LANOptions {
    /// Discovery off: for commands that only read local state.
    static var off: LANOptions {
        // Parsing a fixed, valid argument list cannot fail.
        try! LANOptions.parse(["--lan-discovery", "off"])
    }
}
