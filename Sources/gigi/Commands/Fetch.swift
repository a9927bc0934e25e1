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

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let log = global.logger("fetch")
        let input = try shareInput()
        try GigiNode.validateFetchInput(input)
        let node = try await GigiNode.start(GigiNodeOptions(home: global.homeDirectory, listen: [], logger: log))
        let interrupt = SignalWatcher.interrupts()
        let out = JSONLines(enabled: global.json)
        let meter = ProgressMeter(enabled: !global.json && isatty(STDERR_FILENO) == 1, label: "Fetching")
        let request = FetchRequest(input: input, peers: peer, output: output, overwrite: overwrite,
                                   reuseLocalChunks: !noReuse)
        let started = Date()
        let result: Result<FetchResult, Error> = await withTaskGroup(of: Result<FetchResult, Error>?.self) { group in
            group.addTask {
                do {
                    return .success(try await node.fetch(request, progress: { s in meter.update(s.bytesDone, s.totalBytes) }))
                } catch { return .failure(error) }
            }
            group.addTask {
                await interrupt.wait()
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first ?? .failure(GigiError("Interrupted; run the same command again to resume.", exitCode: .interrupted))
        }
        meter.finish()
        await node.shutdown()
        let r = try result.get()
        let seconds = max(Date().timeIntervalSince(started), 0.001)
        if global.json {
            out.emit(["event": "completed", "peer": .string(r.peer), "manifest": .string(r.manifestID),
                      "names": .array(r.names.map(JSONValue.string)), "output": .string(output),
                      "files": .int(r.files), "directories": .int(r.directories), "bytes": .int(Int(r.bytes)),
                      "chunks": .int(r.totalChunks), "network_chunks": .int(r.networkChunks),
                      "local_chunks": .int(r.localChunks), "resumed_chunks": .int(r.resumedChunks),
                      "sha256": .string(r.sha256), "seconds": .double(seconds)])
        } else {
            let names = r.names.map(TerminalSafe.escape).joined(separator: ", ")
            Console.out("Received \(names) (\(r.files) file\(r.files == 1 ? "" : "s"), \(ByteCount.text(r.bytes))) into \(TerminalSafe.escape(output)).")
            Console.out("Verified: every chunk's BLAKE3 and every file's SHA-256; SHA-256 \(r.sha256)")
            var how = "\(r.networkChunks) chunk\(r.networkChunks == 1 ? "" : "s") over the network"
            if r.localChunks > 0 { how += ", \(r.localChunks) copied locally" }
            if r.resumedChunks > 0 { how += ", \(r.resumedChunks) resumed" }
            Console.out("\(how), \(ByteCount.rate(r.bytes, seconds: seconds)).")
        }
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
