// Runs the built `gigi` binary as a real process, for end-to-end tests.
//
// The binary is `$GIGI_BIN` (scripts/test sets it) or, failing that,
// `.build/debug/gigi` under the package root found from this file's path.

import Foundation
import XCTest

/// The result of one finished `gigi` run.
struct GigiResult {
    let status: Int32
    let stdout: String
    let stderr: String
}

enum GigiProcess {
    /// The package root (the directory holding Package.swift).
    static let packageRoot: URL = {
        var url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while url.path != "/" {
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
            url.deleteLastPathComponent()
        }
        fatalError("Package.swift not found above \(#filePath)")
    }()

    /// The `gigi` executable under test.
    static let binary: URL = {
        if let env = ProcessInfo.processInfo.environment["GIGI_BIN"], !env.isEmpty {
            return URL(fileURLWithPath: env)
        }
        for config in ["debug", "release"] {
            let u = packageRoot.appendingPathComponent(".build/\(config)/gigi")
            if FileManager.default.isExecutableFile(atPath: u.path) { return u }
        }
        fatalError("the gigi binary was not found: run `swift build` first or set GIGI_BIN")
    }()

    /// A fresh environment for a test: a private GIGI_HOME, discovery off,
    /// and nothing inherited that could change gigi's behaviour.
    static func environment(home: URL, extra: [String: String] = [:]) -> [String: String] {
        var env: [String: String] = [
            "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
            "HOME": home.path,
            "GIGI_HOME": home.path,
            "GIGI_LAN_DISCOVERY": "off",
            "LANG": "C.UTF-8",
        ]
        for (k, v) in extra { env[k] = v }
        return env
    }

    /// Starts `gigi args…`; the caller owns the returned process (for long-running commands).
    /// `maxOpenFiles`: run under that descriptor limit (`ulimit -n`, through /bin/sh).
    static func start(_ args: [String], environment: [String: String], stdin: Pipe? = nil,
                      stdout: Pipe = Pipe(), stderr: Pipe = Pipe(), maxOpenFiles: Int? = nil) throws -> Process {
        let p = Process()
        if let maxOpenFiles {
            p.executableURL = URL(fileURLWithPath: "/bin/sh")
            p.arguments = ["-c", "ulimit -n \(maxOpenFiles) && exec \"$0\" \"$@\"", binary.path] + args
        } else {
            p.executableURL = binary
            p.arguments = args
        }
        p.environment = environment
        p.standardInput = stdin ?? FileHandle.nullDevice
        p.standardOutput = stdout
        p.standardError = stderr
        try p.run()
        return p
    }

    /// Runs `gigi args…` to completion (killed after `timeout` seconds) with optional standard input.
    static func run(_ args: [String], environment: [String: String], input: String? = nil,
                    timeout: TimeInterval = 60, maxOpenFiles: Int? = nil) throws -> GigiResult {
        let inPipe = Pipe(), outPipe = Pipe(), errPipe = Pipe()
        let p = try start(args, environment: environment, stdin: inPipe, stdout: outPipe, stderr: errPipe,
                          maxOpenFiles: maxOpenFiles)
        if let input { inPipe.fileHandleForWriting.write(Data(input.utf8)) }
        try? inPipe.fileHandleForWriting.close()
        // Drain both pipes concurrently so a chatty child never blocks on a full pipe.
        let group = DispatchGroup()
        nonisolated(unsafe) var out = Data(), err = Data()
        group.enter()
        DispatchQueue.global().async { out = outPipe.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        group.enter()
        DispatchQueue.global().async { err = errPipe.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        let deadline = Date().addingTimeInterval(timeout)
        while p.isRunning && Date() < deadline { usleep(10_000) }
        if p.isRunning {
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            group.wait()
            throw GigiTestError.timeout(args: args, stderr: String(decoding: err, as: UTF8.self))
        }
        p.waitUntilExit()
        group.wait()
        return GigiResult(status: p.terminationStatus,
                          stdout: String(decoding: out, as: UTF8.self),
                          stderr: String(decoding: err, as: UTF8.self))
    }

    /// Waits for a started process to exit; its status, or nil if it still runs after `timeout`.
    static func waitForExit(_ process: Process, timeout: TimeInterval) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        guard !process.isRunning else { return nil }
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// A new empty temporary directory, removed when the test ends.
    static func temporaryDirectory(for test: XCTestCase, _ name: String = "gigi-test") throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("\(name)-\(UUID().uuidString.prefix(8))", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }
}

enum GigiTestError: Error {
    case timeout(args: [String], stderr: String)
}
