/// Rules for libvirt `<network>` documents whose `<forward mode>` makes macvtaps (bridge,
/// vepa, private, passthrough). Messages are libvirt 9.0's own (network_conf.c,
/// bridge_driver.c), and the oracle checks each claim with virNetworkDefineXML, the network's
/// start, and a guest that uses it.
public protocol NetworkRule: Rule {
    /// The violations in one `<network>` document.
    func check(_ network: NetworkDocument) -> [Violation]
}

/// Example builders for network rules.
package enum NetworkExample {
    package static func network(_ forward: String, _ extra: String = "", name: String = "lan", attributes: String = "") -> String {
        """
        <network\(attributes.isEmpty ? "" : " " + attributes)>
          <name>\(name)</name>
          \(forward)\(extra.isEmpty ? "" : "\n  " + extra)
        </network>
        """
    }

    package static func pool(_ mode: String, _ devices: [String] = ["eth0"], markMode: Bool = false) -> String {
        "<forward \(markMode ? "↓" : "")mode='\(mode)'>" + devices.map { "<interface dev='\($0)'/>" }.joined() + "</forward>"
    }
}

extension NetworkDocument {
    package var label: String { name?.value ?? "" }
}

/// The `network-forward-mode-invalid` rule: <forward mode> is not one of libvirt's forwarding types (they are lower case).
public struct NetworkForwardModeInvalidRule: NetworkRule {
    public init() {}
    package static let known = ["none", "nat", "route", "open", "bridge", "private", "vepa", "passthrough", "hostdev"]
    public static let description = RuleDescription(
        id: "network-forward-mode-invalid", name: "Unknown network forward mode",
        summary: "<forward mode> is not one of libvirt's forwarding types (they are lower case).",
        rationale: "libvirt refuses the network at define: \"unknown forwarding type '…'\".",
        severity: .error, enforcement: .define, reference: "network_conf.c",
        triggering: [NetworkExample.network(NetworkExample.pool("Bridge", markMode: true))],
        nonTriggering: [NetworkExample.network(NetworkExample.pool("bridge"))])

    public func check(_ network: NetworkDocument) -> [Violation] {
        guard let mode = network.forwardMode, !Self.known.contains(mode.value) else { return [] }
        let suggestion = Self.known.first { $0 == mode.value.lowercased() }
        return [
            Violation(
                at: mode.position, "unknown forwarding type '\(mode.value)'",
                fix: suggestion.map { "write mode='\($0)'" } ?? "use bridge, vepa, private or passthrough for macvtap")
        ]
    }
}

/// The `network-forward-pool` rule: a pool <interface> without dev, a device listed twice, <forward dev> that is not the first pool device, more than one <pf>, a PCI <address> outside hostdev mode, or a bridge name beside a forward dev.
public struct NetworkForwardPoolRule: NetworkRule {
    public init() {}
    public static let description = RuleDescription(
        id: "network-forward-pool", name: "Invalid device pool in <forward>",
        summary: "A pool <interface> without dev, a device listed twice, <forward dev> that is not the first pool device, "
            + "more than one <pf>, a PCI <address> outside hostdev mode, or a bridge name beside a forward dev.",
        rationale: "libvirt refuses each at define, with messages such as \"interface 'eth0' can only be listed once in "
            + "network lan\" and \"<forward dev='eth1'> must match first <interface dev='eth0'/> in network lan\".",
        severity: .error, enforcement: .define, reference: "network_conf.c",
        triggering: [
            NetworkExample.network("<forward mode='bridge'><interface dev='eth0'/><interface ↓dev='eth0'/></forward>"),
            NetworkExample.network("<forward mode='vepa' ↓dev='eth1'><interface dev='eth0'/></forward>"),
            NetworkExample.network("<forward mode='passthrough'>↓<address type='pci' domain='0' bus='3' slot='0' function='1'/></forward>"),
            NetworkExample.network("<forward mode='bridge' dev='eth0'/>", "<bridge ↓name='br9'/>"),
        ],
        nonTriggering: [
            NetworkExample.network(NetworkExample.pool("passthrough", ["eth0", "eth1"])),
            NetworkExample.network("<forward mode='vepa' dev='eth0'><interface dev='eth0'/></forward>"),
        ])

    public func check(_ network: NetworkDocument) -> [Violation] {
        guard let mode = network.forwardMode?.value, NetworkForwardModeInvalidRule.known.contains(mode) else { return [] }
        var violations: [Violation] = []
        let name = network.label
        for interface in network.poolInterfaces where interface.dev == nil {
            violations.append(
                Violation(
                    at: interface.position, "Missing required dev attribute in <forward> <interface> element of network \(name)",
                    fix: "name the host device: <interface dev='eth0'/>", enforcement: .define))
        }
        var seen: Set<String> = []
        for interface in network.poolInterfaces {
            guard let dev = interface.dev else { continue }
            if !seen.insert(dev.value).inserted {
                violations.append(
                    Violation(
                        at: dev.position, "interface '\(dev.value)' can only be listed once in network \(name)",
                        fix: "remove the second <interface dev='\(dev.value)'/>"))
            }
        }
        if let forwardDev = network.forwardDev, let first = network.poolInterfaces.first?.dev, first.value != forwardDev.value {
            violations.append(
                Violation(
                    at: forwardDev.position, "<forward dev='\(forwardDev.value)'> must match first <interface dev='\(first.value)'/> in network \(name)",
                    fix: "drop dev= from <forward>, or list \(forwardDev.value) first"))
        }
        if network.physicalFunctions.count > 1 {
            violations.append(
                Violation(
                    at: network.physicalFunctions[1].position, "Only one <pf> element is allowed in <forward> of network \(name)",
                    fix: "keep one <pf dev=…>; make a network per physical function"))
        }
        if mode != "hostdev", let address = network.pciAddresses.first {
            violations.append(
                Violation(
                    at: address,
                    "network '\(name)' has forward mode '\(mode)'  but lists a device by PCI address in the device pool. This is only supported for networks with forward mode 'hostdev'",
                    fix: "list the devices by name (<interface dev=…>), or use forward mode='hostdev'"))
        }
        if mode == "bridge", let bridge = network.bridgeName, network.forwardDev != nil || !network.poolInterfaces.isEmpty {
            violations.append(
                Violation(
                    at: bridge.position,
                    "A network with forward mode='bridge' can specify a bridge name or a forward dev, but not both (network '\(name)')",
                    fix: "drop <bridge name> for a macvtap network on the device, or the forward devices for a host bridge"))
        }
        return violations
    }
}

/// The `network-unsupported-in-macvtap-mode` rule: in forward modes bridge (with devices), vepa, private and passthrough: <ip>, <mac>, <dns>, <domain>, <bandwidth>, <mtu>, a bridge name or STP/delay options, a <vlan> (but in passthrough mode), and a <virtualport> other than 802.1Qbg/802.1Qbh.
public struct NetworkUnsupportedInMacvtapModeRule: NetworkRule {
    public init() {}
    package static let layerThree = ["ip", "mac", "dns", "domain"]
    public static let description = RuleDescription(
        id: "network-unsupported-in-macvtap-mode", name: "What a macvtap network cannot have",
        summary: "In forward modes bridge (with devices), vepa, private and passthrough: <ip>, <mac>, <dns>, <domain>, "
            + "<bandwidth>, <mtu>, a bridge name or STP/delay options, a <vlan> (but in passthrough mode), and a "
            + "<virtualport> other than 802.1Qbg/802.1Qbh.",
        rationale: "libvirt makes no host interface for these networks, so there is nothing to give an address, DNS, MTU "
            + "or bridge options to; it refuses them at define (\"Unsupported <ip> element in network lan with forward "
            + "mode='bridge'\"). An Open vSwitch <virtualport> is accepted, and every guest that uses the network then "
            + "fails to start: \"<virtualport type='openvswitch'> not supported for network 'lan' which uses a macvtap "
            + "device\".",
        severity: .error, enforcement: .define, reference: "network_conf.c, bridge_driver.c",
        triggering: [
            NetworkExample.network(NetworkExample.pool("bridge"), "↓<ip address='192.0.2.9' netmask='255.255.255.0'/>"),
            NetworkExample.network(NetworkExample.pool("vepa"), "↓<mtu size='9000'/>"),
            NetworkExample.network(NetworkExample.pool("private"), "<bridge ↓name='br9'/>"),
            NetworkExample.network(NetworkExample.pool("vepa"), "↓<vlan><tag id='42'/></vlan>"),
            NetworkExample.network(NetworkExample.pool("bridge"), "<virtualport ↓type='openvswitch'/>"),
        ],
        nonTriggering: [
            NetworkExample.network(NetworkExample.pool("bridge"), "<portgroup name='web' default='yes'/>"),
            NetworkExample.network(NetworkExample.pool("passthrough", ["eth1"]), attributes: "trustGuestRxFilters='yes'"),
        ])

    public func check(_ network: NetworkDocument) -> [Violation] {
        guard let mode = network.macvtapMode else { return [] }
        // bridge mode without devices is a host bridge network, not macvtap.
        if mode == .bridge, network.forwardDev == nil, network.poolInterfaces.isEmpty { return [] }
        let name = network.label
        var violations: [Violation] = []
        for element in Self.layerThree {
            guard let position = network.topLevel[element] else { continue }
            violations.append(
                Violation(
                    at: position, "Unsupported <\(element)> element in network \(name) with forward mode='\(mode)'",
                    fix: "a macvtap network has no host-side interface: give addresses inside the guests, or use a nat/route network"))
        }
        if let position = network.topLevel["bandwidth"] {
            violations.append(
                Violation(
                    at: position, "Unsupported network-wide <bandwidth> element in network \(name) with forward mode='\(mode)'",
                    fix: "set <bandwidth> on the guests' interfaces or a <portgroup>"))
        }
        if let position = network.topLevel["mtu"] {
            violations.append(
                Violation(
                    at: position, "mtu size only allowed in open, route, nat, and isolated mode, not in \(mode) (network '\(name)')",
                    fix: "a macvtap's MTU follows its device: set the MTU of the host device"))
        }
        if mode != .bridge, let bridge = network.bridgeName {
            violations.append(
                Violation(
                    at: bridge.position, "bridge name not allowed in \(mode) mode (network '\(name)')", fix: "remove <bridge>"))
        } else if network.bridgeName == nil, let position = network.topLevel["bridge"] {
            violations.append(
                Violation(
                    at: position, "bridge delay/stp/zone options only allowed in route, nat, and isolated mode, not in \(mode) (network '\(name)')",
                    fix: "remove <bridge>: there is no host bridge in this mode"))
        }
        if mode != .passthrough, let position = network.topLevel["vlan"] ?? network.portGroupVLANs.first {
            violations.append(
                Violation(
                    at: position, "<vlan> element specified for network \(name), whose type doesn't support vlan configuration",
                    fix: "remove <vlan> and use the VLAN device as the network's device (<forward><interface dev='eth0.42'/>, made by virt-macvtap host-vlan eth0 42), or passthrough of an SR-IOV VF"))
        }
        if let type = network.virtualPortType, !["802.1Qbg", "802.1Qbh"].contains(type.value) {
            violations.append(
                Violation(
                    at: type.position, "<virtualport type='\(type.value)'> not supported for network '\(name)' which uses a macvtap device",
                    fix: "macvtap networks take 802.1Qbg or 802.1Qbh port profiles only", enforcement: .start))
        }
        return violations
    }
}

/// The `network-no-device` rule: a network in vepa, private or passthrough mode with no <forward dev>, pool <interface> or <pf>.
public struct NetworkNoDeviceRule: NetworkRule {
    public init() {}
    public static let description = RuleDescription(
        id: "network-no-device", name: "Macvtap network without a device",
        summary: "A network in vepa, private or passthrough mode with no <forward dev>, pool <interface> or <pf>.",
        rationale: "libvirt defines and starts the network, and every guest that uses it fails to start: \"network "
            + "'lan' uses a direct mode, but has no forward dev and no interface pool\".",
        severity: .error, enforcement: .start, reference: "bridge_driver.c",
        triggering: [NetworkExample.network("<forward ↓mode='private'/>")],
        nonTriggering: [NetworkExample.network(NetworkExample.pool("private")), NetworkExample.network("<forward mode='vepa' dev='eth0'/>")])

    public func check(_ network: NetworkDocument) -> [Violation] {
        // bridge without devices is a host-bridge network (<bridge name>), not a macvtap one.
        guard let mode = network.macvtapMode, mode != .bridge, let forward = network.forward,
            network.forwardDev == nil, network.poolInterfaces.isEmpty, network.physicalFunctions.isEmpty,
            network.pciAddresses.isEmpty
        else { return [] }
        return [
            Violation(
                at: network.forwardMode?.position ?? forward,
                "network '\(network.label)' uses a direct mode, but has no forward dev and no interface pool",
                fix: "name the host device: <forward mode='\(mode)'><interface dev='eth0'/></forward>")
        ]
    }
}
