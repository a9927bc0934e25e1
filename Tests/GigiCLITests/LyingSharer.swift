// A test double for a malicious sharer: a real libp2p host on loopback that
// speaks `/gigi/share/1.0.0` (a correct CPace run, so the fetcher accepts it)
// and `/gigi/chunks/1.0.0`, but sends whatever manifest bytes and chunk data
// the test tells it to. The real `gigi fetch` binary is pointed at it.

import Foundation
import GigiCBOR
import GigiCrypto
import GigiFiles
import NIOCore
import P2PCore
import P2PHost

final class LyingSharer: @unchecked Sendable {
    /// What to send after the PAKE: a manifest (with its correct id), or raw bytes
    /// in place of the whole framed accept message.
    enum Offer: Sendable {
        case manifest([UInt8])
        case rawAcceptFrame([UInt8])
    }

    /// Data to send for chunk `n` when it is asked for the `attempt`-th time (0-based); nil: "not found".
    typealias ChunkSource = @Sendable (_ n: Int, _ attempt: Int) -> [UInt8]?

    let host: P2PHost
    let code = ShareCode.generate()
    let offer: Offer
    let chunkSource: ChunkSource
    private(set) var address = ""
    private let lock = NSLock()
    private var asked: [Int: Int] = [:]
    private var sent = 0

    private init(offer: Offer, chunks: @escaping ChunkSource) {
        host = P2PHost(identity: P2PPrivateKey())
        self.offer = offer
        self.chunkSource = chunks
    }

    static func start(offer: Offer, chunks: @escaping ChunkSource = { _, _ in nil }) async throws -> LyingSharer {
        let s = LyingSharer(offer: offer, chunks: chunks)
        await s.host.setHandler(TransferProtocolID.share) { stream in await s.serveShare(stream) }
        await s.host.setHandler(TransferProtocolID.chunks) { stream in await s.serveChunks(stream) }
        let bound = try await s.host.listen(Multiaddr("/ip4/127.0.0.1/tcp/0"))
        s.address = try bound.withPeerID(s.host.peerID).description
        return s
    }

    func stop() async { await host.shutdown() }

    /// Chunk answers sent with data.
    var chunksSent: Int { lock.withLock { sent } }

    private func serveShare(_ p2p: P2PStream) async {
        let stream = StreamAdapter(p2p)
        let reader = StreamReader(stream)
        do {
            guard let h = try await reader.readMessage(maxSize: ShareWire.maxHandshakeSize),
                  let hello = try ShareWire.decode(h).pakeMessage else { throw SharePAKEError.protocolViolation("hello") }
            var pake = SharePAKESharer(secret: code.secret,
                                       context: SharePAKEContext(fetcherPeer: p2p.remotePeer.bytes, sharerPeer: host.peerID.bytes,
                                                                 selector: Array(code.nameplate.utf8)))
            try await stream.writeMessage(ShareWire(try pake.receiveHello(hello)).encoded())
            guard let c = try await reader.readMessage(maxSize: ShareWire.maxHandshakeSize),
                  let confirm = try ShareWire.decode(c).pakeMessage else { throw SharePAKEError.protocolViolation("confirm") }
            _ = try pake.receiveConfirm(confirm)
            switch offer {
            case .manifest(let bytes):
                var accept = ShareWire(kind: .accept)
                accept.manifestID = Manifest.id(of: bytes).bytes
                accept.manifest = bytes
                try await stream.writeMessage(accept.encoded())
            case .rawAcceptFrame(let raw):
                try await stream.write(raw)
            }
            try await stream.closeWrite()
        } catch {
            await stream.reset()
        }
    }

    private func serveChunks(_ p2p: P2PStream) async {
        let stream = StreamAdapter(p2p)
        let reader = StreamReader(stream)
        do {
            guard try await reader.readMessage(maxSize: 1024) != nil else { return }
            try await stream.writeMessage(CBOREncoder().encode(ChunkOpenReply(ok: true)))
            while let r = try await reader.readExactly(4) {
                let n = UInt32(r[0]) << 24 | UInt32(r[1]) << 16 | UInt32(r[2]) << 8 | UInt32(r[3])
                if n == 0xFFFF_FFFF { break }   // goodbye
                let attempt = lock.withLock { () -> Int in asked[Int(n), default: 0] += 1; return asked[Int(n)]! - 1 }
                let data = chunkSource(Int(n), attempt)
                let header = Self.be32(n) + [data == nil ? 1 : 0] + Self.be32(UInt32(data?.count ?? 0))
                try await stream.write(header + (data ?? []))
                if data != nil { lock.withLock { sent += 1 } }
            }
            try await stream.closeWrite()
        } catch {
            await stream.reset()
        }
    }

    static func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)] }
}

/// A libp2p stream seen as GigiFiles' `TransferStream`.
private final class StreamAdapter: TransferStream, @unchecked Sendable {
    let p2p: P2PStream
    init(_ p2p: P2PStream) { self.p2p = p2p }
    func read(upTo maxBytes: Int) async throws -> ByteBuffer? { try await p2p.read(upTo: maxBytes) }
    func readExactly(_ n: Int) async throws -> ByteBuffer {
        do { return try await p2p.readExactly(n) } catch P2PStreamError.unexpectedEOF {
            throw TransferStreamError.unexpectedEOF
        }
    }
    func write(_ buffer: ByteBuffer) async throws { try await p2p.write(buffer) }
    func closeWrite() async throws { try await p2p.closeWrite() }
    func reset() async { await p2p.reset() }
}
