// The node's libp2p identity key file: GIGI_HOME/identity.key, or any file
// given to `gigi node --identity FILE`. The content is the libp2p protobuf
// `PrivateKey` encoding of an Ed25519 key (as the original gigi-node wrote),
// mode 0600. `account create/restore` writes the account's key here, so the
// daemon, share and fetch run without asking for the account password.

import GigiBase
import GigiCrypto
import P2PCore

public enum NodeIdentity {
    public static let fileName = "identity.key"
    /// An Ed25519 PrivateKey message is 68 bytes (legacy 100); anything near this bound is not a key.
    static let maxFileSize = 4096

    /// The identity key of `home`: the existing file, or — when there is none
    /// (no account yet) — a fresh random key, written there for next time.
    public static func loadOrCreate(home: String) throws -> P2PPrivateKey {
        let path = home + "/" + fileName
        if let key = try read(file: path) { return key }
        let key = P2PPrivateKey()
        try write(key, to: path)
        return key
    }

    /// Reads a key file; nil if it does not exist.
    public static func read(file path: String) throws -> P2PPrivateKey? {
        guard let bytes = try SecretFile.read(path, maxSize: maxFileSize) else { return nil }
        do {
            return try P2PPrivateKey(protobufEncoded: bytes.unsafeBytes)
        } catch let error as UserFacingError {
            throw LocalFileError(message: "\(path) is not a libp2p Ed25519 key file: \(error.message)")
        }
    }

    /// Writes `key` atomically with mode 0600.
    public static func write(_ key: P2PPrivateKey, to path: String) throws {
        try key.protobufEncoded.withUnsafeBytes { try SecretFile.write($0, to: path) }
    }
}
