// Gigi's libp2p stack against py-libp2p 0.8.1 (an implementation nobody here wrote):
// Noise + Yamux over TCP on loopback, identify, ping and a 16 MiB echo, both directions.
// The figures (echo MB/s, ping RTTs) are printed as lines starting with "interop:".

import Foundation
import GigiBase
import NIOCore
import P2PCore
import P2PHost
import P2PIdentify
import P2PPing
import XCTest

private let echoProtocol = "/echo/1.0.0"
private let echoSize = 16 << 20
/// The peer ID of py's `--seed 1` identity (seed = 0x01 followed by 31 zero bytes).
private let pySeed1 = "12D3KooWPjceQrSwdWXPyLLeABRXmuqt69Rg3sBYbU1Nft9HyQ6X"

final class PyLibp2pInteropTests: XCTestCase {
    private func swiftHost() async -> (P2PHost, IdentifyService, PingService<ContinuousClock>) {
        let host = P2PHost(identity: P2PPrivateKey())
        addTeardownBlock { await host.shutdown() }
        let identify = IdentifyService(host: host)
        await identify.start()
        let ping = PingService(host: host)
        await ping.start()
        return (host, identify, ping)
    }

    private func pyPeer(_ script: String, _ arguments: [String]) throws -> PyPeer {
        let peer = try PyPeer(script, arguments)
        addTeardownBlock { peer.stop() }
        return peer
    }

    func testSwiftDialsPy() async throws {
        let listener = try pyPeer("listener.py", ["--port", "0", "--seed", "1"])
        let address = try Multiaddr(try await listener.line(0, within: .seconds(60)))
        XCTAssertEqual(address.peerID?.description, pySeed1, "py derives the seed-1 identity as rust-libp2p does")
        let (host, identify, ping) = await swiftHost()
        let autoIdentified = Task {
            try? await withDeadline(after: .seconds(20), clock: ContinuousClock(), onTimeout: {},
                                    timeoutError: { CancellationError() }) {
                for await update in identify.updates where update.peer.description == pySeed1 { return true }
                return false
            }
        }

        let connection = try await host.connect(address)
        XCTAssertEqual(connection.remotePeer.description, pySeed1)

        // Identify: what py says about itself.
        let info = try await identify.identify(connection)
        XCTAssertEqual(info.agentVersion, "py-libp2p/0.8.1")
        XCTAssertEqual(info.protocolVersion, "ipfs/0.1.0")
        XCTAssertEqual(info.publicKey?.peerID, connection.remotePeer)
        XCTAssertTrue(Set(info.protocols).isSuperset(of: [Identify.protocolID, Identify.pushProtocolID,
                                                          Ping.protocolID, echoProtocol]), "\(info.protocols)")
        XCTAssertEqual(info.listenAddrs, [address.withoutTrailingPeerID])
        XCTAssertEqual(info.observedAddr, connection.localAddress, "py reports the address it sees us at")
        XCTAssertNotNil(info.signedPeerRecord, "py always sends a signed peer record (field 8)")
        let automatic = await autoIdentified.value
        XCTAssertEqual(automatic, true, "the .connected event triggered an identify")

        // Ping ×3 on one stream.
        let rtts = try await ping.ping(connection: connection, count: 3)
        XCTAssertEqual(rtts.count, 3)
        XCTAssertTrue(rtts.allSatisfy { $0 > .zero && $0 < .seconds(5) }, "\(rtts)")

        // Echo 16 MiB, byte-identical.
        let stream = try await host.newStream(on: connection, protocols: [echoProtocol])
        let (elapsed, identical) = try await echo(echoSize, over: stream)
        XCTAssertTrue(identical, "the echo differs from what was sent")
        print(String(format: "interop: Swift→py echo %d MiB in %.0f ms: %.1f MB/s each way; ping RTT %@",
                     echoSize >> 20, seconds(elapsed) * 1000, Double(echoSize) / seconds(elapsed) / 1e6,
                     rtts.map { String(format: "%.2f ms", seconds($0) * 1000) }.joined(separator: ", ")))
        try await waitForEchoRecord(listener, bytes: echoSize)
        // py accepts our push (its handler reads it and closes; a malformed one would be logged, not answered).
        try await identify.push(to: connection)
    }

    func testSwiftDialsPyOverIPv6Loopback() async throws {
        let listener = try pyPeer("listener.py", ["--port", "0", "--ip", "::1"])
        let address = try Multiaddr(try await listener.line(0, within: .seconds(60)))
        XCTAssertEqual(address.endpoint?.host.string, "::1")
        let (host, identify, ping) = await swiftHost()
        let connection = try await host.connect(address)
        let info = try await identify.identify(connection)
        XCTAssertEqual(info.listenAddrs, [address.withoutTrailingPeerID])
        // py-libp2p 0.8.1 quirk: its TCP stream drops IPv6 peer names (getpeername gives a
        // 4-tuple, it expects 2), so it sends an empty observedAddr, which we read as none.
        XCTAssertNil(info.observedAddr)
        XCTAssertEqual(info.publicKey?.peerID, connection.remotePeer)
        let rtts = try await ping.ping(connection: connection, count: 1)
        XCTAssertEqual(rtts.count, 1)
        let (_, identical) = try await echo(1 << 20, over: try await host.newStream(on: connection, protocols: [echoProtocol]))
        XCTAssertTrue(identical)
    }

    func testPyDialsSwift() async throws {
        let (host, identify, _) = await swiftHost()
        await host.setHandler(echoProtocol) { stream in
            do {
                while let chunk = try await stream.read(upTo: 1 << 20) { try await stream.write(chunk) }
                try await stream.closeWrite()
            } catch {
                await stream.reset()
            }
        }
        let bound = try await host.listen(try Multiaddr("/ip4/127.0.0.1/tcp/0"))
        // Our identify of the inbound connection, then py's push.
        let fromPy = Task {
            try? await withDeadline(after: .seconds(60), clock: ContinuousClock(), onTimeout: {},
                                    timeoutError: { CancellationError() }) { () -> [IdentifyUpdate] in
                var updates: [IdentifyUpdate] = []
                for await update in identify.updates {
                    updates.append(update)
                    if update.source == .push { break }
                }
                return updates
            }
        }

        let dialer = try pyPeer("dialer.py", [try bound.withPeerID(host.peerID).description,
                                              "--size", "\(echoSize)", "--timeout", "150"])
        let status = try await dialer.exitStatus(within: .seconds(180))
        let line = try await dialer.line(0, within: .seconds(1))
        let result = try JSONDecoder().decode(DialerResult.self, from: Data(line.utf8))
        XCTAssertEqual(status, 0, "dialer.py failed: \(result.error ?? line)\n\(dialer.stderrText.suffix(2000))")
        XCTAssertTrue(result.ok, result.error ?? line)
        XCTAssertEqual(result.peer, host.peerID.description)

        let id = try XCTUnwrap(result.identify, line)
        XCTAssertEqual(id.agent_version, "gigi/0.1.0")
        XCTAssertEqual(id.protocol_version, "ipfs/0.1.0")
        XCTAssertEqual(id.public_key_peer, host.peerID.description)
        XCTAssertEqual(id.listen_addrs, [bound.description])
        XCTAssertEqual(Set(id.protocols), [Identify.protocolID, Identify.pushProtocolID, Ping.protocolID, echoProtocol])
        let observed = try Multiaddr(try XCTUnwrap(id.observed_addr))
        XCTAssertEqual(observed.endpoint?.host.string, "127.0.0.1", "py was told its loopback address")
        XCTAssertNotEqual(observed.endpoint?.port, bound.endpoint?.port, "observed is py's side of the connection")

        XCTAssertEqual(result.ping_rtt_ms?.count, 3)
        XCTAssertEqual(result.echo_bytes, echoSize)
        XCTAssertEqual(result.echo_identical, true)

        XCTAssertEqual(result.pushed, true)
        let updates = await fromPy.value ?? []
        let asked = updates.first { $0.source == .identify }
        XCTAssertEqual(asked?.info.agentVersion, "py-libp2p/0.8.1", "we identified the inbound py connection")
        XCTAssertEqual(asked?.info.listenAddrs, [], "the py dialer listens nowhere")
        let pushed = try XCTUnwrap(updates.first { $0.source == .push }, "py's identify push did not arrive")
        XCTAssertEqual(pushed.peer, asked?.peer, "the push came from the peer we identified")
        XCTAssertEqual(pushed.info.agentVersion, "py-libp2p/0.8.1")
        XCTAssertEqual(pushed.info.publicKey?.peerID, pushed.peer)
        let stored = await identify.info(for: pushed.peer)
        XCTAssertEqual(stored, pushed.info)

        if let ms = result.echo_ms, let rtts = result.ping_rtt_ms {
            print(String(format: "interop: py→Swift echo %d MiB in %.0f ms: %.1f MB/s each way; py ping RTT %@ ms; connect %.0f ms",
                         echoSize >> 20, ms, Double(echoSize) / (ms / 1000) / 1e6,
                         rtts.map { String(format: "%.2f", $0) }.joined(separator: ", "), result.connect_ms ?? -1))
        }
    }

    /// Writes `size` random bytes (64 KiB writes) while reading the echo; returns the time and whether it matched.
    private func echo(_ size: Int, over stream: P2PStream) async throws -> (Duration, Bool) {
        var generator = SystemRandomNumberGenerator()
        let data = (0..<size / 8).flatMap { _ in withUnsafeBytes(of: generator.next() as UInt64) { Array($0) } }
        let clock = ContinuousClock()
        let start = clock.now
        let received = try await withThrowingTaskGroup(of: [UInt8]?.self) { group in
            group.addTask {
                var offset = 0
                while offset < data.count {
                    let end = min(offset + 65536, data.count)
                    try await stream.write(ByteBuffer(bytes: data[offset..<end]))
                    offset = end
                }
                try await stream.closeWrite()
                return nil
            }
            group.addTask {
                var back: [UInt8] = []
                back.reserveCapacity(size)
                while let chunk = try await stream.read(upTo: 1 << 20) {
                    back += chunk.readableBytesView
                    guard back.count <= size else { break }
                }
                return back
            }
            var result: [UInt8] = []
            for try await value in group { if let value { result = value } }
            return result
        }
        return (start.duration(to: clock.now), received == data)
    }

    private func waitForEchoRecord(_ listener: PyPeer, bytes: Int) async throws {
        for index in 1..<10 {
            let line = try await listener.line(index, within: .seconds(10))
            if line.contains("\"event\": \"echo\"") {
                XCTAssertTrue(line.contains("\"bytes\": \(bytes)"), line)
                return
            }
        }
        XCTFail("listener.py reported no finished echo: \(listener.lines)")
    }
}

private func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

/// dialer.py's JSON line.
private struct DialerResult: Decodable {
    struct Identify: Decodable {
        let agent_version: String?
        let protocol_version: String?
        let protocols: [String]
        let listen_addrs: [String]
        let observed_addr: String?
        let public_key_peer: String
    }

    let ok: Bool
    let error: String?
    let peer: String?
    let connect_ms: Double?
    let identify: Identify?
    let ping_rtt_ms: [Double]?
    let echo_bytes: Int?
    let echo_identical: Bool?
    let echo_ms: Double?
    let pushed: Bool?
}
