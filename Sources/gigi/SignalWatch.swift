// Waiting for SIGINT / SIGTERM with a time limit, on top of `SignalWatcher` (Output.swift).

import Foundation

extension SignalWatcher {
    /// Returns when a signal arrives, `seconds` pass, or the task is cancelled, whichever is
    /// first. Afterwards the watcher counts as fired (a later `wait()` returns at once).
    func wait(upTo seconds: Double) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.wait() }
            group.addTask { try? await Task.sleep(nanoseconds: UInt64(max(0, seconds) * 1e9)) }
            await group.next()
            group.cancelAll()
        }
    }
}
