// Benchmark of GigiMessaging in one process (see scripts/bench-dm): two P2PHosts on
// loopback with their own LMDB stores exchange COUNT direct messages per direction, with
// CONCURRENCY sends in flight per direction. Prints acknowledged messages per second and
// the latency of `send` (stored + delivered + acknowledged + recorded) at p50/p99.
//
//   gigi-dm-bench COUNT CONCURRENCY DURABILITY(full|nometasync|none) DIRECTIONS(1|2)

import Foundation
import GigiMessaging
import GigiStore
import P2PCore
import P2PHost

let args = CommandLine.arguments
let count = args.count > 1 ? Int(args[1]) ?? 10_000 : 10_000
let concurrency = args.count > 2 ? Int(args[2]) ?? 64 : 64
let durabilityName = args.count > 3 ? args[3] : "full"
let directions = args.count > 4 ? Int(args[4]) ?? 2 : 2

var storeConfig = LMDBEnvironment.Configuration()
switch durabilityName {
case "none": storeConfig.durability = .none
case "nometasync": storeConfig.durability = .noMetaSync
default: storeConfig.durability = .full
}

struct Node {
    let host: P2PHost
    let store: Store
    let service: MessagingService
    let address: Multiaddr
}

func makeNode(_ dir: String, _ storeConfig: LMDBEnvironment.Configuration) async throws -> Node {
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let store = try Store(path: dir, configuration: storeConfig)
    let host = P2PHost(identity: P2PPrivateKey())
    let bound = try await host.listen(try Multiaddr("/ip4/127.0.0.1/tcp/0"))
    var config = MessagingConfig()
    config.sendTimeout = .seconds(60)
    let service = try MessagingService(host: host, store: store, nickname: "bench", config: config)
    try await service.start()
    return Node(host: host, store: store, service: service, address: try bound.withPeerID(host.peerID))
}

let root = NSTemporaryDirectory() + "gigi-bench-dm-" + UUID().uuidString
defer { try? FileManager.default.removeItem(atPath: root) }
let a = try await makeNode(root + "/a", storeConfig)
let b = try await makeNode(root + "/b", storeConfig)
await a.host.addAddresses([b.address], for: b.host.peerID)
await b.host.addAddresses([a.address], for: a.host.peerID)
// Warm up the connection.
_ = try await a.service.send(text: "warm-up", to: b.host.peerID)

let text = String(repeating: "m", count: 100)
let clock = ContinuousClock()
let start = clock.now
let results: [(Duration, Bool)] = try await withThrowingTaskGroup(of: [(Duration, Bool)].self) { group in
    let pairs = directions == 2 ? [(a, b), (b, a)] : [(a, b)]
    for (from, to) in pairs {
        for lane in 0..<concurrency {
            group.addTask {
                var out: [(Duration, Bool)] = []
                for _ in stride(from: lane, to: count, by: concurrency) {
                    let t0 = clock.now
                    let r = try await from.service.send(text: text, to: to.host.peerID)
                    if case .delivered = r { out.append((clock.now - t0, true)) } else { out.append((clock.now - t0, false)) }
                }
                return out
            }
        }
    }
    var all: [(Duration, Bool)] = []
    for try await part in group { all += part }
    return all
}
let elapsed = clock.now - start
let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
let delivered = results.filter(\.1).count
let latencies = results.map(\.0).sorted()
func ms(_ d: Duration) -> String { String(format: "%.2f", Double(d.components.attoseconds) / 1e15 + Double(d.components.seconds) * 1000) }
func percentile(_ p: Double) -> Duration { latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))] }
print("messages: \(results.count) (\(directions) direction(s)), delivered within the call: \(delivered), concurrency \(concurrency) per direction, durability \(durabilityName)")
print(String(format: "throughput: %.0f acknowledged msgs/s in %.2f s", Double(delivered) / seconds, seconds))
print("send latency: p50 \(ms(percentile(0.5))) ms, p99 \(ms(percentile(0.99))) ms, max \(ms(latencies.last!)) ms")
await a.service.stop()
await b.service.stop()
await a.host.shutdown()
await b.host.shutdown()
