/// The crash-test workload (used by `gigi-store-tool torture` and GigiStoreTests):
/// transaction `seq` writes `recordCount(seq)` records keyed (seq, i) with values derived
/// from (seq, i), deletes every record of `seq - window`, and sets the head to `seq`.
/// `verify` checks the invariants a crash must never break: the head's transaction and
/// all earlier ones are complete, nothing newer and nothing half-written is visible.
public struct StoreTorture: Sendable {
    public static let window: UInt64 = 100

    public let store: Store
    let records: StoreTable<[UInt8], [UInt8]>
    let head: StoreTable<String, UInt64>

    /// Opens the store at `path` with a tiny initial map, so the map also grows under crashes.
    /// Commits skip fsync: the test kills processes, not the OS, and LMDB's writes reach the
    /// page cache before a commit returns — so more commits fit between kills.
    public init(path: String, mapSize: Int = 256 << 10) throws {
        var config = LMDBEnvironment.Configuration()
        config.mapSize = mapSize
        config.durability = .none
        let store = try Store(path: path, configuration: config)
        self.store = store
        (records, head) = try store.write { txn in
            (StoreTable(database: try store.environment.database("torture", in: txn)),
             StoreTable(database: try store.environment.database("torture_head", in: txn)))
        }
    }

    static func recordCount(_ seq: UInt64) -> Int { 1 + Int(seq % 40) }

    static func key(_ seq: UInt64, _ i: Int) -> [UInt8] {
        withUnsafeBytes(of: seq.bigEndian) { Array($0) } + [UInt8(i >> 8), UInt8(i & 0xff)]
    }

    static func value(_ seq: UInt64, _ i: Int) -> [UInt8] {
        let length = 50 + Int((seq &* 7 &+ UInt64(i)) % 400)
        let base = seq &* 31 &+ UInt64(i) &* 7
        return [UInt8](unsafeUninitializedCapacity: length) { buffer, count in
            for j in 0..<length { buffer[j] = UInt8(truncatingIfNeeded: base &+ UInt64(j)) }
            count = length
        }
    }

    /// Commits the next transaction and returns its sequence number.
    public func commitNext() throws -> UInt64 {
        try store.write { txn in
            let seq = (try head.get("head", in: txn) ?? 0) + 1
            for i in 0..<Self.recordCount(seq) {
                try records.put(Self.value(seq, i), for: Self.key(seq, i), in: txn)
            }
            if seq > Self.window {
                let old = seq - Self.window
                for i in 0..<Self.recordCount(old) { try records.delete(Self.key(old, i), in: txn) }
            }
            try head.put(seq, for: "head", in: txn)
            return seq
        }
    }

    /// A violated invariant.
    public struct Violation: Error, CustomStringConvertible {
        public let description: String
    }

    /// Checks the invariants in one snapshot and returns the head (0 = nothing committed).
    public func verify() throws -> UInt64 {
        try store.read { txn in
            let top = try head.get("head", in: txn) ?? 0
            let lowest = top > Self.window ? top - Self.window + 1 : 1
            var expectedSeq = lowest
            var expectedIndex = 0
            try records.forEach(in: txn) { key, value in
                guard key.count == 10 else { throw Violation(description: "bad key length \(key.count)") }
                let seq = key[0..<8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
                let i = Int(key[8]) << 8 | Int(key[9])
                guard seq == expectedSeq, i == expectedIndex else {
                    throw Violation(description: "found record (\(seq), \(i)), expected (\(expectedSeq), \(expectedIndex)) with head \(top)")
                }
                guard value == Self.value(seq, i) else { throw Violation(description: "record (\(seq), \(i)) has wrong bytes") }
                expectedIndex += 1
                if expectedIndex == Self.recordCount(seq) {
                    expectedSeq += 1
                    expectedIndex = 0
                }
                return true
            }
            guard top == 0 || (expectedSeq == top + 1 && expectedIndex == 0) else {
                throw Violation(description: "records end at (\(expectedSeq), \(expectedIndex)) but head is \(top)")
            }
            return top
        }
    }
}
