import CBLAKE3
import Foundation
import XCTest

@testable import GigiCrypto

/// BLAKE3 against the official test vectors (all modes, extended output, every
/// SIMD kernel) and against the `b3sum` binary (an implementation nobody here wrote).
final class BLAKE3Tests: XCTestCase {
    struct Vectors: Decodable {
        struct Case: Decodable {
            let input_len: Int
            let hash: String
            let keyed_hash: String
            let derive_key: String
        }
        let key: String
        let context_string: String
        let cases: [Case]
    }

    static let vectors: Vectors = {
        let url = Bundle.module.url(forResource: "Vectors/blake3_test_vectors", withExtension: "json")!
        return try! JSONDecoder().decode(Vectors.self, from: Data(contentsOf: url))
    }()

    /// The official input pattern: 0, 1, …, 250, 0, 1, …
    static func pattern(_ count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        out.withUnsafeMutableBufferPointer { p in
            let cycle = Swift.min(251, count)
            for i in 0..<cycle { p[i] = UInt8(i) }
            var filled = cycle
            while filled < count {  // doubling copies keep this fast in debug builds
                let n = Swift.min(filled / 251 * 251, count - filled)
                UnsafeMutableRawPointer(p.baseAddress! + filled).copyMemory(from: p.baseAddress!, byteCount: n)
                filled += n
            }
        }
        return out
    }

    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    /// Hashes in the three modes with `count` bytes of output.
    func outputs(_ input: [UInt8], count: Int, feed: (inout BLAKE3, [UInt8]) -> Void) throws -> [String] {
        let v = Self.vectors
        var plain = BLAKE3()
        var keyed = try BLAKE3(key: Array(v.key.utf8))
        var derive = BLAKE3(deriveKeyContext: v.context_string)
        feed(&plain, input)
        feed(&keyed, input)
        feed(&derive, input)
        return [plain, keyed, derive].map { Self.hex($0.finalize(count: count)) }
    }

    func checkVectors(file: StaticString = #filePath, line: UInt = #line,
                      feed: (inout BLAKE3, [UInt8]) -> Void) throws {
        for c in Self.vectors.cases {
            let input = Self.pattern(c.input_len)
            let count = c.hash.count / 2
            let got = try outputs(input, count: count, feed: feed)
            XCTAssertEqual(got, [c.hash, c.keyed_hash, c.derive_key], "input length \(c.input_len)",
                           file: file, line: line)
        }
    }

    override func tearDown() {
        _ = gigi_blake3_limit_kernel(GIGI_BLAKE3_AVX512)  // the highest: no limit
    }

    /// The kernels this CPU (and OS) supports, slowest first.
    static var supportedKernels: [gigi_blake3_kernel] {
        let detected = gigi_blake3_detected_kernel()
        return [GIGI_BLAKE3_PORTABLE, GIGI_BLAKE3_SSE41, GIGI_BLAKE3_AVX2, GIGI_BLAKE3_AVX512]
            .filter { $0.rawValue <= detected.rawValue }
    }

    func testOfficialVectorsWithEveryKernel() throws {
        XCTAssertEqual(Self.vectors.cases.count, 35)
        for kernel in Self.supportedKernels {
            XCTAssertEqual(gigi_blake3_limit_kernel(kernel), kernel)
            try checkVectors { h, input in h.update(input) }
        }
    }

    /// Every SIMD kernel gives the portable kernel's output, in all three modes,
    /// for every length up to 5 KiB and lengths around each multiple of 16 chunks
    /// (the widest kernel's batch) up to 512 KiB and a few longer ones, hashed in
    /// one call and in uneven pieces.
    func testEveryKernelMatchesPortable() throws {
        var lengths = Array(0...5 * 1024)
        for chunks in stride(from: 16, through: 512, by: 16) {
            let n = chunks * 1024
            lengths += [n - 1025, n - 1, n, n + 1, n + 1023]
        }
        lengths += [(1 << 21) + 12345, 3 * (1 << 20) + 7]
        let input = Self.pattern(lengths.max()!)
        let key = Array(Self.vectors.key.utf8)
        func digests() throws -> [[UInt8]] {
            var out: [[UInt8]] = []
            try input.withUnsafeBytes { p in
                for n in lengths {
                    var hs = [BLAKE3(), try BLAKE3(key: key), BLAKE3(deriveKeyContext: "gigi kernel test")]
                    for i in hs.indices {
                        if i == 1 && n > 5000 {  // uneven pieces: partial chunks before and after whole subtrees
                            let a = Swift.min(n, 777)
                            hs[i].update(UnsafeRawBufferPointer(rebasing: p[0..<a]))
                            hs[i].update(UnsafeRawBufferPointer(rebasing: p[a..<n]))
                        } else {
                            hs[i].update(UnsafeRawBufferPointer(rebasing: p[0..<n]))
                        }
                        out.append(hs[i].finalize(count: 40))
                    }
                }
            }
            return out
        }
        XCTAssertEqual(gigi_blake3_limit_kernel(GIGI_BLAKE3_PORTABLE), GIGI_BLAKE3_PORTABLE)
        let reference = try digests()
        for kernel in Self.supportedKernels.dropFirst() {
            XCTAssertEqual(gigi_blake3_limit_kernel(kernel), kernel)
            let got = try digests()
            for (i, n) in lengths.enumerated() where got[3 * i..<3 * i + 3] != reference[3 * i..<3 * i + 3] {
                XCTFail("kernel \(String(cString: gigi_blake3_kernel_name(kernel))) differs at length \(n)")
                break
            }
        }
    }

    /// `BLAKE3.hash` (one C call: every chunk through the kernel at once, padded lanes,
    /// the tree level by level) gives the official vectors and the incremental hasher's
    /// output with every kernel: every length up to 5 KiB, around each multiple of 16
    /// chunks up to 512 KiB (its limit), and past it.
    func testOneShotMatchesVectorsAndIncrementalWithEveryKernel() throws {
        var lengths = Array(0...5 * 1024)
        for chunks in stride(from: 16, through: 528, by: 16) {
            let n = chunks * 1024
            lengths += [n - 9 * 1024, n - 1025, n - 1024, n - 1, n, n + 1, n + 1024, n + 1023]
        }
        let input = Self.pattern(lengths.max()!)
        for kernel in Self.supportedKernels {
            XCTAssertEqual(gigi_blake3_limit_kernel(kernel), kernel)
            let name = String(cString: gigi_blake3_kernel_name(kernel))
            for c in Self.vectors.cases {
                XCTAssertEqual(BLAKE3.hash(Self.pattern(c.input_len)).hex, String(c.hash.prefix(64)),
                               "kernel \(name), vector of length \(c.input_len)")
            }
            input.withUnsafeBytes { p in
                for n in lengths {
                    let piece = UnsafeRawBufferPointer(rebasing: p[0..<n])
                    var h = BLAKE3()
                    h.update(piece)
                    if BLAKE3.hash(piece) != h.finalize() {
                        XCTFail("kernel \(name): one-shot differs from incremental at length \(n)")
                        return
                    }
                }
            }
        }
    }

    /// This machine's CPU has AVX-512F/VL: the detection must find it (and the
    /// test above then checks it). Skipped on CPUs or OSes without it.
    func testAVX512IsDetectedWhenTheCPUHasIt() throws {
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        guard let flags = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else {
            throw XCTSkip("no /proc/cpuinfo flags")
        }
        let set = Set(flags.split(separator: " ").map(String.init))
        try XCTSkipUnless(set.contains("avx512f") && set.contains("avx512vl"), "CPU without AVX-512F/VL")
        XCTAssertEqual(gigi_blake3_detected_kernel(), GIGI_BLAKE3_AVX512)
        XCTAssertEqual(String(cString: gigi_blake3_kernel_name(GIGI_BLAKE3_AVX512)), "avx512")
    }

    func testDefaultOutputIsPrefixOfExtendedOutput() throws {
        for c in Self.vectors.cases {
            XCTAssertEqual(BLAKE3.hash(Self.pattern(c.input_len)).hex, String(c.hash.prefix(64)))
        }
        var h = BLAKE3()
        h.update(Self.pattern(5000))
        let long = h.finalize(count: 300)
        // Seeking into the output stream gives the same bytes.
        XCTAssertEqual(h.finalize(count: 100, seek: 150), Array(long[150..<250]))
        XCTAssertEqual(h.finalize(count: 7, seek: 63), Array(long[63..<70]))
    }

    func testIncrementalUpdatesInOddPieces() throws {
        for step in [1, 7, 64, 65, 1023, 1024, 1025, 3000] {
            try checkVectors { h, input in
                var i = 0
                while i < input.count {
                    let n = Swift.min(step, input.count - i)
                    input[i..<(i + n)].withUnsafeBytes { h.update($0) }
                    i += n
                }
            }
        }
    }

    func testParallelUpdateEqualsSerial() throws {
        let lengths = [0, 1, 1024, 128 * 1024, 1 << 20, (1 << 20) + 1, 3 * (1 << 20) - 1, 5 * 1024 * 1024 + 777]
        for length in lengths {
            let input = Self.pattern(length)
            let expected = BLAKE3.hash(input)
            for threads in [2, 3, 4] {
                var h = BLAKE3()
                input.withUnsafeBytes { h.update($0, threads: threads) }
                XCTAssertEqual(h.finalize(), expected, "length \(length), threads \(threads)")
            }
            // An unaligned prefix first, then the rest in parallel, then more.
            var h = BLAKE3()
            input.withUnsafeBytes { p in
                let a = Swift.min(100, p.count), b = Swift.max(a, p.count - 10)
                h.update(UnsafeRawBufferPointer(rebasing: p[0..<a]))
                h.update(UnsafeRawBufferPointer(rebasing: p[a..<b]), threads: 2)
                h.update(UnsafeRawBufferPointer(rebasing: p[b...]), threads: 2)
            }
            XCTAssertEqual(h.finalize(), expected, "length \(length), split")
        }
    }

    func testSubtreePlanIsAlignedAndNeverTheWholeInput() {
        for (counter, bytes) in [(UInt64(0), 1 << 20), (0, 1024), (0, 2048), (3, 10 << 20), (1024, 4 << 20 + 5)] {
            let plan = BLAKE3.planSubtrees(counter: counter, byteCount: bytes, threads: 2)
            var next = counter
            for p in plan {
                XCTAssertEqual(p.chunks & (p.chunks - 1), 0)
                XCTAssertEqual(p.counter, next)
                XCTAssertEqual(p.counter % UInt64(p.chunks), 0)
                next += UInt64(p.chunks)
            }
            if counter == 0, plan.count == 1 { XCTAssertLessThan(plan[0].chunks * 1024, bytes) }
            // Less than a chunk is left for `update`, or one chunk when it is all the input.
            let left = bytes - Int(next - counter) * 1024
            XCTAssert(left < 1024 || (counter == 0 && left == 1024 && bytes == 1024), "\(left) bytes left")
        }
    }

    func testKeyLengthIsChecked() {
        XCTAssertThrowsError(try BLAKE3(key: [UInt8](repeating: 1, count: 31)))
        XCTAssertThrowsError(try BLAKE3(key: [UInt8](repeating: 1, count: 33)))
    }

    func testDeriveKeyMatchesVector() {
        let v = Self.vectors
        let c = v.cases[5]
        let key = BLAKE3.deriveKey(context: v.context_string, material: Self.pattern(c.input_len), count: 40)
        XCTAssertEqual(Self.hex(key.unsafeBytes), String(c.derive_key.prefix(80)))
    }

    // ── Against b3sum ───────────────────────────────────────────────────────

    static let b3sum = "/usr/bin/b3sum"

    /// Runs b3sum on `files` and returns one hex digest per file.
    func b3sum(_ args: [String], files: [String], stdin: Data? = nil) throws -> [String] {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.b3sum)
        p.arguments = args + ["--no-names", "--"] + files
        let out = Pipe()
        p.standardOutput = out
        let inPipe = Pipe()
        p.standardInput = inPipe
        try p.run()
        if let stdin { inPipe.fileHandleForWriting.write(stdin) }
        try inPipe.fileHandleForWriting.close()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
        return String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
    }

    /// Writes a file per length (pattern bytes) and compares all three modes with b3sum.
    func compareWithB3sum(lengths: [Int], threads: Int = 1) throws {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: Self.b3sum), "b3sum not installed")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("b3-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let longest = Self.pattern(lengths.max() ?? 0)
        var files: [String] = []
        for n in lengths {
            let path = dir.appendingPathComponent("\(n)").path
            try Data(longest[0..<n]).write(to: URL(fileURLWithPath: path))
            files.append(path)
        }
        let v = Self.vectors
        let key = Array(v.key.utf8)
        let expected = [
            try b3sum([], files: files),
            try b3sum(["--keyed"], files: files, stdin: Data(key)),
            try b3sum(["--derive-key", v.context_string], files: files),
        ]
        for (i, n) in lengths.enumerated() {
            var hashers = [BLAKE3(), try BLAKE3(key: key), BLAKE3(deriveKeyContext: v.context_string)]
            longest.withUnsafeBytes { p in
                for j in hashers.indices { hashers[j].update(UnsafeRawBufferPointer(rebasing: p[0..<n]), threads: threads) }
            }
            for mode in 0..<3 {
                XCTAssertEqual(hashers[mode].finalize().hex, expected[mode][i], "length \(n) mode \(mode)")
            }
        }
    }

    func testEveryLengthUpTo2049MatchesB3sum() throws {
        try compareWithB3sum(lengths: Array(0...2049))
    }

    func testOfficialVectorInputsInAllModesMatchB3sum() throws {
        try compareWithB3sum(lengths: Self.vectors.cases.map(\.input_len))
        try compareWithB3sum(lengths: Self.vectors.cases.map(\.input_len), threads: 2)
        // Long enough for the multi-threaded path, in the keyed and derive-key modes too.
        try compareWithB3sum(lengths: [(1 << 20) + 1, (5 << 20) - 1], threads: 2)
    }

    /// Lengths 1024·2^k - 1, 1024·2^k, 1024·2^k + 1 up to 64 MiB (2^GIGI_TEST_B3SUM_MAX_LOG2
    /// when set, e.g. 30 for 1 GiB; scripts/bench-hash checks 1 GiB too), through
    /// FileHasher (mapped windows, two threads, SHA-256 and chunks on) against b3sum
    /// on the same file; and BLAKE3 alone on one and two threads. One file is written
    /// once and cut shorter for each length.
    func testPowerOfTwoBoundariesMatchB3sum() throws {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: Self.b3sum), "b3sum not installed")
        let maxLog2 = ProcessInfo.processInfo.environment["GIGI_TEST_B3SUM_MAX_LOG2"].flatMap { Int($0) } ?? 26
        var lengths: [Int] = []
        for k in 10...maxLog2 { let n = 1 << k; lengths += [n + 1, n, n - 1] }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("b3-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("pattern").path
        try writePatternFile(path: path, count: lengths[0])
        let hasher = FileHasher(threads: 2, chunkSize: 256 * 1024, sha256: true)
        // BLAKE3 only: 64 MiB windows whose pages each job releases.
        let plain = [FileHasher(threads: 2), FileHasher(threads: 1)]
        for n in lengths {  // longest first
            XCTAssertEqual(truncate(path, off_t(n)), 0)
            let expected = try b3sum([], files: [path])
            for h in plain { XCTAssertEqual([try h.hash(path: path).blake3.hex], expected, "length \(n), \(h.threads) threads") }
            var chunks = 0
            let got = try hasher.hash(path: path) { _ in chunks += 1 }
            XCTAssertEqual(got.size, UInt64(n))
            XCTAssertEqual([got.blake3.hex], expected, "length \(n)")
            XCTAssertEqual(chunks, Swift.max(1, (n + 256 * 1024 - 1) / (256 * 1024)))
        }
    }

    /// A file of `count` pattern bytes (i % 251), written a whole number of periods at a time.
    func writePatternFile(path: String, count: Int) throws {
        let block = Self.pattern(251 * 4096)
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: nil))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        var left = count
        while left > 0 {
            let n = Swift.min(left, block.count)
            try handle.write(contentsOf: block[0..<n])
            left -= n
        }
    }

    func testExtendedOutputInAllModesMatchesB3sum() throws {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: Self.b3sum), "b3sum not installed")
        let v = Self.vectors
        let key = Array(v.key.utf8)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("b3x-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let inputLengths = [0, 1, 1024, 3000, 70_000]
        var files: [String] = []
        for n in inputLengths {
            files.append(dir.appendingPathComponent("\(n)").path)
            try Data(Self.pattern(n)).write(to: URL(fileURLWithPath: files.last!))
        }
        for outLength in [1, 31, 32, 33, 63, 64, 65, 1000, 4103] {
            let expected = [
                try b3sum(["--length", "\(outLength)"], files: files),
                try b3sum(["--length", "\(outLength)", "--keyed"], files: files, stdin: Data(key)),
                try b3sum(["--length", "\(outLength)", "--derive-key", v.context_string], files: files),
            ]
            for (i, n) in inputLengths.enumerated() {
                let got = try outputs(Self.pattern(n), count: outLength) { h, bytes in h.update(bytes) }
                XCTAssertEqual(got, expected.map { $0[i] }, "input \(n), output \(outLength)")
            }
        }
    }
}
