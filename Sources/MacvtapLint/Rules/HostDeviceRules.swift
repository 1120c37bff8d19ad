import MacvtapXML

/// The host devices an interface's macvtap goes on, with the place in the file that names
/// them: a direct interface's `<source dev>`, or every pool device of the macvtap network a
/// `type='network'` interface uses (libvirt picks one of them at start).
struct HostDeviceUse {
    var use: InterfaceUse
    var device: HostInventory.HostInterface
    var position: SourcePosition
    /// "source device 'eth0'" or "device 'eth0' of network 'lan'".
    var label: String

    static func all(_ documents: [DocumentSummary], on host: HostInventory) -> [HostDeviceUse] {
        let devices = Dictionary(host.hostInterfaces.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let networks = Dictionary((host.networks ?? []).map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        var result: [HostDeviceUse] = []
        for use in documents.interfaceUses {
            if let dev = use.entry.direct?.source?.dev, let device = devices[LinuxInterfaceName.device(of: dev.value)] {
                result.append(HostDeviceUse(use: use, device: device, position: dev.position, label: "source device '\(device.name)'"))
            } else if use.entry.type?.value == "network", let name = use.entry.sourceNetwork, let network = networks[name.value],
                network.forwardMode.flatMap(MacvtapMode.init(libvirtName:)) != nil
            {
                for device in network.devices.compactMap({ devices[$0] }) {
                    result.append(
                        HostDeviceUse(use: use, device: device, position: name.position, label: "device '\(device.name)' of network '\(network.name)'"))
                }
            }
        }
        return result
    }

    func violation(_ message: String, fix: String, severity: Severity? = nil) -> Violation {
        var violation = Violation(at: position, message, fix: fix, file: use.summary.file, domain: use.summary.domainName)
        violation.severity = severity
        return violation
    }
}

/// The `source-dev-enslaved` rule: with -c URI: a source device that is a port of a bridge, a bond or an Open vSwitch on the host.
public struct SourceDevEnslavedRule: LiveHostRule {
    public init() {}
    public static let description = RuleDescription(
        id: "source-dev-enslaved", name: "Source device is a bridge, bond or Open vSwitch port",
        summary: "With -c URI: a source device (or a macvtap network's device) that is a port of a bridge, a bond or an "
            + "Open vSwitch on the host.",
        rationale: "The kernel lets one receive handler own a device; its master holds it, so creating the macvtap fails "
            + "and libvirt's start or hot-plug says \"error creating macvtap interface …: Device or resource busy\". "
            + "The frames arrive on the master: put the guest there (a bond is a fine source device; a bridge wants "
            + "<interface type='bridge'>).",
        severity: .error, enforcement: .start, reference: "macvlan_port_create (EBUSY)", needsLiveHost: true)

    public func check(_ documents: [DocumentSummary], against hosts: [HostInventory]) -> [Violation] {
        hosts.flatMap { host in
            HostDeviceUse.all(documents, on: host).compactMap { found -> Violation? in
                guard let master = found.device.master else { return nil }
                let what = master.kind == "openvswitch" ? "an Open vSwitch port (datapath '\(master.name)')" : "a port of \(master.kind) '\(master.name)'"
                let fix =
                    switch master.kind {
                    case "bond": "use the bond '\(master.name)' as the source device"
                    case "bridge":
                        "attach the guest to the bridge instead (<interface type='bridge'><source bridge='\(master.name)'/>), or take \(found.device.name) out of it (ip link set \(found.device.name) nomaster)"
                    default: "use another device, or take \(found.device.name) out of \(master.name)"
                    }
                return found.violation(
                    "\(found.label) on \(host.uri) is \(what): the kernel refuses a macvtap on it (Device or resource busy)", fix: fix)
            }
        }
    }
}

/// The `source-dev-bond-mode` rule: with -c URI: a source device that is a bond in balance-rr, balance-tlb or balance-alb mode.
public struct SourceDevBondModeRule: LiveHostRule {
    public init() {}
    static let troubled: [String: String] = [
        "balance-rr": "spreads one guest's frames over every slave, so the switch sees its MAC move between ports and reorders its flows",
        "balance-tlb": "sends guest frames out of any slave but receives only on one, so replies to a guest's MAC can arrive where the bond drops them",
        "balance-alb": "answers ARP with the slaves' own MACs, which rewrites what the LAN learns for a guest and breaks its inbound traffic",
    ]

    public static let description = RuleDescription(
        id: "source-dev-bond-mode", name: "Source device is a bond in a mode that loses guest MACs",
        summary: "With -c URI: a source device that is a bond in balance-rr, balance-tlb or balance-alb mode.",
        rationale: "A macvtap sends with the guest's MAC through the bond. active-backup and 802.3ad (LACP) keep one MAC on "
            + "one port; balance-rr moves it between switch ports frame by frame, balance-tlb receives on one slave only, "
            + "and balance-alb rewrites ARP with the slaves' MACs — guests lose traffic intermittently, which is hard to "
            + "trace back to the bond.",
        severity: .warning, enforcement: .notChecked, reference: "Documentation/networking/bonding.rst", needsLiveHost: true)

    public func check(_ documents: [DocumentSummary], against hosts: [HostInventory]) -> [Violation] {
        hosts.flatMap { host in
            HostDeviceUse.all(documents, on: host).compactMap { found -> Violation? in
                guard let mode = found.device.bondMode, let why = Self.troubled[mode], !why.isEmpty else { return nil }
                return found.violation(
                    "\(found.label) on \(host.uri) is a bond in \(mode) mode: it \(why)",
                    fix: "set the bond to active-backup, or 802.3ad with a switch that does LACP")
            }
        }
    }
}

/// The `source-dev-down` rule: with -c URI: a source device that is down or has no carrier.
public struct SourceDevDownRule: LiveHostRule {
    public init() {}
    public static let description = RuleDescription(
        id: "source-dev-down", name: "Source device down or without carrier",
        summary: "With -c URI: a source device (or a macvtap network's device) that is down or has no carrier.",
        rationale: "libvirt starts the guest anyway: the macvtap follows its lower device, so the guest sees its link "
            + "down (or up with nothing answering) and reaches no one, the host and the LAN included (reach says never).",
        severity: .warning, enforcement: .notChecked, reference: "operstate (RFC 2863)", needsLiveHost: true)

    public func check(_ documents: [DocumentSummary], against hosts: [HostInventory]) -> [Violation] {
        hosts.flatMap { host in
            HostDeviceUse.all(documents, on: host).compactMap { found -> Violation? in
                guard found.device.isDown, let state = found.device.linkState else { return nil }
                let name = found.device.name
                return found.violation(
                    state == "down"
                        ? "\(found.label) on \(host.uri) is down: the guest's NIC gets no link"
                        : "\(found.label) on \(host.uri) has no carrier (link state \(state)): the guest's NIC reaches no one",
                    fix: state == "down" ? "bring it up (ip link set \(name) up) and make that persistent" : "check \(name)'s cable, switch port or peer")
            }
        }
    }
}

/// The `source-dev-mtu` rule: with -c URI: a source device whose MTU is not the 1500 bytes a guest's NIC assumes.
public struct SourceDevMtuRule: LiveHostRule {
    public init() {}
    public static let description = RuleDescription(
        id: "source-dev-mtu", name: "Source device MTU differs from the guest's",
        summary: "With -c URI: a source device whose MTU is not the 1500 bytes a guest's NIC assumes (a warning below, "
            + "advice above).",
        rationale: "A macvtap takes its device's MTU and libvirt refuses <mtu> on a direct interface (\"setting MTU on "
            + "interface type direct is not supported yet\"), so nothing tells the guest: below 1500 its full-size frames "
            + "are dropped (small pings work, TLS and file transfers stall); above, jumbo frames go unused until the "
            + "guest sets them.",
        severity: .warning, enforcement: .notChecked, reference: "macvlan_change_mtu", needsLiveHost: true)

    public func check(_ documents: [DocumentSummary], against hosts: [HostInventory]) -> [Violation] {
        hosts.flatMap { host in
            HostDeviceUse.all(documents, on: host).compactMap { found -> Violation? in
                guard let mtu = found.device.mtu, mtu != 1500, found.device.name != "lo" else { return nil }
                let fix = "set MTU \(mtu) inside the guest (ip link set dev eth0 mtu \(mtu), or the guest's network configuration); libvirt cannot"
                return mtu < 1500
                    ? found.violation(
                        "\(found.label) on \(host.uri) has MTU \(mtu): the guest sends 1500-byte frames, and those above \(mtu) are dropped",
                        fix: fix)
                    : found.violation(
                        "\(found.label) on \(host.uri) has MTU \(mtu): the guest uses 1500 until it is told otherwise", fix: fix,
                        severity: .info)
            }
        }
    }
}

/// The `macvtap-stale` rule: with -c URI: a macvtap link on the host that no domain owns.
public struct MacvtapStaleRule: LiveHostRule {
    public init() {}
    public static let description = RuleDescription(
        id: "macvtap-stale", name: "A macvtap link no domain owns",
        summary: "With -c URI: a macvtap link on the host that no domain's live XML names (reported once per host, "
            + "against the host).",
        rationale: "An interrupted start, or libvirt 10.0 and older after a device update, leaves the link behind. It "
            + "keeps the guest's MAC on its device, so the next macvtap with that MAC there fails (\"Address already in "
            + "use\"), and it takes a name libvirt would reuse. Nothing removes it unless asked: `virt-macvtap list "
            + "--stale --remove-stale` on that host.",
        severity: .warning, enforcement: .notChecked, reference: "L05", needsLiveHost: true)

    public func check(_ documents: [DocumentSummary], against hosts: [HostInventory]) -> [Violation] {
        hosts.flatMap { host in
            host.staleMacvtaps.map { device in
                Violation(
                    at: SourcePosition(line: 1, column: 1),
                    "macvtap link '\(device.name)'\(device.mac.map { " (MAC \($0))" } ?? "") on \(host.uri) belongs to no domain",
                    fix: "remove it on that host: virt-macvtap list --stale --remove-stale (or ip link del \(device.name))", file: host.uri)
            }
        }
    }
}
