package import MacvtapXML

/// One use of a MAC, source device or target name somewhere in the linted files or on a host.
/// A class: the sharing rules group, filter and copy every use of a device, and as ~250-byte
/// values those copies cost 57 MB at the end of a 10,000-file run against 49 MB as references.
package final class InterfaceUse {
    package let summary: DocumentSummary
    package let entry: SummaryInterface
    /// The macvtap's lower device and mode: the direct interface's own, or for an
    /// `<interface type='network'>` those of the macvtap network it names, when that network
    /// has exactly one device (a larger pool lets libvirt choose).
    package let device: String?
    package let mode: MacvtapMode?
    /// The network the macvtap comes from, for messages.
    package let network: String?

    package init(summary: DocumentSummary, entry: SummaryInterface, networks: [String: NetworkSummary] = [:]) {
        self.summary = summary
        self.entry = entry
        if let direct = entry.direct {
            device = direct.source?.dev?.value
            mode = direct.effectiveMode
            network = nil
        } else if entry.type?.value == "network", let name = entry.sourceNetwork?.value, let resolved = networks[name],
            let mode = resolved.mode, resolved.devices.count == 1
        {
            device = resolved.devices[0]
            self.mode = mode
            network = name
        } else {
            device = nil
            mode = nil
            network = nil
        }
    }

    /// Where a finding about the device goes: `<source dev>`, or `<source network>`.
    package var devicePosition: SourcePosition {
        entry.direct?.source?.dev?.position ?? entry.sourceNetwork?.position ?? entry.position
    }

    /// ` (through network 'lan')` for a network-backed use.
    package var through: String { network.map { " (through network '\($0)')" } ?? "" }
}

extension [DocumentSummary] {
    package var interfaceUses: [InterfaceUse] { interfaceUses(through: [:]) }

    /// Every interface use, `type='network'` ones resolved through `networks` (by name).
    package func interfaceUses(through networks: [String: NetworkSummary]) -> [InterfaceUse] {
        flatMap { summary in summary.interfaces.map { InterfaceUse(summary: summary, entry: $0, networks: networks) } }
    }

    /// Every use of a value (a MAC, a target name) after its first use by another domain in
    /// another file, with that first use.
    package func repeatedUses<Key: Hashable>(of key: (InterfaceUse) -> Key?) -> [(use: InterfaceUse, first: InterfaceUse)] {
        var firstUse: [Key: InterfaceUse] = [:]
        var repeats: [(InterfaceUse, InterfaceUse)] = []
        for use in interfaceUses {
            guard let value = key(use) else { continue }
            guard let earlier = firstUse[value] else {
                firstUse[value] = use
                continue
            }
            if !earlier.summary.isSameDomain(as: use.summary), earlier.summary.file != use.summary.file {
                repeats.append((use, earlier))
            }
        }
        return repeats
    }
}

/// The `mac-duplicate-across-domains` rule: the same MAC on interfaces (any types) of two different domains among the linted files.
public struct MACDuplicateAcrossDomainsRule: CrossDocumentRule {
    public init() {}
    public static let description = RuleDescription(
        id: "mac-duplicate-across-domains", name: "MAC shared by two domains",
        summary: "The same MAC on interfaces (any types) of two different domains among the linted files.",
        rationale: "libvirt never compares MACs across domains. On one lower device the second domain fails to start "
            + "(\"Address already in use\"); across hosts on one L2 segment, ARP and switch tables flap.",
        severity: .error, enforcement: .notChecked, reference: "L02, K04",
        triggeringSets: [
            [
                Example.nic(Example.goodBody(), name: "vm1"),
                Example.nic(Example.goodBody(dev: "eth1", mark: .mac), name: "vm2"),
            ]
        ],
        nonTriggeringSets: [
            [
                Example.nic(Example.goodBody(), name: "vm1"),
                Example.nic(Example.goodBody(mac: "52:54:00:00:00:02", dev: "eth1"), name: "vm2"),
            ]
        ],
        fixes: .unsafe,
        fixExamples: [
            FixExample(
                before: Example.nic(Example.goodBody(dev: "eth1"), name: "vm2"),
                after: Example.nic(Example.goodBody(mac: FixExample.freshMAC, dev: "eth1"), name: "vm2"),
                context: [Example.nic(Example.goodBody(), name: "vm1")])
        ])

    /// One L2 segment spans the hosts of a fleet: MACs are compared across all of them.
    public static var scope: CrossDocumentScope { .fleet }

    public func check(_ documents: [DocumentSummary]) -> [Violation] {
        documents.repeatedUses { $0.entry.macAddress }.map { use, first in
            let hosts = first.summary.host != use.summary.host ? " on host \(use.summary.host ?? "unnamed")" : ""
            return Violation(
                at: use.entry.mac?.position ?? use.entry.position,
                "MAC \(use.entry.macAddress!)\(hosts) is also used by \(first.summary.label)\(first.hostNote(comparedWith: use)) (\(first.summary.file):\(first.entry.position.line))",
                fix: "give one of them a new MAC (virt-macvtap generate prints a fresh one)",
                file: use.summary.file, domain: use.summary.domainName, related: first.relatedLocations(with: use, atMAC: true),
                correction: use.entry.mac.map(CorrectionIntent.freshMAC(for:)))
        }
    }
}

/// The `passthrough-shared` rule: a passthrough interface whose source device anything else (same or other domain) also uses.
public struct PassthroughSharedRule: CrossDocumentRule {
    public init() {}
    public static let description = RuleDescription(
        id: "passthrough-shared", name: "Passthrough source device shared",
        summary: "A passthrough interface whose source device anything else (same or other domain) also uses.",
        rationale: "Passthrough takes the whole device: the kernel refuses a second macvtap on it, so the domain "
            + "(or the second domain on the host) fails at start or hot-plug: \"error creating macvtap interface "
            + "macvtapN@DEV (MAC): Invalid argument\" — in every combination of modes, two passthroughs included. "
            + "When the passthrough macvtap is the one refused, libvirt 9.0 has already given DEV the guest's MAC "
            + "and does not restore it (seen in the sandbox): the host's uplink keeps a guest's address.",
        severity: .error, enforcement: .start, reference: "L09, K02",
        triggering: [
            Example.domain(
                Example.directInterface(Example.goodBody(mode: "passthrough")) + "\n"
                    + Example.directInterface(Example.goodBody(mac: "52:54:00:00:00:02", mode: "bridge", mark: .source)))
        ],
        nonTriggering: [
            Example.domain(
                Example.directInterface(Example.goodBody(mode: "passthrough")) + "\n"
                    + Example.directInterface(Example.goodBody(mac: "52:54:00:00:00:02", dev: "eth1", mode: "bridge")))
        ],
        triggeringSets: [
            [
                Example.nic(Example.goodBody(mode: "passthrough"), name: "vm1"),
                Example.nic(Example.goodBody(mac: "52:54:00:00:00:02", mode: "passthrough", mark: .source), name: "vm2"),
            ]
        ])

    public func check(_ documents: [DocumentSummary]) -> [Violation] {
        check(documents, networks: [])
    }

    public func check(_ documents: [DocumentSummary], networks: [NetworkSummary]) -> [Violation] {
        SourceDeviceUses(documents.interfaceUses(through: networks.byName)).passthroughConflicts(reportOnly: nil, host: nil, laterOnly: true)
    }
}

/// The `mixed-modes` rule: interfaces on the same source device (in one or several domains) use different macvtap modes.
public struct MixedModesRule: CrossDocumentRule {
    public init() {}
    public static let description = RuleDescription(
        id: "mixed-modes", name: "One source device in different modes",
        summary: "Interfaces on the same source device (in one or several domains) use different macvtap modes.",
        rationale: "The kernel allows it, but bridge-mode delivery needs both ends in bridge mode, so guests that "
            + "look alike silently reach different peers.",
        severity: .warning, enforcement: .notChecked, reference: "L08",
        triggeringSets: [
            [
                Example.nic(Example.goodBody(mode: "bridge"), name: "vm1"),
                Example.nic(Example.goodBody(mac: "52:54:00:00:00:02", mode: "vepa", mark: .source), name: "vm2"),
            ]
        ],
        nonTriggeringSets: [
            [
                Example.nic(Example.goodBody(mode: "bridge"), name: "vm1"),
                Example.nic(Example.goodBody(mac: "52:54:00:00:00:02", mode: "bridge"), name: "vm2"),
            ]
        ])

    public func check(_ documents: [DocumentSummary]) -> [Violation] {
        check(documents, networks: [])
    }

    public func check(_ documents: [DocumentSummary], networks: [NetworkSummary]) -> [Violation] {
        SourceDeviceUses(documents.interfaceUses(through: networks.byName)).mixedModes(minorityOnly: true)
    }
}

/// The uses of each source device, for the sharing rules (files and hosts alike).
package struct SourceDeviceUses {
    package var byDevice: [(device: String, uses: [InterfaceUse])]

    package init(_ uses: [InterfaceUse]) {
        var grouped: [String: [InterfaceUse]] = [:]
        for use in uses {
            guard let device = use.device, !device.isEmpty else { continue }
            // An alias label (eth0:1) is its device to the kernel: one device, one group.
            grouped[LinuxInterfaceName.device(of: device), default: []].append(use)
        }
        byDevice = grouped.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    /// Whether `other` conflicts with `use`: an interface of the same file, or of another domain
    /// (the same domain seen elsewhere — live XML, a host copy — does not count).
    package static func conflicts(_ other: InterfaceUse, with use: InterfaceUse) -> Bool {
        other.summary.file == use.summary.file || !other.summary.isSameDomain(as: use.summary)
    }

    /// The first conflicting use among `candidates` other than `use` itself. Searched lazily:
    /// thousands of domains share one uplink, and the answer is almost always near the front.
    package static func firstConflict(with use: InterfaceUse, at index: Int?, among candidates: [(offset: Int, use: InterfaceUse)]) -> InterfaceUse? {
        candidates.lazy.first { $0.offset != index && conflicts($0.use, with: use) }?.use
    }

    /// With `laterOnly` (files among themselves), only the later of two conflicting uses is
    /// reported, the earlier one as its related location: that is where the fix belongs.
    package func passthroughConflicts(reportOnly files: Set<String>?, host: String?, laterOnly: Bool = false) -> [Violation] {
        var violations: [Violation] = []
        let location = host.map { " on \($0)" } ?? ""
        for (device, uses) in byDevice {
            let all = uses.enumerated().map { (offset: $0.offset, use: $0.element) }
            let passthroughs = all.filter { $0.use.mode == .passthrough }
            // Only a device that some passthrough interface holds can conflict.
            guard !passthroughs.isEmpty else { continue }
            for (index, use) in uses.enumerated() where files?.contains(use.summary.file) ?? true {
                let candidates = laterOnly ? Array(all.prefix(index)) : all
                let holders = laterOnly ? passthroughs.filter { $0.offset < index } : passthroughs
                guard let mode = use.mode,
                    let other = Self.firstConflict(with: use, at: index, among: candidates)
                else { continue }
                let holder: String
                if mode == .passthrough {
                    holder = "this passthrough interface"
                } else if let passthrough = Self.firstConflict(with: use, at: index, among: holders) {
                    holder = passthrough.summary.file == use.summary.file ? "a passthrough interface of this domain" : "a passthrough interface of \(passthrough.summary.label)"
                } else {
                    continue
                }
                let otherLabel = other.summary.file == use.summary.file ? "another interface of this domain" : other.summary.label
                // When the holder is the conflict itself, the sentence names it once.
                let message =
                    mode != .passthrough && other.summary.file == Self.firstConflict(with: use, at: index, among: holders)?.summary.file
                    ? "source device '\(device)'\(use.through)\(location) is held by \(holder), so this interface cannot use it too; the kernel refuses the second macvtap (Invalid argument)"
                    : "source device '\(device)'\(use.through)\(location) is held by \(holder) and also used by \(otherLabel); the kernel refuses the second macvtap (Invalid argument), and libvirt can leave '\(device)' with the guest's MAC"
                violations.append(
                    Violation(
                        at: use.devicePosition,
                        message,
                        fix: "give the passthrough interface a device of its own (an SR-IOV VF)", file: use.summary.file,
                        domain: use.summary.domainName, related: other.relatedLocations(with: use)))
            }
        }
        return violations
    }

    /// `elsewhere` says where the other mode is ("on qemu:///system"; "elsewhere" among files).
    /// With `minorityOnly` (files among themselves), only the uses in a mode other than the
    /// device's most common one (the first one's, on a tie) are reported, with up to three uses
    /// of that mode as related locations: the use that differs is where the fix belongs.
    package func mixedModes(elsewhere: String = "elsewhere", minorityOnly: Bool = false) -> [Violation] {
        var violations: [Violation] = []
        for (device, uses) in byDevice {
            var byMode: [MacvtapMode: [(offset: Int, use: InterfaceUse)]] = [:]
            for (offset, use) in uses.enumerated() {
                guard let mode = use.mode, mode != .passthrough else { continue }
                byMode[mode, default: []].append((offset, use))
            }
            guard byMode.count > 1 else { continue }
            let majority = byMode.max { lhs, rhs in
                lhs.value.count != rhs.value.count ? lhs.value.count < rhs.value.count : lhs.value[0].offset > rhs.value[0].offset
            }!.key
            for use in uses {
                guard let mode = use.mode, mode != .passthrough, !minorityOnly || mode != majority,
                    let otherMode = ([majority] + MacvtapMode.allCases).first(where: { candidate in
                        candidate != mode && Self.firstConflict(with: use, at: nil, among: byMode[candidate] ?? []) != nil
                    })
                else { continue }
                let others = (byMode[otherMode] ?? []).lazy.filter { Self.conflicts($0.use, with: use) }.prefix(3)
                violations.append(
                    Violation(
                        at: use.devicePosition,
                        "source device '\(device)'\(use.through) is used in mode \(mode) here and in mode \(otherMode) \(elsewhere); macvtaps in "
                            + "different modes do not reach each other as bridge-mode ones do",
                        fix: "use one mode per source device (bridge for guest-to-guest traffic)", file: use.summary.file,
                        domain: use.summary.domainName, related: others.flatMap { $0.use.relatedLocations(with: use) }))
            }
        }
        return violations
    }
}

extension InterfaceUse {
    /// This use as a related location of a finding on `finding` (none when it has no file:
    /// a host's domain), naming its host when the two are on different hosts.
    package func relatedLocations(with finding: InterfaceUse, atMAC: Bool = false) -> [RelatedLocation] {
        guard !summary.isHostCopy else { return [] }
        if atMAC, let mac = entry.mac {
            return [RelatedLocation(file: summary.file, position: mac.position, message: "\(summary.label) uses MAC \(mac.value)\(hostNote(comparedWith: finding))")]
        }
        let mode = self.mode.map { " in mode \($0)" } ?? ""
        let device = self.device.map { " on '\($0)'\(through)" } ?? ""
        return [
            RelatedLocation(
                file: summary.file, position: devicePosition,
                message: "\(summary.label)\(device)\(mode)\(hostNote(comparedWith: finding))")
        ]
    }

    /// ` (host hv-a)` when this use is on another fleet host than `other`.
    package func hostNote(comparedWith other: InterfaceUse) -> String {
        guard summary.host != other.summary.host else { return "" }
        return " (host \(summary.host ?? "unnamed"))"
    }
}

/// The `target-duplicate-across-domains` rule: two domains among the linted files ask for the same host-side interface name.
public struct TargetDuplicateAcrossDomainsRule: CrossDocumentRule {
    public init() {}
    public static let description = RuleDescription(
        id: "target-duplicate-across-domains", name: "Target dev shared by two domains",
        summary: "Two domains among the linted files ask for the same host-side interface name.",
        rationale: "Only one can have it on a host: the second fails at start: \"error creating macvtap interface "
            + "NAME@DEV: File exists\" (oracle).",
        severity: .error, enforcement: .start, reference: "L16",
        triggeringSets: [
            [
                Example.nic("<source dev='eth0'/><target dev='lan0'/>", name: "vm1"),
                Example.nic("<source dev='eth0'/><target ↓dev='lan0'/>", name: "vm2"),
            ]
        ],
        nonTriggeringSets: [
            [
                Example.nic("<source dev='eth0'/><target dev='lan0'/>", name: "vm1"),
                Example.nic("<source dev='eth0'/><target dev='lan1'/>", name: "vm2"),
            ]
        ])

    public func check(_ documents: [DocumentSummary]) -> [Violation] {
        documents.repeatedUses { use in use.entry.targetDev.map(\.value).flatMap { use.summary.keepsTargetName($0) ? $0 : nil } }.map { use, first in
            Violation(
                at: use.entry.targetDev!.position,
                "target dev '\(use.entry.targetDev!.value)' is also requested by \(first.summary.label); only one can run on a host",
                fix: "use distinct target names, or remove <target> to let libvirt pick", file: use.summary.file,
                domain: use.summary.domainName, related: first.relatedLocations(with: use))
        }
    }
}

extension [NetworkSummary] {
    /// The first network of each name.
    package var byName: [String: NetworkSummary] {
        Dictionary(map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
    }
}

/// The `network-unknown` rule: an <interface type='network'> names a network that no linted <network> file of its host defines (checked only for hosts whose networks are in the repository).
public struct NetworkUnknownRule: CrossDocumentRule {
    public init() {}
    public static let description = RuleDescription(
        id: "network-unknown", name: "Network not among the host's network files",
        summary: "An <interface type='network'> names a network that no linted <network> file of its host defines "
            + "(checked only for hosts whose networks are in the repository).",
        rationale: "libvirt defines the domain and then fails to start it or hot-plug the interface: \"Network not "
            + "found: no network with matching name '…'\". With -c or --hosts, network-on-host asks the host itself.",
        severity: .error, enforcement: .start, reference: "networkAllocatePort",
        triggeringSets: [
            [
                NetworkExample.network(NetworkExample.pool("bridge"), name: "oracle-lan"),
                Example.domain("    <interface type='network'><mac address='52:54:00:00:00:01'/><source ↓network='oracle-lab'/><model type='virtio'/></interface>"),
            ]
        ],
        nonTriggeringSets: [
            [
                NetworkExample.network(NetworkExample.pool("bridge"), name: "oracle-lan"),
                Example.domain("    <interface type='network'><mac address='52:54:00:00:00:01'/><source network='oracle-lan'/><model type='virtio'/></interface>"),
            ]
        ])

    public func check(_ documents: [DocumentSummary]) -> [Violation] { [] }

    public func check(_ documents: [DocumentSummary], networks: [NetworkSummary]) -> [Violation] {
        guard !networks.isEmpty else { return [] }
        let names = networks.byName
        return documents.interfaceUses.compactMap { use in
            guard use.entry.type?.value == "network", let network = use.entry.sourceNetwork, names[network.value] == nil else { return nil }
            return Violation(
                at: network.position, "Network not found: no network with matching name '\(network.value)'",
                fix: "the host's network files define \(names.keys.sorted().prefix(8).map { "'\($0)'" }.joined(separator: ", ")); add \(network.value)'s file or fix the name",
                file: use.summary.file, domain: use.summary.domainName)
        }
    }
}
