// GigiBase: the few types every Gigi module shares.
//
// Goals: one vocabulary for user-facing errors and exit codes, so the CLI can
// present every failure in one place (one sentence, what to do next, a
// documented exit code). Non-goals: logging, I/O, anything with state.

/// Exit codes of the `gigi` command. Values follow BSD sysexits(3) where one fits,
/// so scripts can tell "bad input" from "peer unreachable" from "try again".
/// The man page lists them; keep `man/gigi.1` in step.
public enum GigiExitCode: Int32, Sendable, CaseIterable {
    /// Success.
    case ok = 0
    /// A failure with no more specific code.
    case failure = 1
    /// The message was queued for later delivery (not an error; `gigi send`).
    case queued = 3
    /// Wrong command-line usage (ArgumentParser's own code as well).
    case usage = 64
    /// Input data was malformed: a bad mnemonic checksum, a bad share code, corrupt data from a peer.
    case dataError = 65
    /// An input file or an account does not exist.
    case noInput = 66
    /// A peer or the daemon could not be reached.
    case unavailable = 69
    /// An internal error: a bug in Gigi.
    case software = 70
    /// Something already exists and would be overwritten (use --force / --overwrite).
    case cannotCreate = 73
    /// Reading or writing local files failed.
    case ioError = 74
    /// A temporary failure: try again later.
    case tempFailure = 75
    /// Permission denied: a wrong password or a wrong share code.
    case noPermission = 77
    /// Interrupted by the user (Ctrl-C), as shells report SIGINT.
    case interrupted = 130

    /// One line for the man page and `--help`.
    public var summary: String {
        switch self {
        case .ok: return "success"
        case .failure: return "a failure with no more specific code"
        case .queued: return "the message was queued for later delivery"
        case .usage: return "wrong command-line usage"
        case .dataError: return "malformed input: a bad mnemonic, share code, or corrupt data from a peer"
        case .noInput: return "an input file or the account does not exist"
        case .unavailable: return "a peer or the daemon could not be reached"
        case .software: return "an internal error in gigi"
        case .cannotCreate: return "the target already exists (see --force or --overwrite)"
        case .ioError: return "reading or writing local files failed"
        case .tempFailure: return "a temporary failure; try again"
        case .noPermission: return "permission denied: a wrong password or share code"
        case .interrupted: return "interrupted"
        }
    }
}

/// An error that can be shown to a user as one sentence with an exit code.
///
/// Library code throws these; only the CLI prints them. `message` says what
/// happened and, where it helps, what to do next. It never contains secrets.
public protocol UserFacingError: Error, CustomStringConvertible {
    var message: String { get }
    var exitCode: GigiExitCode { get }
}

extension UserFacingError {
    public var description: String { message }
}

/// A generic user-facing error for places that need no error type of their own.
public struct GigiError: UserFacingError, Equatable {
    public let message: String
    public let exitCode: GigiExitCode
    public init(_ message: String, exitCode: GigiExitCode = .failure) {
        self.message = message
        self.exitCode = exitCode
    }
}
