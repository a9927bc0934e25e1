// The share handshake: CPace (CPace.swift) bound to both peer IDs, with key
// confirmation in both directions. Pure state machines: messages in,
// messages out; randomness (sid, scalars) is passed in.
//
// Flow on `/gigi/share/1.0.0` (the fetcher is CPace's initiator A):
//   fetcher → sharer  hello(selector, sid, Ya)
//   sharer  → fetcher reply(Yb, tagB)         tagB = HMAC(ISK, "sharer")
//   fetcher → sharer  confirm(tagA)           tagA = HMAC(ISK, "fetcher")
// The channel identifier CI = lv_cat("gigi-share/1", fetcher peer ID, sharer
// peer ID, selector), so a relay between two libp2p connections cannot splice
// the two runs together. A party with a wrong secret sees only a tag that
// does not verify: it learns "wrong" and nothing else; an attacker gets one
// guess per run, and the sharer counts runs that did not confirm.

import CSodium
import GigiBase
import GigiCrypto

/// Messages of the share handshake.
public enum SharePAKEMessage: Equatable, Sendable {
    /// Fetcher → sharer: which share (nameplate or share id), the session id, Ya.
    case hello(selector: [UInt8], sid: [UInt8], share: [UInt8])
    /// Sharer → fetcher: Yb and the sharer's confirmation tag.
    case reply(share: [UInt8], tag: [UInt8])
    /// Fetcher → sharer: the fetcher's confirmation tag.
    case confirm(tag: [UInt8])
}

/// Handshake failures.
public enum SharePAKEError: Error, Equatable, Sendable, UserFacingError {
    /// The other side used a different secret.
    case wrongCode
    /// A message was out of order or malformed.
    case protocolViolation(String)

    public var message: String {
        switch self {
        case .wrongCode:
            return "The share code is wrong (or the share has closed): check the code with the sender and try again."
        case .protocolViolation(let what):
            return "The peer broke the share handshake (\(what)); try again, or ask the sender for a new code."
        }
    }
    public var exitCode: GigiExitCode {
        switch self {
        case .wrongCode: return .noPermission
        case .protocolViolation: return .dataError
        }
    }
}

/// What both sides must agree on before the handshake.
public struct SharePAKEContext: Sendable {
    public var fetcherPeer: [UInt8]
    public var sharerPeer: [UInt8]
    public var selector: [UInt8]

    public init(fetcherPeer: [UInt8], sharerPeer: [UInt8], selector: [UInt8]) {
        self.fetcherPeer = fetcherPeer
        self.sharerPeer = sharerPeer
        self.selector = selector
    }

    /// CPace's channel identifier.
    var channelIdentifier: [UInt8] {
        CPaceRistretto255.lvCat(Array("gigi-share/1".utf8), fetcherPeer, sharerPeer, selector)
    }

    static let adFetcher = Array("gigi fetcher".utf8)
    static let adSharer = Array("gigi sharer".utf8)
    public static let sidLength = 16
    /// Largest selector accepted (a nameplate or a 16-byte share id).
    public static let maxSelectorLength = 64
}

/// The fetcher's side (CPace initiator).
public struct SharePAKEFetcher: Sendable {
    private let context: SharePAKEContext
    private let sid: [UInt8]
    private var scalar: [UInt8]
    private let ya: [UInt8]
    private var done = false

    /// - Parameters: `secret` is the PRS (see `ShareCode.secret`), `sid` 16
    ///   random bytes, `scalar` a random ristretto255 scalar (tests inject them).
    public init(secret: [UInt8], context: SharePAKEContext,
                sid: [UInt8] = SystemRandom.bytes(SharePAKEContext.sidLength),
                scalar: [UInt8] = CPaceRistretto255.randomScalar()) throws {
        self.context = context
        self.sid = sid
        self.scalar = scalar
        let g = CPaceRistretto255.generator(prs: secret, ci: context.channelIdentifier, sid: sid)
        self.ya = try CPaceRistretto255.scalarMult(scalar, g)
    }

    /// The first message.
    public var hello: SharePAKEMessage { .hello(selector: context.selector, sid: sid, share: ya) }

    /// Handles the sharer's reply: returns the confirmation to send and the
    /// session key, or throws `wrongCode`.
    public mutating func receive(_ message: SharePAKEMessage) throws -> (reply: SharePAKEMessage, sessionKey: [UInt8]) {
        guard !done, case .reply(let yb, let tagB) = message else {
            throw SharePAKEError.protocolViolation("unexpected message")
        }
        done = true
        defer { sodium_memzero(&scalar, scalar.count) }
        guard yb.count == CPaceRistretto255.elementSize, tagB.count == 32 else {
            throw SharePAKEError.protocolViolation("bad reply length")
        }
        guard let k = try? CPaceRistretto255.scalarMult(scalar, yb) else { throw SharePAKEError.wrongCode }
        let isk = CPaceRistretto255.isk(sid: sid, k: k, ya: ya, ada: SharePAKEContext.adFetcher,
                                        yb: yb, adb: SharePAKEContext.adSharer)
        let expected = CPaceRistretto255.confirmationTag(key: isk, label: "sharer")
        guard constantTimeEquals(expected, tagB) else { throw SharePAKEError.wrongCode }
        let tagA = CPaceRistretto255.confirmationTag(key: isk, label: "fetcher")
        return (.confirm(tag: tagA), CPaceRistretto255.confirmationTag(key: isk, label: "session"))
    }
}

/// The sharer's side (CPace responder).
public struct SharePAKESharer: Sendable {
    private let secret: [UInt8]
    private let context: SharePAKEContext
    private var scalar: [UInt8]
    private var isk: [UInt8]? = nil
    private var state = 0   // 0: waiting for hello, 1: waiting for confirm, 2: done

    public init(secret: [UInt8], context: SharePAKEContext,
                scalar: [UInt8] = CPaceRistretto255.randomScalar()) {
        self.secret = secret
        self.context = context
        self.scalar = scalar
    }

    /// Handles hello; returns the reply.
    public mutating func receiveHello(_ message: SharePAKEMessage) throws -> SharePAKEMessage {
        guard state == 0, case .hello(let selector, let sid, let ya) = message else {
            throw SharePAKEError.protocolViolation("unexpected message")
        }
        state = 1
        defer { sodium_memzero(&scalar, scalar.count) }
        guard selector == context.selector, sid.count == SharePAKEContext.sidLength,
              ya.count == CPaceRistretto255.elementSize else {
            throw SharePAKEError.protocolViolation("bad hello")
        }
        let g = CPaceRistretto255.generator(prs: secret, ci: context.channelIdentifier, sid: sid)
        let yb = try CPaceRistretto255.scalarMult(scalar, g)
        guard let k = try? CPaceRistretto255.scalarMult(scalar, ya) else {
            throw SharePAKEError.protocolViolation("invalid public share")
        }
        let isk = CPaceRistretto255.isk(sid: sid, k: k, ya: ya, ada: SharePAKEContext.adFetcher,
                                        yb: yb, adb: SharePAKEContext.adSharer)
        self.isk = isk
        return .reply(share: yb, tag: CPaceRistretto255.confirmationTag(key: isk, label: "sharer"))
    }

    /// Handles the fetcher's confirmation; returns the session key or throws `wrongCode`.
    public mutating func receiveConfirm(_ message: SharePAKEMessage) throws -> [UInt8] {
        guard state == 1, let isk, case .confirm(let tagA) = message else {
            throw SharePAKEError.protocolViolation("unexpected message")
        }
        state = 2
        let expected = CPaceRistretto255.confirmationTag(key: isk, label: "fetcher")
        guard constantTimeEquals(expected, tagA) else { throw SharePAKEError.wrongCode }
        return CPaceRistretto255.confirmationTag(key: isk, label: "session")
    }
}
