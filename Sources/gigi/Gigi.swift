// The `gigi` command: one file per subcommand in Commands/. This file holds
// the root command, the options every subcommand shares, and the single
// place where errors become a message and an exit code.

import ArgumentParser
import Foundation
import GigiBase
import GigiNode
import Logging

@main
struct Gigi: AsyncParsableCommand {
    static let version = GigiVersion.string

    static let configuration = CommandConfiguration(
        commandName: "gigi",
        abstract: "Peer-to-peer file sharing with messaging.",
        discussion: """
            Share a file or directory with `gigi share PATH`; the other side runs \
            `gigi fetch CODE`. Data is cut into 256 KiB chunks, each verified with \
            BLAKE3, each file with SHA-256; interrupted downloads resume.

            State lives in GIGI_HOME (default: $XDG_DATA_HOME/gigi, else ~/.local/share/gigi).

            EXIT STATUS: \(ExitStatusTable.text)
            """,
        version: version,
        subcommands: GigiSubcommands.all
    )

    /// Parses, runs, and presents any error in one place.
    static func main() async {
        MemoryTuning.apply()
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let error as UserFacingError {
            ErrorPresenter.present(error)
        } catch {
            // ArgumentParser's own errors (help, version, usage) and ExitCode.
            exit(withError: error)
        }
    }
}

/// Every subcommand, in the order `--help` lists them. Add new commands here.
enum GigiSubcommands {
    static let all: [ParsableCommand.Type] = [
        Share.self,
        Fetch.self,
        Downloads.self,
        Shares.self,
        Unshare.self,
        Daemon.self,
        Events.self,
        Send.self,
        Inbox.self,
        Messages.self,
        Chat.self,
        Contacts.self,
        Account.self,
        Peers.self,
        Hash.self,
    ]
}

/// Options shared by every subcommand: `@OptionGroup var global: GlobalOptions`.
struct GlobalOptions: ParsableArguments {
    @Flag(name: .long, help: "Print machine-readable JSON (one object per line).")
    var json = false

    @Flag(name: [.short, .long], help: "Log more detail to standard error (repeat for debug).")
    var verbose: Int

    @Option(name: .long, help: ArgumentHelp("Gigi's state directory (default: $GIGI_HOME, else $XDG_DATA_HOME/gigi).",
                                            valueName: "dir"))
    var home: String?

    /// The resolved state directory.
    var homeDirectory: String {
        GigiPaths.home(explicit: home, environment: ProcessInfo.processInfo.environment)
    }

    /// Starts logging to standard error at the level `-v` asks for. Call once, first thing in `run()`.
    func bootstrapLogging() {
        let level: Logger.Level = verbose >= 2 ? .debug : (verbose == 1 ? .info : .warning)
        LoggingBootstrap.once(level: level)
    }

    /// A logger for a subcommand.
    func logger(_ label: String) -> Logger {
        bootstrapLogging()
        var l = Logger(label: "gigi.\(label)")
        l.logLevel = verbose >= 2 ? .debug : (verbose == 1 ? .info : .warning)
        return l
    }
}

enum LoggingBootstrap {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var done = false

    static func once(level: Logger.Level) {
        lock.lock(); defer { lock.unlock() }
        guard !done else { return }
        done = true
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = level
            return h
        }
    }
}

/// The one place a failure becomes text and an exit code.
enum ErrorPresenter {
    static func present(_ error: UserFacingError) -> Never {
        report(error)
        Foundation.exit(error.exitCode.rawValue)
    }

    /// Shows the message only, for a command that carries on (e.g. with the next file).
    static func report(_ error: UserFacingError) {
        FileHandle.standardError.write(Data(("gigi: " + error.message + "\n").utf8))
    }

    /// For errors that are not user-facing: a bug or an unexpected system failure.
    static func presentUnexpected(_ error: Error) -> Never {
        if let u = error as? UserFacingError { present(u) }
        FileHandle.standardError.write(Data("gigi: unexpected error: \(error). Please report this.\n".utf8))
        Foundation.exit(GigiExitCode.software.rawValue)
    }
}

/// The exit-status table shown in `--help` and the man page.
enum ExitStatusTable {
    static var text: String {
        GigiExitCode.allCases.map { "\($0.rawValue) \($0.summary)" }.joined(separator: "; ") + "."
    }
}

/// glibc malloc settings for a process that moves data in 256 KiB pieces: by
/// default a freed block that large goes back to the kernel (unmapped, or trimmed
/// off the heap's top) and the next one is faulted in page by page again (about
/// 80,000 faults per GiB received). Pieces up to 4 MiB stay on the heap, up to
/// 16 MiB of free heap is kept, and two arenas serve all threads, so that what is
/// kept stays bounded: receiving 4 GiB, 4,400 faults instead of 330,000, and a
/// peak RSS of 42 MiB (46 MiB with an arena per thread).
enum MemoryTuning {
    static func apply() {
        // <malloc.h>'s mallopt, M_TRIM_THRESHOLD and M_MMAP_THRESHOLD: not in the Glibc module.
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        guard let sym = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
        let mallopt = unsafeBitCast(sym, to: Mallopt.self)
        let trimThreshold: Int32 = -1, mmapThreshold: Int32 = -3, arenaMax: Int32 = -8
        _ = mallopt(mmapThreshold, 4 << 20)
        _ = mallopt(trimThreshold, 16 << 20)
        _ = mallopt(arenaMax, 2)
    }
}
