import NIOConcurrencyHelpers
import NIOCore
import P2PCore
import P2PHost
import XCTest
@testable import P2PRequestResponse

struct Greeting: Codable, Sendable, Equatable {
    var text: String
    var count: Int
    var blob: [UInt8] = []
}

struct Reply: Codable, Sendable, Equatable {
    var text: String
    var count: Int
    var from: String
}

let proto = "/gigi/test-rr/1.0.0"

final class RequestResponseServiceTests: XCTestCase {
    /// A listening server and a client host connected to it (both shut down after the test).
    private func pair() async throws -> (server: RequestResponseService, client: RequestResponseService) {
        let server = P2PHost(identity: P2PPrivateKey())
        let client = P2PHost(identity: P2PPrivateKey())
        addTeardownBlock { await client.shutdown(); await server.shutdown() }
        let address = try await server.listen(try Multiaddr("/ip4/127.0.0.1/tcp/0"))
        _ = try await client.connect(address.withPeerID(server.peerID))
        return (RequestResponseService(host: server), RequestResponseService(host: client))
    }

    private func expect(_ expected: RequestResponseError, file: StaticString = #filePath, line: UInt = #line,
                        _ body: () async throws -> Reply) async {
        do {
            let reply = try await body()
            XCTFail("got \(reply) instead of \(expected)", file: file, line: line)
        } catch {
            XCTAssertEqual(error as? RequestResponseError, expected, "\(error)", file: file, line: line)
        }
    }

    func testRequestsAreAnsweredWithThePeerKnown() async throws {
        let (server, client) = try await pair()
        await server.register(protocol: proto) { (greeting: Greeting, peer: PeerID) in
            Reply(text: greeting.text.uppercased(), count: greeting.count + 1, from: peer.description)
        }
        let serverPeer = server.host.peerID
        let reply: Reply = try await client.request(Greeting(text: "hello", count: 41), to: serverPeer, protocol: proto)
        XCTAssertEqual(reply, Reply(text: "HELLO", count: 42, from: client.host.peerID.description))

        // Several at once, each on its own stream (below the per-peer limit: the server
        // frees a slot only after its FIN, a moment after we have the reply).
        let parallel = RequestResponse.defaultMaxConcurrentPerPeer / 2
        let replies = try await withThrowingTaskGroup(of: Reply.self) { group in
            for i in 0..<parallel {
                group.addTask { try await client.request(Greeting(text: "m\(i)", count: i), to: serverPeer, protocol: proto) }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        XCTAssertEqual(Set(replies.map(\.count)), Set(1...parallel))
    }

    func testSizeLimitsInBothDirections() async throws {
        let (server, client) = try await pair()
        let handled = NIOLockedValueBox(0)
        await server.register(protocol: proto, maxRequestSize: 1024, maxResponseSize: 64 * 1024) { (greeting: Greeting, peer: PeerID) in
            handled.withLockedValue { $0 += 1 }
            return Reply(text: String(repeating: "x", count: greeting.count), count: 0, from: "")
        }
        let peer = server.host.peerID
        // Our own limit: nothing is sent.
        await expect(.requestTooLarge(size: 2070, limit: 2048)) {
            try await client.request(Greeting(text: "", count: 0, blob: .init(repeating: 1, count: 2048)), to: peer,
                                     protocol: proto, maxRequestSize: 2048)
        }
        // The server's limit: it resets without calling the handler.
        await expect(.noResponse) {
            try await client.request(Greeting(text: "", count: 0, blob: .init(repeating: 1, count: 2000)), to: peer,
                                     protocol: proto)
        }
        XCTAssertEqual(handled.withLockedValue { $0 }, 0)
        // Our response limit.
        await expect(.responseTooLarge(limit: 1000)) {
            try await client.request(Greeting(text: "", count: 5000), to: peer, protocol: proto, maxResponseSize: 1000)
        }
        // The server's response limit: it resets rather than send it.
        await expect(.noResponse) {
            try await client.request(Greeting(text: "", count: 70_000), to: peer, protocol: proto)
        }
        let ok: Reply = try await client.request(Greeting(text: "", count: 900), to: peer, protocol: proto,
                                                 maxResponseSize: 1000)
        XCTAssertEqual(ok.text.count, 900)
        XCTAssertEqual(handled.withLockedValue { $0 }, 3)
    }

    func testFailuresAndTimeouts() async throws {
        let (server, client) = try await pair()
        let peer = server.host.peerID
        struct Refused: Error {}
        await server.register(protocol: "/throws") { (_: Greeting, _: PeerID) -> Reply in throw Refused() }
        await expect(.noResponse) { try await client.request(Greeting(text: "", count: 0), to: peer, protocol: "/throws") }

        let release = AsyncStream.makeStream(of: Void.self)
        addTeardownBlock { release.continuation.finish() }
        await server.register(protocol: "/slow") { (_: Greeting, _: PeerID) -> Reply in
            for await _ in release.stream {}
            throw Refused()
        }
        await expect(.timeout(.milliseconds(300))) {
            try await client.request(Greeting(text: "", count: 0), to: peer, protocol: "/slow", timeout: .milliseconds(300))
        }

        // A response of another shape, and bytes that are not CBOR.
        await server.register(protocol: "/other") { (greeting: Greeting, _: PeerID) in greeting }
        do {
            let reply: Reply = try await client.request(Greeting(text: "", count: 0), to: peer, protocol: "/other")
            XCTFail("decoded \(reply)")
        } catch RequestResponseError.malformedResponse(let why) {
            XCTAssertTrue(why.contains("from"), why)
        }
        await server.host.setHandler("/garbage") { stream in
            _ = try? await stream.readLengthPrefixed(maxSize: 1 << 16)
            try? await stream.writeLengthPrefixed([0xff, 0x00, 0x01])
            try? await stream.closeWrite()
        }
        do {
            let reply: Reply = try await client.request(Greeting(text: "", count: 0), to: peer, protocol: "/garbage")
            XCTFail("decoded \(reply)")
        } catch RequestResponseError.malformedResponse {}

        // An unregistered protocol is the host's error.
        do {
            let reply: Reply = try await client.request(Greeting(text: "", count: 0), to: peer, protocol: "/nobody")
            XCTFail("decoded \(reply)")
        } catch let error as P2PHostError {
            XCTAssertEqual(error, .protocolNotSupported(["/nobody"]))
        }
    }

    func testConcurrentRequestsPerPeerAreBounded() async throws {
        let (server, client) = try await pair()
        let gate = Gate()
        await server.register(protocol: proto, maxConcurrentPerPeer: 2) { (greeting: Greeting, _: PeerID) in
            await gate.wait()
            return Reply(text: "", count: greeting.count, from: "")
        }
        let peer = server.host.peerID
        let held = (0..<2).map { i in
            Task { () throws -> Reply in try await client.request(Greeting(text: "", count: i), to: peer, protocol: proto) }
        }
        await gate.waitForWaiters(2)
        await expect(.noResponse) { try await client.request(Greeting(text: "", count: 9), to: peer, protocol: proto) }
        await gate.open()
        let counts = try await [held[0].value.count, held[1].value.count]
        XCTAssertEqual(counts, [0, 1])
        // Slots are free again (once the server has finished its side of the two streams).
        var later: Reply?
        for _ in 0..<100 where later == nil {
            later = try? await client.request(Greeting(text: "", count: 3), to: peer, protocol: proto)
            if later == nil { try await Task.sleep(for: .milliseconds(10)) }
        }
        XCTAssertEqual(later?.count, 3)
    }

    func testWireFormatIsLengthPrefixedCBOR() async throws {
        let (server, client) = try await pair()
        await server.register(protocol: proto) { (greeting: Greeting, _: PeerID) in
            Reply(text: greeting.text, count: greeting.count, from: "s")
        }
        // Speak the protocol by hand: uvarint ‖ CBOR map, FIN; expect the same back.
        let stream = try await client.host.newStream(to: server.host.peerID, protocols: [proto])
        let request: [UInt8] = [0xa3, 0x64] + Array("blob".utf8) + [0x40, 0x64] + Array("text".utf8) + [0x61, 0x61, 0x65]
            + Array("count".utf8) + [0x07]
        try await stream.writeLengthPrefixed(request)
        try await stream.closeWrite()
        let body = try await XCTUnwrapAsync(try await stream.readLengthPrefixed(maxSize: 1024))
        XCTAssertEqual(try RequestResponseService.decode(Reply.self, from: body, limit: 1024),
                       Reply(text: "a", count: 7, from: "s"))
        let end = try await stream.read()
        XCTAssertNil(end, "the server half-closes after its response")
    }
}

func XCTUnwrapAsync<T>(_ value: @autoclosure () async throws -> T?, file: StaticString = #filePath,
                       line: UInt = #line) async throws -> T {
    let unwrapped = try await value()
    return try XCTUnwrap(unwrapped, file: file, line: line)
}

/// Suspends callers of `wait()` until `open()`.
actor Gate {
    private var isOpen = false
    private var waiters: [CheckedContinuation<Void, Never>] = []
    private var arrivals = 0

    func wait() async {
        arrivals += 1
        guard !isOpen else { return }
        await withCheckedContinuation { waiters.append($0) }
    }

    func open() {
        isOpen = true
        for waiter in waiters { waiter.resume() }
        waiters = []
    }

    /// Polls (bounded, 10 s) until `count` callers have arrived.
    func waitForWaiters(_ count: Int) async {
        for _ in 0..<1000 where arrivals < count { try? await Task.sleep(for: .milliseconds(10)) }
    }
}
