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

    /// One host network interface as libvirt reports it (`virConnectListAllInterfaces`, sysfs facts when local).
    public struct HostInterface: Sendable, Hashable {
        public var name: String
        public var mac: MACAddress?
        /// A wireless device (node device capability 80211): macvtap cannot work on it, the
        /// access point drops frames from MACs it did not associate.
        public var isWireless: Bool
        /// False when the device has no PCI parent at all (veth, bridge, bond, …), so it cannot
        /// be an SR-IOV virtual function; nil when libvirt did not say.
        public var isVirtualFunction: Bool?

        public init(name: String, mac: MACAddress?, isWireless: Bool = false, isVirtualFunction: Bool? = nil) {
            self.name = name
            self.mac = mac
            self.isWireless = isWireless
            self.isVirtualFunction = isVirtualFunction
        }
    }

    public init(uri: String, domains: [DocumentSummary], hostInterfaces: [HostInterface], networks: [HostNetwork]? = nil) {
        self.uri = uri
        self.domains = domains
        self.hostInterfaces = hostInterfaces
        self.networks = networks
    }

    /// Every MAC an interface of any domain (live or inactive XML) or a host NIC uses here.
    public var usedMACs: Set<MACAddress> {
        // A MAC the guest set counts too: it is on the wire (libvirt ≥ 11.2's currentAddress).
        Set(domains.flatMap { $0.interfaces.flatMap(\.macAddressesInUse) } + hostInterfaces.compactMap(\.mac))
    }
}
