// Waiting for SIGINT / SIGTERM without dying, so a command that runs a node
// can stop cleanly (LAN goodbye, store closed) before it exits.

import Dispatch
import Foundation

/// Turns SIGINT and SIGTERM into an event. Create it before starting the work it stops.
final class SignalWatch: @unchecked Sendable {
    private var sources: [DispatchSourceSignal] = []
    private let stream: AsyncStream<Void>
    private let continuation: AsyncStream<Void>.Continuation

    /// Also ignores SIGPIPE: a closed output pipe shows up as a failed write (see `fire`), not a silent death.
    init() {
        (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        signal(SIGPIPE, SIG_IGN)
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let s = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            let c = continuation
            s.setEventHandler { c.yield() }
            s.resume()
            sources.append(s)
        }
    }

    /// Ends the wait as a signal would (e.g. standard output was closed).
    func fire() {
        continuation.yield()
    }

    /// Until a signal arrives.
    func wait() async {
        for await _ in stream { return }
    }

    /// Until a signal arrives or `seconds` pass.
    func wait(upTo seconds: Double) async {
        let c = continuation
        let timer = Task {
            try? await Task.sleep(nanoseconds: UInt64(max(0, seconds) * 1e9))
            c.yield()
        }
        await wait()
        timer.cancel()
    }
}
