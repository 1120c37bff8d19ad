public import MacvtapXML

/// An `<interface type='network'>` to create: the guest's NIC on a libvirt network, which
/// chooses the device and (for macvtap forward modes) the mode.
public struct NetworkInterfaceSpec: Sendable, Hashable {
    public var network: String
    public var portgroup: String?
    /// Nil until chosen.
    public var mac: MACAddress?
    public var model: String
    public var alias: String?

    public init(network: String, portgroup: String? = nil, mac: MACAddress? = nil, model: String = "virtio", alias: String? = nil) {
        self.network = network
        self.portgroup = portgroup
        self.mac = mac
        self.model = model
        self.alias = alias
    }

    package static func checkName(_ name: String, field: InterfaceField) throws(InterfaceSpecError) {
        guard !name.isEmpty, !name.contains("/"), !name.contains(where: { $0.isNewline }) else {
            throw InterfaceSpecError(
                field: field, value: name, problem: "is not a name libvirt accepts (empty, or with '/')",
                fix: "use the name `virsh net-list --all` shows")
        }
    }

    public func with(mac: MACAddress) -> NetworkInterfaceSpec {
        var copy = self
        copy.mac = mac
        return copy
    }

    /// The element libvirt expects, children in `virsh dumpxml` order.
    public var elementSpec: XMLElementSpec {
        var children: [XMLElementSpec] = []
        if let mac { children.append(XMLElementSpec("mac", attributes: [("address", mac.description)])) }
        var source: [(name: String, value: String)] = [("network", network)]
        if let portgroup { source.append(("portgroup", portgroup)) }
        children.append(XMLElementSpec("source", attributes: source))
        children.append(XMLElementSpec("model", attributes: [("type", model)]))
        if let alias { children.append(XMLElementSpec("alias", attributes: [("name", alias)])) }
        return XMLElementSpec("interface", attributes: [("type", "network")], children: children)
    }
}

/// A libvirt `<network>` whose guests get macvtaps: a forward mode and a pool of host devices
/// (or an SR-IOV physical function whose VFs are the pool, in passthrough mode).
public struct MacvtapNetworkSpec: Sendable, Hashable {
    public var name: String
    public var mode: MacvtapMode
    public var devices: [String]
    public var physicalFunction: String?

    public init(name: String, mode: MacvtapMode, devices: [String] = [], physicalFunction: String? = nil) {
        self.name = name
        self.mode = mode
        self.devices = devices
        self.physicalFunction = physicalFunction
    }

    /// What libvirt would refuse at define or when a guest starts (see the network rules).
    public func validated() throws(InterfaceSpecError) -> MacvtapNetworkSpec {
        try NetworkInterfaceSpec.checkName(name, field: .networkName)
        for device in devices { try Self.checkDeviceName(device, field: .poolDevice) }
        if let duplicate = devices.first(where: { device in devices.filter { $0 == device }.count > 1 }) {
            throw InterfaceSpecError(
                field: .poolDevice, value: duplicate, problem: "is listed twice (libvirt: \"interface '\(duplicate)' can only be listed once\")",
                fix: "name each device once")
        }
        if let physicalFunction {
            try Self.checkDeviceName(physicalFunction, field: .physicalFunction)
            guard mode == .passthrough, devices.isEmpty else {
                throw InterfaceSpecError(
                    field: .physicalFunction, value: physicalFunction,
                    problem: "a physical function's VFs are a pool in passthrough mode only, and replace a device list",
                    fix: "use --mode passthrough and leave out --dev")
            }
        } else if devices.isEmpty {
            throw InterfaceSpecError(
                field: .poolDevice, value: "", problem: "is missing: every guest of a macvtap network without a device fails to start",
                fix: "name at least one host device")
        }
        return self
    }

    /// A pool device the kernel can name: the predicate the source-dev-invalid rule applies.
    private static func checkDeviceName(_ name: String, field: InterfaceField) throws(InterfaceSpecError) {
        if let problem = LinuxInterfaceName.problem(with: name) {
            throw InterfaceSpecError(
                field: field, value: name, problem: problem,
                fix: name.isEmpty ? "name a host interface, e.g. eth0" : "use the kernel's name for the \(field.noun) (ip -br link)")
        }
    }

    public var elementSpec: XMLElementSpec {
        let pool =
            physicalFunction.map { [XMLElementSpec("pf", attributes: [("dev", $0)])] }
            ?? devices.map { XMLElementSpec("interface", attributes: [("dev", $0)]) }
        return XMLElementSpec(
            "network",
            children: [
                XMLElementSpec("name", text: name),
                XMLElementSpec("forward", attributes: [("mode", mode.rawValue)], children: pool),
            ])
    }
}
