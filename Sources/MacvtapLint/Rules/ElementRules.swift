import MacvtapXML

/// The `virtualport-invalid` rule: a direct interface's virtualport needs a known type and that type's complete, in-range parameters.
public struct VirtualPortInvalidRule: DirectInterfaceRule {
    public init() {}
    public static let description = RuleDescription(
        id: "virtualport-invalid", name: "Invalid <virtualport>",
        summary: "A direct interface's virtualport needs a known type and that type's complete, in-range parameters.",
        rationale: "libvirt refuses it: \"missing required virtualport type\", \"unknown virtualport type\", "
            + "\"missing %s in <virtualport type='%s'>\", \"extra %s unsupported in <virtualport type='%s'>\", "
            + "\"value of managerid out of range\".",
        severity: .error, enforcement: .define, reference: "D07, D08, D09, D10",
        triggering: [
            Example.nic("<source dev='eth0'/>↓<virtualport/>"),
            Example.nic("<source dev='eth0'/>↓<virtualport type='802.1Qbg'><parameters managerid='11'/></virtualport>"),
            Example.nic("<source dev='eth0'/><virtualport type='802.1Qbh'><parameters profileid='p' ↓managerid='1'/></virtualport>"),
            Example.nic("<source dev='eth0'/><virtualport type='802.1Qbg'><parameters ↓managerid='300' typeid='1' typeidversion='1'/></virtualport>"),
        ],
        nonTriggering: [
            Example.nic("<source dev='eth0'/><virtualport type='802.1Qbg'><parameters managerid='11' typeid='1193047' typeidversion='2'/></virtualport>"),
            Example.nic("<source dev='eth0'/><virtualport type='802.1Qbh'><parameters profileid='finance'/></virtualport>"),
        ])

    package static let parametersByType: [String: (required: [String], allowed: Set<String>)] = [
        "802.1Qbg": (["managerid", "typeid", "typeidversion"], ["managerid", "typeid", "typeidversion", "instanceid"]),
        "802.1Qbh": (["profileid"], ["profileid"]),
        "openvswitch": ([], ["profileid", "interfaceid"]),
        "midonet": (["interfaceid"], ["interfaceid"]),
    ]

    public func check(_ interface: DirectInterface, in document: LintDocument) -> [Violation] {
        guard let port = interface.virtualPort else { return [] }
        guard let type = port.type else {
            return [Violation(at: port.position, "XML error: missing required virtualport type", fix: "add type='802.1Qbg' or type='802.1Qbh'")]
        }
        guard let rules = Self.parametersByType[type.value] else {
            return [Violation(at: type.position, "unsupported configuration: unknown virtualport type \(type.value)", fix: "use 802.1Qbg or 802.1Qbh")]
        }
        var violations: [Violation] = []
        for name in rules.required where port.parameters[name] == nil {
            violations.append(Violation(at: port.position, "XML error: missing \(name) in <virtualport type='\(type.value)'>", fix: "add \(name)= to <parameters>"))
        }
        for (name, value) in port.parameters.sorted(by: { $0.key < $1.key }) where !rules.allowed.contains(name) {
            violations.append(Violation(at: value.position, "XML error: extra \(name) unsupported in <virtualport type='\(type.value)'>", fix: "remove \(name)="))
        }
        let limits: [(String, UInt64, String)] = [
            ("managerid", 0xFF, "value of managerid out of range"), ("typeid", 0xFF_FFFF, "value for typeid out of range"),
            ("typeidversion", 0xFF, "value of typeidversion out of range"),
        ]
        for (name, maximum, message) in limits {
            if let value = port.parameters[name], UInt64(value.value).map({ $0 > maximum }) ?? true {
                violations.append(Violation(at: value.position, "XML error: \(message)", fix: "\(name) must be 0–\(maximum)"))
            }
        }
        if let profile = port.parameters["profileid"], profile.value.utf8.count > 39 {
            violations.append(Violation(at: profile.position, "XML error: profileid parameter too long", fix: "profileid has at most 39 characters"))
        }
        return violations
    }
}

/// The `virtualport-ignored` rule: openvswitch and midonet virtualports, and 802.1Qbg with managerid 0.
public struct VirtualPortIgnoredRule: DirectInterfaceRule {
    public init() {}
    public static let description = RuleDescription(
        id: "virtualport-ignored", name: "Virtualport that does nothing on a direct interface",
        summary: "openvswitch and midonet virtualports, and 802.1Qbg with managerid 0.",
        rationale: "On type='direct' libvirt only associates 802.1Qbg and 802.1Qbh profiles; openvswitch and midonet "
            + "are accepted, kept in the XML and ignored (oracle: defined and started). managerid 0 is reserved by 802.1Qbg.",
        severity: .warning, enforcement: .notChecked, reference: "L14, L15",
        triggering: [
            Example.nic("<source dev='eth0'/><virtualport ↓type='openvswitch'/>"),
            Example.nic("<source dev='eth0'/><virtualport type='802.1Qbg'><parameters ↓managerid='0' typeid='1' typeidversion='1'/></virtualport>"),
        ],
        nonTriggering: [Example.nic("<source dev='eth0'/><virtualport type='802.1Qbh'><parameters profileid='p'/></virtualport>")])

    public func check(_ interface: DirectInterface, in document: LintDocument) -> [Violation] {
        guard let port = interface.virtualPort, let type = port.type else { return [] }
        if type.value == "openvswitch" || type.value == "midonet" {
            return [Violation(at: type.position, "a \(type.value) virtualport is ignored on a direct interface", fix: "remove <virtualport>, or use an openvswitch bridge interface")]
        }
        if type.value == "802.1Qbg", let manager = port.parameters["managerid"], manager.value == "0" {
            return [Violation(at: manager.position, "802.1Qbg managerid 0 is reserved", fix: "use the VSI manager ID your switch expects (1–255)")]
        }
        return []
    }
}

/// The `vlan-invalid` rule: each <vlan> needs tags with id ≤ 4095; several tags cannot say trunk='no'; at most one native tag.
public struct VLANInvalidRule: DirectInterfaceRule {
    public init() {}
    public static let description = RuleDescription(
        id: "vlan-invalid", name: "Invalid <vlan>",
        summary: "Each <vlan> needs tags with id ≤ 4095; several tags cannot say trunk='no'; at most one native tag.",
        rationale: "libvirt refuses: \"missing tag id - each <vlan> must have at least one <tag id='n'/> subelement\", "
            + "\"vlan tag id %u too large (maximum 4095)\", \"trunk='yes' is required for more than one vlan tag\" "
            + "(several tags without trunk= are a trunk: libvirt 9.0 defines them).",
        severity: .error, enforcement: .define, reference: "D11",
        triggering: [
            Example.nic("<source dev='eth0' mode='passthrough'/>↓<vlan/>"),
            Example.nic("<source dev='eth0' mode='passthrough'/><vlan><tag ↓id='5000'/></vlan>"),
            Example.nic("<source dev='eth0' mode='passthrough'/><vlan ↓trunk='no'><tag id='1'/><tag id='2'/></vlan>"),
        ],
        nonTriggering: [
            Example.nic("<source dev='eth0' mode='passthrough'/><vlan><tag id='42'/></vlan>"),
            Example.nic("<source dev='eth0' mode='passthrough'/><vlan><tag id='1'/><tag id='2'/></vlan>"),
        ])

    public func check(_ interface: DirectInterface, in document: LintDocument) -> [Violation] {
        guard let vlan = interface.vlan else { return [] }
        if vlan.tags.isEmpty {
            return [Violation(at: vlan.position, "XML error: missing tag id - each <vlan> must have at least one <tag id='n'/> subelement", fix: "add <tag id='N'/>")]
        }
        var violations: [Violation] = []
        for tag in vlan.tags {
            guard let id = tag.id else {
                violations.append(Violation(at: tag.position, "XML error: missing tag id - each <vlan> must have at least one <tag id='n'/> subelement", fix: "add id='N'"))
                continue
            }
            if UInt32(id.value).map({ $0 > 4095 }) ?? true {
                violations.append(Violation(at: id.position, "XML error: vlan tag id \(id.value) too large (maximum 4095)", fix: "use a VLAN ID from 0 to 4095"))
            }
        }
        if vlan.tags.count > 1, let trunk = vlan.trunk, trunk.value != "yes" {
            violations.append(
                Violation(
                    at: trunk.position, "XML error: invalid \"trunk='\(trunk.value)'\" in <vlan> - trunk='yes' is required for more than one vlan tag", fix: "write trunk='yes', or leave trunk= out"))
        }
        if vlan.tags.filter({ $0.nativeMode != nil }).count > 1 {
            violations.append(Violation(at: vlan.position, "XML error: duplicate native vlan setting", fix: "mark one tag nativeMode"))
        }
        return violations
    }
}

/// The `vlan-without-passthrough` rule: vLAN tags on a direct interface only work in passthrough mode on an SR-IOV VF.
public struct VLANWithoutPassthroughRule: DirectInterfaceRule {
    public init() {}
    public static let description = RuleDescription(
        id: "vlan-without-passthrough", name: "<vlan> on a non-passthrough direct interface",
        summary: "VLAN tags on a direct interface only work in passthrough mode on an SR-IOV VF.",
        rationale: "libvirt accepts the XML and fails at start: \"unsupported configuration: interface %s - vlan tag "
            + "not supported for this connection type\".",
        severity: .error, enforcement: .start, reference: "D39, L11, K05",
        triggering: [Example.nic("<source dev='eth0' mode='bridge'/>↓<vlan><tag id='42'/></vlan>")],
        nonTriggering: [Example.nic("<source dev='eth0' mode='passthrough'/><vlan><tag id='42'/></vlan>")])

    public func check(_ interface: DirectInterface, in document: LintDocument) -> [Violation] {
        guard let vlan = interface.vlan, interface.effectiveMode != .passthrough else { return [] }
        let ids = vlan.tags.compactMap { $0.id.flatMap { Int($0.value) } }
        let device = interface.source?.dev?.value ?? "DEV"
        let fix: String
        if ids.count == 1, let id = ids.first {
            let vlanDevice = LinuxInterfaceName.vlanDevice(of: device, vlan: id) ?? LinuxInterfaceName.vlanFallbackName(vlan: id)
            fix =
                "put the guest in VLAN \(id) through the VLAN device instead: remove <vlan> and use <source dev='\(vlanDevice)'/> "
                + "(virt-macvtap host-vlan \(device) \(id)\(vlanDevice.hasPrefix("vlan") ? " --name \(vlanDevice)" : "") creates it; --vlan \(id) on attach, "
                + "generate and edit does both), or mode='passthrough' on an SR-IOV VF"
        } else {
            fix = "a trunk of several VLANs reaches a guest only through passthrough of an SR-IOV VF; for one VLAN use its VLAN device (\(device).N) as the source"
        }
        return [Violation(at: vlan.position, "unsupported configuration: interface - vlan tag not supported for this connection type", fix: fix)]
    }
}

/// The `bandwidth-invalid` rule: inbound/outbound need average (≥ 1); peak and burst need average; no floor on direct.
public struct BandwidthInvalidRule: DirectInterfaceRule {
    public init() {}
    public static let description = RuleDescription(
        id: "bandwidth-invalid", name: "Invalid <bandwidth>",
        summary: "inbound/outbound need average (≥ 1); peak and burst need average; no floor on direct.",
        rationale: "libvirt refuses: \"floor attribute is not supported for this config\", \"Missing mandatory average "
            + "or floor attributes\", \"'peak' and 'burst' require 'average' attribute\".",
        severity: .error, enforcement: .define, reference: "D12, L21",
        triggering: [
            Example.nic("<source dev='eth0'/><bandwidth><inbound average='100' ↓floor='10'/></bandwidth>"),
            Example.nic("<source dev='eth0'/><bandwidth>↓<outbound peak='100'/></bandwidth>"),
        ],
        nonTriggering: [Example.nic("<source dev='eth0'/><bandwidth><inbound average='1000' peak='2000'/></bandwidth>")])

    public func check(_ interface: DirectInterface, in document: LintDocument) -> [Violation] {
        guard let bandwidth = interface.bandwidth else { return [] }
        var violations: [Violation] = []
        for direction in bandwidth.children where direction.name == "inbound" || direction.name == "outbound" {
            if let floor = direction.attribute("floor") {
                violations.append(
                    Violation(at: floor.position, "unsupported configuration: floor attribute is not supported for this config", fix: "remove floor= (only type='network' interfaces support it)"))
            }
            let average = direction.attribute("average")
            if average == nil, direction.attribute("floor") == nil {
                violations.append(Violation(at: direction.position, "Missing mandatory average or floor attributes", fix: "add average= (KiB/s)"))
            }
            if average == nil, direction.attribute("peak") != nil || direction.attribute("burst") != nil {
                violations.append(Violation(at: direction.position, "'peak' and 'burst' require 'average' attribute", fix: "add average="))
            }
        }
        return violations
    }
}

/// The `link-state-invalid` rule: <link state> is up or down.
public struct LinkStateInvalidRule: DirectInterfaceRule {
    public init() {}
    public static let description = RuleDescription(
        id: "link-state-invalid", name: "Invalid <link state>",
        summary: "<link state> is up or down.",
        rationale: "libvirt refuses anything else: \"unsupported configuration: unknown interface link state '%s'\". "
            + "An empty state='' is different: libvirt's parser takes it as absent and drops <link>, and only "
            + "define --validate (the schema) refuses it.",
        severity: .error, enforcement: .define, reference: "D13",
        triggering: [Example.nic("<source dev='eth0'/><link ↓state='default'/>"), Example.nic("<source dev='eth0'/><link ↓state=''/>")],
        nonTriggering: [Example.nic("<source dev='eth0'/><link state='down'/>")])

    public func check(_ interface: DirectInterface, in document: LintDocument) -> [Violation] {
        guard let state = interface.linkState, state.value != "up", state.value != "down" else { return [] }
        if state.value.isEmpty {
            return [
                Violation(
                    at: state.position, "link state='' is not a link state: libvirt's parser takes it as absent and drops <link>; the schema refuses it",
                    fix: "use state='up' or state='down', or remove <link>", enforcement: .validate)
            ]
        }
        return [Violation(at: state.position, "unsupported configuration: unknown interface link state '\(state.value)'", fix: "use state='up' or state='down'")]
    }
}

/// The `model-invalid` rule: <model type> may only use letters, digits, '-' and '_'.
public struct ModelInvalidRule: InterfaceRule {
    public init() {}
    public static let description = RuleDescription(
        id: "model-invalid", name: "Invalid NIC model name",
        summary: "<model type> may only use letters, digits, '-' and '_'.",
        rationale: "libvirt refuses others: \"invalid argument: Model name contains invalid characters\". An empty "
            + "type='' is taken as no model (the guest gets QEMU's default, rtl8139 on a pc machine); only define "
            + "--validate (the schema) refuses it.",
        severity: .error, enforcement: .define, reference: "D14",
        triggering: [
            Example.nic("<source dev='eth0'/><model ↓type='virtio net'/>"), Example.nic("<source dev='eth0'/><model ↓type=''/>"),
            // libvirt parses the model of every interface type: a network's NIC is refused the same way.
            Example.domain("    <interface type='network'><mac address='52:54:00:00:00:01'/><source network='default'/><model ↓type='virtio net'/></interface>"),
        ],
        nonTriggering: [Example.nic(Example.goodBody())])

    public func check(_ entry: DomainDocument.InterfaceEntry, in document: LintDocument) -> [Violation] {
        // libvirt reads <model type> for every interface type (virDomainNetDefParseXML).
        let interface = entry.direct ?? DirectInterface(document.domain.element(of: entry))
        guard let model = interface.model else { return [] }
        if model.value.isEmpty {
            return [
                Violation(at: model.position, "model type='' is taken as no model: the guest gets QEMU's default NIC; the schema refuses it", fix: "use <model type='virtio'/>", enforcement: .validate)
            ]
        }
        guard !model.value.utf8.allSatisfy(DirectInterfaceSpec.isWordByte) else { return [] }
        return [Violation(at: model.position, "invalid argument: Model name contains invalid characters", fix: "use a QEMU NIC model such as virtio")]
    }
}

/// The `model-missing` rule: without <model type='virtio'/>, x86 guests get an emulated rtl8139 or e1000.
public struct ModelMissingRule: DirectInterfaceRule {
    public init() {}
    public static let description = RuleDescription(
        id: "model-missing", name: "No <model>: an emulated NIC",
        summary: "Without <model type='virtio'/>, x86 guests get an emulated rtl8139 or e1000.",
        rationale: "Emulated NICs have no vhost and no vnet_hdr offloads and are much slower; trustGuestRxFilters "
            + "and multiqueue need virtio.",
        severity: .warning, enforcement: .advice, reference: "L13",
        triggering: [Example.nic("<mac address='52:54:00:00:00:01'/><source dev='eth0' mode='bridge'/>", markInterface: true)],
        nonTriggering: [Example.nic(Example.goodBody())],
        fixes: .unsafe,
        fixExamples: [
            FixExample(
                before: Example.domain("    <interface type='direct'>\n      <mac address='52:54:00:00:00:01'/>\n      <source dev='eth0' mode='bridge'/>\n    </interface>"),
                after: Example.domain(
                    "    <interface type='direct'>\n      <mac address='52:54:00:00:00:01'/>\n      <source dev='eth0' mode='bridge'/>\n      <model type=\"virtio\"/>\n    </interface>"))
        ])

    public func check(_ interface: DirectInterface, in document: LintDocument) -> [Violation] {
        // QEMU's default models; LXC, Xen and the test driver have none of these.
        guard document.isQEMUDomain, interface.model == nil else { return [] }
        // A new device model for the guest (unsafe: its driver changes), so only with --unsafe-fixes.
        return [
            Violation(
                at: interface.position, "no <model>: the guest gets an emulated NIC (rtl8139/e1000 on x86)", fix: "add <model type='virtio'/>",
                correction: CorrectionIntent(
                    .unsafe, "add <model type='virtio'/>",
                    [
                        .appendChild(elementAt: interface.position, child: XMLElementSpec("model", attributes: [("type", "virtio")]))
                    ]))
        ]
    }
}

/// Elements libvirt rejects, drops or never uses on a direct interface.
public struct UnsupportedOnDirectRule: DirectInterfaceRule {
    public init() {}
    public static let description = RuleDescription(
        id: "unsupported-on-direct", name: "Element that does not work on a direct interface",
        summary: "<mtu>, <coalesce>, <filterref>, <ip>, <route>, <script>, <port isolated>, <backend tap|passt>, "
            + "<target managed='no'> on type='direct'.",
        rationale: "libvirt refuses some at define (\"unmanaged target dev is not supported on interfaces of type "
            + "'direct'\", host-side ip/route), some only at start (\"setting MTU on interface type direct is not "
            + "supported yet\", \"scripts are not supported on interfaces of type direct\"), and silently drops "
            + "<filterref>.",
        severity: .error, enforcement: .define, reference: "D19, D25, D26, D27, D30, D31, D32, D38, D40, D41, L12, L21",
        triggering: [
            Example.nic("<source dev='eth0'/><mtu ↓size='9000'/>"),
            Example.nic("<source dev='eth0'/><coalesce><rx><frames ↓max='7'/></rx></coalesce>"),
            Example.nic("<source dev='eth0'/><filterref ↓filter='clean-traffic'/>"),
            Example.nic("<source dev='eth0'/>↓<ip address='192.0.2.5' prefix='24'/>"),
            Example.nic("<source dev='eth0'/>↓<script path='/etc/qemu-ifup'/>"),
            Example.nic("<source dev='eth0'/>↓<port isolated='yes'/>"),
            Example.nic("<source dev='eth0'/><backend ↓tap='/dev/net/tun'/>"),
            Example.nic("<source dev='eth0'/><target dev='tap0' ↓managed='no'/>"),
        ],
        nonTriggering: [Example.nic(Example.goodBody() + "<target dev='guest-tap0'/><backend vhost='/dev/vhost-net'/>")])

    public func check(_ interface: DirectInterface, in document: LintDocument) -> [Violation] {
        var violations: [Violation] = []
        if let mtu = interface.mtu {
            violations.append(
                Violation(
                    at: mtu.position, "unsupported configuration: setting MTU on interface type direct is not supported yet", fix: "remove <mtu>; a macvtap follows the MTU of its source device",
                    enforcement: .define))
        }
        if let coalesce = interface.coalesceRxFramesMax {
            violations.append(Violation(at: coalesce.position, "coalesce settings on interface type direct are not supported", fix: "remove <coalesce>", enforcement: .define))
        }
        if let filter = interface.filterRef {
            violations.append(
                Violation(
                    at: filter.position, "<filterref filter='\(filter.value)'> is silently dropped on direct interfaces: no traffic filtering happens",
                    fix: "filter on the switch, or use a bridge interface with nwfilter", enforcement: .silentlyDropped))
        }
        if let managed = interface.targetManaged, managed.value == "no" {
            violations.append(
                Violation(at: managed.position, "unsupported configuration: unmanaged target dev is not supported on interfaces of type 'direct'", fix: "remove managed='no'", enforcement: .define))
        }
        for child in interface.otherChildren {
            switch child.name {
            case "ip", "route":
                violations.append(
                    Violation(
                        at: child.position, "unsupported configuration: Invalid attempt to set network interface host-side IP route and/or address info on interface of type 'direct'",
                        fix: "configure addresses inside the guest", enforcement: .define))
            case "portForward":
                if document.judgesAsLibvirt11 {
                    violations.append(
                        Violation(
                            at: child.position,
                            "unsupported configuration: The <portForward> element can only be used with the 'passt' backend of interface type='user' or type='vhostuser' (libvirt 11.3; 9.0 accepts it and ignores it)",
                            fix: "remove <portForward>; a macvtap guest is on the LAN itself", enforcement: .define))
                } else {
                    violations.append(
                        Violation(
                            at: child.position, "<portForward> does nothing on a direct interface: libvirt 9.0 accepts and ignores it; 11.3 rejects it at define",
                            fix: "remove <portForward>; a macvtap guest is on the LAN itself", enforcement: .notChecked, severity: .warning))
                }
            case "script":
                violations.append(Violation(at: child.position, "unsupported configuration: scripts are not supported on interfaces of type direct", fix: "remove <script>", enforcement: .start))
            case "downscript":
                // libvirt 9.0 keeps it and starts the domain (oracle); it is never run.
                violations.append(Violation(at: child.position, "<downscript> is kept but never run for a direct interface", fix: "remove <downscript>", enforcement: .notChecked))
            case "port" where child.attribute("isolated")?.value == "yes":
                violations.append(
                    Violation(
                        at: child.position, "<port isolated='yes'/> is not supported for network interfaces with type='direct'", fix: "use mode='private' to keep guests on one device apart",
                        enforcement: .define))
            case "backend":
                if let tap = child.attribute("tap") {
                    violations.append(Violation(at: tap.position, "custom tap device path is not supported for network interfaces of type direct", fix: "remove tap=", enforcement: .start))
                }
                if child.attribute("type")?.value == "passt" {
                    violations.append(Violation(at: child.position, "The 'passt' backend can only be used with interface type='user'", fix: "remove type='passt'", enforcement: .define))
                }
            default: break
            }
        }
        return violations
    }
}
