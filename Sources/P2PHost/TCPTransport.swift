// TCP transport: multiaddr ↔ socket address, listening and dialling sockets (IPv4 and IPv6).

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore
import NIOPosix
import P2PCore

enum TCPTransport {
    /// Read buffers grow up to this (fewer syscalls per Noise frame; a Noise frame is ≤ 64 KiB).
    static let recvAllocator = AdaptiveRecvByteBufferAllocator(minimum: 2048, initial: 64 * 1024, maximum: 256 * 1024)
    /// The channel stops being writable past `high` buffered bytes; stream writers then wait.
    static let writeWaterMark = ChannelOptions.Types.WriteBufferWaterMark(low: 1024 * 1024, high: 4 * 1024 * 1024)

    /// Where to connect or bind: `/ip4|ip6|dns|dns4|dns6/…/tcp/PORT`, optionally followed by `/p2p/ID`.
    enum Target {
        case socket(SocketAddress)
        case host(String, port: Int)
    }

    static func target(for address: Multiaddr) throws -> Target {
        let bare = address.withoutTrailingPeerID
        guard bare.components.count == 2, let endpoint = bare.endpoint, endpoint.transport == .tcp else {
            throw P2PHostError.unsupportedAddress(address)
        }
        switch endpoint.host {
        case .ip4(let a):
            return .socket(try socketAddress(a.description, Int(endpoint.port), address))
        case .ip6(let a):
            return .socket(try socketAddress(a.description, Int(endpoint.port), address))
        case .dns(let name, _):
            return .host(name, port: Int(endpoint.port))
        }
    }

    private static func socketAddress(_ ip: String, _ port: Int, _ original: Multiaddr) throws -> SocketAddress {
        do { return try SocketAddress(ipAddress: ip, port: port) } catch {
            throw P2PHostError.unsupportedAddress(original)
        }
    }

    /// The multiaddr of a socket address (`/ip4|ip6/ADDR/tcp/PORT`).
    static func multiaddr(_ address: SocketAddress?) -> Multiaddr? {
        guard let address, let ip = address.ipAddress, let port = address.port else { return nil }
        let bare = ip.split(separator: "%").first.map(String.init) ?? ip  // drop an IPv6 zone
        return try? Multiaddr.tcp(ipAddress: bare, port: UInt16(port))
    }

    static func isIPv6(_ address: SocketAddress) -> Bool {
        if case .v6 = address { return true }
        return false
    }
}
