// gigi-store-tool: helpers for GigiStore's crash tests and benchmark. Not installed.
//
//   gigi-store-tool torture DIR        write forever; print "committed N" after each commit
//   gigi-store-tool bench DIR [N] [BATCH]   chunk-index insert/lookup benchmark
//
// The torture workload and its invariant checker live in GigiStore's `StoreTorture`
// so the tests (which kill this process at random) verify exactly what it writes.

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

func torture(_ dir: String) throws {
    let torture = try StoreTorture(path: dir)
    while true {
        let seq = try torture.commitNext()
        emit("committed \(seq)")
    }
}

func bench(_ dir: String, count: Int, batch: Int) throws {
    var config = LMDBEnvironment.Configuration()
    config.mapSize = 64 << 20
    let store = try Store(path: dir, configuration: config)
    var rng = SplitMix64(state: 0x5eed)
    let hashes = (0..<count).map { _ in rng.digest() }
    let chunkSize: UInt64 = 256 * 1024

    var start = now()
    var cpu = cpuSeconds()
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

    var order = (0..<count).map { _ in Int(rng.next() % UInt64(count)) }
    start = now()
    cpu = cpuSeconds()
    var found = 0
    i = 0
    while i < count {
        let end = min(i + 10_000, count)
        found += try store.read { txn in
            var n = 0
            for j in i..<end where try store.chunks.first(for: hashes[order[j]], in: txn) != nil { n += 1 }
            return n
        }
        i = end
    }
    let lookupSeconds = now() - start
    guard found == count else { fail("lookup found \(found) of \(count)") }
    emit("lookup: \(count) random hits in \(fixed(lookupSeconds, 2)) s: "
         + rates(count, wall: lookupSeconds, cpu: cpuSeconds() - cpu) + "; each decodes the location")

    order = []
    start = now()
    cpu = cpuSeconds()
    var misses = 0
    try store.read { txn in
        for _ in 0..<count where try !store.chunks.contains(rng.digest(), in: txn) { misses += 1 }
    }
    let missSeconds = now() - start
    emit("lookup: \(misses) random misses in \(fixed(missSeconds, 2)) s: " + rates(count, wall: missSeconds, cpu: cpuSeconds() - cpu))

    let entries = try store.read { txn in try store.chunks.count(in: txn) }
    emit("entries: \(entries) in chunks (plus \(entries) in file_chunks)")
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
