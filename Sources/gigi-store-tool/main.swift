// gigi-store-tool: helpers for GigiStore's crash tests and benchmark. Not installed.
//
//   gigi-store-tool torture DIR        write forever; print "committed N" after each commit
//   gigi-store-tool bench DIR [N] [BATCH]   chunk-index insert/lookup benchmark
//
// The torture workload and its invariant checker live in GigiStore's `StoreTorture`
// so the tests (which kill this process at random) verify exactly what it writes.

import Dispatch
import GigiCrypto
import GigiStore

#if canImport(Glibc)
import Glibc
#endif

func fail(_ message: String) -> Never {
    writeLine(2, "gigi-store-tool: \(message)")
    exit(1)
}

/// Writes a line to stdout unbuffered, so a SIGKILL never loses a reported commit.
func emit(_ line: String) { writeLine(1, line) }

func writeLine(_ fd: Int32, _ line: String) {
    let bytes = Array((line + "\n").utf8)
    var offset = 0
    while offset < bytes.count {
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
        if n <= 0 { exit(2) }
        offset += n
    }
}

/// CPU seconds (user + system) this process has used.
func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
        + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}

/// "N/s wall (M/s per CPU second)": on a shared machine the second figure is the stable one.
func rates(_ n: Int, wall: Double, cpu: Double) -> String {
    "\(Int(Double(n) / wall))/s wall, \(Int(Double(n) / max(cpu, 1e-9)))/s per CPU-second (cpu \(fixed(cpu, 2)) s)"
}

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

struct SplitMix64 {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func digest() -> Digest32 { Digest32(a: next(), b: next(), c: next(), d: next()) }
}

/// `value` with `digits` decimals (no Foundation in this tool: it starts faster).
func fixed(_ value: Double, _ digits: Int) -> String {
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let n = Int((value * scale).rounded())
    let whole = String(n / Int(scale))
    guard digits > 0 else { return whole }
    let frac = String(n % Int(scale))
    return whole + "." + String(repeating: "0", count: digits - frac.count) + frac
}

func diskBytes(_ path: String) -> Int {
    var st = stat()
    guard stat(path, &st) == 0 else { return 0 }
    return Int(st.st_blocks) * 512
}

/// Per-thread results of the parallel lookups: each thread writes only its own slot, and
/// `concurrentPerform` returns after every thread finished.
final class Results: @unchecked Sendable {
    private let slots: UnsafeMutableBufferPointer<Result<Int, any Error>>

    init(_ n: Int) {
        slots = .allocate(capacity: n)
        slots.initialize(repeating: .success(0))
    }

    deinit {
        _ = slots.deinitialize()
        slots.deallocate()
    }

    func set(_ i: Int, _ r: Result<Int, any Error>) { slots[i] = r }

    func total() throws -> Int { try slots.reduce(0) { $0 + (try $1.get()) } }
}

func torture(_ dir: String) throws {
    let torture = try StoreTorture(path: dir)
    while true {
        let seq = try torture.commitNext()
        emit("committed \(seq)")
    }
}

/// `Store.chunkLocations` on batches of `size` hashes, one read transaction per batch; returns the hits.
func lookUpBatched(_ store: Store, _ keys: ArraySlice<Digest32>, size: Int) throws -> Int {
    var found = 0, i = keys.startIndex
    while i < keys.endIndex {
        let end = min(i + size, keys.endIndex)
        found += try store.read { txn in
            try store.chunkLocations(Array(keys[i..<end]), in: txn).reduce(0) { $0 + ($1 == nil ? 0 : 1) }
        }
        i = end
    }
    return found
}

func bench(_ dir: String, count: Int, batch: Int) throws {
    var config = LMDBEnvironment.Configuration()
    config.mapSize = 64 << 20
    let store = try Store(path: dir, configuration: config)
    var rng = SplitMix64(state: 0x5eed)
    let hashes = (0..<count).map { _ in rng.digest() }
    let chunkSize: UInt64 = 256 * 1024

    let start = now()
    let cpu = cpuSeconds()
    var i = 0
    while i < count {
        let end = min(i + batch, count)
        var entries: [(hash: Digest32, location: ChunkLocation)] = []
        entries.reserveCapacity(end - i)
        for j in i..<end {
            let offset = UInt64(j % 4096) * chunkSize
            let location = ChunkLocation(fileID: UInt64(j / 4096 + 1), offset: offset, length: UInt32(chunkSize))
            entries.append((hashes[j], location))
        }
        _ = try store.write { txn in try store.indexChunks(entries, in: txn) }
        i = end
    }
    let insertSeconds = now() - start
    emit("insert: \(count) chunk-index entries in \(fixed(insertSeconds, 2)) s: "
         + rates(count, wall: insertSeconds, cpu: cpuSeconds() - cpu) + "; batches of \(batch), fsync per commit")

    // Lookups: the same random order of present hashes for every variant.
    let order = (0..<count).map { _ in hashes[Int(rng.next() % UInt64(count))] }
    let absent = (0..<count).map { _ in rng.digest() }

    func measure(_ what: String, _ n: Int, expect: Int, _ run: () throws -> Int) throws {
        let start = now(), cpu = cpuSeconds()
        let found = try run()
        let seconds = now() - start
        guard found == expect else { fail("\(what): found \(found) of \(n), expected \(expect)") }
        emit("lookup: \(n) \(what) in \(fixed(seconds, 2)) s: " + rates(n, wall: seconds, cpu: cpuSeconds() - cpu))
    }

    // One call per hash (`Store.chunkLocation`), 10,000 per read transaction.
    func single(_ keys: [Digest32]) throws -> Int {
        var found = 0, i = 0
        while i < keys.count {
            let end = min(i + 10_000, keys.count)
            found += try store.read { txn in
                var n = 0
                for j in i..<end where try store.chunkLocation(keys[j], in: txn) != nil { n += 1 }
                return n
            }
            i = end
        }
        return found
    }

    // The same batches split over `threads` threads (readers run concurrently: MDB_NOTLS).
    func parallel(_ keys: [Digest32], size: Int, threads: Int) throws -> Int {
        let results = Results(threads)
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            let part = keys.count / threads
            let slice = keys[(t * part)..<(t == threads - 1 ? keys.count : (t + 1) * part)]
            results.set(t, Result { try lookUpBatched(store, slice, size: size) })
        }
        return try results.total()
    }

    let threads = max(2, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    try measure("random hits, one chunkLocation call each, 1 thread", count, expect: count) { try single(order) }
    try measure("random hits, chunkLocations batches of \(batch), 1 thread", count, expect: count) {
        try lookUpBatched(store, order[...], size: batch)
    }
    try measure("random hits, one chunkLocations call for all, 1 thread", count, expect: count) {
        try lookUpBatched(store, order[...], size: count)
    }
    try measure("random hits, chunkLocations batches of \(batch), \(threads) threads", count, expect: count) {
        try parallel(order, size: batch, threads: threads)
    }
    try measure("random misses, one chunkLocation call each, 1 thread", count, expect: 0) { try single(absent) }
    try measure("random misses, chunkLocations batches of \(batch), 1 thread", count, expect: 0) {
        try lookUpBatched(store, absent[...], size: batch)
    }

    let (entries, reverse) = try store.read { txn in (try store.chunks.count(in: txn), try store.fileChunks.count(in: txn)) }
    emit("entries: \(entries) in chunks (plus \(reverse) in file_chunks)")
    emit("size: data.mdb \(fixed(Double(diskBytes(dir + "/data.mdb")) / 1_048_576, 1)) MiB on disk, "
         + "\(fixed(Double(store.environment.usedBytes) / 1_048_576, 1)) MiB used by LMDB pages, "
         + "map \(store.environment.mapSize >> 20) MiB")
}

let args = CommandLine.arguments
guard args.count >= 3 else { fail("usage: gigi-store-tool torture DIR | bench DIR [COUNT] [BATCH]") }
do {
    switch args[1] {
    case "torture":
        try torture(args[2])
    case "bench":
        let count = args.count > 3 ? Int(args[3]) ?? 1_000_000 : 1_000_000
        let batch = args.count > 4 ? Int(args[4]) ?? 10_000 : 10_000
        try bench(args[2], count: count, batch: batch)
    default:
        fail("unknown mode \(args[1])")
    }
} catch {
    fail("\(error)")
}
