// The account keystore: GIGI_HOME/account.json.
//
// Format (version 1, JSON): the public facts in clear (nickname, identity
// index, peer ID, EVM address, group id), and the secret — the mnemonic's
// entropy and the optional BIP-39 passphrase — sealed with XChaCha20-Poly1305
// under a key from Argon2id(password, random 16-byte salt). The Argon2id
// limits and the salt are stored in the file, so costs can rise later; the
// header fields that matter (version, KDF, index) are bound as associated data.
// Unlocking re-derives the identities and checks them against the clear facts.
//
// The file is mode 0600 and replaced atomically (SecretFile). A failed
// operation leaves the previous file exactly as it was.

import Foundation
import GigiBase
import GigiCrypto
import P2PCore

/// Why a keystore operation failed.
public enum KeystoreError: UserFacingError, Equatable {
    case noAccount(home: String)
    case alreadyExists(home: String)
    case wrongPassword
    case emptyPassword
    case corrupt(String)
    case unsupportedVersion(Int)
    case invalidNickname(String)

    public var message: String {
        switch self {
        case .noAccount(let home):
            return "There is no account in \(home) yet; run `gigi account create` or `gigi account restore`."
        case .alreadyExists(let home):
            return "An account already exists in \(home); add --force to replace it (its mnemonic is lost unless you saved it)."
        case .wrongPassword:
            return "The password is wrong; the account was not changed."
        case .emptyPassword:
            return "The password is empty; choose a non-empty password."
        case .corrupt(let why):
            return "The account file is damaged (\(why)); restore the account from its mnemonic."
        case .unsupportedVersion(let v):
            return "The account file has format version \(v), which this gigi does not know; upgrade gigi."
        case .invalidNickname(let why):
            return "The nickname is not valid: \(why)."
        }
    }

    public var exitCode: GigiExitCode {
        switch self {
        case .noAccount: return .noInput
        case .alreadyExists: return .cannotCreate
        case .wrongPassword: return .noPermission
        case .emptyPassword, .invalidNickname: return .usage
        case .corrupt, .unsupportedVersion: return .dataError
        }
    }
}

/// Named Argon2id cost levels; `GIGI_KDF` selects one (tests use `fast`).
public enum KeystoreCost {
    /// The default: libsodium's "moderate" limits (3 passes, 256 MiB).
    public static var `default`: Argon2id.Cost { .moderate }

    /// `moderate` (default), `interactive` (64 MiB), or `fast`/`min` (libsodium's minimum: tests only).
    public static func named(_ name: String?) -> Argon2id.Cost? {
        switch name?.lowercased() {
        case nil, "", "moderate", "default": return .moderate
        case "interactive": return .interactive
        case "fast", "min", "minimum": return .minimum
        default: return nil
        }
    }

    /// Upper bounds accepted when reading a file, so a tampered file cannot
    /// make gigi allocate unbounded memory or spin for hours.
    static let maxOpsLimit: UInt64 = 64
    static let maxMemLimit: UInt64 = 4 << 30
}

/// The clear-text part of an account: what `gigi account show` prints.
public struct AccountInfo: Codable, Equatable, Sendable {
    public var nickname: String?
    public var identity: IdentityFacts
    public var wordCount: Int
}

/// An account opened with its password.
public struct UnlockedAccount: Sendable {
    public let info: AccountInfo
    public let mnemonic: Mnemonic
    public let passphrase: String
    public let identity: DerivedIdentity
}

/// The keystore of one GIGI_HOME.
public struct Keystore: Sendable {
    public static let fileName = "account.json"
    public static let formatName = "gigi-account"
    public static let currentVersion = 1
    /// A keystore file is a few hundred bytes; anything far larger is not one.
    static let maxFileSize = 64 * 1024
    public static let maxNicknameLength = 64

    public let home: String
    public var path: String { home + "/" + Self.fileName }
    public var identityKeyPath: String { home + "/" + NodeIdentity.fileName }

    public init(home: String) { self.home = home }

    public var exists: Bool { SecretFile.exists(path) }

    /// Encrypts and stores `mnemonic` as this home's account, and writes the
    /// node identity key. Refuses to replace an existing account unless `force`.
    @discardableResult
    public func create(mnemonic: Mnemonic, passphrase: String = "", password: SecureBytes,
                       nickname: String?, index: UInt32 = 0, cost: Argon2id.Cost = KeystoreCost.default,
                       force: Bool = false) throws -> AccountInfo {
        if let nickname { try Self.validate(nickname: nickname) }
        guard password.count > 0 else { throw KeystoreError.emptyPassword }
        guard force || !exists else { throw KeystoreError.alreadyExists(home: home) }
        let identity = try DerivedIdentity(mnemonic: mnemonic, passphrase: passphrase, index: index)
        let info = AccountInfo(nickname: nickname, identity: identity.facts, wordCount: mnemonic.wordCount)
        let file = try Self.seal(info: info, mnemonic: mnemonic, passphrase: passphrase, password: password, cost: cost)
        // Both files are complete on disk before either replaces anything.
        try NodeIdentity.write(identity.libp2pKey, to: identityKeyPath)
        try SecretFile.write(file, to: path)
        return info
    }

    /// The public facts, without the password.
    public func info() throws -> AccountInfo {
        try load().info
    }

    /// Decrypts the account. A wrong password throws `wrongPassword` and changes nothing.
    public func unlock(password: SecureBytes) throws -> UnlockedAccount {
        let file = try load()
        let key = try Argon2id.deriveKey(password: password, salt: file.kdf.saltBytes, cost: file.kdf.cost)
        let secret: SecureBytes
        do {
            secret = try XChaChaPoly.open(file.cipher.ciphertextBytes, key: key, nonce: file.cipher.nonceBytes,
                                          aad: file.associatedData)
        } catch {
            throw KeystoreError.wrongPassword
        }
        let (mnemonic, passphrase) = try Self.decodeSecret(secret)
        let identity = try DerivedIdentity(mnemonic: mnemonic, passphrase: passphrase, index: file.info.identity.index)
        guard identity.facts == file.info.identity else {
            throw KeystoreError.corrupt("its peer ID or address does not match the encrypted mnemonic")
        }
        return UnlockedAccount(info: file.info, mnemonic: mnemonic, passphrase: passphrase, identity: identity)
    }

    /// Re-encrypts under a new password (new salt and nonce). The old password must be right.
    public func changePassword(old: SecureBytes, new: SecureBytes, cost: Argon2id.Cost = KeystoreCost.default) throws {
        guard new.count > 0 else { throw KeystoreError.emptyPassword }
        let account = try unlock(password: old)
        let file = try Self.seal(info: account.info, mnemonic: account.mnemonic, passphrase: account.passphrase,
                                 password: new, cost: cost)
        try SecretFile.write(file, to: path)
    }

    /// Removes the account and the node identity key derived from it.
    public func delete() throws {
        guard exists else { throw KeystoreError.noAccount(home: home) }
        try SecretFile.remove(path)
        try SecretFile.remove(identityKeyPath)
    }

    static func validate(nickname: String) throws(KeystoreError) {
        guard !nickname.isEmpty else { throw .invalidNickname("it is empty") }
        guard nickname.count <= maxNicknameLength else { throw .invalidNickname("it is longer than \(maxNicknameLength) characters") }
        guard !nickname.unicodeScalars.contains(where: { $0.properties.generalCategory == .control || $0.properties.generalCategory == .format }) else {
            throw .invalidNickname("it contains control characters")
        }
    }

    // MARK: - File format

    struct File: Codable {
        struct KDF: Codable {
            var algorithm: String
            var opsLimit: UInt64
            var memLimit: UInt64
            var salt: String
            var cost: Argon2id.Cost { Argon2id.Cost(opsLimit: opsLimit, memLimit: memLimit) }
            var saltBytes: [UInt8] { Hex.decode(salt) ?? [] }
        }
        struct Cipher: Codable {
            var algorithm: String
            var nonce: String
            var ciphertext: String
            var nonceBytes: [UInt8] { Hex.decode(nonce) ?? [] }
            var ciphertextBytes: [UInt8] { Hex.decode(ciphertext) ?? [] }
        }
        var format: String
        var version: Int
        var info: AccountInfo
        var kdf: KDF
        var cipher: Cipher

        /// Binds the header to the ciphertext: changing the KDF, the version or the index breaks decryption.
        var associatedData: [UInt8] {
            Array("\(format)/\(version)|\(kdf.algorithm)|\(kdf.opsLimit)|\(kdf.memLimit)|\(kdf.salt)|\(cipher.algorithm)|\(info.identity.index)".utf8)
        }
    }

    static let kdfAlgorithm = "argon2id13"
    static let cipherAlgorithm = "xchacha20poly1305-ietf"

    private static func seal(info: AccountInfo, mnemonic: Mnemonic, passphrase: String, password: SecureBytes,
                             cost: Argon2id.Cost) throws -> [UInt8] {
        let salt = SystemRandom.bytes(Argon2id.saltSize)
        let nonce = SystemRandom.bytes(XChaChaPoly.nonceSize)
        var file = File(format: formatName, version: currentVersion, info: info,
                        kdf: .init(algorithm: kdfAlgorithm, opsLimit: cost.opsLimit, memLimit: cost.memLimit, salt: Hex.encode(salt)),
                        cipher: .init(algorithm: cipherAlgorithm, nonce: Hex.encode(nonce), ciphertext: ""))
        let key = try Argon2id.deriveKey(password: password, salt: salt, cost: cost)
        var plaintext = encodeSecret(mnemonic: mnemonic, passphrase: passphrase).unsafeBytes
        defer { for i in plaintext.indices { plaintext[i] = 0 } }
        file.cipher.ciphertext = Hex.encode(try XChaChaPoly.seal(plaintext, key: key, nonce: nonce, aad: file.associatedData))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(file)) + [0x0a]
    }

    private func load() throws -> File {
        guard let bytes = try SecretFile.read(path, maxSize: Self.maxFileSize) else {
            throw KeystoreError.noAccount(home: home)
        }
        struct Header: Decodable { var format: String?; var version: Int? }
        let data = Data(bytes.unsafeBytes)
        guard let header = try? JSONDecoder().decode(Header.self, from: data), header.format == Self.formatName,
              let version = header.version else {
            throw KeystoreError.corrupt("it is not a Gigi account file")
        }
        guard version == Self.currentVersion else { throw KeystoreError.unsupportedVersion(version) }
        let file: File
        do { file = try JSONDecoder().decode(File.self, from: data) } catch {
            throw KeystoreError.corrupt("a field is missing or malformed")
        }
        guard file.kdf.algorithm == Self.kdfAlgorithm, file.cipher.algorithm == Self.cipherAlgorithm,
              file.kdf.saltBytes.count == Argon2id.saltSize, file.cipher.nonceBytes.count == XChaChaPoly.nonceSize,
              file.kdf.opsLimit <= KeystoreCost.maxOpsLimit, file.kdf.memLimit <= KeystoreCost.maxMemLimit,
              Mnemonic.allowedWordCounts.contains(file.info.wordCount) else {
            throw KeystoreError.corrupt("unknown algorithms or out-of-range parameters")
        }
        return file
    }

    /// Plaintext layout: entropy length (1 byte) ‖ entropy ‖ BIP-39 passphrase (UTF-8).
    private static func encodeSecret(mnemonic: Mnemonic, passphrase: String) -> SecureBytes {
        let pass = Array(passphrase.utf8)
        let out = SecureBytes(zeroes: 1 + mnemonic.entropy.count + pass.count)
        out.withUnsafeMutableBytes { o in
            o[0] = UInt8(mnemonic.entropy.count)
            mnemonic.entropy.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: o[1..<(1 + $0.count)]).copyMemory(from: $0) }
            pass.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: o[(1 + mnemonic.entropy.count)...]).copyMemory(from: $0) }
        }
        return out
    }

    private static func decodeSecret(_ secret: SecureBytes) throws -> (Mnemonic, String) {
        try secret.withUnsafeBytes { s in
            guard s.count >= 1, s.count >= 1 + Int(s[0]) else { throw KeystoreError.corrupt("the secret is truncated") }
            let n = Int(s[0])
            guard let mnemonic = try? Mnemonic(entropy: SecureBytes(s[1..<(1 + n)])) else {
                throw KeystoreError.corrupt("the secret has a bad length")
            }
            return (mnemonic, String(decoding: s[(1 + n)...], as: UTF8.self))
        }
    }
}
