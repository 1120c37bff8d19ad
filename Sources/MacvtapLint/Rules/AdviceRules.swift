/// The `trust-rx-filters-no-effect` rule: trustGuestRxFilters='yes' only acts on a direct interface with a virtio model.
public struct TrustRxFiltersNoEffectRule: InterfaceRule {
    public init() {}
    public static let description = RuleDescription(
        id: "trust-rx-filters-no-effect", name: "trustGuestRxFilters that does nothing",
        summary: "trustGuestRxFilters='yes' only acts on a direct interface with a virtio model.",
        rationale: "libvirt syncs the guest's RX filter to the macvtap only on NIC_RX_FILTER_CHANGED events from "
            + "virtio-net on type='direct'; anywhere else the attribute is a no-op: libvirt keeps it, starts the domain "
            + "and never says (oracle).",
        severity: .warning, enforcement: .notChecked, reference: "L13",
        triggering: [
            Example.nic("<source dev='eth0'/><model type='e1000e'/>", attributes: "↓trustGuestRxFilters='yes'"),
            Example.domain("    <interface type='user' ↓trustGuestRxFilters='yes'><model type='virtio'/></interface>"),
        ],
        nonTriggering: [Example.nic(Example.goodBody(), attributes: "trustGuestRxFilters='yes'")])

    public func check(_ interface: DomainDocument.InterfaceEntry, in document: LintDocument) -> [Violation] {
        let element = document.domain.element(of: interface)
        guard element.attribute("trustGuestRxFilters") == "yes" else { return [] }
        let position = element.position(ofAttribute: "trustGuestRxFilters") ?? interface.position
        if interface.type?.value != "direct" {
            return [Violation(at: position, "trustGuestRxFilters has no effect on type='\(interface.type?.value ?? "")' interfaces", fix: "remove it; it only applies to type='direct'")]
        }
        if interface.direct?.hasVirtioModel != true {
            return [Violation(at: position, "trustGuestRxFilters has no effect without <model type='virtio'/>", fix: "add <model type='virtio'/> or remove the attribute")]
        }
        return []
    }
}

/// The `trust-rx-filters-security` rule: trustGuestRxFilters='yes' lets the guest change the macvtap's MAC and multicast filters.
public struct TrustRxFiltersSecurityRule: DirectInterfaceRule {
    public init() {}
    public static let description = RuleDescription(
        id: "trust-rx-filters-security", name: "Guest trusted with the host's RX filter",
        summary: "trustGuestRxFilters='yes' lets the guest change the macvtap's MAC and multicast filters.",
        rationale: "The guest can then switch the host-side device to promiscuous or all-multicast mode and change "
            + "its MAC: fine for a trusted appliance, a risk for tenants.",
        severity: .info, enforcement: .advice, reference: "L13",
        triggering: [Example.nic(Example.goodBody(), attributes: "↓trustGuestRxFilters='yes'")],
        nonTriggering: [Example.nic(Example.goodBody())])

    public func check(_ interface: DirectInterface, in document: LintDocument) -> [Violation] {
        guard let trust = interface.trustGuestRxFilters, trust.value == "yes", interface.hasVirtioModel else { return [] }
        return [
            Violation(
                at: trust.position, "the guest may change the host-side MAC filter, promiscuous and all-multicast modes", fix: "keep it only for guests you trust (e.g. routers that need extra MACs)")
        ]
    }
}

/// The `vepa-needs-hairpin` rule: said once per source device and host: in VEPA mode guests on the same source device only reach each other through a hairpin switch.
public struct VEPANeedsHairpinRule: CrossDocumentRule, NetworkRule {
    public init() {}
    public static let description = RuleDescription(
        id: "vepa-needs-hairpin", name: "VEPA mode (chosen or by default)",
        summary: "Said once per source device and host: in VEPA mode guests on the same source device only reach each other through a hairpin switch.",
        rationale: "VEPA sends every frame to the adjacent switch; unless that port does reflective relay (hairpin), "
            + "guest-to-guest traffic on one host is lost. libvirt uses vepa when mode= is absent. The advice is about "
            + "the device, so it is given once per device at its first VEPA interface, with the others as related "
            + "locations (a domain with three VEPA NICs on eth0 gets one note, not three).",
        severity: .info, enforcement: .advice, reference: "L22",
        triggering: [
            Example.nic("↓<source dev='eth0'/>"), Example.nic("<source dev='eth0' ↓mode='vepa'/>"),
            NetworkExample.network(NetworkExample.pool("vepa", markMode: true)),
        ],
        nonTriggering: [Example.nic(Example.goodBody())],
        triggeringSets: [
            [
                Example.nic("<source dev='eth0' ↓mode='vepa'/>", name: "vm1"),
                Example.nic("<mac address='52:54:00:00:00:02'/><source dev='eth0' mode='vepa'/>", name: "vm2"),
            ]
        ])

    /// A network in vepa mode: every guest on it is a VEPA macvtap.
    public func check(_ network: NetworkDocument) -> [Violation] {
        guard network.macvtapMode == .vepa, let mode = network.forwardMode else { return [] }
        return [
            Violation(
                at: mode.position, "network '\(network.label)' is in mode vepa: its guests reach each other only through a hairpin-capable switch",
                fix: "use forward mode='bridge' unless the switch does reflective relay")
        ]
    }

    public func check(_ documents: [DocumentSummary]) -> [Violation] {
        check(documents, networks: [], facts: ReachFacts())
    }

    /// A device whose switch port is declared hairpin (`"hairpin"` in `.virt-macvtap.json`)
    /// needs no advice: its VEPA guests reach each other (`reach` says the same).
    public func check(_ documents: [DocumentSummary], networks: [NetworkSummary], facts: ReachFacts) -> [Violation] {
        // Interfaces of a vepa network are the network's finding, not their own.
        SourceDeviceUses(documents.interfaceUses).byDevice.filter { !facts.hairpin.contains($0.device) && !facts.hairpin.contains(LinuxInterfaceName.vlanParts(of: $0.device).device) }.compactMap {
            device, uses in
            let vepa = uses.filter { $0.mode == .vepa && $0.entry.direct != nil }
            guard let first = vepa.first, let direct = first.entry.direct else { return nil }
            let defaulted = direct.source?.mode == nil
            let domains = Set(vepa.map { $0.summary.domainName ?? $0.summary.file }).count
            let count = vepa.count == 1 ? "" : " (\(vepa.count) interfaces\(domains > 1 ? " in \(domains) domains" : ""); first seen here)"
            return Violation(
                at: direct.source?.mode?.position ?? direct.source?.position ?? first.entry.position,
                "mode vepa on '\(device)'\(defaulted ? " (libvirt's default; no mode= given)" : "")\(count): guests on the same device reach each other only through a hairpin-capable switch",
                fix: defaulted ? "write mode='bridge' for guest-to-guest traffic, or mode='vepa' to make the choice explicit" : "use mode='bridge' unless the switch does reflective relay",
                file: first.summary.file, domain: first.summary.domainName,
                related: vepa.dropFirst().prefix(5).flatMap { $0.relatedLocations(with: first) })
        }
    }
}

/// The `host-guest-unreachable` rule: said once per host: over macvtap, the host's own IP stack on the source device cannot reach the guests.
public struct HostGuestUnreachableRule: CrossDocumentRule {
    public init() {}
    public static let description = RuleDescription(
        id: "host-guest-unreachable", name: "The host cannot reach its macvtap guests",
        summary: "Said once per host: over macvtap, the host's own IP stack on the source device cannot reach the guests.",
        rationale: "Frames from the lower device to its macvtaps never loop back in any mode (defined macvtap "
            + "behaviour). Workarounds: a macvlan interface in bridge mode on the host for the host's address, a "
            + "second NIC, a hairpin switch port (VEPA), or a Linux bridge instead of macvtap.",
        severity: .info, enforcement: .advice, reference: "L22",
        triggering: [Example.nic(Example.goodBody(), markInterface: true)],
        nonTriggering: [Example.domain("    <interface type='network'><source network='default'/></interface>")])

    public func check(_ documents: [DocumentSummary]) -> [Violation] {
        check(documents, networks: [], facts: ReachFacts())
    }

    /// The reachability model decides (`reach` shows the same pairs): said at the first guest
    /// NIC the host does not reach — through a macvtap network too — unless a hairpin port or
    /// a shim (`.virt-macvtap.json`) lets it reach every one.
    public func check(_ documents: [DocumentSummary], networks: [NetworkSummary], facts: ReachFacts) -> [Violation] {
        for use in documents.interfaceUses(through: networks.byName) {
            guard let guest = Reachability.endpoint(for: use) else { continue }
            let (verdict, reason) = Reachability.verdict(from: Reachability.hostEndpoint(on: guest.device), to: guest, facts: facts)
            guard verdict != .reaches else { continue }
            return [
                Violation(
                    at: use.entry.position,
                    "the host cannot reach guests through their macvtap source device (first seen here: \(reason))",
                    fix:
                        "for host↔guest traffic give the host a macvlan in bridge mode on the same device (virt-macvtap host-shim DEV --address ADDR), or use a second NIC; `virt-macvtap reach` shows every pair",
                    file: use.summary.file, domain: use.summary.domainName)
            ]
        }
        return []
    }
}
