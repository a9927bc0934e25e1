// Byte order on one stream under flow control, with requests pipelined against large answers.

import NIOCore
import P2PCore
@testable import P2PHost
import XCTest

/// Regression: a window update that released queued DATA and made the stream writable
/// used to let the next write's frames overtake the released ones (bytes reordered).
/// The pattern is gigi's chunk protocol: pipelined 4-byte requests, 256 KiB answers.
final class P2PHostOrderingTests: XCTestCase {
    func testPipelinedRequestResponseStaysAligned() async throws {
        let (server, addr) = try await makeListeningHost(echo: false)
        let size = 262_144
        await server.setHandler("/pat/1") { stream in
            do {
                var pending: [UInt8] = []
                while let req = try await stream.read(upTo: 1 << 20) {
                    pending += req.readableBytesView
                    while pending.count >= 4 {
                        let n = UInt32(pending[0]) << 24 | UInt32(pending[1]) << 16 | UInt32(pending[2]) << 8 | UInt32(pending[3])
                        pending.removeFirst(4)
                        var b = ByteBuffer()
                        b.writeInteger(n); b.writeInteger(UInt8(0)); b.writeInteger(UInt32(size))
                        b.writeRepeatingByte(UInt8(truncatingIfNeeded: n), count: size)
                        try await stream.write(Array(b.readableBytesView))
                    }
                }
                try await stream.closeWrite()
            } catch { await stream.reset() }
        }
        let client = P2PHost(identity: P2PPrivateKey())
        let conn = try await client.connect(addr)
        let s = try await client.newStream(on: conn, protocols: ["/pat/1"])
        var buf: [UInt8] = []
        var next: UInt32 = 0, expect: UInt32 = 0
        let total: UInt32 = 400
        while expect < total {
            while next < total && next - expect < 32 {
                try await s.write([UInt8(next >> 24), UInt8(truncatingIfNeeded: next >> 16), UInt8(truncatingIfNeeded: next >> 8), UInt8(truncatingIfNeeded: next)])
                next += 1
            }
            while buf.count < 9 + size {
                guard let p = try await s.read(upTo: 1 << 20) else { XCTFail("eof"); return }
                buf += p.readableBytesView
            }
            let n = UInt32(buf[0]) << 24 | UInt32(buf[1]) << 16 | UInt32(buf[2]) << 8 | UInt32(buf[3])
            XCTAssertEqual(n, expect, "header")
            if n != expect { return }
            XCTAssertEqual(buf[9], UInt8(truncatingIfNeeded: n)); XCTAssertEqual(buf[9 + size - 1], UInt8(truncatingIfNeeded: n))
            buf.removeFirst(9 + size)
            expect += 1
        }
        await client.shutdown(); await server.shutdown()
    }
}
