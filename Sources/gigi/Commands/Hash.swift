// `gigi hash FILE...`: the BLAKE3 of files in b3sum's format, optionally with
// the file's SHA-256 and the BLAKE3 of each 256 KiB share chunk, all from one
// pass over the data with bounded memory (GigiCrypto.FileHasher).

import ArgumentParser
import Foundation
import GigiBase
import GigiCrypto

struct Hash: ParsableCommand {
    /// Gigi's share chunk size (DESIGN.md "Files: manifest, chunks, index").
    static let chunkSize = 256 * 1024

    static let configuration = CommandConfiguration(
        commandName: "hash",
        abstract: "Print the BLAKE3 of files, and on request their SHA-256 and 256 KiB chunk hashes.",
        discussion: """
            Each file gives a line `HASH  NAME` exactly as b3sum prints it, so `b3sum --check` \
            reads the output: a name holding a backslash or a newline is written with `\\\\` \
            and `\\n` and the line starts with a backslash; names that are not UTF-8 show \
            U+FFFD. `-`, or no file at all, reads standard input.

            --sha256 adds a line `  sha256  HASH`; --chunks adds a line \
            `  chunk INDEX  offset OFFSET  length LENGTH  blake3 HASH` per 256 KiB chunk \
            (the last one shorter; an empty file has one empty chunk), the chunks a share \
            is verified by. With --json each file is one JSON object on one line: name, \
            size, blake3, and sha256 and chunks when asked for.

            Memory stays bounded (a 4 MiB window of the file, plus 32 bytes per chunk \
            with --chunks) and all processors are used; SHA-256 runs beside the BLAKE3 \
            threads in the same pass.

            A file that cannot be hashed is reported on standard error and the rest are \
            still hashed; the exit status is then that of the first failure: 66 for a \
            missing file or a directory (gigi share takes directories), 74 for a file \
            that cannot be opened or read.
            """)

    @OptionGroup var global: GlobalOptions

    @Flag(name: .long, help: "Also list each 256 KiB chunk: index, offset, length, BLAKE3.")
    var chunks = false

    @Flag(name: .long, help: "Also print each file's SHA-256.")
    var sha256 = false

    /// For scripts/bench-hash (single-thread figures); not part of the interface.
    @Option(name: .long, help: .hidden)
    var threads: Int?

    @Argument(help: ArgumentHelp("Files to hash; - or none reads standard input.", valueName: "file"))
    var files: [String] = []

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1.") }
    }

    func run() throws {
        let hasher = FileHasher(threads: threads ?? BLAKE3.defaultThreadCount,
                                chunkSize: chunks ? Self.chunkSize : nil, sha256: sha256)
        global.logger("hash").info("BLAKE3 kernel \(BLAKE3.kernel), \(hasher.threads) threads")
        var firstFailure: GigiExitCode?
        for name in files.isEmpty ? ["-"] : files {
            do {
                let report = try Self.hash(name, with: hasher)
                let text = global.json ? report.json : report.text
                do {
                    try FileHandle.standardOutput.write(contentsOf: Data((text + "\n").utf8))
                } catch {
                    throw StandardOutputError()
                }
            } catch let error as FileHashError {
                let failure = HashFileError(error)
                ErrorPresenter.report(failure)
                if firstFailure == nil { firstFailure = failure.exitCode }
            }
        }
        if let firstFailure { throw ExitCode(firstFailure.rawValue) }
    }

    static func hash(_ name: String, with hasher: FileHasher) throws -> HashReport {
        var chunkDigests: [Digest32] = []
        let onChunk = { (c: FileChunkDigest) in chunkDigests.append(c.blake3) }
        let digest: FileDigest
        if name == "-" {
            digest = try hasher.hash(fileDescriptor: 0, name: "standard input", onChunk: onChunk)
        } else {
            digest = try RawArgument.bytes(of: name).withUnsafeBufferPointer {
                try hasher.hash(cPath: $0.baseAddress!, name: name, onChunk: onChunk)
            }
        }
        return HashReport(name: name, digest: digest, chunkDigests: hasher.chunkSize == nil ? nil : chunkDigests,
                          chunkSize: hasher.chunkSize ?? 0)
    }
}

/// The result for one file, as text or JSON.
struct HashReport {
    let name: String
    let digest: FileDigest
    let chunkDigests: [Digest32]?
    let chunkSize: Int

    /// The chunks: index, offset, length. The last one is shorter; an empty file has one empty chunk.
    var chunks: [(index: Int, offset: UInt64, length: Int, blake3: Digest32)] {
        (chunkDigests ?? []).enumerated().map { i, d in
            let offset = UInt64(i) * UInt64(chunkSize)
            return (i, offset, Int(Swift.min(UInt64(chunkSize), digest.size - offset)), d)
        }
    }

    var text: String {
        var lines = [B3sumFormat.line(hex: digest.blake3.hex, name: name)]
        if let sha = digest.sha256 { lines.append("  sha256  \(sha.hex)") }
        for c in chunks {
            lines.append("  chunk \(c.index)  offset \(c.offset)  length \(c.length)  blake3 \(c.blake3.hex)")
        }
        return lines.joined(separator: "\n")
    }

    struct JSONChunk: Encodable {
        let index: Int
        let offset: UInt64
        let length: Int
        let blake3: String
    }

    struct JSONFile: Encodable {
        let name: String
        let size: UInt64
        let blake3: String
        let sha256: String?
        let chunks: [JSONChunk]?
    }

    var json: String {
        let file = JSONFile(name: name, size: digest.size, blake3: digest.blake3.hex, sha256: digest.sha256?.hex,
                            chunks: chunkDigests == nil ? nil : chunks.map {
                                JSONChunk(index: $0.index, offset: $0.offset, length: $0.length, blake3: $0.blake3.hex)
                            })
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try! encoder.encode(file), as: UTF8.self)
    }
}

/// b3sum's output line: `HEX  NAME`; a name holding a backslash or a newline
/// has them escaped as `\\` and `\n` and the line starts with a backslash (the
/// format `b3sum --check` and GNU coreutils read).
enum B3sumFormat {
    static func line(hex: String, name: String) -> String {
        guard name.contains("\\") || name.contains("\n") else { return "\(hex)  \(name)" }
        let escaped = name.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\n", with: "\\n")
        return "\\\(hex)  \(escaped)"
    }
}

/// ArgumentParser sees argv decoded as UTF-8 with invalid bytes replaced by
/// U+FFFD; a file name that is not UTF-8 is found again in the raw argv.
enum RawArgument {
    /// The NUL-terminated bytes of the argument that decodes to `argument`.
    static func bytes(of argument: String) -> [CChar] {
        if argument.contains("\u{FFFD}") {
            for i in 1..<Int(CommandLine.argc) {
                guard let raw = CommandLine.unsafeArgv[i] else { continue }
                if String(cString: raw) == argument {
                    return Array(UnsafeBufferPointer(start: raw, count: strlen(raw) + 1))
                }
            }
        }
        return Array(argument.utf8CString)
    }
}

/// A file `gigi hash` could not hash: the message names the file (shown
/// terminal-safe) and says what to do.
struct HashFileError: UserFacingError {
    let underlying: FileHashError

    init(_ underlying: FileHashError) { self.underlying = underlying }

    var message: String {
        if underlying.kind == .isDirectory {
            return "\(TerminalSafe.escape(underlying.path)) is a directory; gigi hash takes files "
                + "(use gigi share for directories)."
        }
        return underlying.message
    }

    var exitCode: GigiExitCode { underlying.exitCode }
}

/// Standard output could not be written (a full disk, a closed pipe).
struct StandardOutputError: UserFacingError {
    var message: String { "writing standard output failed; check where it goes (a full disk, a closed pipe)." }
    var exitCode: GigiExitCode { .ioError }
}
