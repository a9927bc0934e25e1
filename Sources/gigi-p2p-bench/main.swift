// Single-stream throughput of P2PHost over loopback (TCP + Noise + Yamux), Swift to Swift,
// both hosts in this process, each on its own event loop thread. Not a test; see
// scripts/bench-net, which builds this in release mode and records peak RSS.
//
//   gigi-p2p-bench [--gib N]     (default 2)

#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import NIOPosix
import P2PCore
import P2PHost

let sinkProtocol = "/gigi/bench/sink/1.0.0"

func parseGiB() -> Double {
    var args = CommandLine.arguments.dropFirst()
    var gib = 2.0
    while let arg = args.popFirst() {
        switch arg {
        case "--gib":
            guard let value = args.popFirst().flatMap(Double.init), value > 0 else {
                warn("--gib needs a positive number")
                exit(64)
            }
            gib = value
        case "-h", "--help":
            print("usage: gigi-p2p-bench [--gib N]")
            exit(0)
        default:
            warn("unknown argument \(arg)")
            exit(64)
        }
    }
    return gib
}

func warn(_ message: String) {
    var text = "gigi-p2p-bench: " + message + "\n"
    _ = text.withUTF8 { write(2, $0.baseAddress, $0.count) }
}

/// Resident set size now, in KiB (/proc/self/statm: size, resident, … in pages).
func currentRSSKiB() -> Int {
    let fd = open("/proc/self/statm", O_RDONLY)
    guard fd >= 0 else { return -1 }
    defer { close(fd) }
    var bytes = [UInt8](repeating: 0, count: 128)
    let n = read(fd, &bytes, bytes.count)
    guard n > 0 else { return -1 }
    let fields = String(decoding: bytes[..<n], as: UTF8.self).split(separator: " ")
    guard fields.count > 1, let pages = Int(fields[1]) else { return -1 }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE))) / 1024
}

let gib = parseGiB()
let total = Int(gib * Double(1 << 30))
let chunkSize = 1 << 20

let serverGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)
let clientGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)
let server = P2PHost(identity: P2PPrivateKey(), group: serverGroup)
let client = P2PHost(identity: P2PPrivateKey(), group: clientGroup)

await server.setHandler(sinkProtocol) { stream in
    var received: UInt64 = 0
    do {
        while let chunk = try await stream.read(upTo: 4 << 20) { received += UInt64(chunk.readableBytes) }
        var answer = ByteBuffer()
        answer.writeInteger(received)
        try await stream.write(answer)
        try await stream.closeWrite()
    } catch {
        warn("sink failed: \(error)")
        await stream.reset()
    }
}

do {
    let bound = try await server.listen(try Multiaddr("/ip4/127.0.0.1/tcp/0"))
    let connection = try await client.connect(try bound.withPeerID(server.peerID))
    let stream = try await client.newStream(on: connection, protocols: [sinkProtocol])
    let chunk = ByteBuffer(repeating: 0xA5, count: chunkSize)
    print("gigi-p2p-bench: \(gib) GiB over one stream, TCP+Noise+Yamux on 127.0.0.1, \(System.coreCount) cores")
    let rssStart = currentRSSKiB()
    var rssSamples: [Int] = []
    let clock = ContinuousClock()
    let start = clock.now
    var sent = 0
    while sent < total {
        var piece = chunk
        if total - sent < chunkSize { piece = chunk.getSlice(at: 0, length: total - sent)! }
        try await stream.write(piece)
        sent += piece.readableBytes
        if sent % (total / 8 / chunkSize * chunkSize + chunkSize) < chunkSize { rssSamples.append(currentRSSKiB()) }
    }
    try await stream.closeWrite()
    guard let answer = try await stream.readExactly(8).getInteger(at: 0, as: UInt64.self) else { exit(70) }
    let elapsed = clock.now - start
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    guard answer == UInt64(total) else {
        warn("the sink received \(answer) of \(total) bytes")
        exit(70)
    }
    let mbps = Double(total) / seconds / 1e6
    let mibps = Double(total) / seconds / Double(1 << 20)
    print("throughput: \(Int(mbps.rounded())) MB/s (\(Int(mibps.rounded())) MiB/s), \(Int((seconds * 1000).rounded())) ms for \(total) bytes")
    print("rss: start \(rssStart / 1024) MiB, during transfer \(rssSamples.map { "\($0 / 1024)" }.joined(separator: " ")) MiB, end \(currentRSSKiB() / 1024) MiB")
    if let rtt = await connection.roundTripTime() { print("yamux rtt: \(rtt.nanoseconds / 1000) µs") }
} catch {
    warn("\(error)")
    exit(69)
}
await client.shutdown()
await server.shutdown()
try? await clientGroup.shutdownGracefully()
try? await serverGroup.shutdownGracefully()
