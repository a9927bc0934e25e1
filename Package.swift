// swift-tools-version:6.0
// Gigi: peer-to-peer file sharing with messaging. See README.md for the module map.
import PackageDescription

let strict: [SwiftSetting] = [.swiftLanguageMode(.v6)]

let package = Package(
    name: "gigi",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "gigi", targets: ["gigi"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
    ],
    targets: [
        // ── C: system libraries (pkg-config) and our BLAKE3 kernels ─────────
        .systemLibrary(name: "CSodium", path: "Sources/CSodium", pkgConfig: "libsodium",
                       providers: [.apt(["libsodium-dev"])]),
        .systemLibrary(name: "COpenSSL", path: "Sources/COpenSSL", pkgConfig: "libcrypto",
                       providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CBlake2", path: "Sources/CBlake2", pkgConfig: "libb2",
                       providers: [.apt(["libb2-dev"])]),
        .systemLibrary(name: "CLMDB", path: "Sources/CLMDB", pkgConfig: "lmdb",
                       providers: [.apt(["liblmdb-dev"])]),
        .target(name: "CBLAKE3", path: "Sources/CBLAKE3",
                cSettings: [.unsafeFlags(["-O3"])]),

        // ── Foundation layer ────────────────────────────────────────────────
        .target(name: "GigiBase", swiftSettings: strict),
        .target(name: "GigiCBOR", swiftSettings: strict),
        .target(name: "GigiCrypto",
                dependencies: ["GigiBase", "CSodium", "COpenSSL", "CBlake2", "CBLAKE3"],
                swiftSettings: strict),
        .target(name: "GigiStore",
                dependencies: ["GigiBase", "GigiCBOR", "GigiCrypto", "CLMDB"],
                swiftSettings: strict),
        .target(name: "P2PCore",
                dependencies: ["GigiBase", "GigiCrypto",
                               .product(name: "NIOCore", package: "swift-nio"),
                               .product(name: "SwiftProtobuf", package: "swift-protobuf")],
                exclude: ["Protos/keys.proto"],
                swiftSettings: strict),
        .target(name: "GigiAuth",
                dependencies: ["GigiBase", "GigiCrypto", "P2PCore", "COpenSSL"],
                resources: [.copy("Resources/bip39-english.txt")],
                swiftSettings: strict),

        // ── libp2p protocols (NIOCore only) and the host (NIOPosix) ─────────
        .target(name: "P2PYamux",
                dependencies: [.product(name: "NIOCore", package: "swift-nio")],
                swiftSettings: strict),
        .target(name: "P2PMultistream",
                dependencies: ["GigiBase", "P2PCore", .product(name: "NIOCore", package: "swift-nio")],
                swiftSettings: strict),
        .target(name: "P2PNoise",
                dependencies: ["GigiBase", "GigiCrypto", "P2PCore",
                               .product(name: "NIOCore", package: "swift-nio"),
                               .product(name: "SwiftProtobuf", package: "swift-protobuf")],
                exclude: ["Protos/payload.proto"],
                swiftSettings: strict),
        .target(name: "P2PHost",
                dependencies: ["GigiBase", "GigiCrypto", "GigiCBOR", "P2PCore",
                               "P2PMultistream", "P2PNoise", "P2PYamux",
                               .product(name: "NIOCore", package: "swift-nio"),
                               .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                               .product(name: "NIOPosix", package: "swift-nio"),
                               .product(name: "Logging", package: "swift-log")],
                swiftSettings: strict),

        // ── Application layer ───────────────────────────────────────────────
        .target(name: "GigiFiles",
                dependencies: ["GigiBase", "GigiCBOR", "GigiCrypto", "GigiStore", "GigiAuth", "P2PCore", "P2PHost",
                               "CSodium",
                               .product(name: "Logging", package: "swift-log")],
                swiftSettings: strict),
        .target(name: "GigiDNS",
                dependencies: ["GigiBase", "GigiCrypto", "GigiStore", "P2PCore", "P2PHost",
                               .product(name: "NIOCore", package: "swift-nio"),
                               .product(name: "NIOConcurrencyHelpers", package: "swift-nio")],
                swiftSettings: strict),
        .target(name: "GigiNode",
                dependencies: ["GigiBase", "GigiCrypto", "GigiStore", "GigiAuth", "GigiFiles",
                               "P2PCore", "P2PHost",
                               .product(name: "NIOCore", package: "swift-nio"),
                               .product(name: "Logging", package: "swift-log")],
                swiftSettings: strict),

        // ── The CLI ─────────────────────────────────────────────────────────
        .executableTarget(name: "gigi",
                          dependencies: ["GigiNode", "GigiDNS", "GigiAuth", "GigiCrypto",
                                         .product(name: "NIOPosix", package: "swift-nio"),
                                         .product(name: "ArgumentParser", package: "swift-argument-parser"),
                                         .product(name: "Logging", package: "swift-log")],
                          swiftSettings: strict),

        // Crash-test child and benchmark for GigiStore (not installed; see scripts/bench-store).
        .executableTarget(name: "gigi-store-tool", dependencies: ["GigiStore", "GigiCrypto"],
                          swiftSettings: strict),

        // ── Tests ───────────────────────────────────────────────────────────
        .testTarget(name: "GigiCryptoTests", dependencies: ["GigiCrypto"],
                    resources: [.copy("Vectors")], swiftSettings: strict),
        .testTarget(name: "GigiCBORTests", dependencies: ["GigiCBOR"],
                    resources: [.copy("Vectors")], swiftSettings: strict),
        .testTarget(name: "GigiStoreTests", dependencies: ["GigiStore", "gigi-store-tool"], swiftSettings: strict),
        .testTarget(name: "GigiAuthTests", dependencies: ["GigiAuth"],
                    resources: [.copy("Vectors")], swiftSettings: strict),
        .testTarget(name: "P2PCoreTests", dependencies: ["P2PCore"],
                    resources: [.copy("Vectors")], swiftSettings: strict),
        .testTarget(name: "P2PYamuxTests", dependencies: ["P2PYamux"], swiftSettings: strict),
        .testTarget(name: "P2PMultistreamTests", dependencies: ["P2PMultistream", "P2PCore"], swiftSettings: strict),
        .testTarget(name: "P2PNoiseTests", dependencies: ["P2PNoise", "P2PCore", "GigiCrypto", "GigiBase"],
                    resources: [.copy("Vectors")], swiftSettings: strict),
        .testTarget(name: "P2PHostTests",
                    dependencies: ["P2PHost", "P2PCore", "P2PYamux", "GigiCrypto",
                                   .product(name: "NIOCore", package: "swift-nio"),
                                   .product(name: "NIOPosix", package: "swift-nio")],
                    swiftSettings: strict),
        .testTarget(name: "GigiFilesTests", dependencies: ["GigiFiles"],
                    resources: [.copy("Vectors")], swiftSettings: strict),
        .testTarget(name: "GigiDNSTests", dependencies: ["GigiDNS"],
                    resources: [.copy("Vectors")], swiftSettings: strict),
        // GigiFiles/P2PHost for the lying-sharer test double (MaliciousSharerTests).
        .testTarget(name: "GigiCLITests",
                    dependencies: ["GigiBase", "GigiCBOR", "GigiCrypto", "GigiFiles", "P2PCore", "P2PHost",
                                   .product(name: "NIOCore", package: "swift-nio")],
                    swiftSettings: strict),
    ]
)
