public import MacvtapModel

/// What a domain file cannot say about a host's devices, from `.virt-macvtap.json` (`"hairpin"`,
/// `"shims"`, top level or per host) or, live, from the host itself.
public struct ReachFacts: Sendable, Hashable, Codable {
    /// Lower devices whose switch port reflects frames back (hairpin, reflective relay).
    public var hairpin: Set<String>
    /// Lower devices on which the host has a macvlan shim in bridge mode (`host-shim`).
    public var shims: Set<String>
    /// Lower devices without carrier or administratively down (live only).
    public var down: Set<String>

    public init(hairpin: Set<String> = [], shims: Set<String> = [], down: Set<String> = []) {
        self.hairpin = hairpin
        self.shims = shims
        self.down = down
    }
}

extension ReachFacts {
    /// These facts with what a live host shows: its devices that are down or without carrier
    /// (as libvirt or the kernel reports them) and the devices that carry a shim (when the
    /// kernel's links were read: a local host).
    public func observing(_ host: HostInventory) -> ReachFacts {
        var facts = self
        facts.down.formUnion(host.hostInterfaces.filter(\.isDown).map(\.name))
        facts.shims.formUnion(host.hostInterfaces.filter(\.isShim).compactMap(\.lowerDevice))
        return facts
    }
}

/// The facts per fleet host; the top level's (`nil`) stand for every host without its own.
public struct HostReachFacts: Sendable {
    public var byHost: [String?: ReachFacts]

    public init(_ byHost: [String?: ReachFacts] = [:]) {
        self.byHost = byHost
    }

    /// The host's own facts, else the top level's, else none.
    public subscript(_ host: String?) -> ReachFacts {
        byHost[host] ?? byHost[nil] ?? ReachFacts()
    }

    /// Adds what `inventory` (a live host's scan) shows to `host`'s facts.
    public mutating func observe(_ inventory: HostInventory, as host: String?) {
        byHost[host] = self[host].observing(inventory)
    }
}

/// Whether one endpoint's frames reach another over macvtap.
public enum ReachVerdict: String, Sendable, Codable, CaseIterable {
    case reaches
    /// Only a switch port that reflects frames (hairpin) would carry them; none is declared.
    case onlyThroughHairpin = "only-through-hairpin"
    case never
}

/// A guest NIC, the host itself, or the LAN, on one lower device.
public struct ReachEndpoint: Sendable, Hashable, Codable {
    /// What the endpoint is: a guest NIC, the host itself, or the LAN behind the device.
    public enum Kind: String, Sendable, Codable { case guest, host, lan }
    public var kind: Kind
    /// `vm1 (52:54:00:00:00:01)`, `host`, `LAN`, `LAN (VLAN 15)`.
    public var name: String
    public var domain: String?
    public var mac: String?
    /// The macvtap's lower device as written (`eth0`, `eth0.15`); the LAN's and host's device.
    public var device: String
    /// The 802.1Q VLAN of that device (`eth0.15` → 15); nil untagged.
    public var vlan: Int?
    public var mode: MacvtapMode?
    /// `<link state='down'/>`.
    public var linkDown: Bool
}

/// One ordered pair and why.
public struct ReachPair: Sendable, Hashable, Codable {
    public var from: String
    public var to: String
    public var verdict: ReachVerdict
    public var reason: String
}

/// Who reaches whom on one physical device of one host (its VLANs included).
public struct ReachSegment: Sendable, Codable {
    /// The host: a fleet host's name, a `-c` URI, or nil for files without a host.
    public var host: String?
    /// The physical device (`eth0`; guests on `eth0.15` are in its segment, on VLAN 15).
    public var device: String
    public var endpoints: [ReachEndpoint]
    /// Every ordered pair of different endpoints.
    public var pairs: [ReachPair]
}

/// The one model of macvtap reachability: `reach` shows it, and lint's advice rules
/// (`vepa-needs-hairpin`, `host-guest-unreachable`, `mixed-modes`) say what it says. The kernel's
/// rules (drivers/net/macvlan.c): a macvtap's frames to another macvtap on the same lower device
/// are delivered inside the kernel only when both are in bridge mode; anything else goes out to
/// the switch, and comes back only if the port reflects it (hairpin); private mode drops frames
/// from other macvtaps on the device even then; the lower device never hands its own frames to its
/// macvtaps, so the host reaches them only through a hairpin port or a bridge-mode shim; a
/// passthrough macvtap owns the device.
public enum Reachability {
    /// The segments of `documents` (one per host and physical device), with `facts` per host
    /// (nil: files without a host). `networks` resolve `type='network'` NICs on single-device
    /// macvtap networks.
    public static func segments(
        of documents: [DocumentSummary], networks: [NetworkSummary] = [], facts: HostReachFacts = HostReachFacts()
    ) -> [ReachSegment] {
        var byKey: [String: (host: String?, device: String, guests: [ReachEndpoint])] = [:]
        var order: [String] = []
        for use in documents.interfaceUses(through: networks.byName) {
            guard let guest = endpoint(for: use) else { continue }
            let physical = LinuxInterfaceName.vlanParts(of: guest.device).device
            let key = "\(use.summary.host ?? "")\u{0}\(physical)"
            if byKey[key] == nil {
                byKey[key] = (use.summary.host, physical, [])
                order.append(key)
            }
            byKey[key]!.guests.append(guest)
        }
        return order.map { key in
            let (host, physical, guests) = byKey[key]!
            let hostFacts = facts[host]
            let vlans = Set(guests.map(\.vlan)).sorted { ($0 ?? -1) < ($1 ?? -1) }
            let lans = vlans.map { vlan in
                ReachEndpoint(
                    kind: .lan, name: vlan.map { "LAN (VLAN \($0))" } ?? "LAN", domain: nil, mac: nil,
                    device: vlan.map { "\(physical).\($0)" } ?? physical, vlan: vlan, mode: nil, linkDown: false)
            }
            let hostEndpoint = hostEndpoint(on: physical)
            let endpoints = guests + [hostEndpoint] + lans
            var pairs: [ReachPair] = []
            for from in endpoints {
                for to in endpoints where to != from && !(from.kind == .lan && to.kind == .lan) {
                    let (verdict, reason) = verdict(from: from, to: to, facts: hostFacts)
                    pairs.append(ReachPair(from: from.name, to: to.name, verdict: verdict, reason: reason))
                }
            }
            return ReachSegment(host: host, device: physical, endpoints: endpoints, pairs: pairs)
        }
    }

    /// A guest NIC as an endpoint: a macvtap (direct, or through a single-device macvtap
    /// network) with its device, VLAN and mode; nil for any other interface.
    package static func endpoint(for use: InterfaceUse) -> ReachEndpoint? {
        guard let written = use.device, !written.isEmpty, let mode = use.mode else { return nil }
        let device = LinuxInterfaceName.device(of: written)
        let mac = use.entry.macAddress?.description ?? use.entry.mac?.value
        let label = use.summary.domainName ?? use.summary.file
        return ReachEndpoint(
            kind: .guest, name: mac.map { "\(label) (\($0))" } ?? label, domain: use.summary.domainName, mac: mac, device: device,
            vlan: LinuxInterfaceName.vlanParts(of: device).vlan, mode: mode, linkDown: use.entry.linkDown)
    }

    /// The host itself, on a guest's device (its address is on the untagged device).
    package static func hostEndpoint(on device: String) -> ReachEndpoint {
        ReachEndpoint(kind: .host, name: "host", domain: nil, mac: nil, device: LinuxInterfaceName.vlanParts(of: device).device, vlan: nil, mode: nil, linkDown: false)
    }

    /// Whether `from`'s frames reach `to`, and why, on one physical device.
    public static func verdict(from: ReachEndpoint, to: ReachEndpoint, facts: ReachFacts) -> (ReachVerdict, String) {
        for end in [from, to] where end.kind == .guest {
            if end.linkDown { return (.never, "the link of \(end.name) is down (<link state='down'/>)") }
            if facts.down.contains(end.device) { return (.never, "\(end.device) is down or has no carrier") }
        }
        let guestVLANs = [from, to].filter { $0.kind != .host }.map(\.vlan)
        if guestVLANs.count == 2, guestVLANs[0] != guestVLANs[1] {
            return (.never, "different VLANs (\(guestVLANs.map { $0.map { "VLAN \($0)" } ?? "untagged" }.joined(separator: " and ")))")
        }
        switch (from.kind, to.kind) {
        case (.guest, .lan), (.lan, .guest):
            return (.reaches, "through \((from.kind == .guest ? from : to).device) to the switch")
        case (.host, .lan), (.lan, .host):
            let lan = from.kind == .lan ? from : to
            guard lan.vlan != nil else { return (.reaches, "the host's own address on \(lan.device)") }
            if facts.shims.contains(lan.device) { return (.reaches, "through the host's shim on \(lan.device)") }
            return (.never, "the host's address is on the untagged device; a shim on \(lan.device) would give it one in VLAN \(lan.vlan!)")
        case (.lan, .lan):
            return (.never, "different VLANs")
        case (.guest, .guest):
            return guestToGuest(from, to, facts: facts)
        case (.host, .guest), (.guest, .host):
            let guest = from.kind == .guest ? from : to
            return hostAndGuest(guest, facts: facts)
        default:
            return (.never, "not a pair")
        }
    }

    /// Hairpin is the switch port's: a VLAN device's physical device counts.
    private static func hasHairpin(_ device: String, _ facts: ReachFacts) -> Bool {
        facts.hairpin.contains(device) || facts.hairpin.contains(LinuxInterfaceName.vlanParts(of: device).device)
    }

    private static func guestToGuest(_ from: ReachEndpoint, _ to: ReachEndpoint, facts: ReachFacts) -> (ReachVerdict, String) {
        let modes = [from.mode, to.mode]
        if let owner = [from, to].first(where: { $0.mode == .passthrough }) {
            return (.never, "\(owner.name) is in passthrough mode: it owns \(owner.device), no other guest can use it")
        }
        if let isolated = [from, to].first(where: { $0.mode == .private }) {
            return (.never, "\(isolated.name) is in private mode: guests on one device never reach each other, not even through a hairpin port")
        }
        if modes == [.bridge, .bridge] { return (.reaches, "both in bridge mode: the kernel switches between them") }
        let why = modes.contains(.vepa) && modes.contains(.bridge) ? "one in vepa mode, one in bridge" : "vepa mode"
        if hasHairpin(from.device, facts) {
            return (.reaches, "\(why): through the hairpin port of \(LinuxInterfaceName.vlanParts(of: from.device).device)")
        }
        return (.onlyThroughHairpin, "\(why): frames go to the switch and come back only through a hairpin port (none declared for \(from.device))")
    }

    /// The host's address is on its shim when it has one there (a bridge-mode macvlan, so it
    /// reaches as a bridge-mode guest would), else on the lower device itself, whose own frames
    /// reach its macvtaps only when the switch port reflects them.
    private static func hostAndGuest(_ guest: ReachEndpoint, facts: ReachFacts) -> (ReachVerdict, String) {
        if guest.mode == .passthrough {
            return (.never, "\(guest.name) is in passthrough mode: it owns \(guest.device)")
        }
        let physical = LinuxInterfaceName.vlanParts(of: guest.device).device
        if facts.shims.contains(guest.device) {
            switch guest.mode {
            case .bridge: return (.reaches, "through the host's bridge-mode shim on \(guest.device)")
            case .private:
                return (.never, "\(guest.name) is in private mode: it drops frames from the host's shim (another macvlan on \(guest.device)), even through a hairpin port")
            default:
                if hasHairpin(guest.device, facts) { return (.reaches, "from the host's shim through the hairpin port of \(physical) (vepa)") }
                return (.onlyThroughHairpin, "vepa mode: the host's shim reaches it only through a hairpin port (none declared for \(physical))")
            }
        }
        if hasHairpin(guest.device, facts) {
            return (.reaches, "the hairpin port of \(physical) reflects the host's frames back to the guest")
        }
        return (
            .onlyThroughHairpin,
            "the lower device never hands the host's own frames to its macvtaps; only a hairpin port would reflect them (or give the host a shim: virt-macvtap host-shim \(guest.device))"
        )
    }
}
