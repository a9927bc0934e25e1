import XCTest
@testable import GigiStore

final class LMDBTransactionTests: XCTestCase {
    var env: LMDBEnvironment!

    override func setUpWithError() throws {
        env = try LMDBEnvironment(path: try makeTemporaryDirectory(self))
    }

    override func tearDown() {
        env?.close()
        env = nil
    }

    func testPutGetDeleteCommitAndAbort() throws {
        let db = try env.database("plain")
        try env.write { txn in
            try txn.put(db, key: bytes("a"), value: bytes("1"))
            try txn.put(db, key: bytes("b"), value: bytes("2"))
        }
        XCTAssertEqual(try env.read { try $0.get(db, key: bytes("a")) }, bytes("1"))

        struct Boom: Error {}
        XCTAssertThrowsError(try env.write { txn in
            try txn.put(db, key: bytes("c"), value: bytes("3"))
            try txn.delete(db, key: bytes("a"))
            throw Boom()
        }) { XCTAssertTrue($0 is Boom) }
        // The throwing closure's transaction was aborted: nothing of it is visible.
        try env.read { txn in
            XCTAssertNil(try txn.get(db, key: bytes("c")))
            XCTAssertEqual(try txn.get(db, key: bytes("a")), bytes("1"))
            XCTAssertEqual(try txn.count(db), 2)
        }
        XCTAssertTrue(try env.write { try $0.delete(db, key: bytes("a")) })
        XCTAssertFalse(try env.write { try $0.delete(db, key: bytes("a")) })
        XCTAssertFalse(try env.read { try $0.contains(db, key: bytes("a")) })
    }

    func testInsertDoesNotOverwrite() throws {
        let db = try env.database("plain")
        try env.write { txn in
            XCTAssertTrue(try bytes("k").withUnsafeBytes { k in try bytes("v1").withUnsafeBytes { try txn.insert(db, key: k, value: $0) } })
            XCTAssertFalse(try bytes("k").withUnsafeBytes { k in try bytes("v2").withUnsafeBytes { try txn.insert(db, key: k, value: $0) } })
            XCTAssertThrowsError(try txn.put(db, key: bytes("k"), value: bytes("v3"), options: .noOverwrite)) {
                XCTAssertEqual($0 as? LMDBError, .keyExists)
            }
        }
        XCTAssertEqual(try env.read { try $0.get(db, key: bytes("k")) }, bytes("v1"))
    }

    func testOrderedRangeAndPrefixScans() throws {
        let db = try env.database("ordered")
        let keys = ["apple", "b", "banana", "band", "bandana", "c", "cherry"]
        try env.write { txn in
            for k in keys.shuffled() { try txn.put(db, key: bytes(k), value: bytes(k.uppercased())) }
        }
        func collect(from: String? = nil, to: String? = nil, reverse: Bool = false) throws -> [String] {
            try env.read { txn in
                var out: [String] = []
                try txn.scan(db, from: from.map(bytes), to: to.map(bytes), reverse: reverse) { k, v in
                    XCTAssertEqual(String(decoding: v, as: UTF8.self), String(decoding: k, as: UTF8.self).uppercased())
                    out.append(String(decoding: k, as: UTF8.self))
                    return true
                }
                return out
            }
        }
        XCTAssertEqual(try collect(), keys)
        XCTAssertEqual(try collect(reverse: true), keys.reversed())
        XCTAssertEqual(try collect(from: "b", to: "c"), ["b", "banana", "band", "bandana"])
        XCTAssertEqual(try collect(from: "b", to: "c", reverse: true), ["bandana", "band", "banana", "b"])
        XCTAssertEqual(try collect(from: "bb"), ["c", "cherry"])
        XCTAssertEqual(try collect(to: "b", reverse: true), ["apple"])
        XCTAssertEqual(try collect(from: "zzz"), [])
        XCTAssertEqual(try collect(from: "d", reverse: true), [])
        let withPrefix = try env.read { txn in
            var out: [String] = []
            try txn.scan(db, prefix: bytes("band")) { k, _ in out.append(String(decoding: k, as: UTF8.self)); return true }
            return out
        }
        XCTAssertEqual(withPrefix, ["band", "bandana"])
        // Early stop.
        let firstTwo = try env.read { txn in
            var n = 0
            try txn.scan(db) { _, _ in n += 1; return n < 2 }
            return n
        }
        XCTAssertEqual(firstTwo, 2)
    }

    func testDuplicateSortedValues() throws {
        let db = try env.database("dups", flags: .dupSort)
        try env.write { txn in
            for v in ["x3", "x1", "x2"] { try txn.put(db, key: bytes("k"), value: bytes(v)) }
            try txn.put(db, key: bytes("k"), value: bytes("x1"))  // same pair again: no new entry
            try txn.put(db, key: bytes("other"), value: bytes("y"))
        }
        try env.read { txn in
            XCTAssertEqual(try txn.values(db, key: bytes("k")), [bytes("x1"), bytes("x2"), bytes("x3")])
            XCTAssertEqual(try txn.count(db), 4)
            try txn.withCursor(db) { c in
                XCTAssertNotNil(try c.seek(exactly: bytes("k")))
                XCTAssertEqual(try c.duplicateCount(), 3)
                let e = try bytes("k").withUnsafeBytes { k in try bytes("x2").withUnsafeBytes { try c.seek(key: k, valueAtOrAfter: $0) } }
                XCTAssertEqual(e.map { Array($0.value) }, bytes("x2"))
                XCTAssertEqual(try c.nextKey().map { Array($0.key) }, bytes("other"))
            }
        }
        try env.write { txn in
            XCTAssertTrue(try txn.delete(db, key: bytes("k"), value: bytes("x2")))
            XCTAssertFalse(try txn.delete(db, key: bytes("k"), value: bytes("x2")))
        }
        XCTAssertEqual(try env.read { try $0.values(db, key: bytes("k")) }, [bytes("x1"), bytes("x3")])
        try env.write { txn in XCTAssertTrue(try txn.delete(db, key: bytes("k"))) }
        XCTAssertEqual(try env.read { try $0.values(db, key: bytes("k")) }, [])
    }

    func testTransactionUsedAfterItsClosureThrowsClosed() throws {
        let db = try env.database("plain")
        let escaped = try env.read { $0 }
        XCTAssertThrowsError(try escaped.get(db, key: bytes("a"))) { XCTAssertEqual($0 as? LMDBError, .closed) }
        let escapedWrite = try env.write { $0 }
        XCTAssertThrowsError(try escapedWrite.put(db, key: bytes("a"), value: bytes("b"))) {
            XCTAssertEqual($0 as? LMDBError, .closed)
        }
    }

    func testInvalidKeysAreTypedErrors() throws {
        let db = try env.database("plain")
        XCTAssertThrowsError(try env.write { try $0.put(db, key: [], value: bytes("v")) }) {
            XCTAssertEqual($0 as? LMDBError, .badValueSize)
        }
        XCTAssertThrowsError(try env.write { try $0.put(db, key: [UInt8](repeating: 1, count: 512), value: bytes("v")) }) {
            XCTAssertEqual($0 as? LMDBError, .badValueSize)
        }
        XCTAssertThrowsError(try env.database("plain", flags: .dupSort)) { XCTAssertEqual($0 as? LMDBError, .incompatible) }
    }

    func testRemoveAllAndCursorDelete() throws {
        let db = try env.database("plain")
        try env.write { txn in
            for i in 0..<10 { try txn.put(db, key: [UInt8(i)], value: [UInt8(i)]) }
            try txn.withCursor(db) { c in
                var e = try c.first()
                while let entry = e {
                    if entry.key[0] % 2 == 0 { try c.deleteCurrent() }  // LMDB: the next `next` does not skip an entry
                    e = try c.next()
                }
            }
        }
        XCTAssertEqual(try env.read { try $0.count(db) }, 5)
        try env.write { try $0.removeAll(db) }
        XCTAssertEqual(try env.read { try $0.count(db) }, 0)
    }

    func testErrorCodesMapBothWays() {
        for error: LMDBError in [.keyExists, .notFound, .mapFull, .mapResized, .badTransaction, .badValueSize,
                                 .corrupted, .panic, .readersFull, .databasesFull, .incompatible, .invalid] {
            XCTAssertEqual(LMDBError(code: error.code), error)
            XCTAssertFalse(error.message.isEmpty)
        }
        XCTAssertEqual(LMDBError(code: 28).code, 28)  // ENOSPC passes through as a system error
        XCTAssertEqual(LMDBError(code: 28).exitCode, .ioError)
    }
}
