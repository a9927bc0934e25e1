// Link-local UDP multicast sockets for LAN discovery (GigiDNS).
//
// Per DESIGN.md only the host module opens sockets, so the sockets live here and
// the protocol (GigiDNS) stays NIOCore-only: it hands datagrams to `send` and
// receives datagrams through `onDatagram`.
//
// Shape: one receive socket per address family bound to the wildcard address on
// the discovery port (SO_REUSEADDR, so the original gigi-dns or another Gigi on
// the same host can share it), joined to the group on every selected interface;
// one send socket per interface and family with IP_MULTICAST_IF / IPV6_MULTICAST_IF
// pinned to it, multicast TTL / hop limit 1 (never routed), loopback on (two
// nodes on one host see each other; the protocol drops its own packets).
// Interfaces are re-read with getifaddrs every `pollInterval`; joins and send
// sockets follow interfaces and IPv4 addresses that come and go.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore
import NIOPosix

/// Settings for `MulticastTransport`.
public struct MulticastTransportConfig: Sendable {
    public var port: Int
    public var ipv4Group: String
    public var ipv6Group: String?
    /// Only these interfaces (by name); nil = every up, multicast-capable, non-loopback one.
    public var interfaces: [String]?
    public var pollInterval: TimeAmount

    public init(port: Int, ipv4Group: String, ipv6Group: String?, interfaces: [String]? = nil,
                pollInterval: TimeAmount = .seconds(3)) {
        self.port = port; self.ipv4Group = ipv4Group; self.ipv6Group = ipv6Group
        self.interfaces = interfaces; self.pollInterval = pollInterval
    }
}

/// One usable interface as seen by the last poll.
public struct MulticastInterface: Hashable, Sendable {
    public var name: String
    public var index: Int
    /// IPv4 addresses (dotted quad); empty when the interface has none.
    public var ipv4: [String]
    /// Whether the interface has an IPv6 address (we use its index for IPv6 multicast).
    public var hasIPv6: Bool
}

/// Errors from `MulticastTransport.start`.
public struct MulticastTransportError: Error, CustomStringConvertible {
    public let description: String
}

/// Link-local multicast send/receive on every selected interface. Thread-safe: all
/// state lives on `eventLoop`.
public final class MulticastTransport: @unchecked Sendable {
    public let eventLoop: EventLoop
    private let config: MulticastTransportConfig
    private let onDatagram: @Sendable ([UInt8]) -> Void
    private let onInterfacesChanged: @Sendable ([MulticastInterface]) -> Void
    private var receive4: Channel?
    private var receive6: Channel?
    /// Send sockets keyed by "v4:<name>:<addr>" / "v6:<name>".
    private var senders: [String: Channel] = [:]
    private var current: [MulticastInterface] = []
    private var pollTask: RepeatedTask?
    private var closed = false
    private let group4: SocketAddress
    private let group6: SocketAddress?

    private init(eventLoop: EventLoop, config: MulticastTransportConfig,
                 onDatagram: @escaping @Sendable ([UInt8]) -> Void,
                 onInterfacesChanged: @escaping @Sendable ([MulticastInterface]) -> Void) throws {
        self.eventLoop = eventLoop
        self.config = config
        self.onDatagram = onDatagram
        self.onInterfacesChanged = onInterfacesChanged
        self.group4 = try SocketAddress(ipAddress: config.ipv4Group, port: config.port)
        self.group6 = try config.ipv6Group.map { try SocketAddress(ipAddress: $0, port: config.port) }
    }

    /// Opens the sockets and joins the groups. `onDatagram` runs on the event loop.
    public static func start(eventLoop: EventLoop, config: MulticastTransportConfig,
                             onDatagram: @escaping @Sendable ([UInt8]) -> Void,
                             onInterfacesChanged: @escaping @Sendable ([MulticastInterface]) -> Void = { _ in })
        async throws -> MulticastTransport {
        let t = try MulticastTransport(eventLoop: eventLoop, config: config, onDatagram: onDatagram,
                                       onInterfacesChanged: onInterfacesChanged)
        t.receive4 = try await t.bind(host: "0.0.0.0", port: config.port, v6: false).get()
        if config.ipv6Group != nil {
            // IPv6 may be disabled (e.g. in test namespaces): then IPv4 alone.
            t.receive6 = try? await t.bind(host: "::", port: config.port, v6: true).get()
        }
        try await eventLoop.submit { t.poll() }.get()
        t.pollTask = eventLoop.scheduleRepeatedTask(initialDelay: config.pollInterval, delay: config.pollInterval) { _ in
            t.poll()
        }
        return t
    }

    /// Interfaces in use after the last poll.
    public func interfaces() async -> [MulticastInterface] {
        (try? await eventLoop.submit { self.current }.get()) ?? []
    }

    /// Sends one datagram to the group(s) on every interface in use.
    public func send(_ bytes: [UInt8]) {
        eventLoop.execute {
            guard !self.closed else { return }
            for (key, ch) in self.senders {
                let dest = key.hasPrefix("v6:") ? self.group6 : self.group4
                guard let dest else { continue }
                var buf = ch.allocator.buffer(capacity: bytes.count)
                buf.writeBytes(bytes)
                ch.writeAndFlush(AddressedEnvelope(remoteAddress: dest, data: buf), promise: nil)
            }
        }
    }

    /// Closes every socket. Datagrams handed to `send` before are flushed first.
    public func close() async {
        let channels: [Channel] = (try? await eventLoop.submit { () -> [Channel] in
            self.closed = true
            self.pollTask?.cancel()
            let all = Array(self.senders.values) + [self.receive4, self.receive6].compactMap { $0 }
            self.senders = [:]
            return all
        }.get()) ?? []
        for ch in channels { try? await ch.close() }
    }

    // MARK: - sockets

    private func bind(host: String, port: Int, v6: Bool) -> EventLoopFuture<Channel> {
        let onDatagram = self.onDatagram
        var b = DatagramBootstrap(group: eventLoop)
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            .channelInitializer { ch in
                ch.eventLoop.makeCompletedFuture { try ch.pipeline.syncOperations.addHandler(InboundHandler(onDatagram)) }
            }
        if v6 { b = b.channelOption(ChannelOptions.Types.SocketOption(level: .ipv6, name: .ipv6_v6only), value: 1) }
        return b.bind(host: host, port: port).flatMap { ch in
            guard let opts = ch as? SocketOptionProvider else { return ch.eventLoop.makeSucceededFuture(ch) }
            let set: EventLoopFuture<Void> = v6
                ? opts.setIPv6MulticastHops(1).flatMap { opts.setIPv6MulticastLoop(1) }
                : opts.setIPMulticastTTL(1).flatMap { opts.setIPMulticastLoop(1) }
            return set.map { ch }
        }
    }

    /// Reads interfaces and brings joins and send sockets in line with them. On the loop.
    private func poll() {
        guard !closed else { return }
        let found = Self.usableInterfaces(only: config.interfaces)
        guard found != current else { return }
        let devices = (try? System.enumerateDevices()) ?? []
        let oldKeys = Set(senders.keys)
        var wanted: [String: (MulticastInterface, String?)] = [:]
        for i in found {
            for a in i.ipv4 { wanted["v4:\(i.name):\(a)"] = (i, a) }
            if i.hasIPv6, group6 != nil, receive6 != nil { wanted["v6:\(i.name)"] = (i, nil) }
        }
        for key in oldKeys.subtracting(wanted.keys) {
            if let ch = senders.removeValue(forKey: key) { ch.close(promise: nil) }
            leave(key: key, devices: devices)
        }
        for key in Set(wanted.keys).subtracting(oldKeys) {
            guard let (iface, addr) = wanted[key] else { continue }
            openSender(key: key, iface: iface, ipv4: addr, devices: devices)
        }
        current = found
        onInterfacesChanged(found)
    }

    private func device(_ devices: [NIONetworkDevice], name: String, ipv4: String?) -> NIONetworkDevice? {
        devices.first { d in
            guard d.name == name, let a = d.address else { return false }
            if let ipv4 { return a.protocol == .inet && a.ipAddress == ipv4 }
            return a.protocol == .inet6
        }
    }

    private func openSender(key: String, iface: MulticastInterface, ipv4: String?, devices: [NIONetworkDevice]) {
        let dev = device(devices, name: iface.name, ipv4: ipv4)
        let v6 = ipv4 == nil
        // Join on the receive socket for this interface.
        if let dev, let rx = (v6 ? receive6 : receive4) as? MulticastChannel {
            rx.joinGroup(v6 ? group6! : group4, device: dev, promise: nil)
        }
        let index = iface.index
        let ifAddr = ipv4.flatMap { a -> in_addr? in
            var out = in_addr()
            return inet_pton(AF_INET, a, &out) == 1 ? out : nil
        }
        bind(host: v6 ? "::" : "0.0.0.0", port: 0, v6: v6).flatMap { ch -> EventLoopFuture<Channel> in
            guard let opts = ch as? SocketOptionProvider else { return ch.eventLoop.makeSucceededFuture(ch) }
            let pin: EventLoopFuture<Void> = v6
                ? opts.setIPv6MulticastIF(CUnsignedInt(index))
                : (ifAddr.map { opts.setIPMulticastIF($0) } ?? ch.eventLoop.makeSucceededVoidFuture())
            return pin.map { ch }
        }.whenComplete { result in
            guard case .success(let ch) = result else { return }
            if self.closed || self.senders[key] != nil { ch.close(promise: nil); return }
            self.senders[key] = ch
        }
    }

    private func leave(key: String, devices: [NIONetworkDevice]) {
        let parts = key.split(separator: ":", maxSplits: 2).map(String.init)
        guard parts.count >= 2 else { return }
        let v6 = parts[0] == "v6"
        guard let dev = device(devices, name: parts[1], ipv4: v6 ? nil : parts[2]),
              let rx = (v6 ? receive6 : receive4) as? MulticastChannel else { return }
        rx.leaveGroup(v6 ? group6! : group4, device: dev, promise: nil)
    }

    // MARK: - interfaces

    /// Up, running, multicast-capable, non-loopback interfaces (getifaddrs), optionally pinned by name.
    public static func usableInterfaces(only names: [String]? = nil) -> [MulticastInterface] {
        var head: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&head) == 0, let first = head else { return [] }
        defer { freeifaddrs(head) }
        var byName: [String: MulticastInterface] = [:]
        var order: [String] = []
        var p: UnsafeMutablePointer<ifaddrs>? = first
        while let cur = p {
            defer { p = cur.pointee.ifa_next }
            let flags = Int32(bitPattern: cur.pointee.ifa_flags)
            let name = String(decoding: UnsafeRawBufferPointer(start: cur.pointee.ifa_name, count: strlen(cur.pointee.ifa_name)), as: UTF8.self)
            guard flags & Int32(IFF_UP) != 0, flags & Int32(IFF_RUNNING) != 0,
                  flags & Int32(IFF_MULTICAST) != 0, flags & Int32(IFF_LOOPBACK) == 0,
                  names.map({ $0.contains(name) }) ?? true,
                  let sa = cur.pointee.ifa_addr else { continue }
            let family = Int32(sa.pointee.sa_family)
            guard family == AF_INET || family == AF_INET6 else { continue }
            if byName[name] == nil {
                byName[name] = MulticastInterface(name: name, index: Int(if_nametoindex(name)), ipv4: [], hasIPv6: false)
                order.append(name)
            }
            if family == AF_INET {
                var text = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
                sa.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sin in
                    var a = sin.pointee.sin_addr
                    _ = inet_ntop(AF_INET, &a, &text, socklen_t(text.count))
                }
                byName[name]!.ipv4.append(String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
            } else {
                byName[name]!.hasIPv6 = true
            }
        }
        return order.compactMap { byName[$0] }.map { var i = $0; i.ipv4.sort(); return i }
    }
}

/// Hands each received datagram's bytes to the callback.
private final class InboundHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    private let onDatagram: @Sendable ([UInt8]) -> Void
    init(_ f: @escaping @Sendable ([UInt8]) -> Void) { onDatagram = f }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var env = unwrapInboundIn(data)
        if let bytes = env.data.readBytes(length: env.data.readableBytes) { onDatagram(bytes) }
    }
}
