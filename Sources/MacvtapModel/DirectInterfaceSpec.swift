public import MacvtapXML

/// What a user asks for when creating a direct interface (the `generate`, `edit --add-direct`
/// and `attach` options). `validated()` refuses anything libvirt would reject, drop or rewrite,
/// and `elementSpec` describes the element for `XMLFragmentWriter`.
public struct DirectInterfaceSpec: Sendable, Hashable {
    public var sourceDevice: String
    public var mode: MacvtapMode
    /// Nil until chosen: `generate` and `edit` pick a free random one when the user gives none.
    public var mac: MACAddress?
    public var model: String
    public var targetDevice: String?
    public var alias: String?
    public var trustGuestRxFilters: Bool

    public init(
        sourceDevice: String, mode: MacvtapMode = .libvirtDefault, mac: MACAddress? = nil, model: String = "virtio",
        targetDevice: String? = nil, alias: String? = nil, trustGuestRxFilters: Bool = false
    ) {
        self.sourceDevice = sourceDevice
        self.mode = mode
        self.mac = mac
        self.model = model
        self.targetDevice = targetDevice
        self.alias = alias
        self.trustGuestRxFilters = trustGuestRxFilters
    }

    /// Reserved prefixes libvirt blanks out of `<target dev>` on define (its generated names).
    public static let reservedTargetPrefixes = ["macvtap", "macvlan", "vnet"]

    /// Checks every value against libvirt's schema and the kernel's limits.
    public func validated() throws(InterfaceSpecError) -> DirectInterfaceSpec {
        try Self.checkDeviceName(sourceDevice, field: .sourceDevice)
        if let targetDevice {
            try Self.checkDeviceName(targetDevice, field: .targetDevice)
            if let prefix = Self.reservedTargetPrefixes.first(where: { targetDevice.hasPrefix($0) }) {
                throw InterfaceSpecError(
                    field: .targetDevice, value: targetDevice,
                    problem: "names starting with '\(prefix)' are reserved for libvirt's generated names and "
                        + "libvirt silently drops them",
                    fix: "choose another name, or leave the target name out and let libvirt pick macvtapN")
            }
        }
        if let mac { try Self.checkMAC(mac) }
        guard !model.isEmpty, model.utf8.allSatisfy(Self.isWordByte) else {
            throw InterfaceSpecError(
                field: .model, value: model, problem: "may only contain letters, digits, '-' and '_'",
                fix: "use a QEMU NIC model such as virtio, e1000e or rtl8139")
        }
        if let alias {
            guard alias.hasPrefix("ua-"), alias.count > 3,
                alias.utf8.allSatisfy({ Self.isWordByte($0) })
            else {
                throw InterfaceSpecError(
                    field: .alias, value: alias,
                    problem: "user aliases must start with 'ua-' and use only letters, digits, '-' and '_'; "
                        + "libvirt drops any other alias on define",
                    fix: "e.g. ua-uplink")
            }
        }
        return self
    }

    package static func checkMAC(_ mac: MACAddress) throws(InterfaceSpecError) {
        if mac.isMulticast {
            throw InterfaceSpecError(
                field: .mac, value: mac.description,
                problem: "is a multicast address (libvirt: "
                    + "\"expected unicast mac address, found multicast\")",
                fix: "clear the lowest bit of the first octet, e.g. 52:54:00:xx:xx:xx")
        }
        if mac.isAllZero {
            throw InterfaceSpecError(
                field: .mac, value: mac.description,
                problem: "is all zero; the kernel refuses it "
                    + "(EADDRNOTAVAIL) when the domain starts",
                fix: "leave the MAC out to get a free random one")
        }
    }

    public func with(mac: MACAddress) -> DirectInterfaceSpec {
        var copy = self
        copy.mac = mac
        return copy
    }

    /// The element libvirt expects, children in the order `virsh dumpxml` prints them.
    public var elementSpec: XMLElementSpec {
        var interfaceAttributes: [(name: String, value: String)] = [("type", "direct")]
        if trustGuestRxFilters { interfaceAttributes.append(("trustGuestRxFilters", "yes")) }
        var children: [XMLElementSpec] = []
        if let mac { children.append(XMLElementSpec("mac", attributes: [("address", mac.description)])) }
        children.append(XMLElementSpec("source", attributes: [("dev", sourceDevice), ("mode", mode.rawValue)]))
        if let targetDevice { children.append(XMLElementSpec("target", attributes: [("dev", targetDevice)])) }
        children.append(XMLElementSpec("model", attributes: [("type", model)]))
        if let alias { children.append(XMLElementSpec("alias", attributes: [("name", alias)])) }
        return XMLElementSpec("interface", attributes: interfaceAttributes, children: children)
    }

    /// A name both libvirt (`deviceName`) and the kernel (`dev_valid_name`: at most 15 bytes,
    /// no `/`, `:` or whitespace, not `.` or `..`) accept.
    package static func checkDeviceName(_ name: String, field: InterfaceField) throws(InterfaceSpecError) {
        let fix = name.isEmpty ? "name a host interface, e.g. eth0" : "use the kernel's name for the \(field.noun) (ip -br link)"
        if let problem = LinuxInterfaceName.problem(with: name) {
            throw InterfaceSpecError(field: field, value: name, problem: problem, fix: fix)
        }
        // Narrower than the kernel: what libvirt's deviceName pattern and our schema accept.
        guard name.utf8.allSatisfy({ isWordByte($0) || $0 == UInt8(ascii: ".") }) else {
            throw InterfaceSpecError(
                field: field, value: name, problem: "may only contain letters, digits, '_', '-' and '.'", fix: fix)
        }
    }

    /// `[a-zA-Z0-9\-_]`: libvirt's pattern for model names and (after `ua-`) user aliases.
    package static func isWordByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"):
            true
        default: false
        }
    }
}

/// Which value of a requested interface is meant (a command maps it to its own option name).
public enum InterfaceField: String, Sendable, CaseIterable {
    case sourceDevice, targetDevice, model, alias, mac, network, portgroup, networkName, poolDevice, physicalFunction

    /// The value in words, for messages that name no command-line option.
    public var noun: String {
        switch self {
        case .sourceDevice: "source device"
        case .targetDevice: "target device"
        case .model: "model"
        case .alias: "alias"
        case .mac: "MAC"
        case .network: "network"
        case .portgroup: "portgroup"
        case .networkName: "network name"
        case .poolDevice: "pool device"
        case .physicalFunction: "physical function"
        }
    }
}

/// A requested interface value that libvirt or the kernel would reject or silently change.
public struct InterfaceSpecError: Error, Sendable, CustomStringConvertible {
    public var field: InterfaceField
    public var value: String
    public var problem: String
    public var fix: String

    /// The problem without naming how the value was given (`label` replaces the field's noun).
    public func describe(as label: String) -> String {
        "\(label) '\(value)' \(problem); \(fix)"
    }

    public var description: String { describe(as: field.noun) }
}
