// ContactBook on a real store: editing, validation, and resolving peer arguments.

import Foundation
import GigiBase
import GigiCBOR
import GigiStore
import P2PCore
import XCTest
@testable import GigiMessaging

final class ContactBookTests: XCTestCase {
    var store: Store!
    var book: ContactBook!

    override func setUpWithError() throws {
        store = try Store(path: try makeTemporaryDirectory(self))
        book = ContactBook(store: store)
    }

    override func tearDown() {
        store?.environment.close()
    }

    private func expect(_ expected: MessagingError, _ body: () throws -> Void, line: UInt = #line) {
        XCTAssertThrowsError(try body(), line: line) { error in
            XCTAssertEqual(error as? MessagingError, expected, line: line)
        }
    }

    func testAddListRenameRemove() throws {
        let alice = P2PPrivateKey().peerID, bob = P2PPrivateKey().peerID
        let addr = try Multiaddr("/ip4/127.0.0.1/tcp/4001/p2p/\(alice)")
        let added = try book.add(name: " Alice ", peerID: alice, addresses: [addr])
        XCTAssertEqual(added.name, "Alice")
        XCTAssertEqual(added.addresses, [try Multiaddr("/ip4/127.0.0.1/tcp/4001")])
        try book.add(name: "bob", peerID: bob)
        XCTAssertEqual(try book.list().map(\.name), ["Alice", "bob"])

        expect(.contactNameTaken("alice", peer: alice.description)) { try self.book.add(name: "alice", peerID: P2PPrivateKey().peerID) }
        expect(.alreadyContact(peer: bob.description, name: "bob")) { try self.book.add(name: "robert", peerID: bob) }
        expect(.contactNameTaken("Alice", peer: alice.description)) { try self.book.rename("bob", to: "Alice") }

        XCTAssertEqual(try book.rename("bob", to: "Robert").name, "Robert")
        XCTAssertEqual(try book.rename("alice", to: "ALICE").name, "ALICE", "a change of case of the same contact is fine")
        XCTAssertEqual(try book.list().map(\.name), ["ALICE", "Robert"])
        XCTAssertEqual(try book.remove(bob.description).peerID, bob, "remove by peer ID")
        XCTAssertEqual(try book.remove("alice").peerID, alice, "remove by name, any case")
        XCTAssertEqual(try book.list().count, 0)
        expect(.unknownContact("alice")) { try self.book.remove("alice") }
        expect(.unknownContact("x")) { try self.book.rename("x", to: "y") }
    }

    func testNamesAreValidated() {
        let peer = P2PPrivateKey().peerID
        for bad in ["", "   ", String(repeating: "n", count: 65), "tab\there", "bell\u{7}", "/ip4/1.2.3.4", peer.description,
                    "rtl\u{202E}name"] {
            XCTAssertThrowsError(try book.add(name: bad, peerID: peer), "\(bad.debugDescription)") { error in
                guard case .invalidContactName? = error as? MessagingError else { return XCTFail("\(error)") }
                XCTAssertEqual((error as? UserFacingError)?.exitCode, .usage)
            }
        }
        XCTAssertNoThrow(try book.add(name: String(repeating: "é", count: 64), peerID: peer))
        XCTAssertNoThrow(try book.add(name: "Zoë 👩‍💻", peerID: P2PPrivateKey().peerID))
    }

    func testAddressesAreValidated() throws {
        let peer = P2PPrivateKey().peerID, other = P2PPrivateKey().peerID
        XCTAssertThrowsError(try book.add(name: "x", peerID: peer,
                                          addresses: [try Multiaddr("/ip4/127.0.0.1/tcp/1/p2p/\(other)")])) { error in
            guard case .invalidAddress? = error as? MessagingError else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try book.add(name: "x", peerID: peer, addresses: [try Multiaddr("/p2p/\(peer)")]))
    }

    func testResolve() throws {
        let alice = P2PPrivateKey().peerID, carol = P2PPrivateKey().peerID
        let twin1 = P2PPrivateKey().peerID, twin2 = P2PPrivateKey().peerID
        try book.add(name: "alice", peerID: alice, addresses: [try Multiaddr("/ip4/10.0.0.1/tcp/7")])
        try store.write { txn in
            try store.peers.put(PeerRecord(addresses: ["/ip4/10.0.0.2/tcp/8"], nickname: "Carol"), for: carol.description, in: txn)
            try store.peers.put(PeerRecord(addresses: [], nickname: "twin"), for: twin1.description, in: txn)
            try store.peers.put(PeerRecord(addresses: [], nickname: "Twin"), for: twin2.description, in: txn)
            // A stranger announcing a contact's name does not win over the contact.
            try store.peers.put(PeerRecord(addresses: [], nickname: "alice"), for: P2PPrivateKey().peerID.description, in: txn)
            try store.peers.put(PeerRecord(addresses: ["/ip4/10.0.0.3/tcp/9"]), for: alice.description, in: txn)
        }
        let byName = try book.resolve("Alice")
        XCTAssertEqual(byName.peerID, alice)
        XCTAssertEqual(byName.source, .contact)
        XCTAssertEqual(byName.name, "alice")
        XCTAssertEqual(byName.addresses.map(\.description), ["/ip4/10.0.0.1/tcp/7", "/ip4/10.0.0.3/tcp/9"])

        let byNick = try book.resolve("carol")
        XCTAssertEqual(byNick.peerID, carol)
        XCTAssertEqual(byNick.source, .nickname)
        XCTAssertNil(byNick.name)
        XCTAssertEqual(byNick.addresses.map(\.description), ["/ip4/10.0.0.2/tcp/8"])

        let byID = try book.resolve(alice.description)
        XCTAssertEqual(byID.peerID, alice)
        XCTAssertEqual(byID.source, .peerID)
        XCTAssertEqual(byID.name, "alice")

        let byAddr = try book.resolve("/ip4/127.0.0.1/tcp/5555/p2p/\(carol)")
        XCTAssertEqual(byAddr.peerID, carol)
        XCTAssertEqual(byAddr.source, .multiaddr)
        XCTAssertEqual(byAddr.addresses.first?.description, "/ip4/127.0.0.1/tcp/5555")

        XCTAssertThrowsError(try book.resolve("twin")) { error in
            guard case .ambiguousPeer(_, let candidates)? = error as? MessagingError else { return XCTFail("\(error)") }
            XCTAssertEqual(Set(candidates), [twin1.description, twin2.description])
            XCTAssertTrue((error as! MessagingError).message.contains(twin1.description))
        }
        XCTAssertThrowsError(try book.resolve("nobody")) { error in
            XCTAssertEqual(error as? MessagingError, .unknownPeer("nobody"))
            XCTAssertEqual((error as? UserFacingError)?.exitCode, .noInput)
        }
        XCTAssertThrowsError(try book.resolve("/ip4/127.0.0.1/tcp/1")) { error in
            guard case .invalidPeer? = error as? MessagingError else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try book.resolve("/not-a/multiaddr")) { error in
            guard case .invalidPeer? = error as? MessagingError else { return XCTFail("\(error)") }
        }
    }

    func testOldContactRecordsStillDecode() throws {
        // A record written before `addresses` existed: version byte + CBOR map without "m".
        let peer = P2PPrivateKey().peerID
        let old = [UInt8(1)] + CBOR.map([(key: .text("n"), value: .text("old")), (key: .text("a"), value: .tagged(1, .unsigned(1_700_000_000))),
                                         (key: .text("b"), value: .bool(false))]).encoded()
        try store.write { txn in try txn.put(store.contacts.database, key: Array(peer.description.utf8), value: old) }
        XCTAssertEqual(try book.list().map(\.name), ["old"])
        XCTAssertEqual(try book.resolve("old").peerID, peer)
    }
}
