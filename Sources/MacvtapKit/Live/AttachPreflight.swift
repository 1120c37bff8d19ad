/// What `attach` decides before the lint rules look at the candidate domain: the MACs of NICs
/// asked for without one (from `MACAllocator`, outside everything the host uses and the ledger's
/// reservations), and advice on a ledger-reserved MAC used anyway. Every check of the MACs,
/// source devices and modes themselves is a lint rule, run over the domain with its new NICs
/// and the host's inventory (`lint -c`'s rule set). Pure: the inventory is data.
public enum AttachPreflight {
    /// The NICs with a MAC each: the ones asked for as given, the others from the allocator,
    /// outside every MAC the host uses, the ledger's reservations and each other.
    public static func choosingMACs(
        for requested: [RequestedNIC], inventory: HostInventory, reserved: Set<MACAddress> = []
    ) -> (nics: [RequestedNIC], notes: [PreflightNote]) {
        var notes: [PreflightNote] = []
        for mac in Set(requested.compactMap(\.mac)).sorted(by: { $0.description < $1.description }) where reserved.contains(mac) {
            notes.append(
                PreflightNote(.advice, "MAC \(mac) is reserved in the ledger (virt-macvtap mac list); using it anyway as asked"))
        }
        let taken = Set(macUsers(in: inventory).keys).union(requested.compactMap(\.mac)).union(reserved)
        let wanted = requested.filter { $0.mac == nil }.count
        let fresh: [MACAddress]
        do {
            fresh = try MACAllocator(space: .qemuDefault).allocate(count: wanted, taken: taken).map(\.mac)
        } catch {
            return (requested, notes + [PreflightNote(.refusal, error.description)])
        }
        var freshIterator = fresh.makeIterator()
        return (requested.map { nic in nic.mac == nil ? nic.with(mac: freshIterator.next()!) : nic }, notes)
    }

    /// What the lint rules say of `original` (the domain as libvirt gave it) with `nics`
    /// added, against `inventory`, that they do not say of `original` alone: errors refuse the
    /// attach, warnings are advice, each in the rule's words with its id (what `lint -c` prints
    /// for the same conflict).
    public static func ruleNotes(
        adding nics: [RequestedNIC], to original: DomainDocument, inventory: HostInventory, linter: any AttachLinting
    ) -> [PreflightNote] {
        guard let added = try? original.addingInterfaces(nics.map(\.elementSpec)) else { return [] }
        return ruleNotes(before: original, after: added, inventory: inventory, linter: linter)
    }

    /// What the lint rules say of `after` (`before` changed) against `inventory` that they do
    /// not say of `before`: errors are refusals, warnings advice, each with its rule's id.
    public static func ruleNotes(
        before: DomainDocument, after: [UInt8], inventory: HostInventory, linter: any AttachLinting
    ) -> [PreflightNote] {
        guard let changed = try? DomainDocument(bytes: after, fileName: before.fileName) else { return [] }
        return linter.newFindings(before: before, after: changed, hosts: [inventory])
            .filter { $0.severity >= .warning }
            .map { PreflightNote($0.severity == .error ? .refusal : .advice, $0.message, fix: $0.fix, ruleID: $0.ruleID) }
    }

    /// Who uses each MAC: domains (their live or inactive XML) and host NICs.
    static func macUsers(in inventory: HostInventory) -> [MACAddress: Set<String>] {
        var users: [MACAddress: Set<String>] = [:]
        for domain in inventory.domains {
            let owner = domain.label
            for interface in domain.interfaces {
                if let mac = interface.macAddress { users[mac, default: []].insert(owner) }
                if let current = interface.currentMACAddress { users[current, default: []].insert("\(owner) (set by the guest)") }
            }
        }
        for nic in inventory.hostInterfaces {
            guard let mac = nic.mac, !mac.isAllZero else { continue }
            users[mac, default: []].insert("host interface \(nic.name)")
        }
        return users
    }
}
