// The one typed client of the daemon's control API, used by every CLI command.

import Foundation
import GigiBase
import P2PHost

/// An error the daemon answered with; presented like a local one.
public struct ControlError: UserFacingError {
    public let message: String
    public let exitCode: GigiExitCode
}

public final class GigiControlClient: Sendable {
    private let connection: LineConnection
    private let state = Locked(State())

    struct State {
        var nextID = 1
        var pending: [Int: CheckedContinuation<JSONValue, Error>] = [:]
        var events: AsyncStream<JSONValue>.Continuation?
        var closed = false
    }

    private init(connection: LineConnection) {
        self.connection = connection
    }

    /// A client connected to the daemon of `home`, or nil when none runs there.
    public static func connectIfRunning(home: String) async -> GigiControlClient? {
        let path = DaemonPaths.socket(home: home)
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let connection = try? await LineConnection.connect(path: path) else { return nil }
        let client = GigiControlClient(connection: connection)
        client.startReader()
        return client
    }

    /// Like `connectIfRunning`, but a missing daemon is an error.
    public static func connect(home: String) async throws -> GigiControlClient {
        guard let c = await connectIfRunning(home: home) else {
            throw GigiError("No gigi daemon is running for \(home); start one with `gigi daemon`.", exitCode: .unavailable)
        }
        return c
    }

    private func startReader() {
        Task {
            do {
                for try await line in connection.lines {
                    guard let value = JSONValue.parse(line) else { continue }
                    if value["event"] != nil {
                        _ = state.withLock { $0.events }?.yield(value)
                    } else if let id = value["id"]?.int {
                        let c = state.withLock { $0.pending.removeValue(forKey: id) }
                        c?.resume(returning: value)
                    }
                }
            } catch {}
            let (pending, events) = state.withLock { s -> ([CheckedContinuation<JSONValue, Error>], AsyncStream<JSONValue>.Continuation?) in
                s.closed = true
                let p = Array(s.pending.values)
                s.pending = [:]
                return (p, s.events)
            }
            for c in pending {
                c.resume(throwing: GigiError("The daemon closed the connection.", exitCode: .unavailable))
            }
            events?.finish()
        }
    }

    /// Calls `method` and returns its result; a daemon error is thrown as `ControlError`.
    public func call(_ method: String, _ params: [String: JSONValue] = [:]) async throws -> JSONValue {
        let reply: JSONValue = try await withCheckedThrowingContinuation { c in
            let id: Int? = state.withLock { s in
                guard !s.closed else { return nil }
                let id = s.nextID
                s.nextID += 1
                s.pending[id] = c
                return id
            }
            guard let id else {
                c.resume(throwing: GigiError("The daemon closed the connection.", exitCode: .unavailable))
                return
            }
            let line = JSONValue.object(["id": .int(id), "method": .string(method), "params": .object(params)]).text
            Task {
                do { try await connection.send(line) } catch {
                    let c = state.withLock { $0.pending.removeValue(forKey: id) }
                    c?.resume(throwing: GigiError("Cannot talk to the daemon: \(error).", exitCode: .unavailable))
                }
            }
        }
        if let error = reply["error"] {
            let code = error["exit_code"]?.int.flatMap { GigiExitCode(rawValue: Int32($0)) } ?? .failure
            throw ControlError(message: error["message"]?.string ?? "The daemon reported an error.", exitCode: code)
        }
        return reply["result"] ?? .null
    }

    /// One call to the daemon of `home` on a connection of its own (closed on every path).
    public static func call(home: String, _ method: String, _ params: [String: JSONValue] = [:]) async throws -> JSONValue {
        let client = try await connect(home: home)
        do {
            let result = try await client.call(method, params)
            await client.close()
            return result
        } catch {
            await client.close()
            throw error
        }
    }

    /// The daemon's event stream (from now on).
    public func events() async throws -> AsyncStream<JSONValue> {
        let (stream, continuation) = AsyncStream<JSONValue>.makeStream(bufferingPolicy: .bufferingNewest(EventBus.bufferLimit))
        state.withLock { $0.events = continuation }
        _ = try await call("subscribe")
        return stream
    }

    public func close() async {
        await connection.close()
    }
}
