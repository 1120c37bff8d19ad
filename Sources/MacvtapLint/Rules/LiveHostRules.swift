/// The `mac-in-use-on-host` rule: with -c URI: a MAC in the files that another domain on the host (live or inactive XML) or a host interface already uses.
public struct MACInUseOnHostRule: LiveHostRule {
    public init() {}
    public static let description = RuleDescription(
        id: "mac-in-use-on-host", name: "MAC already used on a host",
        summary: "With -c URI: a MAC in the files that another domain on the host (live or inactive XML) or a host "
            + "interface already uses.",
        rationale: "libvirt never checks; the clash shows at start or on the wire. The same domain (by UUID, else "
            + "name) is not a conflict with itself.",
        severity: .error, enforcement: .notChecked, reference: "L02, L03", needsLiveHost: true)

    public func check(_ documents: [DocumentSummary], against hosts: [HostInventory]) -> [Violation] {
        var violations: [Violation] = []
        let uses = documents.interfaceUses
        let linted = Set(uses.compactMap(\.entry.macAddress))
        for host in hosts {
            // Which of the host's domains use each MAC the files use, by index: a host can have
            // hundreds of domains, and only these MACs are looked up.
            var byMAC: [MACAddress: [Int]] = [:]
            for (index, domain) in host.domains.enumerated() {
                // The MACs guests set count as much as the configured ones (live XML, libvirt ≥ 11.2).
                for interface in domain.interfaces {
                    for mac in interface.macAddressesInUse where linted.contains(mac) && byMAC[mac]?.last != index {
                        byMAC[mac, default: []].append(index)
                    }
                }
            }
            let hostNICs = Dictionary(host.hostInterfaces.compactMap { nic in nic.mac.map { ($0, nic.name) } }, uniquingKeysWith: { first, _ in first })
            for use in uses {
                guard let mac = use.entry.macAddress, let position = use.entry.mac?.position else { continue }
                if let nic = hostNICs[mac] {
                    violations.append(
                        Violation(
                            at: position, "MAC \(mac) is the address of host interface '\(nic)' on \(host.uri)",
                            fix: "choose another MAC; the kernel refuses a macvtap with its lower device's address", file: use.summary.file, domain: use.summary.domainName))
                }
                if let other = byMAC[mac]?.lazy.map({ host.domains[$0] }).first(where: { !$0.isSameDomain(as: use.summary) }) {
                    violations.append(
                        Violation(
                            at: position, "MAC \(mac) is used by domain '\(other.domainName ?? "?")' on \(host.uri)", fix: "choose another MAC (virt-macvtap generate prints a fresh one)",
                            file: use.summary.file, domain: use.summary.domainName))
                }
            }
        }
        return violations
    }
}

/// The `source-dev-on-host` rule: with -c URI: a source device the host does not have, a wireless one, one a passthrough interface of another domain on the host holds (or that this passthrough interface would take from others), or a VLAN on a device that cannot be an SR-IOV VF.
public struct SourceDevOnHostRule: LiveHostRule {
    public init() {}
    public static let description = RuleDescription(
        id: "source-dev-on-host", name: "Source device missing or taken on a host",
        summary: "With -c URI: a source device the host does not have, a wireless one, one a passthrough interface "
            + "of another domain on the host holds (or that this passthrough interface would take from others), or a "
            + "VLAN on a device that cannot be an SR-IOV VF.",
        rationale: "A missing device fails at start (\"Unable to get index for interface %s: No such device\"); a "
            + "shared passthrough device fails with EINVAL after libvirt has already changed the device's MAC; a "
            + "<vlan> fails at start with \"vlan can only be set for SR-IOV VFs, but eth0 is not a VF\". On Wi-Fi a macvtap "
            + "comes up but never carries guest traffic: the access point drops frames from MACs it did not associate.",
        severity: .error, enforcement: .start, reference: "K01, L09, L17", needsLiveHost: true)

    public func check(_ documents: [DocumentSummary], against hosts: [HostInventory]) -> [Violation] {
        var violations: [Violation] = []
        let files = Set(documents.map(\.file))
        for host in hosts {
            let names = Set(host.hostInterfaces.map(\.name))
            let notVirtualFunctions = Set(host.hostInterfaces.filter { $0.isVirtualFunction == false }.map(\.name))
            let wireless = Set(host.hostInterfaces.filter(\.isWireless).map(\.name))
            for use in documents.interfaceUses {
                guard let dev = use.entry.direct?.source?.dev, !dev.value.isEmpty else { continue }
                if !names.isEmpty, !names.contains(LinuxInterfaceName.device(of: dev.value)) {
                    let (base, vlan) = LinuxInterfaceName.vlanParts(of: dev.value)
                    if let vlan, names.contains(base) {
                        // A guest in a VLAN: the host has the device but not the VLAN on it (yet).
                        violations.append(
                            Violation(
                                at: dev.position, "VLAN device '\(dev.value)' (VLAN \(vlan) on \(base)) does not exist on \(host.uri)",
                                fix: "create it there: virt-macvtap host-vlan \(base) \(vlan) --persist auto", file: use.summary.file, domain: use.summary.domainName))
                        continue
                    }
                    violations.append(
                        Violation(
                            at: dev.position, "source device '\(dev.value)' does not exist on \(host.uri)", fix: "use one of: \(names.sorted().prefix(8).joined(separator: ", "))",
                            file: use.summary.file, domain: use.summary.domainName))
                } else if wireless.contains(dev.value) {
                    violations.append(
                        Violation(
                            at: dev.position,
                            "source device '\(dev.value)' on \(host.uri) is wireless: an access point drops frames from MAC addresses it did not associate, so a macvtap on it never carries guest traffic",
                            fix: "use a wired device, or a routed or NAT libvirt network for Wi-Fi hosts", file: use.summary.file, domain: use.summary.domainName))
                } else if let vlanPosition = use.entry.direct?.vlanPosition, notVirtualFunctions.contains(dev.value) {
                    violations.append(
                        Violation(
                            at: vlanPosition, "vlan can only be set for SR-IOV VFs, but \(dev.value) is not a VF on \(host.uri)",
                            fix: "use a VLAN sub-interface (\(dev.value).N) as the source device, or an SR-IOV VF in passthrough mode", file: use.summary.file, domain: use.summary.domainName))
                }
            }
            let linted = DomainIdentities(documents)
            let hostUses = host.domains.interfaceUses.filter { !linted.contains(sameDomainAs: $0.summary) }
            violations += SourceDeviceUses(documents.interfaceUses + hostUses).passthroughConflicts(reportOnly: files, host: host.uri)
        }
        return violations
    }
}

/// The `mixed-modes-on-host` rule: with -c URI: an interface on a source device that other domains on the host use in another macvtap mode.
public struct MixedModesOnHostRule: LiveHostRule {
    public init() {}
    public static let description = RuleDescription(
        id: "mixed-modes-on-host", name: "A source device a host already uses in another mode",
        summary: "With -c URI: an interface on a source device that other domains on the host use in another macvtap mode.",
        rationale: "The kernel allows it, but bridge-mode delivery needs both ends in bridge mode, so guests that "
            + "look alike silently reach different peers (mixed-modes, across the files and the host).",
        severity: .warning, enforcement: .notChecked, reference: "L08", needsLiveHost: true)

    public func check(_ documents: [DocumentSummary], against hosts: [HostInventory]) -> [Violation] {
        let files = Set(documents.map(\.file))
        let linted = DomainIdentities(documents)
        return hosts.flatMap { host in
            let hostUses = host.domains.interfaceUses.filter { !linted.contains(sameDomainAs: $0.summary) }
            guard !hostUses.isEmpty else { return [Violation]() }
            return SourceDeviceUses(documents.interfaceUses + hostUses).mixedModes(elsewhere: "on \(host.uri)")
                .filter { files.contains($0.file ?? "") }
        }
    }
}

/// The `network-on-host` rule: with -c URI: an <interface type='network'> whose <source network> the host does not define.
public struct NetworkOnHostRule: LiveHostRule {
    public init() {}
    public static let description = RuleDescription(
        id: "network-on-host", name: "Network missing on a host",
        summary: "With -c URI: an <interface type='network'> whose <source network> the host does not define.",
        rationale: "libvirt defines the domain and then fails at start or hot-plug: \"Network not found: no network with "
            + "matching name '…'\". Networks are per host, so a domain file copied from another hypervisor (or a "
            + "migration) meets this first.",
        severity: .error, enforcement: .start, reference: "networkAllocatePort", needsLiveHost: true)

    public func check(_ documents: [DocumentSummary], against hosts: [HostInventory]) -> [Violation] {
        check(documents, networks: [], against: hosts)
    }

    /// A network among the linted files counts as defined: it is about to be, with them.
    public func check(_ documents: [DocumentSummary], networks linted: [NetworkSummary], against hosts: [HostInventory]) -> [Violation] {
        var violations: [Violation] = []
        for host in hosts {
            guard let networks = host.networks else { continue }
            let names = Set(networks.map(\.name) + linted.map(\.name))
            for use in documents.interfaceUses where use.entry.type?.value == "network" {
                guard let network = use.entry.sourceNetwork, !names.contains(network.value) else { continue }
                violations.append(
                    Violation(
                        at: network.position, "network '\(network.value)' does not exist on \(host.uri)",
                        fix: names.isEmpty
                            ? "define it there first (virsh net-define, net-start, net-autostart)"
                            : "define it there, or use one of: \(names.sorted().prefix(8).joined(separator: ", "))",
                        file: use.summary.file, domain: use.summary.domainName))
            }
        }
        return violations
    }
}

/// The `network-pool-exhausted` rule: with -c URI: an interface on a passthrough network whose every pool device the host's running or autostarted domains already take.
public struct NetworkPoolExhaustedRule: LiveHostRule {
    public init() {}
    public static let description = RuleDescription(
        id: "network-pool-exhausted", name: "Passthrough network without a free device",
        summary: "With -c URI: an interface on a passthrough network whose every pool device the host's running or "
            + "autostarted domains already take.",
        rationale: "In passthrough mode each guest takes a pool device for itself; when none is left the domain fails to "
            + "start, or the NIC to hot-plug: \"network '…' requires exclusive access to interfaces, but none are "
            + "available\".",
        severity: .error, enforcement: .start, reference: "networkAllocatePort", needsLiveHost: true)

    public func check(_ documents: [DocumentSummary], against hosts: [HostInventory]) -> [Violation] {
        var violations: [Violation] = []
        let linted = DomainIdentities(documents)
        for host in hosts {
            let passthrough = (host.networks ?? []).filter { $0.forwardMode == MacvtapMode.passthrough.rawValue && !$0.devices.isEmpty }
            guard !passthrough.isEmpty else { continue }
            // Who takes a device: running domains other than the linted ones (their live XML), and
            // those libvirt starts at boot (their persistent XML), each domain once per network.
            var holders: [String: Set<String>] = [:]
            for domain in host.domains where !linted.contains(sameDomainAs: domain) {
                let running = domain.isLiveCopy
                let startsAtBoot = domain.autostarts && !domain.isLiveCopy
                guard running || startsAtBoot else { continue }
                for entry in domain.interfaces {
                    if let network = entry.sourceNetwork?.value { holders[network, default: []].insert(domain.domainName ?? domain.file) }
                }
            }
            for network in passthrough {
                let held = holders[network.name] ?? []
                guard held.count >= network.devices.count else { continue }
                for use in documents.interfaceUses where use.entry.sourceNetwork?.value == network.name {
                    violations.append(
                        Violation(
                            at: use.entry.sourceNetwork!.position,
                            "network '\(network.name)' requires exclusive access to interfaces, but none are available on \(host.uri): "
                                + "its \(network.devices.count == 1 ? "device is" : "\(network.devices.count) devices are") held by \(held.sorted().map { "'\($0)'" }.joined(separator: ", ")) (running, or started at boot)",
                            fix: "add a device to the network's pool (an SR-IOV VF), or stop a guest that holds one",
                            file: use.summary.file, domain: use.summary.domainName))
                }
            }
        }
        return violations
    }
}

/// The `network-pool-device-in-use` rule: with -c URI: a linted passthrough network whose pool device a domain on the host uses directly.
public struct NetworkPoolDeviceInUseRule: LiveHostRule {
    public init() {}
    public static let description = RuleDescription(
        id: "network-pool-device-in-use", name: "Passthrough pool device a domain uses directly",
        summary: "With -c URI: a passthrough network whose pool holds a device that a running or autostarted domain "
            + "of the host uses directly (<interface type='direct'>).",
        rationale: "libvirt counts only the network's own connections when it hands out a pool device, so it gives a "
            + "guest the device another domain's macvtap sits on, and the kernel refuses the passthrough macvtap: "
            + "\"error creating macvtap interface macvtapN@DEV (MAC): Invalid argument\" at start or hot-plug "
            + "(seen on the sandbox's second host, whose guest holds eth0).",
        severity: .error, enforcement: .start, reference: "networkAllocatePort", needsLiveHost: true)

    public func check(_ documents: [DocumentSummary], against hosts: [HostInventory]) -> [Violation] { [] }

    public func check(_ documents: [DocumentSummary], networks: [NetworkSummary], against hosts: [HostInventory]) -> [Violation] {
        var violations: [Violation] = []
        for host in hosts {
            var users: [String: Set<String>] = [:]
            for domain in host.domains where domain.isLiveCopy || domain.autostarts {
                for entry in domain.interfaces {
                    guard let dev = entry.direct?.source?.dev?.value else { continue }
                    users[LinuxInterfaceName.device(of: dev), default: []].insert(domain.label)
                }
            }
            for network in networks where network.mode == .passthrough {
                for device in network.devices {
                    guard let holders = users[device] else { continue }
                    violations.append(
                        Violation(
                            at: network.position,
                            "pool device '\(device)' of passthrough network '\(network.name)' is used directly by \(holders.sorted().joined(separator: ", ")) on \(host.uri): a guest given it fails to create its macvtap (Invalid argument)",
                            fix: "take '\(device)' out of the pool, or move the other domain to another device",
                            file: network.file))
                }
            }
        }
        return violations
    }
}

/// The `target-dev-on-host` rule: with -c URI: a target name that is already the name of a network interface on the host.
public struct TargetDevOnHostRule: LiveHostRule {
    public init() {}
    public static let description = RuleDescription(
        id: "target-dev-on-host", name: "<target dev> a host interface already has",
        summary: "With -c URI: a target name that is already the name of a network interface on the host.",
        rationale: "libvirt keeps the name and asks the kernel for a macvtap by that name, which fails at start or "
            + "hot-plug: \"error creating macvtap interface NAME@DEV (MAC): File exists\"; after a failed start, "
            + "libvirt 9.0's clean-up then deletes the existing interface of that name (the sandbox lost an uplink "
            + "this way). The domain's own running macvtap is not a conflict.",
        severity: .error, enforcement: .start, reference: "L16", needsLiveHost: true)

    public func check(_ documents: [DocumentSummary], against hosts: [HostInventory]) -> [Violation] {
        var violations: [Violation] = []
        for host in hosts {
            let names = Set(host.hostInterfaces.map(\.name))
            for use in documents.interfaceUses {
                guard use.entry.direct != nil, let target = use.entry.targetDev, names.contains(target.value),
                    // libvirt replaces these names with its own (target-dev-invalid says so).
                    use.summary.keepsTargetName(target.value)
                else { continue }
                // Linting a running domain's XML: its own macvtap has the name.
                let own = host.domains.filter { $0.isLiveCopy && $0.isSameDomain(as: use.summary) }
                    .flatMap(\.interfaces).contains { $0.direct != nil && $0.targetDev?.value == target.value }
                guard !own else { continue }
                violations.append(
                    Violation(
                        at: target.position, "target dev '\(target.value)' is already the name of an interface on \(host.uri); the kernel refuses a second link by that name",
                        fix: "choose another name, or remove <target> and let libvirt name the macvtap", file: use.summary.file,
                        domain: use.summary.domainName))
            }
        }
        return violations
    }
}
