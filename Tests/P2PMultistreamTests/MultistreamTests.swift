import NIOCore
import XCTest
import P2PCore
@testable import P2PMultistream

/// Runs a dialer against a listener through two in-memory pipes, delivering
/// at most `chunk` bytes per step (nil: everything at once).
struct MultistreamPump {
    var dialer: MultistreamDialer
    var listener: MultistreamListener
    var toListener = ByteBuffer()
    var toDialer = ByteBuffer()
    var dialerInbound = ByteBuffer()
    var listenerInbound = ByteBuffer()
    var dialerActions: [MultistreamAction] = []
    var listenerActions: [MultistreamAction] = []

    init(dialer: MultistreamDialer, listener: MultistreamListener) {
        self.dialer = dialer
        self.listener = listener
    }

    static func move(_ count: Int?, from source: inout ByteBuffer, to sink: inout ByteBuffer) -> Bool {
        let n = min(count ?? source.readableBytes, source.readableBytes)
        guard n > 0 else { return false }
        var slice = source.readSlice(length: n)!
        sink.writeBuffer(&slice)
        return true
    }

    mutating func run(chunk: Int?) throws {
        var out = dialer.start()
        toListener.writeBuffer(&out)
        out = listener.start()
        toDialer.writeBuffer(&out)
        var progress = true
        while progress {
            progress = false
            if !listener.isDone, Self.move(chunk, from: &toListener, to: &listenerInbound) {
                progress = true
                for action in try listener.process(&listenerInbound) {
                    if case .send(var bytes) = action { toDialer.writeBuffer(&bytes) } else { listenerActions.append(action) }
                }
            }
            if !dialer.isDone, Self.move(chunk, from: &toDialer, to: &dialerInbound) {
                progress = true
                for action in try dialer.process(&dialerInbound) {
                    if case .send(var bytes) = action { toListener.writeBuffer(&bytes) } else { dialerActions.append(action) }
                }
            }
        }
    }
}

final class MultistreamTests: XCTestCase {
    func testWireFormatMatchesSpec() {
        XCTAssertEqual(Array(Multistream.message("na").readableBytesView), [0x03, 0x6e, 0x61, 0x0a])
        XCTAssertEqual(Array(Multistream.message("ls").readableBytesView), [0x03, 0x6c, 0x73, 0x0a])
        var d = MultistreamDialer(protocols: ["/noise"])
        let first = d.start()
        XCTAssertEqual(Array(first.readableBytesView),
                       [0x13] + Array("/multistream/1.0.0\n".utf8) + [0x07] + Array("/noise\n".utf8))
    }

    func testSelectsFirstSupportedWholeAndByteByByte() throws {
        for chunk in [nil, 1, 2, 7] as [Int?] {
            var pump = MultistreamPump(dialer: MultistreamDialer(protocols: ["/tls/1.0.0", "/noise"]),
                                       listener: MultistreamListener(protocols: ["/noise", "/yamux/1.0.0"]))
            try pump.run(chunk: chunk)
            XCTAssertEqual(pump.dialerActions, [.selected("/noise")], "chunk \(String(describing: chunk))")
            XCTAssertEqual(pump.listenerActions, [.selected("/noise")])
            XCTAssertTrue(pump.dialer.isDone && pump.listener.isDone)
            XCTAssertEqual(pump.toDialer.readableBytes + pump.toListener.readableBytes, 0)
        }
    }

    func testNoCommonProtocolFailsTheDialer() throws {
        var pump = MultistreamPump(dialer: MultistreamDialer(protocols: ["/a", "/b"]),
                                   listener: MultistreamListener(protocols: ["/c"]))
        XCTAssertThrowsError(try pump.run(chunk: 1)) { error in
            XCTAssertEqual(error as? MultistreamError, .noProtocolAgreed(tried: ["/a", "/b"]))
        }
    }

    func testListingWholeAndByteByByte() throws {
        for chunk in [nil, 1] as [Int?] {
            var pump = MultistreamPump(dialer: .listing(),
                                       listener: MultistreamListener(protocols: ["/ipfs/ping/1.0.0", "/echo/1.0.0"]))
            try pump.run(chunk: chunk)
            XCTAssertEqual(pump.dialerActions, [.listed(["/echo/1.0.0", "/ipfs/ping/1.0.0"])])
            XCTAssertTrue(pump.listenerActions.isEmpty)
        }
        // The exact ls answer layout from the spec: outer length, nested messages, final newline.
        var listener = MultistreamListener(protocols: ["/a"])
        _ = listener.start()
        var input = Multistream.message(Multistream.protocolID, "ls")
        let actions = try listener.process(&input)
        XCTAssertEqual(actions, [.send(ByteBuffer(bytes: [0x05, 0x03] + Array("/a\n\n".utf8)))])
    }

    func testEmptyListAndListingRefused() throws {
        var pump = MultistreamPump(dialer: .listing(), listener: MultistreamListener(protocols: []))
        try pump.run(chunk: nil)
        XCTAssertEqual(pump.dialerActions, [.listed([])])

        var dialer = MultistreamDialer.listing()
        _ = dialer.start()
        var input = Multistream.message(Multistream.protocolID, "na")
        XCTAssertThrowsError(try dialer.process(&input)) { XCTAssertEqual($0 as? MultistreamError, .listingNotSupported) }
    }

    func testPipelinedDataAfterSelectionStaysInTheBuffer() throws {
        var listener = MultistreamListener(protocols: ["/noise"])
        _ = listener.start()
        var input = Multistream.message(Multistream.protocolID, "/noise")
        input.writeBytes([0x00, 0x20, 0xAA])          // the start of a Noise message
        let actions = try listener.process(&input)
        XCTAssertEqual(actions, [.send(Multistream.message("/noise")), .selected("/noise")])
        XCTAssertEqual(Array(input.readableBytesView), [0x00, 0x20, 0xAA])

        var dialer = MultistreamDialer(protocols: ["/noise"])
        _ = dialer.start()
        var answer = Multistream.message(Multistream.protocolID, "/noise")
        answer.writeBytes([1, 2, 3])
        XCTAssertEqual(try dialer.process(&answer), [.selected("/noise")])
        XCTAssertEqual(Array(answer.readableBytesView), [1, 2, 3])
    }

    func testGarbageBeforeHeaderIsRejected() {
        var listener = MultistreamListener(protocols: ["/noise"])
        _ = listener.start()
        // 'G' announces 71 bytes: the listener waits for them (a handshake
        // timeout in the host covers a peer that stops here), then finds no newline.
        var http = ByteBuffer(string: "GET / HTTP/1.1\r\n")
        XCTAssertEqual(try listener.process(&http), [])
        http.writeString("Host: example.com\r\nUser-Agent: curl/8.0\r\nAccept: */*\r\n\r\n")
        XCTAssertThrowsError(try listener.process(&http)) { error in
            guard case .malformed? = error as? MultistreamError else { return XCTFail("\(error)") }
        }

        var wrongHeader = Multistream.message("/multistream/2.0.0")
        listener = MultistreamListener(protocols: ["/noise"])
        _ = listener.start()
        XCTAssertThrowsError(try listener.process(&wrongHeader)) {
            XCTAssertEqual($0 as? MultistreamError, .unexpectedHeader("/multistream/2.0.0"))
        }

        var dialer = MultistreamDialer(protocols: ["/noise"])
        _ = dialer.start()
        var junk = ByteBuffer(bytes: [0xff, 0xff, 0xff, 0x01])
        XCTAssertThrowsError(try dialer.process(&junk)) {
            XCTAssertEqual($0 as? MultistreamError, .messageTooLong(maxLength: Multistream.maxMessageLength))
        }
    }

    func testOversizedLengthPrefixIsRejectedBeforeTheBodyArrives() {
        var listener = MultistreamListener(protocols: ["/noise"])
        _ = listener.start()
        var input = ByteBuffer()
        Varint.write(UInt64(Multistream.maxMessageLength + 1), to: &input)
        XCTAssertThrowsError(try listener.process(&input)) {
            XCTAssertEqual($0 as? MultistreamError, .messageTooLong(maxLength: Multistream.maxMessageLength))
        }
        // Exactly at the limit is fine (incomplete → waits).
        listener = MultistreamListener(protocols: ["/noise"])
        _ = listener.start()
        input = ByteBuffer()
        Varint.write(UInt64(Multistream.maxMessageLength), to: &input)
        XCTAssertEqual(try listener.process(&input), [])
    }

    func testMalformedFraming() {
        let cases: [[UInt8]] = [
            [0x00],                                        // empty message
            [0x03] + Array("abc".utf8),                    // no newline
            [0x03, 0xff, 0xfe, 0x0a],                      // not UTF-8
            [0x04] + Array("a\nb\n".utf8),                 // two lines in one message
            [0x80, 0x00],                                  // non-minimal varint
        ]
        for bytes in cases {
            var listener = MultistreamListener(protocols: ["/noise"])
            _ = listener.start()
            var input = ByteBuffer(bytes: bytes)
            XCTAssertThrowsError(try listener.process(&input), "\(bytes)")
        }
    }

    func testListenerGivesUpAfterTooManyRefusals() throws {
        var listener = MultistreamListener(protocols: ["/noise"])
        _ = listener.start()
        var input = Multistream.message(Multistream.protocolID)
        for i in 0..<Multistream.maxProposals { Multistream.write("/nope/\(i)", to: &input) }
        let actions = try listener.process(&input)
        XCTAssertEqual(actions.count, 1)   // one coalesced packet of 'na's
        Multistream.write("/one-too-many", to: &input)
        XCTAssertThrowsError(try listener.process(&input)) {
            XCTAssertEqual($0 as? MultistreamError, .tooManyProposals)
        }
    }

    func testDialerRejectsAnAnswerItDidNotPropose() {
        var dialer = MultistreamDialer(protocols: ["/noise"])
        _ = dialer.start()
        var input = Multistream.message(Multistream.protocolID, "/tls/1.0.0")
        XCTAssertThrowsError(try dialer.process(&input)) {
            XCTAssertEqual($0 as? MultistreamError, .unexpectedAnswer(proposed: "/noise", answer: "/tls/1.0.0"))
        }
    }

    func testErrorsAreOneSentenceForUsers() {
        let errors: [MultistreamError] = [.unexpectedHeader("x"), .messageTooLong(maxLength: 1024), .malformed("m"),
                                          .noProtocolAgreed(tried: ["/a"]), .unexpectedAnswer(proposed: "/a", answer: "/b"),
                                          .tooManyProposals, .listingNotSupported, .finished]
        for error in errors {
            XCTAssertTrue(error.message.hasSuffix("."), error.message)
            XCTAssertNotEqual(error.exitCode, .ok)
        }
    }
}
