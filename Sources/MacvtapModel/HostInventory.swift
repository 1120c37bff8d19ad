import MacvtapXML

/// What one libvirt host has: every domain's interfaces (live and persistent XML) and the
/// host's own network interfaces. Used by `lint -c` and by live operations' preflight.
public struct HostInventory: Sendable {
    public var uri: String
    /// One summary per domain XML read (a running domain contributes its live and its
    /// persistent XML; `DocumentSummary.isSameDomain` tells them apart from other domains).
    public var domains: [DocumentSummary]
    public var hostInterfaces: [HostInterface]
    /// The host's libvirt networks; nil when they could not be listed (a driver without a
    /// network backend), so that rules about networks stay silent rather than guess.
    public var networks: [HostNetwork]?
    /// The host's libvirt release (`virConnectGetLibVersion`); nil when it could not be read
    /// (a test inventory). The release lint judges this host's findings for.
    public var libvirtRelease: LibvirtRelease?

    /// A libvirt network as the host defines it.
    public struct HostNetwork: Sendable, Hashable {
        public var name: String
        public var isActive: Bool
        /// `<forward mode=…>`: nat, route, bridge, private, vepa, passthrough, …; nil when
        /// the network has no `<forward>` (an isolated network).
        public var forwardMode: String?
        /// `<forward dev=…>` and every `<forward><interface dev=…>`: the pool a macvtap network
        /// takes its devices from.
        public var devices: [String]

        public init(name: String, isActive: Bool, forwardMode: String?, devices: [String]) {
            self.name = name
            self.isActive = isActive
            self.forwardMode = forwardMode
            self.devices = devices
        }

        /// Reads a network's XML (`virsh net-dumpxml`); nil when it is not a `<network>`.
        public init?(xml: String, isActive: Bool) {
            guard let document = try? XMLDocument(bytes: Array(xml.utf8), fileName: "network"),
                let root = document.root, root.name == "network",
                let name = root.firstChild(named: "name")?.textContent
            else { return nil }
            let forward = root.firstChild(named: "forward")
            let pool = forward?.children(named: "interface").compactMap { $0.attribute("dev") } ?? []
            self.init(
                name: name, isActive: isActive, forwardMode: forward.map { $0.attribute("mode") ?? "nat" },
                devices: (forward?.attribute("dev").map { [$0] } ?? []) + pool.filter { $0 != forward?.attribute("dev") })
        }
    }

    /// One host network interface as libvirt reports it (`virConnectListAllInterfaces` and
    /// `virInterfaceGetXMLDesc`, node devices, the kernel's links when local).
    public struct HostInterface: Sendable, Hashable {
        public var name: String
        public var mac: MACAddress?
        /// A wireless device (node device capability 80211): macvtap cannot work on it, the
        /// access point drops frames from MACs it did not associate.
        public var isWireless: Bool
        /// False when the device has no PCI parent at all (veth, bridge, bond, …), so it cannot
        /// be an SR-IOV virtual function; nil when libvirt did not say.
        public var isVirtualFunction: Bool?
        /// libvirt's interface type (`ethernet`, `bridge`, `bond`, `vlan`) or the kernel's link
        /// kind (`macvtap`, `macvlan`, `openvswitch`, …); nil when neither said.
        public var kind: String?
        /// The bridge, bond or Open vSwitch this device is a port of: the kernel lets no
        /// macvtap on it (its frames already go to the master).
        public var master: Master?
        /// A bond's mode (`balance-rr`, `active-backup`, `802.3ad`, …).
        public var bondMode: String?
        /// The operational state (`up`, `down`, `lowerlayerdown`, `dormant`, `unknown`, …).
        public var linkState: String?
        public var mtu: Int?
        /// For a stacked link the kernel reported (macvlan, macvtap, vlan): its lower device.
        public var lowerDevice: String?
        /// For a macvlan or macvtap the kernel reported: its mode (`bridge`, `vepa`, `private`, `passthru`).
        public var macvlanMode: String?

        /// A bridge-mode macvlan: the host's way to reach the guests on its lower device.
        public var isShim: Bool { kind == "macvlan" && macvlanMode == "bridge" && lowerDevice != nil }

        /// What a device is enslaved to.
        public struct Master: Sendable, Hashable {
            public var name: String
            /// `bridge`, `bond` or `openvswitch`.
            public var kind: String

            public init(name: String, kind: String) {
                self.name = name
                self.kind = kind
            }
        }

        public init(
            name: String, mac: MACAddress?, isWireless: Bool = false, isVirtualFunction: Bool? = nil, kind: String? = nil,
            master: Master? = nil, bondMode: String? = nil, linkState: String? = nil, mtu: Int? = nil, lowerDevice: String? = nil,
            macvlanMode: String? = nil
        ) {
            self.name = name
            self.mac = mac
            self.isWireless = isWireless
            self.isVirtualFunction = isVirtualFunction
            self.kind = kind
            self.master = master
            self.bondMode = bondMode
            self.linkState = linkState
            self.mtu = mtu
            self.lowerDevice = lowerDevice
            self.macvlanMode = macvlanMode
        }

        /// The device carries no frames: down, or up without a carrier (`lowerlayerdown`,
        /// `notpresent`, `dormant`). `unknown` counts as up: virtual devices without carrier
        /// reporting (and the loopback) say that while they work.
        public var isDown: Bool {
            guard let linkState else { return false }
            return ["down", "lowerlayerdown", "notpresent", "dormant"].contains(linkState)
        }

        /// A macvtap (or macvlan) link libvirt would have made: by the kernel's kind when
        /// known, else by libvirt's generated names (`macvtapN`, `macvlanN`).
        public var looksLikeLibvirtMacvtap: Bool {
            if kind == "macvtap" { return true }
            for prefix in ["macvtap", "macvlan"] where name.hasPrefix(prefix) {
                let number = name.dropFirst(prefix.count)
                if !number.isEmpty, number.allSatisfy(\.isASCII), number.allSatisfy(\.isNumber) { return kind == nil || kind == "ethernet" }
            }
            return false
        }

        /// The interfaces one `virInterfaceGetXMLDesc` describes: the listed one and, for a
        /// bridge or a bond, its ports (libvirt lists only the master). Empty when the XML is
        /// not an `<interface>`.
        public static func described(by xml: String) -> [HostInterface] {
            guard let document = try? XMLDocument(bytes: Array(xml.utf8), fileName: "interface"), let root = document.root,
                root.name == "interface"
            else { return [] }
            return described(root, master: nil)
        }

        private static func described(_ element: XMLElement, master: Master?) -> [HostInterface] {
            guard let name = element.attribute("name") else { return [] }
            let kind = element.attribute("type")
            var interface = HostInterface(
                name: name, mac: element.firstChild(named: "mac")?.attribute("address").flatMap(MACAddress.init), kind: kind,
                master: master, linkState: element.firstChild(named: "link")?.attribute("state"),
                mtu: element.firstChild(named: "mtu")?.attribute("size").flatMap { Int($0) })
            var ports: [HostInterface] = []
            for container in ["bridge", "bond"] {
                guard let group = element.firstChild(named: container) else { continue }
                if container == "bond" { interface.bondMode = group.attribute("mode") }
                for port in group.children(named: "interface") {
                    ports += described(port, master: Master(name: name, kind: container))
                }
            }
            return [interface] + ports
        }

        /// `other`'s facts where this one has none (one device seen by two sources).
        public mutating func merge(_ other: HostInterface) {
            mac = mac ?? other.mac
            isWireless = isWireless || other.isWireless
            isVirtualFunction = isVirtualFunction ?? other.isVirtualFunction
            // The kernel's kind is more precise than libvirt's (`macvtap` over `ethernet`).
            if kind == nil || kind == "ethernet" { kind = other.kind ?? kind }
            master = master ?? other.master
            bondMode = bondMode ?? other.bondMode
            linkState = linkState ?? other.linkState
            mtu = mtu ?? other.mtu
            lowerDevice = lowerDevice ?? other.lowerDevice
            macvlanMode = macvlanMode ?? other.macvlanMode
        }
    }

    public init(uri: String, domains: [DocumentSummary], hostInterfaces: [HostInterface], networks: [HostNetwork]? = nil) {
        self.uri = uri
        self.domains = domains
        self.hostInterfaces = hostInterfaces
        self.networks = networks
    }

    /// The host's macvtap links that no domain's XML names as its `<target dev>`: left behind
    /// by an interrupted start, or by libvirt ≤ 10.0 after a device update.
    public var staleMacvtaps: [HostInterface] {
        let owned = Set(domains.flatMap { $0.interfaces.compactMap { $0.targetDev?.value } })
        return hostInterfaces.filter { $0.looksLikeLibvirtMacvtap && !owned.contains($0.name) }
    }

    /// Every MAC an interface of any domain (live or inactive XML) or a host NIC uses here.
    public var usedMACs: Set<MACAddress> {
        // A MAC the guest set counts too: it is on the wire (libvirt ≥ 11.2's currentAddress).
        Set(domains.flatMap { $0.interfaces.flatMap(\.macAddressesInUse) } + hostInterfaces.compactMap(\.mac))
    }
}
