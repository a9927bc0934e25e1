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
}
