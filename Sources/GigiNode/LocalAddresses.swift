// Expands wildcard listen addresses (0.0.0.0, ::) into the addresses of this
// machine's interfaces, for printing and announcing. Reads getifaddrs only;
// opens no socket.

#if canImport(Glibc)
import Glibc
#endif
import P2PCore

enum LocalAddresses {
    /// `addr` itself, or — for a wildcard host — one address per interface
    /// address of that family (loopback last, so the first is the useful one).
    static func expand(_ addr: Multiaddr) -> [Multiaddr] {
        guard addr.components.count >= 2 else { return [addr] }
        let rest = Array(addr.components.dropFirst())
        switch addr.components[0] {
        case .ip4(let a) where a.bytes == [0, 0, 0, 0]:
            let list = interfaceAddresses(family: AF_INET)
            return sortLoopbackLast(list.compactMap { MultiaddrComponent.IPv4($0) }.map { Multiaddr([.ip4($0)] + rest) })
        case .ip6(let a) where a.bytes.allSatisfy({ $0 == 0 }):
            let list = interfaceAddresses(family: AF_INET6)
            return sortLoopbackLast(list.compactMap { MultiaddrComponent.IPv6($0) }.map { Multiaddr([.ip6($0)] + rest) })
        default:
            return [addr]
        }
    }

    private static func isLoopback(_ a: Multiaddr) -> Bool {
        switch a.components.first {
        case .ip4(let v)?: return v.bytes[0] == 127
        case .ip6(let v)?: return v.bytes == [UInt8](repeating: 0, count: 15) + [1]
        default: return false
        }
    }

    private static func sortLoopbackLast(_ list: [Multiaddr]) -> [Multiaddr] {
        list.filter { !isLoopback($0) } + list.filter(isLoopback)
    }

    /// Numeric addresses of up interfaces of one family (IPv6 link-local left out:
    /// they need a zone to be dialled).
    static func interfaceAddresses(family: Int32) -> [String] {
        var head: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&head) == 0, let first = head else { return [] }
        defer { freeifaddrs(head) }
        var out: [String] = []
        var cur: UnsafeMutablePointer<ifaddrs>? = first
        while let p = cur {
            defer { cur = p.pointee.ifa_next }
            guard let sa = p.pointee.ifa_addr, Int32(sa.pointee.sa_family) == family,
                  p.pointee.ifa_flags & UInt32(IFF_UP) != 0 else { continue }
            var buf = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            let len = socklen_t(family == AF_INET ? MemoryLayout<sockaddr_in>.size : MemoryLayout<sockaddr_in6>.size)
            guard getnameinfo(sa, len, &buf, socklen_t(buf.count), nil, 0, NI_NUMERICHOST) == 0 else { continue }
            let text = String(cString: buf)
            if family == AF_INET6 && (text.hasPrefix("fe80") || text.contains("%")) { continue }
            if !out.contains(text) { out.append(text) }
        }
        return out
    }
}
