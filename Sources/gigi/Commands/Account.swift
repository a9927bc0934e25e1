// `gigi account`: the BIP-39 account of this GIGI_HOME. The subcommands live
// in Account*.swift; this file holds the group and what they share: where
// passwords and mnemonics come from (never argv), and the no-echo prompt.

import ArgumentParser
import Foundation
import GigiAuth
import GigiBase
import GigiCrypto

struct Account: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "account",
        abstract: "Create, restore and manage the account (a BIP-39 recovery phrase).",
        discussion: """
            One account per GIGI_HOME. Its recovery phrase (mnemonic) is stored encrypted \
            with a password (Argon2id + XChaCha20-Poly1305) in GIGI_HOME/account.json; the \
            peer ID, EVM address and group id are readable without the password.

            Passwords and phrases are never taken from the command line: gigi prompts \
            without echo on a terminal, or reads GIGI_PASSWORD / --password-file (and \
            GIGI_NEW_PASSWORD / --new-password-file for `passwd`), and a phrase from \
            standard input. GIGI_KDF=interactive|fast lowers the Argon2id cost (tests only).
            """,
        subcommands: [AccountCreate.self, AccountRestore.self, AccountShow.self,
                      AccountExport.self, AccountPasswd.self, AccountDelete.self]
    )
}

/// Where the account password comes from: `--password-file`, then
/// `$GIGI_PASSWORD`, then a no-echo prompt on the terminal.
struct PasswordOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Read the password from the first line of this file.", valueName: "file"))
    var passwordFile: String?

    /// The password; `confirm` asks twice on a terminal (for a new password).
    func password(prompt: String = "Password: ", confirm: Bool = false) throws -> SecureBytes {
        try AccountSecrets.password(file: passwordFile, variable: "GIGI_PASSWORD", prompt: prompt, confirm: confirm)
    }
}

enum AccountSecrets {
    /// A password is at most this long (bytes): far above any passphrase a person types.
    static let maxPasswordLength = 1024
    /// A mnemonic of 24 words is under 220 bytes; allow generous spacing.
    static let maxPhraseLength = 4096

    static var environment: [String: String] { ProcessInfo.processInfo.environment }

    static func password(file: String?, variable: String, prompt: String, confirm: Bool) throws -> SecureBytes {
        if let file {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw GigiError("Could not read the password file \(file); check that it exists and is readable.",
                                exitCode: .noInput)
            }
            var bytes = [UInt8](data.prefix(while: { $0 != 0x0a }))
            if bytes.last == 0x0d { bytes.removeLast() }
            defer { for i in bytes.indices { bytes[i] = 0 } }
            return try nonEmpty(SecureBytes(bytes.prefix(maxPasswordLength)))
        }
        if let value = environment[variable] {
            return try nonEmpty(SecureBytes(Array(value.utf8)))
        }
        guard let first = try Terminal.readSecret(prompt: prompt, maxLength: maxPasswordLength) else {
            throw GigiError("No password given: run in a terminal, set \(variable), or use --password-file.",
                            exitCode: .usage)
        }
        if confirm {
            let second = try Terminal.readSecret(prompt: "Repeat: ", maxLength: maxPasswordLength)
            guard second == first else {
                throw GigiError("The two passwords differ; nothing was changed.", exitCode: .usage)
            }
        }
        return try nonEmpty(first)
    }

    private static func nonEmpty(_ p: SecureBytes) throws -> SecureBytes {
        guard p.count > 0 else { throw KeystoreError.emptyPassword }
        return p
    }

    /// The Argon2id cost from `$GIGI_KDF`.
    static func cost() throws -> Argon2id.Cost {
        guard let cost = KeystoreCost.named(environment["GIGI_KDF"]) else {
            throw GigiError("GIGI_KDF must be moderate, interactive or fast.", exitCode: .usage)
        }
        return cost
    }

    /// The recovery phrase: standard input when it is not a terminal, else a no-echo prompt.
    static func phrase() throws -> Mnemonic {
        let raw: SecureBytes
        if isatty(STDIN_FILENO) == 1 {
            guard let typed = try Terminal.readSecret(prompt: "Recovery phrase (input hidden): ", maxLength: maxPhraseLength) else {
                throw GigiError("Could not read the recovery phrase from the terminal.", exitCode: .ioError)
            }
            raw = typed
        } else {
            raw = try Terminal.readAll(fd: STDIN_FILENO, maxLength: maxPhraseLength)
        }
        return try raw.withUnsafeBytes { try Mnemonic(phrase: String(decoding: $0, as: UTF8.self)) }
    }
}

/// Reading from the controlling terminal without echo.
enum Terminal {
    /// Prompts go to /dev/tty only when a person is plausibly there: standard
    /// input or standard error is a terminal. Scripts and tests never block on a prompt.
    static var isInteractive: Bool { isatty(STDIN_FILENO) == 1 || isatty(STDERR_FILENO) == 1 }

    /// One line from /dev/tty with echo off; nil when there is no terminal.
    static func readSecret(prompt: String, maxLength: Int) throws -> SecureBytes? {
        guard isInteractive else { return nil }
        let fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var saved = termios()
        guard tcgetattr(fd, &saved) == 0 else { return nil }
        var quiet = saved
        quiet.c_lflag &= ~tcflag_t(ECHO)
        guard tcsetattr(fd, TCSAFLUSH, &quiet) == 0 else { return nil }
        defer {
            _ = tcsetattr(fd, TCSAFLUSH, &saved)
            _ = "\n".withCString { Glibc.write(fd, $0, 1) }
        }
        _ = prompt.withCString { Glibc.write(fd, $0, strlen($0)) }
        return try readLine(fd: fd, maxLength: maxLength)
    }

    /// One line from /dev/tty with echo (for confirmations); nil without a terminal.
    static func readLine(prompt: String) -> String? {
        guard isInteractive else { return nil }
        let fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        _ = prompt.withCString { Glibc.write(fd, $0, strlen($0)) }
        guard let line = try? readLine(fd: fd, maxLength: 256) else { return nil }
        return line.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
    }

    /// Reads up to a newline (not included) into secure memory.
    private static func readLine(fd: Int32, maxLength: Int) throws -> SecureBytes {
        let buffer = SecureBytes(zeroes: maxLength)
        var count = 0
        try buffer.withUnsafeMutableBytes { b in
            var byte: UInt8 = 0
            while true {
                let n = Glibc.read(fd, &byte, 1)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw GigiError("Reading from the terminal failed.", exitCode: .ioError)
                }
                if n == 0 || byte == 0x0a { break }
                guard count < b.count else { throw GigiError("The input line is too long.", exitCode: .usage) }
                b[count] = byte
                count += 1
            }
            if count > 0, b[count - 1] == 0x0d { count -= 1 }
        }
        return buffer.withUnsafeBytes { SecureBytes($0[0..<count]) }
    }

    /// Everything on `fd` up to end of file (at most `maxLength` bytes) into secure memory.
    static func readAll(fd: Int32, maxLength: Int) throws -> SecureBytes {
        let buffer = SecureBytes(zeroes: maxLength + 1)
        var count = 0
        try buffer.withUnsafeMutableBytes { b in
            while count < b.count {
                let n = Glibc.read(fd, b.baseAddress! + count, b.count - count)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw GigiError("Reading standard input failed.", exitCode: .ioError)
                }
                if n == 0 { break }
                count += n
            }
        }
        guard count <= maxLength else {
            throw GigiError("Standard input is longer than \(maxLength) bytes; it is not a recovery phrase.", exitCode: .dataError)
        }
        return buffer.withUnsafeBytes { SecureBytes($0[0..<count]) }
    }
}

/// The public facts as `account show` (and create/restore) print them.
struct AccountSummary: Encodable {
    let nickname: String?
    let peerId: String
    let evmAddress: String
    let groupId: String
    let index: UInt32

    init(_ info: AccountInfo) {
        nickname = info.nickname
        peerId = info.identity.peerID.description
        evmAddress = info.identity.evmAddress.checksummed
        groupId = info.identity.groupID
        index = info.identity.index
    }

    var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try! encoder.encode(self), as: UTF8.self)
    }

    var text: String {
        var lines = [String]()
        if let nickname { lines.append("nickname     \(TerminalSafe.escape(nickname))") }
        lines += ["peer ID      \(peerId)", "EVM address  \(evmAddress)", "group id     \(groupId)", "index        \(index)"]
        return lines.joined(separator: "\n")
    }
}
