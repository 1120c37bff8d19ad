/// The ledger side of the live commands: `attach` records the MACs it is about to use (label:
/// the domain) before the first change, gives back the ones a failed attach left unused, and
/// `detach --release` releases a MAC once no copy of the domain holds it any more.
public enum LiveLedger {
    /// Records those of `macs` the ledger does not hold yet, for `domain` on `uri`; returns the
    /// ones recorded now (the ones to give back if the attach fails). A MAC the ledger already
    /// holds (reserved for this domain beforehand, typically) keeps its reservation. Refused
    /// (`LedgerError.alreadyReserved`) when another client recorded one meanwhile.
    public static func record(_ macs: [MACAddress], domain: String, uri: String, in ledger: any MACLedger) throws(LedgerError) -> [MACAddress] {
        let held = Set(try ledger.reservations(of: macs).map(\.mac))
        let new = macs.filter { !held.contains($0) }
        guard !new.isEmpty else { return [] }
        try ledger.reserve(new, label: domain, checkedAgainst: uri)
        return new
    }

    /// The recorded MACs the report shows are in no copy of the domain: never attached, not
    /// attempted, or rolled back. A NIC whose state is unknown or still attached keeps its MAC.
    public static func unused(_ recorded: [MACAddress], after report: AttachReport) -> [MACAddress] {
        let left = Set(
            report.entries.filter { entry in
                switch entry.state {
                case .notAttached, .notAttempted, .rolledBack: true
                case .attached, .stillAttached, .unknown: false
                }
            }.map(\.requested.mac))
        return recorded.filter { left.contains($0) }
    }

    /// The MACs `detach` confirmed removed that no copy of the domain (live or persistent)
    /// still shows in `remaining`: the ones `detach --release` gives back.
    public static func released(by report: DetachReport, remaining: [DirectNICRow]) -> [MACAddress] {
        let stillThere = Set(remaining.compactMap { MACAddress($0.nic.mac) })
        return report.entries.filter { $0.result.isRemoved }.compactMap { MACAddress($0.nic.mac) }.filter { !stillThere.contains($0) }
    }
}
