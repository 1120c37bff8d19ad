/// The checks `attach` makes against a host's inventory before anything changes. Pure: the
/// inventory is data, so the rules are unit-tested without a daemon.
public enum AttachPreflight {
    /// Chooses MACs for the specs without one (from `MACAllocator`, outside everything the host
    /// uses and `reserved`, the ledger's reservations) and reports every refusal and advice.
    public static func check(
        _ requested: [DirectInterfaceSpec], domainName: String, inventory: HostInventory, reserved: Set<MACAddress> = []
    ) -> (specs: [DirectInterfaceSpec], notes: [PreflightNote]) {
        var notes: [PreflightNote] = []
        let host = inventory.uri
        let users = macUsers(in: inventory)

        var seen: Set<MACAddress> = []
        for mac in requested.compactMap(\.mac) {
            if !seen.insert(mac).inserted {
                notes.append(PreflightNote(.refusal, "MAC \(mac) is requested twice in this call", fix: "give each NIC its own --mac, or leave --mac out"))
            }
            if let holders = users[mac] {
                let named = holders.map { $0 == "domain '\(domainName)'" ? "\($0) itself" : $0 }
                notes.append(
                    PreflightNote(
                        .refusal, "MAC \(mac) is already used by \(named.sorted().joined(separator: ", ")) on \(host)",
                        fix: "choose another address, or use --mac auto for a free one"))
            }
        }
        for mac in requested.compactMap(\.mac) where reserved.contains(mac) {
            notes.append(
                PreflightNote(.advice, "MAC \(mac) is reserved in the ledger (virt-macvtap mac list); using it anyway as asked"))
        }
        let taken = Set(users.keys).union(seen).union(reserved)
        let wanted = requested.filter { $0.mac == nil }.count
        let fresh: [MACAddress]
        do {
            fresh = try MACAllocator(space: .qemuDefault).allocate(count: wanted, taken: taken).map(\.mac)
        } catch {
            return (requested, notes + [PreflightNote(.refusal, error.description)])
        }
        var freshIterator = fresh.makeIterator()
        let specs = requested.map { spec in spec.mac == nil ? spec.with(mac: freshIterator.next()!) : spec }

        let hostDevices = Dictionary(inventory.hostInterfaces.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let uses = sourceUses(in: inventory)
        for (index, spec) in specs.enumerated() {
            let device = spec.sourceDevice
            guard let hostDevice = hostDevices[device] else {
                let known = inventory.hostInterfaces.map(\.name).filter { $0 != "lo" }.sorted()
                notes.append(
                    PreflightNote(
                        .refusal, "source device '\(device)' does not exist on \(host)",
                        fix: known.isEmpty ? "name a network device of that host" : "the host has \(known.joined(separator: ", "))"))
                continue
            }
            if hostDevice.isWireless {
                notes.append(
                    PreflightNote(
                        .refusal, "source device '\(device)' on \(host) is wireless: an access point drops frames from MAC addresses it did not associate, so a macvtap on it never carries guest traffic",
                        fix: "use a wired device, or a routed or NAT libvirt network for Wi-Fi hosts"))
            }
            let others = uses[device] ?? []
            let batchOthers = specs.enumerated().filter { $0.offset != index && $0.element.sourceDevice == device }.map(\.element)
            if let holder = others.first(where: { $0.mode == .passthrough }) {
                notes.append(
                    PreflightNote(
                        .refusal, "source device '\(device)' is held by a passthrough NIC of \(holder.owner) (MAC \(holder.mac)); nothing else can use it",
                        fix: "pick another source device, or detach that passthrough NIC first"))
            } else if spec.mode == .passthrough, !others.isEmpty || !batchOthers.isEmpty {
                let what = others.map { "\($0.owner) (\($0.mode.rawValue))" } + (batchOthers.isEmpty ? [] : ["other NICs of this call"])
                notes.append(
                    PreflightNote(
                        .refusal, "passthrough takes '\(device)' for one NIC alone, but it is also used by \(Array(Set(what)).sorted().joined(separator: ", "))",
                        fix: "use bridge/vepa/private mode to share the device, or a device nothing else uses (e.g. an SR-IOV VF)"))
            } else {
                let modes = Set(others.map(\.mode) + batchOthers.map(\.mode)).subtracting([spec.mode])
                if !modes.isEmpty {
                    notes.append(
                        PreflightNote(
                            .advice, "'\(device)' already carries macvtaps in \(modes.map(\.rawValue).sorted().joined(separator: ", ")) mode; this NIC would be \(spec.mode.rawValue): the kernel keeps one mode per lower device for guest-to-guest forwarding, so the mix behaves unlike either",
                            fix: "use one mode per source device"))
                }
            }
        }
        return (specs, notes)
    }

    /// Who uses each MAC: domains (their live or inactive XML) and host NICs.
    static func macUsers(in inventory: HostInventory) -> [MACAddress: Set<String>] {
        var users: [MACAddress: Set<String>] = [:]
        for domain in inventory.domains {
            let owner = domain.label
            for interface in domain.interfaces {
                guard let mac = interface.macAddress else { continue }
                users[mac, default: []].insert(owner)
            }
        }
        for nic in inventory.hostInterfaces {
            guard let mac = nic.mac, !mac.isAllZero else { continue }
            users[mac, default: []].insert("host interface \(nic.name)")
        }
        return users
    }

    struct SourceUse: Hashable {
        var owner: String
        var mac: String
        var mode: MacvtapMode
    }

    /// Direct NICs on each source device, a domain's live and inactive copies counted once.
    static func sourceUses(in inventory: HostInventory) -> [String: [SourceUse]] {
        var uses: [String: Set<SourceUse>] = [:]
        for domain in inventory.domains {
            let owner = domain.label
            for interface in domain.interfaces {
                guard let direct = interface.direct, let device = direct.source?.dev?.value else { continue }
                let use = SourceUse(
                    owner: owner, mac: interface.macAddress?.description ?? "none",
                    mode: direct.effectiveMode ?? .libvirtDefault)
                uses[device, default: []].insert(use)
            }
        }
        return uses.mapValues { $0.sorted { ($0.owner, $0.mac) < ($1.owner, $1.mac) } }
    }
}
