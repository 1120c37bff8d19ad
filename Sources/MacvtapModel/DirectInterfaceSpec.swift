public import MacvtapXML

/// What a user asks for when creating a direct interface (the `generate`, `edit --add-direct`
/// and `attach` options); `elementSpec` describes the element for `XMLFragmentWriter`. Its
/// values are judged by the lint rules that judge them in files (`validated()`, MacvtapLint).
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

    package init(field: InterfaceField, value: String, problem: String, fix: String) {
        self.field = field
        self.value = value
        self.problem = problem
        self.fix = fix
    }

    /// The problem without naming how the value was given (`label` replaces the field's noun).
    public func describe(as label: String) -> String {
        "\(label) '\(value)' \(problem); \(fix)"
    }

    public var description: String { describe(as: field.noun) }
}
