import FoundationEssentials

/// Text and JSON renderings of the live commands' results (the CLI only prints them).
public enum LiveReports {
    public static func text(_ report: AttachReport) -> String {
        var lines: [String] = []
        for entry in report.entries {
            let mac = entry.requested.mac.description
            let network = entry.requested.spec.network
            if entry.state == .attached, let view = entry.view {
                let through = network.map { " through network \($0)" } ?? ""
                lines.append("attached \(mac) to \(report.domain) (\(report.copies))\(through): \(describe(view))")
            } else if let network {
                lines.append("\(mac) through network \(network): \(entry.state)")
            } else {
                lines.append("\(mac) on \(entry.requested.spec.sourceDevice ?? "?"): \(entry.state)")
            }
        }
        return lines.joined(separator: "\n")
    }

    public static func text(_ report: DetachReport) -> String {
        report.entries.map { entry in
            entry.result.isRemoved
                ? "detached \(entry.nic.mac) from \(report.domain) (\(report.copies)); it is gone from the domain XML"
                : entry.result == .connectionLost
                    ? "\(entry.nic.mac) on \(report.domain): state UNKNOWN: \(entry.result)"
                    : "\(entry.nic.mac) on \(report.domain): NOT detached: \(entry.result)"
        }.joined(separator: "\n")
    }

    static func describe(_ view: DirectNICView) -> String {
        var parts: [String] = []
        parts.append("\(view.target ?? "no target yet") on \(view.source ?? "?")\(view.network.map { " (network \($0))" } ?? ""), mode \(view.mode)")
        if let model = view.model { parts.append("model \(model)") }
        if let alias = view.alias { parts.append("alias \(alias)") }
        if let pci = view.pciAddress { parts.append("PCI \(pci)") }
        return parts.joined(separator: ", ")
    }

    public static func table(_ rows: [DirectNICRow]) -> String {
        let withAddresses = rows.contains { $0.addresses != nil }
        let header = ["DOMAIN", "STATE", "MAC", "SOURCE", "NETWORK", "MODE", "MODEL", "TARGET", "ALIAS", "IN"] + (withAddresses ? ["ADDRESSES"] : [])
        let cells = rows.map { row in
            [
                row.domain, row.state, row.nic.mac + (row.nic.currentMAC.map { " (guest: \($0))" } ?? ""), row.nic.source ?? "-", row.nic.network ?? "-", row.nic.mode, row.nic.model ?? "-",
                row.nic.target ?? "-", row.nic.alias ?? "-", row.copies,
            ] + (withAddresses ? [addressCell(row.addresses ?? [])] : [])
        }
        return formatTable(header: header, rows: cells)
    }

    /// `192.0.2.11 (mv-eth0, reachable), …`, or `-` with none seen.
    static func addressCell(_ addresses: [GuestAddress]) -> String {
        addresses.isEmpty ? "-" : addresses.map { "\($0.address) (\($0.seenOn), \($0.state))" }.joined(separator: ", ")
    }

    /// `list --stale`: one row per macvtap no domain owns, with what removal did.
    public static func table(_ links: [StaleMacvtap]) -> String {
        guard !links.isEmpty else { return "no stale macvtap links" }
        let removal = links.contains { $0.removal != nil }
        let header = ["LINK", "MAC", "DEVICE", "MODE", "STATE"] + (removal ? ["REMOVAL"] : [])
        return formatTable(
            header: header,
            rows: links.map { link in
                [link.name, link.mac ?? "-", link.lowerDevice ?? "-", link.mode ?? "-", link.linkState ?? "-"] + (removal ? [link.removal ?? "-"] : [])
            })
    }

    /// Columns padded to their widest cell, two spaces apart.
    public static func formatTable(header: [String], rows: [[String]]) -> String {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        return all.map { row in
            row.enumerated().map { column, cell in
                column == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[column] - cell.count)
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }

    public static func json(_ report: AttachReport) -> String {
        struct Entry: Encodable {
            var mac: String?
            /// The host device asked for; for a network's NIC, the one libvirt chose (in `nic`).
            var source: String?
            /// The mode asked for; for a network's NIC, its forward mode (in `nic`).
            var mode: String?
            var network: String?
            var state: String
            var nic: DirectNICView?
        }
        struct Output: Encodable {
            var domain: String
            var uri: String
            var copies: String
            var succeeded: Bool
            var failure: String?
            var interfaces: [Entry]
        }
        return encode(
            Output(
                domain: report.domain, uri: report.uri, copies: report.copies.description, succeeded: report.succeeded,
                failure: report.failure,
                interfaces: report.entries.map {
                    Entry(
                        mac: $0.requested.mac.description, source: $0.requested.spec.sourceDevice,
                        mode: $0.requested.spec.mode?.rawValue, network: $0.requested.spec.network, state: $0.state.description, nic: $0.view)
                }))
    }

    public static func json(_ plan: AttachPlan) -> String {
        dryRun(domain: plan.domain, uri: plan.uri, copies: plan.copies, notes: plan.notes, deviceXML: plan.deviceXML)
    }

    /// A dry run's plan: what would be sent, and the notes.
    private static func dryRun(domain: String, uri: String, copies: DomainCopies, notes: [PreflightNote], deviceXML: [String]) -> String {
        struct Output: Encodable {
            var domain: String
            var uri: String
            var copies: String
            var dryRun = true
            var notes: [PreflightNote]
            var deviceXML: [String]
        }
        return encode(Output(domain: domain, uri: uri, copies: copies.description, notes: notes, deviceXML: deviceXML))
    }

    public static func json(_ report: DetachReport) -> String {
        struct Entry: Encodable {
            var nic: DirectNICView
            var removed: Bool
            var result: String
        }
        struct Output: Encodable {
            var domain: String
            var uri: String
            var copies: String
            var succeeded: Bool
            var interfaces: [Entry]
        }
        return encode(
            Output(
                domain: report.domain, uri: report.uri, copies: report.copies.description, succeeded: report.succeeded,
                interfaces: report.entries.map { Entry(nic: $0.nic, removed: $0.result.isRemoved, result: $0.result.description) }))
    }

    /// `set-link` / `change-mode`: one line per step, then the NIC as the XML shows it now.
    public static func text(_ report: NICChangeReport) -> String {
        var lines = report.steps.map { "\(report.domain) \(report.before.mac): \($0)" }
        if let after = report.after {
            lines.append("\(report.domain) \(after.mac) now (\(report.copies.contains(.live) ? "live" : "config") XML): \(describe(after))\(after.linkState.map { ", link \($0)" } ?? "")")
        }
        return lines.joined(separator: "\n")
    }

    public static func json(_ report: NICChangeReport) -> String {
        struct Output: Encodable {
            var domain: String
            var uri: String
            var copies: String
            var succeeded: Bool
            var before: DirectNICView
            var after: DirectNICView?
            var steps: [NICChangeStep]
            var notes: [PreflightNote]
        }
        return encode(
            Output(
                domain: report.domain, uri: report.uri, copies: report.copies.description, succeeded: report.succeeded,
                before: report.before, after: report.after, steps: report.steps, notes: report.notes))
    }

    /// `migrate-check`: the rewrites, then one line per refusal, or that it is ready.
    public static func text(_ report: MigrationCheckReport) -> String {
        var lines = report.rewrites.map { "\(report.domain) \($0.mac): source device \($0.from) -> \($0.to)" }
        let refusals = report.refusals
        lines.append(
            refusals.isEmpty
                ? "\(report.domain) can move from \(report.source) to \(report.destination): its macvtap NICs' devices, MACs and networks check out there"
                : "\(report.domain) cannot move from \(report.source) to \(report.destination) as it is: \(refusals.count) \(refusals.count == 1 ? "problem" : "problems")")
        return lines.joined(separator: "\n")
    }

    public static func json(_ report: MigrationCheckReport) -> String {
        struct Output: Encodable {
            var domain: String
            var source: String
            var destination: String
            var ready: Bool
            var rewrites: [MigrationCheckReport.Rewrite]
            var notes: [PreflightNote]
            var migratableXML: String
        }
        return encode(
            Output(
                domain: report.domain, source: report.source, destination: report.destination, ready: report.refusals.isEmpty,
                rewrites: report.rewrites, notes: report.notes, migratableXML: report.migratableXML))
    }

    public static func json(_ rows: [DirectNICRow]) -> String {
        encode(rows)
    }

    public static func json(_ links: [StaleMacvtap]) -> String {
        encode(links)
    }

    private static func encode(_ value: some Encodable) -> String { JSONOutput.encode(value) }
}
