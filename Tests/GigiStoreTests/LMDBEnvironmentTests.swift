import Foundation
import XCTest
@testable import GigiStore

final class LMDBEnvironmentTests: XCTestCase {
    func testMapGrowsWhenFullAndNoWriteIsLost() throws {
        var config = LMDBEnvironment.Configuration()
        config.mapSize = 64 << 10  // 16 pages: full after a few dozen records
        config.durability = .none  // many commits; fsync is not what this test is about
        let env = try LMDBEnvironment(path: try makeTemporaryDirectory(self), configuration: config)
        defer { env.close() }
        let db = try env.database("big")
        let initial = env.mapSize
        var runs = 0
        // One large transaction (retried after each growth) and many small ones.
        try env.write { txn in
            runs += 1
            for i in 0..<2000 {
                try txn.put(db, key: withUnsafeBytes(of: UInt32(i).bigEndian) { Array($0) }, value: [UInt8](repeating: 7, count: 300))
            }
        }
        XCTAssertGreaterThan(runs, 1, "the closure was retried after the map grew")
        for i in 2000..<2400 {
            try env.write { txn in
                try txn.put(db, key: withUnsafeBytes(of: UInt32(i).bigEndian) { Array($0) }, value: [UInt8](repeating: 9, count: 1000))
            }
        }
        XCTAssertGreaterThan(env.mapSize, initial)
        XCTAssertEqual(try env.read { try $0.count(db) }, 2400)
    }

    func testSwallowedMapFullStillRetries() throws {
        var config = LMDBEnvironment.Configuration()
        config.mapSize = 64 << 10
        let env = try LMDBEnvironment(path: try makeTemporaryDirectory(self), configuration: config)
        defer { env.close() }
        let db = try env.database("big")
        var swallowed = 0
        try env.write { txn in
            for i in 0..<1000 {
                do {
                    try txn.put(db, key: withUnsafeBytes(of: UInt32(i).bigEndian) { Array($0) }, value: [UInt8](repeating: 1, count: 500))
                } catch LMDBError.mapFull {
                    swallowed += 1  // careless caller: the layer still notices and retries
                    return
                }
            }
        }
        XCTAssertGreaterThan(swallowed, 0)
        XCTAssertEqual(try env.read { try $0.count(db) }, 1000)
    }

    func testMapFullAtMaximumIsReported() throws {
        var config = LMDBEnvironment.Configuration()
        config.mapSize = 64 << 10
        config.maxMapSize = 256 << 10
        let env = try LMDBEnvironment(path: try makeTemporaryDirectory(self), configuration: config)
        defer { env.close() }
        let db = try env.database("big")
        XCTAssertThrowsError(try env.write { txn in
            for i in 0..<2000 {
                try txn.put(db, key: withUnsafeBytes(of: UInt32(i).bigEndian) { Array($0) }, value: [UInt8](repeating: 1, count: 1000))
            }
        }) { XCTAssertEqual($0 as? LMDBError, .mapFull) }
        XCTAssertEqual(try env.read { try $0.count(db) }, 0)
    }

    func testConcurrentReadersAndSerialWriters() throws {
        var config = LMDBEnvironment.Configuration()
        config.mapSize = 128 << 10  // small, so the map also grows while readers run
        config.durability = .none
        let env = try LMDBEnvironment(path: try makeTemporaryDirectory(self), configuration: config)
        defer { env.close() }
        let db = try env.database("counter")
        let counterKey = bytes("n")
        try env.write { try $0.put(db, key: counterKey, value: [0, 0, 0, 0]) }
        let problems = LockedCounter()
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            do {
                for _ in 0..<100 {
                    if worker % 2 == 0 {
                        // Writer: increment the counter and add a record named after the new value.
                        try env.write { txn in
                            let v = try txn.get(db, key: counterKey)!
                            let n = v.reduce(UInt32(0)) { $0 << 8 | UInt32($1) } + 1
                            let nb = withUnsafeBytes(of: n.bigEndian) { Array($0) }
                            try txn.put(db, key: counterKey, value: nb)
                            try txn.put(db, key: [0xff] + nb, value: [UInt8](repeating: 1, count: 200))
                        }
                    } else {
                        // Reader: each snapshot has exactly `counter` records besides the counter.
                        try env.read { txn in
                            let v = try txn.get(db, key: counterKey)!
                            let n = v.reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
                            if try txn.count(db) != Int(n) + 1 { problems.add() }
                        }
                    }
                }
            } catch {
                problems.add()
            }
        }
        XCTAssertEqual(problems.value, 0)
        XCTAssertEqual(try env.read { try $0.count(db) }, 401)
    }

    func testConcurrentTasks() async throws {
        var config = LMDBEnvironment.Configuration()
        config.durability = .none
        let env = try LMDBEnvironment(path: try makeTemporaryDirectory(self), configuration: config)
        defer { env.close() }
        let db = try env.database("tasks")
        try await withThrowingTaskGroup(of: Void.self) { group in
            for t in 0..<8 {
                group.addTask {
                    for i in 0..<50 {
                        try env.write { try $0.put(db, key: [UInt8(t), UInt8(i)], value: [UInt8(i)]) }
                        _ = try env.read { try $0.count(db) }
                    }
                }
            }
            try await group.waitForAll()
        }
        XCTAssertEqual(try env.read { try $0.count(db) }, 400)
    }

    func testDatabaseHandlesAreCachedAndPersist() throws {
        let dir = try makeTemporaryDirectory(self)
        do {
            let env = try LMDBEnvironment(path: dir)
            let a = try env.database("a")
            XCTAssertEqual(try env.database("a"), a)
            try env.write { try $0.put(a, key: bytes("k"), value: bytes("v")) }
            env.close()
            XCTAssertThrowsError(try env.read { _ in }) { XCTAssertEqual($0 as? LMDBError, .closed) }
        }
        let env = try LMDBEnvironment(path: dir)
        defer { env.close() }
        XCTAssertThrowsError(try env.database("missing", create: false)) { XCTAssertEqual($0 as? LMDBError, .notFound) }
        let a = try env.database("a", create: false)
        XCTAssertEqual(try env.read { try $0.get(a, key: bytes("k")) }, bytes("v"))
    }

    func testOpeningAFileThatIsNotLMDBFails() throws {
        let dir = try makeTemporaryDirectory(self)
        try Data(repeating: 0x42, count: 16384).write(to: URL(fileURLWithPath: dir + "/data.mdb"))
        XCTAssertThrowsError(try LMDBEnvironment(path: dir)) { XCTAssertEqual($0 as? LMDBError, .invalid) }
    }
}

final class LockedCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func add() { lock.withLock { count += 1 } }
    var value: Int { lock.withLock { count } }
}
