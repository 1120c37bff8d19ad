public import MacvtapXML

/// A libvirt `<network>` document (`virsh net-dumpxml`), with what the macvtap forward modes
/// (`bridge`, `vepa`, `private`, `passthrough` over a pool of host devices) depend on.
public final class NetworkDocument {
    public let xml: XMLDocument
    public var fileName: String { xml.fileName }
    public let name: Located<String>?
    /// `<forward>`'s position, when there is one.
    public let forward: SourcePosition?
    /// `<forward mode=…>` as written (libvirt's default without it is `nat`).
    public let forwardMode: Located<String>?
    /// `<forward dev=…>`.
    public let forwardDev: Located<String>?
    /// Each `<forward><interface>`: its position and its `dev`, if any.
    public let poolInterfaces: [(position: SourcePosition, dev: Located<String>?)]
    /// Each `<forward><pf dev=…>`.
    public let physicalFunctions: [(position: SourcePosition, dev: Located<String>?)]
    /// Each `<forward><address>` (SR-IOV VFs by PCI address).
    public let pciAddresses: [SourcePosition]
    /// Top-level elements by name (first of each), for the rules about what a mode allows.
    public let topLevel: [String: SourcePosition]
    /// `<bridge name=…>`.
    public let bridgeName: Located<String>?
    /// `<virtualport type=…>` at the top level.
    public let virtualPortType: Located<String>?
    /// `<portgroup>` elements with a `<vlan>` inside.
    public let portGroupVLANs: [SourcePosition]

    package let root: XMLElement

    /// Reads a network; nil when the root is not `<network>`.
    public init?(_ document: XMLDocument) {
        guard let root = document.root, root.name == "network", root.namespaceURI == nil else { return nil }
        xml = document
        self.root = root
        name = root.firstChild(named: "name").map { Located($0.textContent, at: $0.position) }
        let forwardElement = root.firstChild(named: "forward")
        forward = forwardElement?.position
        forwardMode = forwardElement.flatMap { DirectInterface.attribute("mode", of: $0) }
        forwardDev = forwardElement.flatMap { DirectInterface.attribute("dev", of: $0) }
        poolInterfaces = forwardElement?.children(named: "interface").map { ($0.position, DirectInterface.attribute("dev", of: $0)) } ?? []
        physicalFunctions = forwardElement?.children(named: "pf").map { ($0.position, DirectInterface.attribute("dev", of: $0)) } ?? []
        pciAddresses = forwardElement?.children(named: "address").map(\.position) ?? []
        var topLevel: [String: SourcePosition] = [:]
        for child in root.children where child.namespaceURI == nil && topLevel[child.name] == nil {
            topLevel[child.name] = child.position
        }
        self.topLevel = topLevel
        bridgeName = root.firstChild(named: "bridge").flatMap { DirectInterface.attribute("name", of: $0) }
        virtualPortType = root.firstChild(named: "virtualport").flatMap { DirectInterface.attribute("type", of: $0) }
        portGroupVLANs = root.children(named: "portgroup").compactMap { $0.firstChild(named: "vlan")?.position }
    }

    /// The macvtap mode of a network whose `<forward mode>` is one (exact spelling, as libvirt).
    public var macvtapMode: MacvtapMode? {
        forwardMode.flatMap { MacvtapMode(libvirtName: $0.value) }
    }

    /// The host devices guests' macvtaps are made on: `<forward dev>`, then each pool
    /// `<interface dev>` not already named.
    public var poolDevices: [String] {
        var devices: [String] = []
        for dev in [forwardDev] + poolInterfaces.map(\.dev) {
            if let value = dev?.value, !value.isEmpty, !devices.contains(value) { devices.append(value) }
        }
        return devices
    }
}

/// The Sendable facts about a linted network that the cross-file rules need.
public struct NetworkSummary: Sendable, Hashable, Codable {
    public var file: String
    public var name: String
    public var mode: MacvtapMode?
    public var devices: [String]
    public var position: SourcePosition
    /// The fleet host the file belongs to; nil for the unnamed host.
    public var host: String?

    package init(file: String, name: String, mode: MacvtapMode?, devices: [String], position: SourcePosition) {
        self.file = file
        self.name = name
        self.mode = mode
        self.devices = devices
        self.position = position
    }

    /// A host's network (`virsh net-list`), as a `<network>` file would summarise it.
    public init(hostNetwork network: HostInventory.HostNetwork, uri: String) {
        file = "\(uri) network '\(network.name)'"
        name = network.name
        mode = network.devices.isEmpty ? nil : network.forwardMode.flatMap(MacvtapMode.init(libvirtName:))
        devices = network.devices
        position = SourcePosition(line: 1, column: 1)
    }

    public init(_ network: NetworkDocument) {
        file = network.fileName
        name = network.name?.value ?? ""
        mode = network.macvtapMode
        devices = network.poolDevices
        position = network.name?.position ?? SourcePosition(line: 1, column: 1)
    }
}
