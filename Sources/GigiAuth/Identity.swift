// The identities one mnemonic yields, on the original Gigi app's paths
// (DESIGN.md "Identity and accounts"), so a Gigi mnemonic restores the same
// peer ID, EVM address and group ids:
//   EVM address       m/44'/60'/0'/0/i  Keccak-256 address, EIP-55 case
//   group id          m/44'/60'/1'/0/i  child key as an Ed25519 seed → peer-ID string
//   libp2p identity   m/44'/60'/2'/0/i  child key as an Ed25519 seed → peer ID

import GigiBase
import GigiCrypto
import P2PCore

/// The BIP-44 "account" levels of the three identities.
public enum IdentityPurpose: UInt32, Sendable, CaseIterable {
    case evm = 0
    case group = 1
    case libp2p = 2

    /// `m/44'/60'/<purpose>'/0/<index>`.
    public func path(index: UInt32) -> DerivationPath {
        DerivationPath.bip44(account: rawValue, index: index)
    }
}

/// What anyone may know about an identity: written in clear in the keystore,
/// shown by `gigi account show`.
public struct IdentityFacts: Codable, Equatable, Sendable {
    public var index: UInt32
    public var peerID: PeerID
    public var evmAddress: EVMAddress
    public var groupID: String

    public init(index: UInt32, peerID: PeerID, evmAddress: EVMAddress, groupID: String) {
        self.index = index
        self.peerID = peerID
        self.evmAddress = evmAddress
        self.groupID = groupID
    }

    enum CodingKeys: String, CodingKey {
        case index, peerID = "peerId", evmAddress, groupID = "groupId"
    }
}

/// All keys of identity `index` derived from a mnemonic. Holds secrets.
public struct DerivedIdentity: Sendable {
    /// The largest index: normal (non-hardened) BIP-32 indices are below 2³¹.
    public static let maxIndex = DerivationPath.hardenedOffset - 1

    public let index: UInt32
    /// The secp256k1 key behind the EVM address.
    public let evmKey: ExtendedKey
    /// The node's libp2p identity.
    public let libp2pKey: P2PPrivateKey
    /// The key whose peer-ID string names this identity's group.
    public let groupKey: P2PPrivateKey

    public init(mnemonic: Mnemonic, passphrase: String = "", index: UInt32) throws {
        try self.init(seed: mnemonic.seed(passphrase: passphrase), index: index)
    }

    public init(seed: SecureBytes, index: UInt32) throws {
        guard index <= Self.maxIndex else {
            throw GigiError("The identity index must be at most \(Self.maxIndex).", exitCode: .usage)
        }
        let master = try ExtendedKey.master(seed: seed)
        func ed25519(_ purpose: IdentityPurpose) throws -> P2PPrivateKey {
            let child = try master.derive(purpose.path(index: index))
            return try P2PPrivateKey(seed: child.privateKey!)
        }
        self.index = index
        evmKey = try master.derive(IdentityPurpose.evm.path(index: index))
        libp2pKey = try ed25519(.libp2p)
        groupKey = try ed25519(.group)
    }

    public var evmAddress: EVMAddress { try! EVMAddress(publicKey: evmKey.publicKey) }
    public var peerID: PeerID { libp2pKey.peerID }
    public var groupID: String { groupKey.peerID.description }

    public var facts: IdentityFacts {
        IdentityFacts(index: index, peerID: peerID, evmAddress: evmAddress, groupID: groupID)
    }
}
