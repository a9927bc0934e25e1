import XCTest
@testable import GigiFiles

final class SharePAKETests: XCTestCase {
    let ctx = SharePAKEContext(fetcherPeer: Array("fetcher-peer".utf8), sharerPeer: Array("sharer-peer".utf8),
                               selector: Array("4821".utf8))

    func run(fetcherSecret: [UInt8], sharerSecret: [UInt8], sharerContext: SharePAKEContext? = nil)
        throws -> (fetcherKey: [UInt8]?, sharerKey: [UInt8]?, fetcherError: Error?, sharerError: Error?) {
        var f = try SharePAKEFetcher(secret: fetcherSecret, context: ctx)
        var s = SharePAKESharer(secret: sharerSecret, context: sharerContext ?? ctx)
        let reply = try s.receiveHello(f.hello)
        let confirm: SharePAKEMessage, fk: [UInt8]
        do { (confirm, fk) = try f.receive(reply) } catch { return (nil, nil, error, nil) }
        do { return (fk, try s.receiveConfirm(confirm), nil, nil) } catch { return (fk, nil, nil, error) }
    }

    func testSameSecretAgreesOnKey() throws {
        let r = try run(fetcherSecret: Array("secret".utf8), sharerSecret: Array("secret".utf8))
        XCTAssertNotNil(r.fetcherKey)
        XCTAssertEqual(r.fetcherKey, r.sharerKey)
        XCTAssertEqual(r.fetcherKey?.count, 32)
    }

    func testWrongSecretIsWrongCodeOnFetcher() throws {
        let r = try run(fetcherSecret: Array("secret".utf8), sharerSecret: Array("secreT".utf8))
        XCTAssertEqual(r.fetcherError as? SharePAKEError, .wrongCode)
        XCTAssertNil(r.sharerKey)
    }

    func testDifferentPeerBindingFails() throws {
        var other = ctx
        other.fetcherPeer = Array("someone-else".utf8)
        let r = try run(fetcherSecret: Array("s".utf8), sharerSecret: Array("s".utf8), sharerContext: other)
        XCTAssertEqual(r.fetcherError as? SharePAKEError, .wrongCode)
    }

    func testForgedConfirmRejectedBySharer() throws {
        let f = try SharePAKEFetcher(secret: Array("a".utf8), context: ctx)
        var s = SharePAKESharer(secret: Array("a".utf8), context: ctx)
        _ = try s.receiveHello(f.hello)
        XCTAssertThrowsError(try s.receiveConfirm(.confirm(tag: [UInt8](repeating: 0, count: 32)))) {
            XCTAssertEqual($0 as? SharePAKEError, .wrongCode)
        }
    }

    func testIdentityShareRejected() throws {
        var s = SharePAKESharer(secret: Array("a".utf8), context: ctx)
        let hello = SharePAKEMessage.hello(selector: ctx.selector, sid: [UInt8](repeating: 1, count: 16),
                                           share: [UInt8](repeating: 0, count: 32))
        XCTAssertThrowsError(try s.receiveHello(hello))
    }

    func testOutOfOrderMessagesRejected() throws {
        var f = try SharePAKEFetcher(secret: Array("a".utf8), context: ctx)
        XCTAssertThrowsError(try f.receive(.confirm(tag: [])))
        var s = SharePAKESharer(secret: Array("a".utf8), context: ctx)
        XCTAssertThrowsError(try s.receiveConfirm(.confirm(tag: [])))
    }
}
