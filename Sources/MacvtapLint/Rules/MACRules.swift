extension CorrectionIntent {
    /// A new MAC from the allocator in place of `mac` (unsafe: the guest's address changes).
    package static func freshMAC(for mac: Located<String>) -> CorrectionIntent {
        CorrectionIntent(.unsafe, "give the interface a new MAC under 52:54:00", [.replaceValue(attributeAt: mac.position, name: "address", with: .freshMAC)])
    }
}

/// Checks every interface, whatever its type: libvirt parses every `<mac>` the same way.
public protocol InterfaceRule: DocumentRule {
    /// The violations of one interface of `document`.
    func check(_ interface: DomainDocument.InterfaceEntry, in document: LintDocument) -> [Violation]
}

extension InterfaceRule {
    public func check(_ document: LintDocument) -> [Violation] {
        document.domain.interfaces.flatMap { check($0, in: document) }
    }
}

/// The `mac-unparsable` rule: <mac address> must be six ':'-separated octets of one or two hex digits.
public struct MACUnparsableRule: InterfaceRule {
    public init() {}
    public static let description = RuleDescription(
        id: "mac-unparsable", name: "Unparsable MAC address",
        summary: "<mac address> must be six ':'-separated octets of one or two hex digits.",
        rationale: "libvirt refuses the interface: \"XML error: unable to parse mac address '%s'\".",
        severity: .error, enforcement: .define, reference: "D04",
        triggering: [Example.nic("<mac ↓address='52-54-00-00-00-01'/><source dev='eth0'/>")],
        nonTriggering: [Example.nic(Example.goodBody())])

    public func check(_ interface: DomainDocument.InterfaceEntry, in document: LintDocument) -> [Violation] {
        guard let mac = interface.mac, MACAddress(mac.value) == nil else { return [] }
        return [
            Violation(
                at: mac.position, "XML error: unable to parse mac address '\(mac.value)'",
                fix: "write six octets separated by ':', e.g. 52:54:00:12:34:56")
        ]
    }
}

/// The `mac-multicast` rule: an interface MAC must be unicast (lowest bit of the first octet clear).
public struct MACMulticastRule: InterfaceRule {
    public init() {}
    public static let description = RuleDescription(
        id: "mac-multicast", name: "Multicast or broadcast MAC",
        summary: "An interface MAC must be unicast (lowest bit of the first octet clear).",
        rationale: "libvirt refuses it: \"XML error: expected unicast mac address, found multicast '%s'\". "
            + "ff:ff:ff:ff:ff:ff (broadcast) is multicast too.",
        severity: .error, enforcement: .define, reference: "D05",
        triggering: [
            Example.nic("<mac ↓address='01:00:5e:00:00:01'/><source dev='eth0'/>"),
            Example.nic("<mac ↓address='ff:ff:ff:ff:ff:ff'/><source dev='eth0'/>"),
        ],
        nonTriggering: [Example.nic(Example.goodBody())])

    public func check(_ interface: DomainDocument.InterfaceEntry, in document: LintDocument) -> [Violation] {
        guard let mac = interface.mac, let address = MACAddress(mac.value), address.isMulticast else { return [] }
        let kind = address.isBroadcast ? "the broadcast address" : "multicast"
        return [
            Violation(
                at: mac.position,
                "XML error: expected unicast mac address, found multicast '\(mac.value)' (\(kind))",
                fix: "use a unicast address: the first octet must be even, e.g. 52:54:00:xx:xx:xx")
        ]
    }
}

/// The `mac-all-zero` rule: 00:00:00:00:00:00 passes libvirt's schema and parser but not the kernel.
public struct MACAllZeroRule: InterfaceRule {
    public init() {}
    public static let description = RuleDescription(
        id: "mac-all-zero", name: "All-zero MAC",
        summary: "00:00:00:00:00:00 passes libvirt's schema and parser but not the kernel.",
        rationale: "libvirt 9.0 keeps it, and macvlan_validate refuses it (EADDRNOTAVAIL), so the domain fails to "
            + "start: \"error creating macvtap interface\". libvirt 11.3 replaces it at define with a MAC it "
            + "generates, so the address written is silently not the one the guest gets.",
        severity: .error, enforcement: .start, reference: "L04, K02",
        triggering: [Example.nic("<mac ↓address='00:00:00:00:00:00'/><source dev='eth0'/>")],
        nonTriggering: [Example.nic(Example.goodBody())])

    public func check(_ interface: DomainDocument.InterfaceEntry, in document: LintDocument) -> [Violation] {
        guard let mac = interface.mac, MACAddress(mac.value)?.isAllZero == true else { return [] }
        let fix = "remove <mac> to let libvirt generate one, or allocate one with virt-macvtap"
        if document.judgesAsLibvirt11 {
            return [
                Violation(
                    at: mac.position, "MAC address is all zero: libvirt 11.3 replaces it with a generated one at define (9.0 keeps it and the start fails)", fix: fix, enforcement: .silentlyDropped,
                    severity: .warning)
            ]
        }
        return [Violation(at: mac.position, "MAC address is all zero: the kernel refuses the macvtap (libvirt 11.3 would replace it at define)", fix: fix)]
    }
}

/// The `mac-not-locally-administered` rule: made-up MACs should have the locally-administered bit (0x02 of the first octet) set.
public struct MACNotLocallyAdministeredRule: InterfaceRule {
    public init() {}
    public static let description = RuleDescription(
        id: "mac-not-locally-administered", name: "Globally administered MAC",
        summary: "Made-up MACs should have the locally-administered bit (0x02 of the first octet) set.",
        rationale: "A globally administered address belongs to a vendor's OUI; reusing one risks a clash with real "
            + "hardware on the LAN. libvirt's own 52:54:00 prefix is locally administered.",
        severity: .warning, enforcement: .notChecked, reference: "L05",
        triggering: [Example.nic("<mac ↓address='00:11:22:33:44:55'/><source dev='eth0'/>")],
        nonTriggering: [Example.nic(Example.goodBody())],
        fixes: .unsafe,
        fixExamples: [
            FixExample(
                before: Example.nic("<mac address='00:11:22:33:44:55'/><source dev='eth0' mode='bridge'/><model type='virtio'/>"),
                after: Example.nic("<mac address='\(FixExample.freshMAC)'/><source dev='eth0' mode='bridge'/><model type='virtio'/>"))
        ])

    public func check(_ interface: DomainDocument.InterfaceEntry, in document: LintDocument) -> [Violation] {
        guard let mac = interface.mac, let address = MACAddress(mac.value), !address.isMulticast, !address.isAllZero,
            !address.isLocallyAdministered, address.knownOUI == nil
        else { return [] }
        return [
            Violation(
                at: mac.position, "MAC \(address) is globally administered (vendor OUI \(String(address.description.prefix(8))))",
                fix: "use a locally administered address, e.g. under 52:54:00 or 02:xx:xx", correction: .freshMAC(for: mac))
        ]
    }
}

/// The `mac-foreign-oui` rule: a QEMU/KVM guest whose MAC carries Xen, oVirt, VMware, VirtualBox, Hyper-V or Parallels' prefix.
public struct MACForeignOUIRule: InterfaceRule {
    public init() {}
    public static let description = RuleDescription(
        id: "mac-foreign-oui", name: "Another hypervisor's OUI",
        summary: "A QEMU/KVM guest whose MAC carries Xen, oVirt, VMware, VirtualBox, Hyper-V or Parallels' prefix.",
        rationale: "Often a copied or migrated configuration; such MACs can collide with guests still running on "
            + "the other platform, and tooling keyed on 52:54:00 misses them. A note, not a warning: platforms "
            + "allocate from these OUIs on purpose (oVirt/RHV runs KVM guests under 00:1a:4a).",
        severity: .info, enforcement: .notChecked, reference: "L06",
        triggering: [Example.nic("<mac ↓address='00:16:3e:12:34:56'/><source dev='eth0'/>")],
        nonTriggering: [
            Example.nic(Example.goodBody()),
            Example.nic("<mac address='00:16:3e:12:34:56'/><source dev='eth0'/>", type: "xen"),
        ],
        fixes: .unsafe,
        fixExamples: [
            FixExample(
                before: Example.nic("<mac address='00:16:3e:12:34:56'/><source dev='eth0' mode='bridge'/><model type='virtio'/>"),
                after: Example.nic("<mac address='\(FixExample.freshMAC)'/><source dev='eth0' mode='bridge'/><model type='virtio'/>"))
        ])

    public func check(_ interface: DomainDocument.InterfaceEntry, in document: LintDocument) -> [Violation] {
        guard document.isQEMUDomain, let mac = interface.mac, let address = MACAddress(mac.value),
            let vendor = address.knownOUI, vendor != .qemuKVM
        else { return [] }
        return [
            Violation(
                at: mac.position, "MAC \(address) carries \(vendor.displayName)'s OUI in a QEMU/KVM domain",
                fix: "give the guest a new address under 52:54:00 (virt-macvtap generate prints one)", correction: .freshMAC(for: mac))
        ]
    }
}

/// The `mac-fe-prefix` rule: libvirt gives the host side of tap devices fe:… addresses.
public struct MACFEPrefixRule: InterfaceRule {
    public init() {}
    public static let description = RuleDescription(
        id: "mac-fe-prefix", name: "MAC starting with fe:",
        summary: "libvirt gives the host side of tap devices fe:… addresses.",
        rationale: "A guest MAC starting with fe can collide with the host-side MAC of a bridged or NAT guest's tap "
            + "device on the same L2 segment.",
        severity: .warning, enforcement: .notChecked, reference: "L07",
        triggering: [Example.nic("<mac ↓address='fe:54:00:12:34:56'/><source dev='eth0'/>")],
        nonTriggering: [Example.nic(Example.goodBody())])

    public func check(_ interface: DomainDocument.InterfaceEntry, in document: LintDocument) -> [Violation] {
        guard let mac = interface.mac, let address = MACAddress(mac.value), address.octets[0] == 0xFE else { return [] }
        return [Violation(at: mac.position, "MAC \(address) starts with fe:, the prefix libvirt uses for host-side tap devices", fix: "use another first octet, e.g. 52")]
    }
}

/// The `mac-not-canonical` rule: mACs are best written as six two-digit lower-case octets.
public struct MACNotCanonicalRule: InterfaceRule {
    public init() {}
    public static let description = RuleDescription(
        id: "mac-not-canonical", name: "MAC not in canonical form",
        summary: "MACs are best written as six two-digit lower-case octets.",
        rationale: "libvirt accepts one-digit octets and upper case but rewrites them on define "
            + "(52:54:0:1:2:3 becomes 52:54:00:01:02:03), so greps, diffs and inventories disagree with the file.",
        severity: .info, enforcement: .silentlyDropped, reference: "D04",
        triggering: [Example.nic("<mac ↓address='52:54:0:1:2:3'/><source dev='eth0'/>")],
        nonTriggering: [Example.nic(Example.goodBody())],
        fixes: .safe,
        fixExamples: [
            FixExample(
                before: Example.nic("<mac address='52:54:0:1:2:3'/><source dev='eth0' mode='bridge'/><model type='virtio'/>"),
                after: Example.nic("<mac address='52:54:00:01:02:03'/><source dev='eth0' mode='bridge'/><model type='virtio'/>")),
            FixExample(
                before: Example.nic("<mac address='52:54:00:AB:CD:EF'/><source dev='eth0' mode='bridge'/><model type='virtio'/>"),
                after: Example.nic("<mac address='52:54:00:ab:cd:ef'/><source dev='eth0' mode='bridge'/><model type='virtio'/>")),
        ])

    public func check(_ interface: DomainDocument.InterfaceEntry, in document: LintDocument) -> [Violation] {
        guard let mac = interface.mac, let address = MACAddress(mac.value), address.description != mac.value
        else { return [] }
        return [
            Violation(
                at: mac.position, "MAC '\(mac.value)' is stored by libvirt as \(address)", fix: "write \(address)",
                correction: CorrectionIntent(.safe, "write \(address)", [.replaceValue(attributeAt: mac.position, name: "address", with: .text(address.description))]))
        ]
    }
}

/// The `mac-duplicate-in-domain` rule: two interfaces of one domain (any types) share a MAC.
public struct MACDuplicateInDomainRule: DocumentRule {
    public init() {}
    public static let description = RuleDescription(
        id: "mac-duplicate-in-domain", name: "Duplicate MAC within a domain",
        summary: "Two interfaces of one domain (any types) share a MAC.",
        rationale: "libvirt never checks. On one lower device the domain fails at vCPU start (\"Cannot set interface "
            + "flags on 'macvtapN': Address already in use\"); elsewhere it is an L2 conflict; detach by MAC then "
            + "fails with \"multiple devices matching MAC address\". A <teaming> pair shares its MAC by design.",
        severity: .error, enforcement: .notChecked, reference: "L01, K04",
        triggering: [
            Example.domain(
                Example.directInterface(Example.goodBody()) + "\n"
                    + Example.directInterface(Example.goodBody(dev: "eth1", mark: .mac)))
        ],
        nonTriggering: [
            Example.domain(
                Example.directInterface(Example.goodBody()) + "\n"
                    + Example.directInterface(Example.goodBody(mac: "52:54:00:00:00:02")))
        ])

    public func check(_ document: LintDocument) -> [Violation] {
        var first: [MACAddress: DomainDocument.InterfaceEntry] = [:]
        var violations: [Violation] = []
        for entry in document.domain.interfaces {
            guard let mac = entry.macAddress, let position = entry.mac?.position else { continue }
            guard let earlier = first[mac] else {
                first[mac] = entry
                continue
            }
            // virtio-net failover: the persistent NIC and the transient one that names it share a MAC.
            let teaming = [earlier, entry].map { document.domain.element(of: $0).firstChild(named: "teaming") }
            if teaming.allSatisfy({ $0 != nil }) { continue }
            // Two macvtaps with one MAC on one lower device: the kernel refuses the second when it comes up.
            let sameLowerDevice =
                earlier.direct?.source?.dev?.value != nil && earlier.direct?.source?.dev?.value == entry.direct?.source?.dev?.value
            violations.append(
                Violation(
                    at: position,
                    "MAC \(mac) is also used by the interface at line \(earlier.position.line)"
                        + (sameLowerDevice ? "; on the same source device the domain cannot start (Address already in use)" : ""),
                    fix: "give each interface its own MAC (virt-macvtap generate prints a fresh one)",
                    enforcement: sameLowerDevice ? .start : nil))
        }
        return violations
    }
}
