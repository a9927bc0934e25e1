// Shared helpers: real P2PHosts on loopback with real LMDB stores in temp directories.

import Foundation
import GigiStore
import NIOCore
import P2PCore
import P2PHost
import XCTest
@testable import GigiMessaging

/// A clock the test moves by hand.
final class ManualClock: DMClock, @unchecked Sendable {
    private let lock = NSLock()
    private var current: Date

    init(_ start: Date = Date()) { current = start }

    func now() -> Date { lock.withLock { current } }
    func advance(by seconds: TimeInterval) { lock.withLock { current = current.addingTimeInterval(seconds) } }
}

/// One node: identity, host (listening on 127.0.0.1), store and messaging service.
final class TestNode: @unchecked Sendable {
    let identity: P2PPrivateKey
    let dir: String
    var host: P2PHost
    var store: Store
    var service: MessagingService
    var address: Multiaddr
    var peerID: PeerID { host.peerID }

    init(identity: P2PPrivateKey, dir: String, host: P2PHost, store: Store, service: MessagingService, address: Multiaddr) {
        self.identity = identity
        self.dir = dir
        self.host = host
        self.store = store
        self.service = service
        self.address = address
    }

    /// Stops the service and the host and closes the store.
    func shutdown() async {
        await service.stop()
        await host.shutdown()
        store.environment.close()
    }
}

func makeTemporaryDirectory(_ test: XCTestCase) throws -> String {
    let path = NSTemporaryDirectory() + "gigi-dm-test-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
    return path
}

func makeNode(_ test: XCTestCase, nickname: String? = nil, config: MessagingConfig = .init(),
              clock: (any DMClock)? = nil, identity: P2PPrivateKey = P2PPrivateKey(), dir: String? = nil,
              start: Bool = true) async throws -> TestNode {
    let dir = try dir ?? makeTemporaryDirectory(test)
    var storeConfig = LMDBEnvironment.Configuration()
    storeConfig.durability = .noMetaSync
    let store = try Store(path: dir, configuration: storeConfig)
    let host = P2PHost(identity: identity)
    let bound = try await host.listen(try Multiaddr("/ip4/127.0.0.1/tcp/0"))
    let service = try MessagingService(host: host, store: store, nickname: nickname, config: config, clock: clock)
    if start { try await service.start() }
    return TestNode(identity: identity, dir: dir, host: host, store: store, service: service,
                    address: try bound.withPeerID(host.peerID))
}

/// A receiver with a small token bucket, a flooder and a friend who both know it.
func makeFloodScene(_ test: XCTestCase, burst: Double, refillPerSecond: Double) async throws
    -> (receiver: TestNode, flooder: TestNode, friend: TestNode) {
    var config = MessagingConfig()
    config.inbound.burst = burst
    config.inbound.refillPerSecond = refillPerSecond
    let b = try await makeNode(test, config: config)
    let flooder = try await makeNode(test)
    let friend = try await makeNode(test)
    await introduce(flooder, to: b)
    await introduce(friend, to: b)
    return (b, flooder, friend)
}

/// Lets `a` dial `b` (the peer store; like discovery would).
func introduce(_ a: TestNode, to b: TestNode) async {
    await a.host.addAddresses([b.address], for: b.peerID)
}

/// Polls `condition` every 10 ms until it holds or `timeout` passes.
func eventually(_ timeout: Duration = .seconds(20), _ condition: @Sendable () async throws -> Bool) async rethrows -> Bool {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while clock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return try await condition()
}

/// Sends one raw request on a new stream and returns the decoded answer (nil: reset / no answer).
func rawRequest(from host: P2PHost, to peer: PeerID, _ payload: [UInt8]) async throws -> DMAnswer? {
    let stream = try await host.newStream(to: peer, protocols: [DMWire.protocolID])
    try await stream.writeLengthPrefixed(payload)
    try? await stream.closeWrite()
    do {
        guard let answer = try await stream.readLengthPrefixed(maxSize: DMWire.maxAnswerSize) else { return nil }
        return try DMWire.decodeAnswer(Array(answer.readableBytesView))
    } catch is P2PStreamError {
        return nil
    }
}

func request(_ text: String, id: [UInt8]? = nil) throws -> (id: [UInt8], bytes: [UInt8]) {
    var generator = DMMessageIDGenerator()
    let id = id ?? generator.next(milliseconds: Date().dmMilliseconds)
    return (id, try DMWire.encode(DMRequest(id: id, text: text, sentAt: Date().dmMilliseconds)))
}

extension DMSendResult {
    var isDelivered: Bool { if case .delivered = self { return true } else { return false } }
    var isQueued: Bool { if case .queued = self { return true } else { return false } }
}
