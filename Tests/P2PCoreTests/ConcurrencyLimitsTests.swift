import P2PCore
import XCTest

final class ConcurrencyLimitsTests: XCTestCase {
    func testPerKeyAndTotalLimits() {
        var limits = ConcurrencyLimits<String>(perKey: 2, total: 3)
        XCTAssertTrue(limits.acquire("a"))
        XCTAssertTrue(limits.acquire("a"))
        XCTAssertFalse(limits.acquire("a"), "per-key limit")
        XCTAssertTrue(limits.acquire("b"))
        XCTAssertFalse(limits.acquire("c"), "total limit")
        XCTAssertEqual(limits.count, 3)
        limits.release("a")
        XCTAssertTrue(limits.acquire("c"))
        XCTAssertEqual(limits.active, ["a": 1, "b": 1, "c": 1])
        for key in ["a", "b", "c", "c", "unknown"] { limits.release(key) }
        XCTAssertEqual(limits.active, [:])
        XCTAssertEqual(limits.count, 0, "releasing a key without slots changes nothing")
    }
}
