public import FoundationEssentials

/// What `mac reconcile` found comparing the ledger with what hosts and files really use.
public struct ReconcileReport: Sendable, Codable {
    /// An address and who uses it.
    public struct Use: Sendable, Codable, Hashable {
        public var mac: MACAddress
        /// The domains using it, each once (a domain's live and inactive copies are one use).
        public var domains: [String]
        /// Readable descriptions of every use (which domain on which host, which file).
        public var users: [String]
    }

    /// In use, not in the ledger (recorded with `apply`, label `reconciled:<domain>`).
    public var unrecorded: [Use] = []
    /// Reserved, unused, and older than the cutoff (released by `apply(releasingStale: true)`).
    public var stale: [Reservation] = []
    /// In use by two different domains (or a same-named domain on two hosts): an error.
    public var conflicts: [Use] = []
    /// What `apply` recorded and released.
    public var recorded: [MACAddress] = []
    public var released: [MACAddress] = []
    /// Hosts that could not be scanned; stale reservations are then reported, never released.
    public var unreachable: [String] = []
    /// Reservations older than this (UTC, ISO 8601) and unused are stale.
    public var staleBefore: String

    public init(staleBefore: String) {
        self.staleBefore = staleBefore
    }

    public var isClean: Bool { unrecorded.isEmpty && stale.isEmpty && conflicts.isEmpty }
}

/// Compares the ledger with reality, and brings the ledger in line on request.
public enum LedgerReconciler {
    /// The label a reconciled address is recorded with.
    public static func label(forDomain domain: String) -> String { "reconciled:\(domain)" }

    /// `usage` (hosts and files) against `reservations`; a reservation made before `staleBefore`
    /// and used nowhere is stale.
    public static func compare(usage: MACUsage, reservations: [Reservation], staleBefore: String) -> ReconcileReport {
        var report = ReconcileReport(staleBefore: staleBefore)
        report.unreachable = usage.unreachable.map { "\(LibvirtURI.redacted($0.uri)) (\(LibvirtURI.redacted($0.error)))" }
        let reserved = Dictionary(reservations.map { ($0.mac, $0) }, uniquingKeysWith: { first, _ in first })
        for mac in usage.guests.keys.sorted(by: { $0.value < $1.value }) {
            let guests = usage.guests[mac] ?? []
            let use = ReconcileReport.Use(
                mac: mac, domains: Array(Set(guests.map(\.domain))).sorted(), users: guests.map(\.description))
            if hasConflict(guests) { report.conflicts.append(use) }
            if reserved[mac] == nil { report.unrecorded.append(use) }
        }
        for reservation in reservations where usage.users[reservation.mac] == nil && reservation.reservedAt < staleBefore {
            report.stale.append(reservation)
        }
        return report
    }

    /// Two different domains, or a same-named domain on two hosts. A file and a host's domain
    /// of the same name are the same guest (its XML kept in git).
    static func hasConflict(_ guests: [GuestUse]) -> Bool {
        guard Set(guests.map(\.domain)).count < 2 else { return true }
        return Set(guests.compactMap(\.host)).count > 1
    }

    /// Records the unrecorded addresses (one batch per domain) and, with `releasingStale` and
    /// every host scanned, releases the stale ones. Returns the report with what changed.
    public static func apply(
        _ report: ReconcileReport, to ledger: any MACLedger, releasingStale: Bool, checkedAgainst: String
    ) throws(LedgerError) -> ReconcileReport {
        var applied = report
        let byDomain = Dictionary(grouping: report.unrecorded, by: { $0.domains.first ?? "?" })
        for domain in byDomain.keys.sorted() {
            let macs = byDomain[domain, default: []].map(\.mac)
            // Recorded meanwhile by another client: leave those as they are.
            let held = Set(try ledger.reservations(of: macs).map(\.mac))
            let new = macs.filter { !held.contains($0) }
            guard !new.isEmpty else { continue }
            try ledger.reserve(new, label: label(forDomain: domain), checkedAgainst: checkedAgainst)
            applied.recorded += new
        }
        if releasingStale, report.unreachable.isEmpty, !report.stale.isEmpty {
            applied.released = try ledger.release(report.stale.map(\.mac))
        }
        return applied
    }

    /// Now minus `days`, in the ledger's timestamp form (`2026-12-01T19:02:50.123Z`).
    public static func cutoff(daysAgo days: Int, now: Date = Date()) -> String {
        timestamp(now.addingTimeInterval(-Double(days) * 86_400))
    }

    /// A date as the ledgers write it: UTC, ISO 8601, milliseconds.
    public static func timestamp(_ date: Date) -> String {
        let milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        let seconds = milliseconds.quotientAndRemainder(dividingBy: 1000)
        let days = seconds.quotient.quotientAndRemainder(dividingBy: 86_400)
        let (year, month, day) = civil(daysSinceEpoch: days.quotient)
        let time = days.remainder
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let millis = seconds.remainder
        let fraction = millis < 10 ? "00\(millis)" : millis < 100 ? "0\(millis)" : "\(millis)"
        return "\(year)-\(two(month))-\(two(day))T\(two(time / 3600)):\(two(time % 3600 / 60)):\(two(time % 60)).\(fraction)Z"
    }

    /// Howard Hinnant's days-to-civil algorithm (proleptic Gregorian calendar).
    private static func civil(daysSinceEpoch: Int64) -> (Int64, Int64, Int64) {
        let z = daysSinceEpoch + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
