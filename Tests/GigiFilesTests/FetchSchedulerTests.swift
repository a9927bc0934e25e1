import XCTest
import GigiStore
@testable import GigiFiles

final class FetchSchedulerTests: XCTestCase {
    func requested(_ actions: [FetchSchedulerAction<String>]) -> [Int] {
        actions.compactMap { if case .request(let c, _) = $0 { return c } else { return nil } }
    }

    func testRequestsInOrderWithinWindow() {
        var s = FetchScheduler<String>(verified: ChunkBitmap(count: 100))
        s.addProvider("a")
        XCTAssertEqual(requested(s.nextActions()), Array(0..<8))
        XCTAssertEqual(s.nextActions(), [])
        _ = s.received(chunk: 0, from: "a", valid: true)
        XCTAssertEqual(s.window(of: "a"), 9)
        XCTAssertEqual(requested(s.nextActions()), [8, 9])
    }

    func testSkipsVerifiedChunksAndCompletes() {
        var bm = ChunkBitmap(count: 5)
        bm[1] = true; bm[3] = true
        var s = FetchScheduler<String>(verified: bm)
        s.addProvider("a")
        let r = requested(s.nextActions())
        XCTAssertEqual(r, [0, 2, 4])
        for c in r { _ = s.received(chunk: c, from: "a", valid: true) }
        XCTAssertTrue(s.isComplete)
    }

    func testBadDataRetriedThenProviderDropped() {
        var s = FetchScheduler<String>(verified: ChunkBitmap(count: 3))
        s.addProvider("evil"); s.addProvider("good")
        var actions = s.nextActions()
        XCTAssertEqual(Set(requested(actions)), [0, 1, 2])
        var dropped = false
        for _ in 0..<6 {
            for case .request(let c, let p) in actions {
                let out = s.received(chunk: c, from: p, valid: p == "good")
                if out.contains(.dropProvider("evil")) { dropped = true }
            }
            actions = s.nextActions()
            if s.isComplete { break }
        }
        XCTAssertTrue(dropped)
        XCTAssertTrue(s.isComplete)
    }

    func testChunkFailsAfterMaxAttempts() {
        var config = FetchSchedulerConfig()
        config.maxAttempts = 2
        config.maxStrikes = 100
        var s = FetchScheduler<String>(verified: ChunkBitmap(count: 1), config: config)
        s.addProvider("a")
        XCTAssertEqual(requested(s.nextActions()), [0])
        XCTAssertEqual(s.requestFailed(chunk: 0, from: "a"), [])
        XCTAssertEqual(requested(s.nextActions()), [0])
        XCTAssertEqual(s.received(chunk: 0, from: "a", valid: false), [.fail(chunk: 0)])
        XCTAssertEqual(s.nextActions(), [])
    }

    func testRemovedProviderChunksRequeuedAndWindowHalves() {
        var s = FetchScheduler<String>(verified: ChunkBitmap(count: 20))
        s.addProvider("a")
        _ = s.nextActions()
        _ = s.requestFailed(chunk: 0, from: "a")
        XCTAssertEqual(s.window(of: "a"), 4)
        s.removeProvider("a")
        XCTAssertEqual(s.inFlightCount, 0)
        s.addProvider("b")
        XCTAssertEqual(requested(s.nextActions()), Array(0..<8))
        XCTAssertEqual(s.received(chunk: 5, from: "a", valid: true), [])   // late answer ignored
    }

    func testWindowCountsBytesSoSmallChunksKeepManyInFlight() {
        let cs = 256 << 10
        // 10 KiB chunks (a share of small files): the initial window of 8 full chunks
        // (2 MiB) holds 204 requests, not 8.
        var s = FetchScheduler<String>(verified: ChunkBitmap(count: 1000), chunkSize: cs, length: { _ in 10 << 10 })
        s.addProvider("a")
        XCTAssertEqual(requested(s.nextActions()).count, (8 * cs + (10 << 10) - 1) / (10 << 10))
        // Full chunks: 8 of them, as before.
        var f = FetchScheduler<String>(verified: ChunkBitmap(count: 100), chunkSize: cs, length: { _ in cs })
        f.addProvider("a")
        XCTAssertEqual(requested(f.nextActions()), Array(0..<8))
        _ = f.received(chunk: 0, from: "a", valid: true)
        XCTAssertEqual(f.window(of: "a"), 9)
    }

    func testTinyChunksCostAMinimumSoTheCountStaysBounded() {
        let cs = 256 << 10
        var config = FetchSchedulerConfig()
        config.minCostDivisor = 32
        var s = FetchScheduler<String>(verified: ChunkBitmap(count: 100_000), config: config, chunkSize: cs,
                                       length: { _ in 1 })
        s.addProvider("a")
        // Each 1-byte chunk costs 8 KiB of the 2 MiB window: 256 requests at first...
        XCTAssertEqual(requested(s.nextActions()).count, 8 * 32)
        // ...and never more than maxWindow × minCostDivisor, however many arrive.
        for c in 0..<256 { _ = s.received(chunk: c, from: "a", valid: true) }
        XCTAssertEqual(s.inFlightCount, 0)
        XCTAssertLessThanOrEqual(requested(s.nextActions()).count, config.maxWindow * 32)
    }

    func testRequestsForAStreamStopAtItsBudget() {
        let cs = 256 << 10
        var s = FetchScheduler<String>(verified: ChunkBitmap(count: 100), chunkSize: cs, length: { _ in cs })
        s.addProvider("a")
        // Two streams share the provider's 8-chunk window: 6 chunks' budget each.
        let first = s.nextRequests(for: "a", budget: 6 * cs)
        XCTAssertEqual(first, Array(0..<6))
        XCTAssertEqual(s.nextRequests(for: "a", budget: 6 * cs), [6, 7])   // the window's rest
        XCTAssertEqual(s.nextRequests(for: "a", budget: 6 * cs), [])
        _ = s.received(chunk: 0, from: "a", valid: true)                    // window 9, 8 in flight
        XCTAssertEqual(s.nextRequests(for: "a", budget: cs), [8])
    }
}
