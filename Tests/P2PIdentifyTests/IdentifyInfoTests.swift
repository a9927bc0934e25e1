import GigiBase
import GigiCrypto
import P2PCore
import XCTest
@testable import P2PIdentify

func seededKey(_ first: UInt8) throws -> P2PPrivateKey {
    try P2PPrivateKey(seed: SecureBytes([first] + [UInt8](repeating: 0, count: 31)))
}

/// One length-delimited protobuf field (wire type 2).
func pbField(_ number: UInt64, _ bytes: [UInt8]) -> [UInt8] {
    Varint.encode(number << 3 | 2) + Varint.encode(UInt64(bytes.count)) + bytes
}

final class IdentifyInfoTests: XCTestCase {
    func sample() throws -> IdentifyInfo {
        IdentifyInfo(protocolVersion: Identify.protocolVersion, agentVersion: "gigi/0.1.0",
                     publicKey: try seededKey(1).publicKey,
                     listenAddrs: [try Multiaddr("/ip4/127.0.0.1/tcp/4001"), try Multiaddr("/ip6/::1/tcp/4001")],
                     observedAddr: try Multiaddr("/ip4/127.0.0.1/tcp/52000"),
                     protocols: [Identify.protocolID, Identify.pushProtocolID, "/ipfs/ping/1.0.0"])
    }

    func testRoundTripThroughFramedAndBareForms() throws {
        let info = try sample()
        XCTAssertEqual(try IdentifyInfo(protobufEncoded: info.protobufEncoded()), info)
        XCTAssertEqual(try IdentifyInfo(streamBytes: info.framed()), info)
        // Older implementations write the bare message and close.
        XCTAssertEqual(try IdentifyInfo(streamBytes: info.protobufEncoded()), info)
        let framed = info.framed()
        XCTAssertEqual(Array(framed.dropFirst(Varint.encodedLength(UInt64(framed.count - 2)))), info.protobufEncoded())
    }

    func testEncodingUsesSpecFieldNumbers() throws {
        let key = try seededKey(1).publicKey
        let info = IdentifyInfo(protocolVersion: "ipfs/0.1.0", agentVersion: "a", publicKey: key,
                                listenAddrs: [try Multiaddr("/ip4/1.2.3.4/tcp/5")], protocols: ["/x"])
        let addr = try Multiaddr("/ip4/1.2.3.4/tcp/5").bytes
        // swift-protobuf writes fields in field-number order.
        let expected = pbField(1, key.protobufEncoded) + pbField(2, addr) + pbField(3, Array("/x".utf8))
            + pbField(5, Array("ipfs/0.1.0".utf8)) + pbField(6, Array("a".utf8))
        XCTAssertEqual(info.protobufEncoded(), expected)
    }

    func testListenAddrsAreSentWithoutPeerID() throws {
        let key = try seededKey(2)
        let withID = try Multiaddr("/ip4/127.0.0.1/tcp/4001").withPeerID(key.peerID)
        let info = IdentifyInfo(listenAddrs: [withID])
        let back = try IdentifyInfo(protobufEncoded: info.protobufEncoded())
        XCTAssertEqual(back.listenAddrs, [try Multiaddr("/ip4/127.0.0.1/tcp/4001")])
    }

    func testUnknownFieldsAndSignedRecordAreTolerated() throws {
        let key = try seededKey(3).publicKey
        let envelope: [UInt8] = [0x0a, 0x03, 1, 2, 3]
        let bytes = pbField(1, key.protobufEncoded) + pbField(8, envelope) + pbField(99, [9, 9, 9])
            + pbField(6, Array("py-libp2p/0.8.1".utf8))
        let info = try IdentifyInfo(streamBytes: Varint.encode(UInt64(bytes.count)) + bytes)
        XCTAssertEqual(info.publicKey, key)
        XCTAssertEqual(info.agentVersion, "py-libp2p/0.8.1")
        XCTAssertEqual(info.signedPeerRecord, envelope)
        XCTAssertNil(info.protocolVersion)
        XCTAssertEqual(info.protocols, [])
    }

    func testUnparseableAddressesAreSkippedNotFatal() throws {
        let good = try Multiaddr("/ip4/10.0.0.1/tcp/1").bytes
        let unknownProtocol = Varint.encode(0x01d1) + [0]  // a code P2PCore does not know
        let bytes = pbField(2, unknownProtocol) + pbField(2, good) + pbField(2, good) + pbField(4, [0xff, 0xff])
        let info = try IdentifyInfo(protobufEncoded: bytes)
        XCTAssertEqual(info.listenAddrs, [try Multiaddr("/ip4/10.0.0.1/tcp/1")], "bad one skipped, duplicate dropped")
        XCTAssertNil(info.observedAddr)
    }

    func testSplitFramesAreMerged() throws {
        // go-libp2p sends the signed record in a second frame when the message is large.
        let info = try sample()
        let first = info.protobufEncoded()
        let second = pbField(8, [1, 2, 3, 4])
        let stream = Varint.encode(UInt64(first.count)) + first + Varint.encode(UInt64(second.count)) + second
        var expected = info
        expected.signedPeerRecord = [1, 2, 3, 4]
        XCTAssertEqual(try IdentifyInfo(streamBytes: stream), expected)
    }

    func testEmptyMessageRoundTrips() throws {
        // Found by the mutation test: a message with no fields frames as the single byte 0x00.
        XCTAssertEqual(IdentifyInfo().framed(), [0x00])
        XCTAssertEqual(try IdentifyInfo(streamBytes: [0x00]), IdentifyInfo())
        XCTAssertEqual(try IdentifyInfo(streamBytes: Hex.decode("116be239ba873fd8cfb9d5bb02f309fca156e23035")!), IdentifyInfo(),
                       "a bare message of unknown fields only")
    }

    func testLimits() throws {
        XCTAssertThrowsError(try IdentifyInfo(streamBytes: [])) { XCTAssertEqual($0 as? IdentifyError, .noMessage) }
        let huge = pbField(6, [UInt8](repeating: 0x41, count: Identify.maxMessageSize))
        XCTAssertThrowsError(try IdentifyInfo(protobufEncoded: huge)) {
            XCTAssertEqual($0 as? IdentifyError, .messageTooLarge(limit: Identify.maxMessageSize))
        }
        XCTAssertThrowsError(try IdentifyInfo(streamBytes: Varint.encode(UInt64(huge.count)) + huge)) {
            XCTAssertEqual($0 as? IdentifyError, .messageTooLarge(limit: Identify.maxMessageSize))
        }
        // Too many frames is not a frame sequence, and not a bare message either.
        let frame = Varint.encode(2) + pbField(3, [])
        XCTAssertNil(IdentifyInfo.splitFrames(Array([[UInt8]](repeating: frame, count: Identify.maxFrames + 1).joined())))
        XCTAssertEqual(IdentifyInfo.splitFrames(Array([[UInt8]](repeating: frame, count: Identify.maxFrames).joined()))?.count,
                       Identify.maxFrames)

        // Long strings are cut, counts are capped, oversized protocol ids dropped.
        var fields = pbField(6, [UInt8](repeating: 0x61, count: 1000))
        for i in 0..<(Identify.maxProtocols + 10) { fields += pbField(3, Array("/p/\(i)".utf8)) }
        fields += pbField(3, [UInt8](repeating: 0x62, count: Identify.maxProtocolIDLength + 1))
        let capped = try IdentifyInfo(protobufEncoded: fields)
        XCTAssertEqual(capped.agentVersion?.utf8.count, Identify.maxVersionLength)
        XCTAssertEqual(capped.protocols.count, Identify.maxProtocols)
        XCTAssertEqual(capped.protocols.first, "/p/0")
    }

    func testMalformedInput() throws {
        XCTAssertThrowsError(try IdentifyInfo(streamBytes: [0x0a, 0x7f, 0x01])) {
            guard case .malformed = $0 as? IdentifyError else { return XCTFail("\($0)") }
        }
        // A key that is not a libp2p key message.
        XCTAssertThrowsError(try IdentifyInfo(protobufEncoded: pbField(1, [1, 2, 3]))) {
            guard case .malformed = $0 as? IdentifyError else { return XCTFail("\($0)") }
        }
    }

    func testValidateChecksTheKeyAgainstTheConnectionPeer() throws {
        let info = try sample()
        XCTAssertNoThrow(try info.validate(for: try seededKey(1).peerID))
        let other = try seededKey(2).peerID
        XCTAssertThrowsError(try info.validate(for: other)) {
            XCTAssertEqual($0 as? IdentifyError, .peerMismatch(expected: other, actual: try! seededKey(1).peerID))
        }
        XCTAssertNoThrow(try IdentifyInfo(agentVersion: "x").validate(for: other), "a push may omit the key")
    }

    func testPushMergeReplacesOnlyFieldsItCarries() throws {
        let info = try sample()
        let newAddr = try Multiaddr("/ip4/127.0.0.1/tcp/5001")
        let merged = info.merging(push: IdentifyInfo(listenAddrs: [newAddr]))
        XCTAssertEqual(merged.listenAddrs, [newAddr])
        XCTAssertEqual(merged.protocols, info.protocols)
        XCTAssertEqual(merged.agentVersion, info.agentVersion)
        XCTAssertEqual(merged.publicKey, info.publicKey)

        let merged2 = merged.merging(push: IdentifyInfo(agentVersion: "gigi/0.2.0", protocols: ["/only"]))
        XCTAssertEqual(merged2.agentVersion, "gigi/0.2.0")
        XCTAssertEqual(merged2.protocols, ["/only"])
        XCTAssertEqual(merged2.listenAddrs, [newAddr])
        XCTAssertEqual(info.merging(push: IdentifyInfo()), info)
    }
}

/// A framed identify message written by py-libp2p 0.8.1 (seed-1 key, listening
/// on 127.0.0.1:36137, observed 127.0.0.1:55555), with its signed peer record.
final class IdentifyPyVectorTests: XCTestCase {
    func testParsesPyLibp2pMessage() throws {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "py-libp2p-0.8.1-identify", withExtension: "hex",
                                                  subdirectory: "Vectors"))
        let hex = try String(contentsOf: url, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let bytes = try XCTUnwrap(Hex.decode(hex))
        let info = try IdentifyInfo(streamBytes: bytes)
        XCTAssertEqual(info.agentVersion, "py-libp2p/0.8.1")
        XCTAssertEqual(info.protocolVersion, "ipfs/0.1.0")
        XCTAssertEqual(info.publicKey?.peerID.description, "12D3KooWPjceQrSwdWXPyLLeABRXmuqt69Rg3sBYbU1Nft9HyQ6X")
        XCTAssertEqual(info.listenAddrs, [try Multiaddr("/ip4/127.0.0.1/tcp/36137")])
        XCTAssertEqual(info.observedAddr, try Multiaddr("/ip4/127.0.0.1/tcp/55555"))
        XCTAssertEqual(info.protocols, ["/ipfs/id/1.0.0", "/ipfs/id/push/1.0.0", "/ipfs/ping/1.0.0"])
        XCTAssertGreaterThan(info.signedPeerRecord?.count ?? 0, 100)
        XCTAssertNoThrow(try info.validate(for: try seededKey(1).peerID))
        // Re-encoding keeps every field py sent (ours is the same message, re-serialised).
        XCTAssertEqual(try IdentifyInfo(streamBytes: info.framed()), info)
    }
}

/// Every single-byte mutation and every truncation of the py message: parsing
/// must throw or succeed, never trap, and whatever parses must re-encode and
/// parse to the same value.
final class IdentifyInfoMutationTests: XCTestCase {
    func testMutatedMessagesNeverTrap() throws {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "py-libp2p-0.8.1-identify", withExtension: "hex",
                                                  subdirectory: "Vectors"))
        let hex = try String(contentsOf: url, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let original = try XCTUnwrap(Hex.decode(hex))
        var inputs: [[UInt8]] = (0..<original.count).map { Array(original.prefix($0)) }
        for index in original.indices {
            for replacement: UInt8 in [0x00, 0x7f, 0x80, 0xff, original[index] ^ 0x01] {
                var changed = original
                changed[index] = replacement
                inputs.append(changed)
            }
            var removed = original
            removed.remove(at: index)
            inputs.append(removed)
            var inserted = original
            inserted.insert(0x80, at: index)
            inputs.append(inserted)
        }
        var parsed = 0
        for (number, bytes) in inputs.enumerated() {
            guard let info = try? IdentifyInfo(streamBytes: bytes) else { continue }
            parsed += 1
            XCTAssertEqual(try IdentifyInfo(streamBytes: info.framed()), info, "input \(number): \(Hex.encode(bytes))")
        }
        XCTAssertGreaterThan(parsed, 100, "many mutations keep the message parseable")
    }
}
