/// The `source-missing` rule: an interface of a type that needs a <source> (direct, bridge, network, vhostuser, udp, mcast, server, client, vdpa, vds, internal) has none, or lacks the attribute naming what it connects to.
public struct SourceMissingRule: InterfaceRule {
    public init() {}
    public static let description = RuleDescription(
        id: "source-missing", name: "Interface without its <source>",
        summary: "An interface of a type that needs a <source> (direct, bridge, network, vhostuser, udp, mcast, server, "
            + "client, vdpa, vds, internal) has none, or lacks the attribute naming what it connects to.",
        rationale: "libvirt refuses it at define: \"XML error: interface type='direct' requires a 'source' element\" "
            + "(the same for every such type) or \"Missing required attribute 'dev' in element 'source'\" ('bridge' "
            + "and 'network' for those types). Since libvirt 11.x a vhost-user NIC with <backend type='passt'/> needs "
            + "no <source> (libvirt starts passt and makes the socket); 9.0 still requires one (oracle, both versions).",
        severity: .error, enforcement: .define, reference: "D01, D02",
        triggering: [
            Example.nic("<mac address='52:54:00:00:00:01'/>", markInterface: true), Example.nic("↓<source mode='vepa'/>"),
            Example.domain("    ↓<interface type='bridge'><mac address='52:54:00:00:00:01'/><model type='virtio'/></interface>"),
            Example.domain("    <interface type='network'>↓<source portgroup='web'/><model type='virtio'/></interface>"),
        ],
        nonTriggering: [
            Example.nic(Example.goodBody()),
            Example.domain("    <interface type='bridge'><source bridge='br0'/><model type='virtio'/></interface>"),
            Example.domain("    <interface type='user'><model type='virtio'/></interface>"),
        ])

    /// The interface types whose `<source>` libvirt requires, and the attribute that names what
    /// they connect to (nil where the element alone is required by this rule).
    package static let requiredSource: [String: String?] = [
        "direct": "dev", "bridge": "bridge", "network": "network", "vhostuser": nil, "udp": nil, "mcast": nil,
        "server": nil, "client": nil, "vdpa": nil, "vds": nil, "internal": nil,
    ]

    public func check(_ interface: DomainDocument.InterfaceEntry, in document: LintDocument) -> [Violation] {
        guard let type = interface.type?.value, let attribute = Self.requiredSource[type] else { return [] }
        let element = document.domain.element(of: interface)
        guard let source = element.firstChild(named: "source") else {
            // libvirt 11.x starts passt itself for a vhost-user NIC with the passt backend: no socket to name.
            let passt = type == "vhostuser" && element.firstChild(named: "backend")?.attribute("type") == "passt"
            if passt && document.judgesAsLibvirt11 { return [] }
            let example = attribute.map { "<source \($0)='…'/>" } ?? "a <source>"
            return [
                Violation(
                    at: interface.position,
                    "XML error: interface type='\(type)' requires a 'source' element\(passt ? " (libvirt 9.0; 11.3 takes <backend type='passt'/> instead)" : "")",
                    fix: type == "direct" ? "add <source dev='eth0' mode='bridge'/> naming the host device" : "add \(example)")
            ]
        }
        // A VMware distributed switch port: libvirt 9.0 requires all four ids, 11.3 only the switch's.
        if type == "vds" {
            let required = document.judgesAsLibvirt11 ? ["switchid"] : ["switchid", "portid", "portgroupid", "connectionid"]
            guard let missing = required.first(where: { source.attribute($0) == nil }) else { return [] }
            let versions = missing == "switchid" ? "" : " (libvirt 9.0; 11.3 needs only switchid)"
            return [Violation(at: source.position, "XML error: Missing required attribute '\(missing)' in element 'source'\(versions)", fix: "add \(missing)='…' to <source>")]
        }
        guard let attribute, source.attribute(attribute) == nil else { return [] }
        return [
            Violation(
                at: source.position, "XML error: Missing required attribute '\(attribute)' in element 'source'",
                fix: type == "direct" ? "name the host device: <source dev='eth0'/>" : "add \(attribute)='…' to <source>")
        ]
    }
}

/// The `source-dev-invalid` rule: <source dev> must be a Linux interface name (1–15 bytes, no '/', no whitespace) and not loopback.
public struct SourceDevInvalidRule: DirectInterfaceRule {
    public init() {}
    public static let description = RuleDescription(
        id: "source-dev-invalid", name: "Invalid source device name",
        summary: "<source dev> must be a Linux interface name (1–15 bytes, no '/', no whitespace) and not loopback.",
        rationale: "libvirt accepts dev='' and long names, then the domain fails at start: \"Unable to get index "
            + "for interface\" or \"invalid interface name %s: Numerical result out of range\"; on 'lo' the kernel "
            + "refuses the macvtap: \"error creating macvtap interface macvtapN@lo: Invalid argument\".",
        severity: .error, enforcement: .start, reference: "L17, K01",
        triggering: [
            Example.nic("<source ↓dev=''/>"), Example.nic("<source ↓dev='averyveryverylongname'/>"),
            Example.nic("<source ↓dev='eth0/1'/>"), Example.nic(Example.goodBody(dev: "lo", mark: .source)),
        ],
        nonTriggering: [Example.nic(Example.goodBody(dev: "enp3s0f0v1"))])

    public func check(_ interface: DirectInterface, in document: LintDocument) -> [Violation] {
        guard let dev = interface.source?.dev else { return [] }
        if dev.value == "lo" {
            return [Violation(at: dev.position, "source device 'lo' is the loopback device; the kernel refuses a macvtap on it", fix: "use the host's uplink (ip -br link)")]
        }
        // An alias label (eth0:1) names its device: the kernel's lookup strips the label.
        guard let problem = LinuxInterfaceName.problem(with: LinuxInterfaceName.device(of: dev.value)) else { return [] }
        return [Violation(at: dev.position, "source device '\(dev.value)' \(problem)", fix: "use the kernel's name for the host device (ip -br link)")]
    }
}

/// The `source-mode-invalid` rule: <source mode> must be vepa, bridge, private or passthrough (lower case).
public struct SourceModeInvalidRule: DirectInterfaceRule {
    public init() {}
    public static let description = RuleDescription(
        id: "source-mode-invalid", name: "Unknown macvtap mode",
        summary: "<source mode> must be vepa, bridge, private or passthrough (lower case).",
        rationale: "libvirt refuses anything else: \"XML error: Invalid value for attribute 'mode' in element "
            + "'source': 'VEPA'.\"",
        severity: .error, enforcement: .define, reference: "D03",
        triggering: [Example.nic("<source dev='eth0' ↓mode='VEPA'/>"), Example.nic("<source dev='eth0' ↓mode='passthru'/>")],
        nonTriggering: MacvtapMode.allCases.map { Example.nic("<source dev='eth0' mode='\($0)'/>") },
        fixes: .safe,
        fixExamples: [
            FixExample(
                before: Example.nic("<mac address='52:54:00:00:00:01'/><source dev='eth0' mode='VEPA'/><model type='virtio'/>"),
                after: Example.nic("<mac address='52:54:00:00:00:01'/><source dev='eth0' mode='vepa'/><model type='virtio'/>")),
            FixExample(
                before: Example.nic("<mac address='52:54:00:00:00:01'/><source dev='eth0' mode='passthru'/><model type='virtio'/>"),
                after: Example.nic("<mac address='52:54:00:00:00:01'/><source dev='eth0' mode='passthrough'/><model type='virtio'/>")),
        ])

    public func check(_ interface: DirectInterface, in document: LintDocument) -> [Violation] {
        guard let mode = interface.source?.mode, MacvtapMode(libvirtName: mode.value) == nil else { return [] }
        let modeAttribute = mode
        let suggestion = MacvtapMode.allCases.first { $0.rawValue == mode.value.lowercased() || $0.kernelName == mode.value }
        return [
            Violation(
                at: mode.position, "XML error: Invalid value for attribute 'mode' in element 'source': '\(mode.value)'.",
                fix: suggestion.map { "write mode='\($0)'" } ?? "use vepa, bridge, private or passthrough",
                correction: suggestion.map { mode in
                    // Only the spelling changes: libvirt refuses the file as written, so no guest runs it yet.
                    CorrectionIntent(.safe, "write mode='\(mode)'", [.replaceValue(attributeAt: modeAttribute.position, name: "mode", with: .text(mode.rawValue))])
                })
        ]
    }
}

/// The `source-unknown-attribute` rule: an attribute libvirt does not read on a direct <source>, such as the typo mod='bridge'.
public struct SourceUnknownAttributeRule: DirectInterfaceRule {
    public init() {}
    public static let description = RuleDescription(
        id: "source-unknown-attribute", name: "Unknown attribute on <source>",
        summary: "An attribute libvirt does not read on a direct <source>, such as the typo mod='bridge'.",
        rationale: "libvirt ignores unknown attributes without a word: mod='bridge' silently gives mode='vepa'. "
            + "network/portgroup/portid only describe interfaces that come from a <network>.",
        severity: .warning, enforcement: .silentlyDropped, reference: "D22, L20",
        triggering: [Example.nic("<source dev='eth0' ↓mod='bridge'/>")],
        nonTriggering: [Example.nic(Example.goodBody())],
        fixes: .unsafe,
        fixExamples: [
            FixExample(
                before: Example.nic("<mac address='52:54:00:00:00:01'/><source dev='eth0' mod='bridge'/><model type='virtio'/>"),
                after: Example.nic("<mac address='52:54:00:00:00:01'/><source dev='eth0' mode='bridge'/><model type='virtio'/>")),
            FixExample(
                before: Example.nic("<mac address='52:54:00:00:00:01'/><source dev='eth0' mode='bridge' colour='blue'/><model type='virtio'/>"),
                after: Example.nic("<mac address='52:54:00:00:00:01'/><source dev='eth0' mode='bridge'/><model type='virtio'/>")),
        ])

    public func check(_ interface: DirectInterface, in document: LintDocument) -> [Violation] {
        guard let source = interface.source else { return [] }
        var violations = source.unknownAttributes.map { attribute in
            let typoOfMode = attribute.name.count >= 3 && "mode".hasPrefix(String(attribute.name.prefix(3)))
            // mod= → mode= makes the written mode real (unsafe: the guest's traffic changes);
            // removing an attribute libvirt ignores changes nothing libvirt does (safe).
            let correction =
                typoOfMode && source.mode == nil
                ? CorrectionIntent(.unsafe, "write mode='\(attribute.value)'", [.renameAttribute(attributeAt: attribute.position, name: attribute.name, newName: "mode")])
                : typoOfMode ? nil : CorrectionIntent(.safe, "remove \(attribute.name)=", [.removeAttribute(attributeAt: attribute.position, name: attribute.name)])
            return Violation(
                at: attribute.position,
                "<source> attribute '\(attribute.name)' is not read by libvirt"
                    + (typoOfMode ? "; the mode stays \(interface.effectiveMode?.rawValue ?? "vepa")" : ""),
                fix: typoOfMode ? "write mode='\(attribute.value)'" : "remove \(attribute.name)=", correction: correction)
        }
        for attribute in [source.network, source.portGroup, source.portID].compactMap({ $0 }) {
            violations.append(
                Violation(
                    at: attribute.position, "network/portgroup/portid on a direct <source> are ignored by libvirt",
                    fix: "use <interface type='network'> to take the NIC from a libvirt network"))
        }
        return violations
    }
}

/// The `mac-unknown-attribute` rule: only address (and, for VMware, type/check) mean anything on <mac>.
public struct MACUnknownAttributeRule: InterfaceRule {
    public init() {}
    public static let description = RuleDescription(
        id: "mac-unknown-attribute", name: "Unknown or ignored attribute on <mac>",
        summary: "Only address (and, for VMware, type/check) mean anything on <mac>.",
        rationale: "libvirt ignores unknown attributes, and the QEMU driver ignores type= and check= (only the vmx "
            + "driver reads them), so a typo such as adress= leaves the MAC to be generated.",
        severity: .warning, enforcement: .silentlyDropped, reference: "D22, D23",
        triggering: [Example.nic("<mac ↓adress='52:54:00:00:00:01'/><source dev='eth0'/>")],
        nonTriggering: [Example.nic(Example.goodBody())],
        fixes: .unsafe,
        fixExamples: [
            FixExample(
                before: Example.nic("<mac adress='52:54:00:00:00:01'/><source dev='eth0' mode='bridge'/><model type='virtio'/>"),
                after: Example.nic("<mac address='52:54:00:00:00:01'/><source dev='eth0' mode='bridge'/><model type='virtio'/>")),
            FixExample(
                before: Example.nic("<mac address='52:54:00:00:00:01' colour='blue'/><source dev='eth0' mode='bridge'/><model type='virtio'/>"),
                after: Example.nic("<mac address='52:54:00:00:00:01'/><source dev='eth0' mode='bridge'/><model type='virtio'/>")),
        ])

    public func check(_ interface: DomainDocument.InterfaceEntry, in document: LintDocument) -> [Violation] {
        guard let mac = document.domain.element(of: interface).firstChild(named: "mac") else { return [] }
        let hasAddress = mac.hasAttribute("address")
        return mac.attributes.filter { !["address", "type", "check"].contains($0.name) }.map { attribute in
            // adress= → address= makes the written MAC real instead of a generated one (unsafe);
            // removing what libvirt ignores changes nothing (safe).
            let typo = !hasAddress && attribute.name.hasPrefix("ad") && MACAddress(attribute.value) != nil
            let correction =
                typo
                ? CorrectionIntent(.unsafe, "write address='\(attribute.value)'", [.renameAttribute(attributeAt: attribute.position, name: attribute.name, newName: "address")])
                : CorrectionIntent(.safe, "remove \(attribute.name)=", [.removeAttribute(attributeAt: attribute.position, name: attribute.name)])
            return Violation(
                at: attribute.position, "<mac> attribute '\(attribute.name)' is not read by libvirt",
                fix: typo ? "write address='\(attribute.value)'" : "remove \(attribute.name)=", correction: correction)
        }
    }
}

/// The `duplicate-element` rule: a direct interface with two <mac> or two <source> elements.
public struct DuplicateElementRule: DirectInterfaceRule {
    public init() {}
    public static let description = RuleDescription(
        id: "duplicate-element", name: "Repeated <mac> or <source>",
        summary: "A direct interface with two <mac> or two <source> elements.",
        rationale: "libvirt uses the first and silently ignores the second.",
        severity: .warning, enforcement: .silentlyDropped, reference: "D24",
        triggering: [Example.nic("<mac address='52:54:00:00:00:01'/><mac address='52:54:00:00:00:02'/><source dev='eth0'/>", markInterface: true)],
        nonTriggering: [Example.nic(Example.goodBody())])

    public func check(_ interface: DirectInterface, in document: LintDocument) -> [Violation] {
        var violations: [Violation] = []
        if interface.macElementCount > 1 {
            violations.append(Violation(at: interface.position, "\(interface.macElementCount) <mac> elements; libvirt uses the first", fix: "keep one <mac>"))
        }
        if interface.sourceElementCount > 1 {
            violations.append(Violation(at: interface.position, "\(interface.sourceElementCount) <source> elements; libvirt uses the first", fix: "keep one <source>"))
        }
        return violations
    }
}
