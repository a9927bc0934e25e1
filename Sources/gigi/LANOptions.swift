// LAN discovery options shared by every command that runs a node (`gigi peers`,
// and `gigi share`, `gigi fetch`, `gigi daemon`): `@OptionGroup var lan: LANOptions`.
//
// Precedence: the option, then the environment (GIGI_LAN_DISCOVERY,
// GIGI_LAN_INTERFACES, GIGI_LAN_TTL), then `[lan]` in GIGI_HOME/config.toml,
// then the default (on, every multicast-capable interface).

import ArgumentParser
import Foundation
import GigiAuth
import GigiBase
import GigiDNS

struct LANOptions: ParsableArguments {
    @Option(name: .customLong("lan-discovery"),
            help: ArgumentHelp("Turn LAN discovery (GigiDNS multicast) on or off (default: $GIGI_LAN_DISCOVERY, else on).",
                               valueName: "on|off"))
    var lanDiscovery: String?

    @Option(name: .customLong("lan-interfaces"),
            help: ArgumentHelp("Discover only on these interfaces, comma-separated (default: $GIGI_LAN_INTERFACES, else every multicast-capable one).",
                               valueName: "if1,if2"))
    var lanInterfaces: String?

    @Option(name: .long,
            help: ArgumentHelp("The nickname announced on the LAN (default: the account's nickname, else the host name).",
                               valueName: "name"))
    var nickname: String?

    /// Seconds others keep our entry without hearing from us (tests use short ones).
    @Option(name: .customLong("lan-ttl"), help: .hidden)
    var lanTTL: UInt32?

    func validate() throws {
        if let v = lanDiscovery, !["on", "off"].contains(v.lowercased()) {
            throw ValidationError("--lan-discovery takes on or off, not \"\(v)\".")
        }
        if let n = nickname, !Self.usable(n) {
            throw ValidationError("--nickname takes 1 to \(GigiDNSRecord.Limits.maxNicknameBytes) bytes without control characters.")
        }
        if let list = lanInterfaces {
            let names = list.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            // Linux interface names: 1 to 15 bytes (IFNAMSIZ - 1), no '/' and no white space.
            guard names.allSatisfy({ !$0.isEmpty && $0.utf8.count <= 15 && !$0.contains("/") && !$0.contains(where: \.isWhitespace) })
            else { throw ValidationError("--lan-interfaces takes interface names separated by commas, such as eth0,wlan0.") }
        }
        if let ttl = lanTTL, ttl == 0 || ttl > 86_400 {
            throw ValidationError("--lan-ttl must be between 1 and 86400 seconds.")
        }
    }

    /// The discovery configuration: these options, else the environment, else `[lan]` in
    /// GIGI_HOME/config.toml (`discovery = "off"` or false, `interfaces = ["eth0"]`).
    func serviceConfig(home: String) throws -> GigiDNSServiceConfig {
        let env = ProcessInfo.processInfo.environment
        var discovery = lanDiscovery ?? env["GIGI_LAN_DISCOVERY"]
        var interfaces = lanInterfaces ?? env["GIGI_LAN_INTERFACES"]
        if discovery == nil || interfaces == nil {
            let file = try GigiConfigFile.load(home: home)
            if discovery == nil, let v = file["lan.discovery"] {
                if let b = v.bool { discovery = b ? "on" : "off" }
                else if let t = v.string, ["on", "off"].contains(t.lowercased()) { discovery = t }
                else { throw GigiError("lan.discovery in \(GigiConfigFile.fileName) must be \"on\", \"off\", true or false.", exitCode: .dataError) }
            }
            if interfaces == nil, let v = file["lan.interfaces"] {
                guard let list = v.stringList else {
                    throw GigiError("lan.interfaces in \(GigiConfigFile.fileName) must be a list of interface names, such as [\"eth0\"].",
                                    exitCode: .dataError)
                }
                interfaces = list.joined(separator: ",")
            }
        }
        return GigiDNSServiceConfig.fromEnvironment(env, flag: discovery, interfaces: interfaces, ttl: lanTTL)
    }

    /// The nickname to announce: `--nickname`, else the account's nickname in `home`,
    /// else the host name's first label (always valid for a GigiDNS record).
    func announcedNickname(home: String) -> String {
        if let nickname { return nickname }
        if let info = try? Keystore(home: home).info(), let n = info.nickname, Self.usable(n) { return n }
        return Self.hostNickname()
    }

    static func usable(_ n: String) -> Bool {
        !n.isEmpty && n.utf8.count <= GigiDNSRecord.Limits.maxNicknameBytes
            && !n.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
    }

    static func hostNickname() -> String {
        var buf = [CChar](repeating: 0, count: 256)
        guard gethostname(&buf, buf.count) == 0 else { return "gigi" }
        let host = String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let label = String(host.split(separator: ".").first ?? "")
        var out = ""
        for ch in label where out.utf8.count + ch.utf8.count <= GigiDNSRecord.Limits.maxNicknameBytes {
            out.append(ch)
        }
        return usable(out) ? out : "gigi"
    }
}
