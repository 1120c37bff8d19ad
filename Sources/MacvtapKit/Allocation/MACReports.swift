import FoundationEssentials

/// Renderings of `mac` results (the CLI only prints them).
public enum MACReports {
    /// The output formats of the `mac` commands.
    public enum Format: String, Sendable, CaseIterable {
        case text, json, csv
    }

    public static func allocation(
        _ allocated: [AllocatedMAC], space: MACSpace, ledger: String, label: String, checkedAgainst: [String], format: Format
    ) -> String {
        switch format {
        case .text:
            var text = ""
            text.reserveCapacity(allocated.count * 18)
            for (offset, entry) in allocated.enumerated() {
                if offset > 0 { text += "\n" }
                text += entry.mac.description
            }
            return text
        case .csv:
            return (["mac,index,probes,label"] + allocated.map { "\($0.mac),\($0.index),\($0.probes),\(csvField(label))" })
                .joined(separator: "\n")
        case .json:
            struct Entry: Encodable {
                var mac: String
                var index: Int
                var probes: Int
                var moved: Bool
            }
            struct Output: Encodable {
                var space: String
                var ledger: String
                var label: String
                var checkedAgainst: [String]
                var addresses: [Entry]
            }
            return encode(
                Output(
                    space: space.description, ledger: ledger, label: label, checkedAgainst: checkedAgainst,
                    addresses: allocated.map { Entry(mac: $0.mac.description, index: $0.index, probes: $0.probes, moved: $0.probes > 0) }))
        }
    }

    public static func reservations(_ reservations: [Reservation], format: Format) -> String {
        switch format {
        case .text:
            let rows = reservations.map { [$0.mac.description, $0.reservedAt, $0.label, $0.checkedAgainst.isEmpty ? "-" : $0.checkedAgainst] }
            return LiveReports.formatTable(header: ["MAC", "RESERVED", "LABEL", "CHECKED AGAINST"], rows: rows)
        case .csv:
            return
                (["mac,reserved_at,label,checked_against"]
                + reservations.map { "\($0.mac),\($0.reservedAt),\(csvField($0.label)),\(csvField($0.checkedAgainst))" })
                .joined(separator: "\n")
        case .json:
            return encode(reservations)
        }
    }

    /// One line per address: free, or every place it is used.
    public static func check(_ results: [(mac: MACAddress, users: [String])], format: Format) -> String {
        switch format {
        case .text:
            return results.map { result in
                result.users.isEmpty ? "\(result.mac): free" : "\(result.mac): in use by " + result.users.joined(separator: "; ")
            }.joined(separator: "\n")
        case .csv:
            return (["mac,free,used_by"] + results.map { "\($0.mac),\($0.users.isEmpty),\(csvField($0.users.joined(separator: "; ")))" })
                .joined(separator: "\n")
        case .json:
            struct Entry: Encodable {
                var mac: String
                var free: Bool
                var usedBy: [String]
            }
            return encode(results.map { Entry(mac: $0.mac.description, free: $0.users.isEmpty, usedBy: $0.users) })
        }
    }

    /// How big a space is, how full, and the odds that random addresses in it collide (`mac stats`).
    public struct Statistics: Sendable, Encodable {
        public var space: String
        public var usable: UInt64
        public var taken: UInt64
        public var percentFull: Double
        public var guests: UInt64
        public var collisionProbability: Double
        public var guestsForOnePercent: UInt64
        public var guestsForFiftyPercent: UInt64

        public init(space: MACSpace, taken: UInt64, guests: UInt64) {
            self.space = space.description
            usable = space.usableCount
            self.taken = taken
            percentFull = usable == 0 ? 100 : Double(taken) * 100 / Double(usable)
            self.guests = guests
            collisionProbability = CollisionOdds.probability(guests: guests, usable: usable, taken: taken)
            guestsForOnePercent = CollisionOdds.guests(reaching: 0.01, usable: usable, taken: taken)
            guestsForFiftyPercent = CollisionOdds.guests(reaching: 0.5, usable: usable, taken: taken)
        }
    }

    public static func statistics(_ statistics: Statistics, format: Format) -> String {
        switch format {
        case .json:
            return encode(statistics)
        case .csv:
            return "space,usable,taken,percent_full,guests,collision_probability,guests_for_1_percent,guests_for_50_percent\n"
                + "\(statistics.space),\(statistics.usable),\(statistics.taken),\(percent(statistics.percentFull)),\(statistics.guests),"
                + "\(probability(statistics.collisionProbability)),\(statistics.guestsForOnePercent),\(statistics.guestsForFiftyPercent)"
        case .text:
            return """
                space:           \(statistics.space) (\(statistics.usable) usable addresses)
                taken:           \(statistics.taken) (\(percent(statistics.percentFull)) % full)
                collision odds:  \(probability(statistics.collisionProbability)) that \(statistics.guests) guests with random MACs in this space hit a taken address or each other
                1 % odds at:     \(statistics.guestsForOnePercent) random guests
                50 % odds at:    \(statistics.guestsForFiftyPercent) random guests
                """
        }
    }

    static func percent(_ value: Double) -> String {
        let rounded = (value * 100).rounded() / 100
        return String(rounded)
    }

    static func probability(_ value: Double) -> String {
        if value == 0 { return "0" }
        if value < 0.0001 { return "< 0.0001" }
        return String((value * 10000).rounded() / 10000)
    }

    static func csvField(_ text: String) -> String {
        guard text.contains(",") || text.contains("\"") || text.contains("\n") else { return text }
        return "\"" + text.split(separator: "\"", omittingEmptySubsequences: false).joined(separator: "\"\"") + "\""
    }

    /// `mac reconcile`'s report: one line per finding, then a summary (text); the report
    /// (json); one row per finding, `kind,mac,users,outcome` (csv).
    public static func reconciliation(_ report: ReconcileReport, ledger: String, applied: Bool, format: Format) -> String {
        let recorded = Set(report.recorded)
        let released = Set(report.released)
        switch format {
        case .json: return encode(report)
        case .csv:
            let rows =
                report.unrecorded.map { "unrecorded,\($0.mac),\(csvField($0.users.joined(separator: "; "))),\(recorded.contains($0.mac) ? "recorded" : "")" }
                + report.stale.map { "stale,\($0.mac),\(csvField("label '\($0.label)', \($0.reservedAt)")),\(released.contains($0.mac) ? "released" : "")" }
                + report.conflicts.map { "conflict,\($0.mac),\(csvField($0.users.joined(separator: "; ")))," }
            return (["kind,mac,users,outcome"] + rows).joined(separator: "\n")
        case .text: break
        }
        var lines: [String] = []
        for use in report.unrecorded {
            let outcome = recorded.contains(use.mac) ? " — recorded as '\(LedgerReconciler.label(forDomain: use.domains.first ?? "?"))'" : ""
            lines.append("in use, not reserved: \(use.mac): \(use.users.joined(separator: "; "))\(outcome)")
        }
        for reservation in report.stale {
            let outcome = released.contains(reservation.mac) ? " — released" : ""
            lines.append("stale: \(reservation.mac): reserved \(reservation.reservedAt) (label '\(reservation.label)'), used nowhere\(outcome)")
        }
        for use in report.conflicts {
            lines.append("error: \(use.mac) is used by \(use.users.joined(separator: " and by "))")
        }
        if report.isClean {
            lines.append("ledger \(ledger) agrees with the hosts and files: nothing to reconcile")
        } else {
            let pending = applied ? "" : " (nothing changed; --apply records them)"
            lines.append(
                "\(report.unrecorded.count) in use and not reserved\(applied ? " (\(report.recorded.count) recorded)" : pending), "
                    + "\(report.stale.count) stale before \(report.staleBefore)\(applied ? " (\(report.released.count) released)" : ""), "
                    + "\(report.conflicts.count) used twice, in ledger \(ledger)")
        }
        return lines.joined(separator: "\n")
    }

    private static func encode(_ value: some Encodable) -> String { JSONOutput.encode(value) }
}
