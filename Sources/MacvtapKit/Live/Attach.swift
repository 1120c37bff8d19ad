import MacvtapLibvirt
import MacvtapXML

/// One NIC `attach` adds: a macvtap on a host device (`<interface type='direct'>`), or an
/// interface on a libvirt network, which chooses the device and (for macvtap forward modes)
/// the mode. Both go through the same plan, record, attach, confirm and give-back.
public enum RequestedNIC: Sendable, Hashable {
    case direct(DirectInterfaceSpec)
    case network(NetworkInterfaceSpec)

    /// The MAC asked for, or chosen; nil until chosen.
    public var mac: MACAddress? {
        switch self {
        case .direct(let spec): spec.mac
        case .network(let spec): spec.mac
        }
    }

    public func with(mac: MACAddress) -> RequestedNIC {
        switch self {
        case .direct(let spec): .direct(spec.with(mac: mac))
        case .network(let spec): .network(spec.with(mac: mac))
        }
    }

    /// The host device a direct NIC sits on; nil for a network's (the network chooses).
    public var sourceDevice: String? {
        if case .direct(let spec) = self { return spec.sourceDevice }
        return nil
    }

    /// The libvirt network of a network NIC.
    public var network: String? {
        if case .network(let spec) = self { return spec.network }
        return nil
    }

    /// The macvtap mode asked for; nil for a network's (its forward mode decides).
    public var mode: MacvtapMode? {
        if case .direct(let spec) = self { return spec.mode }
        return nil
    }

    var elementSpec: XMLElementSpec {
        switch self {
        case .direct(let spec): spec.elementSpec
        case .network(let spec): spec.elementSpec
        }
    }

    /// The values judged by the lint rules that judge them in files (see `validated()` of each spec).
    public func validated() throws(InterfaceSpecError) -> RequestedNIC {
        switch self {
        case .direct(let spec): .direct(try spec.validated())
        case .network(let spec): .network(try spec.validated())
        }
    }

    /// The device XML sent to libvirt; a direct NIC is checked against our interface schema.
    func rendered(by renderer: InterfaceRenderer?) throws(InterfaceRenderError) -> [UInt8] {
        switch self {
        case .direct(let spec):
            if let renderer { return try renderer.render(spec) }
            do {
                return try XMLFragmentWriter.serialize(spec.elementSpec) + [0x0A]
            } catch {
                throw .unrepresentable(error)
            }
        case .network(let spec): return try spec.rendered()
        }
    }
}

/// What `attach` was asked for: one NIC each (a nil MAC means "pick a free one").
public struct AttachRequest: Sendable {
    public var domain: String
    public var interfaces: [RequestedNIC]
    /// The copies asked for (`.current` unless told).
    public var copies: DomainCopies

    public init(domain: String, interfaces: [RequestedNIC], copies: DomainCopies = .current) {
        self.domain = domain
        self.interfaces = interfaces
        self.copies = copies
    }

    /// Direct NICs only (`attach --source`).
    public init(domain: String, interfaces: [DirectInterfaceSpec], copies: DomainCopies = .current) {
        self.init(domain: domain, interfaces: interfaces.map(RequestedNIC.direct), copies: copies)
    }
}

/// A NIC of an attach plan: what was asked for, with the MAC chosen for it.
public struct PlannedNIC: Sendable, Hashable {
    public var spec: RequestedNIC
    public var mac: MACAddress

    public init(spec: RequestedNIC, mac: MACAddress) {
        self.spec = spec.with(mac: mac)
        self.mac = mac
    }

    public init(spec: DirectInterfaceSpec, mac: MACAddress) {
        self.init(spec: .direct(spec), mac: mac)
    }
}

/// Everything decided before the first change: MACs chosen, XML rendered, notes collected.
public struct AttachPlan: Sendable {
    public var domain: String
    public var uri: String
    /// The NICs with their MACs (empty when no MAC could be chosen: the notes then refuse).
    public var interfaces: [PlannedNIC]
    /// The device XML sent to libvirt, one per NIC.
    public var deviceXML: [String]
    /// The copies changed (the request resolved against the domain's state).
    public var copies: DomainCopies
    public var notes: [PreflightNote]
    /// The domain the preflight looked up: the attach does not look it up again.
    var target: LibvirtDomain?

    public var refusals: [PreflightNote] { notes.filter { $0.kind == .refusal } }
}

/// What became of one NIC of an attach call.
public enum NICState: Sendable, Hashable, Codable, CustomStringConvertible {
    /// In the domain XML (every copy asked for).
    case attached
    /// libvirt refused it; nothing changed for this NIC.
    case notAttached(reason: String)
    /// Not tried: an earlier NIC of the batch failed.
    case notAttempted
    /// Attached, then detached again because the batch failed.
    case rolledBack
    /// Attached, and the rollback did not remove it.
    case stillAttached(reason: String)
    /// The XML could not be read to tell (connection lost).
    case unknown(reason: String)

    public var description: String {
        switch self {
        case .attached: "attached"
        case .notAttached(let reason): "not attached (\(reason))"
        case .notAttempted: "not attempted"
        case .rolledBack: "rolled back (detached again)"
        case .stillAttached(let reason): "STILL ATTACHED (\(reason))"
        case .unknown(let reason): "unknown (\(reason))"
        }
    }
}

/// The outcome of an attach call, per NIC.
public struct AttachReport: Sendable {
    /// One NIC of the attach: what was asked, what became of it, and what the XML shows.
    public struct Entry: Sendable {
        public var requested: PlannedNIC
        public var state: NICState
        /// The NIC as the domain XML shows it after the attach (live copy when there is one).
        public var view: DirectNICView?

        public init(requested: PlannedNIC, state: NICState, view: DirectNICView? = nil) {
            self.requested = requested
            self.state = state
            self.view = view
        }
    }

    public var domain: String
    public var uri: String
    public var copies: DomainCopies
    public var entries: [Entry]
    /// Why the batch stopped, when it did.
    public var failure: String?

    public var succeeded: Bool { failure == nil }

    public init(domain: String, uri: String, copies: DomainCopies, entries: [Entry], failure: String? = nil) {
        self.domain = domain
        self.uri = uri
        self.copies = copies
        self.entries = entries
        self.failure = failure
    }
}

/// Runs lint rules on the domain with the new NICs added, and keeps what the addition caused.
public protocol AttachLinting: Sendable {
    /// What linting `after` against `hosts` finds that linting `before` does not.
    func newFindings(before: DomainDocument, after: DomainDocument, hosts: [HostInventory]) -> [Finding]
}

extension Linter: AttachLinting {
    public func newFindings(before: DomainDocument, after: DomainDocument, hosts: [HostInventory]) -> [Finding] {
        // The two lints at once: each reads its own document, and the host rules' work over every
        // domain of the host is most of an attach's lint on a host with many domains.
        let documents = [Handover(before), Handover(after)]
        let reports = Concurrently.map(2) { index in try? lint(parsed: [documents[index].value], hosts: hosts) }
        guard let old = reports[0], let new = reports[1] else { return [] }
        // By identity, not text: the added NIC moves the lines that messages quote.
        var remaining = Dictionary(grouping: old.findings, by: \.identity).mapValues(\.count)
        return new.findings.filter { finding in
            let key = finding.identity
            if let count = remaining[key], count > 0 {
                remaining[key] = count - 1
                return false
            }
            return true
        }
    }

    /// The lint configuration `attach` uses: `lint -c`'s rules, without the schemas (the
    /// renderer validates the new element against ours and libvirt parses it with its own code
    /// on attach; compiling domain.rng would cost ~10 ms per attach for nothing) and without
    /// the advice said once per lint run.
    /// The new NICs are hot-plugged, so hot-plug-only refusals apply.
    public static let attachConfiguration: LintConfiguration = {
        var configuration = LintConfiguration(disable: [
            LibvirtSchemaRule.description.id, InterfaceSchemaRule.description.id, HostGuestUnreachableRule.description.id,
        ])
        configuration.hotplug = true
        return configuration
    }()
}

extension LiveSession {
    /// The preflight: nothing on the host changes. Throws for a missing domain or libvirt failure;
    /// refusals are in the plan's notes: the lint rules' errors over the domain with its new
    /// NICs against the host (what `lint -c` says of the same conflict, with the rule's id),
    /// and what only attach knows (the domain must run for --live, be persistent for --config;
    /// a network must be active for a live NIC on it).
    /// The domain is looked up once; the host's domains (this one among them) are read and
    /// parsed once, by the inventory scan; the values are judged once, by the rules.
    /// `renderer` checks direct NICs against our interface schema.
    public func planAttach(
        _ request: AttachRequest, renderer: InterfaceRenderer? = nil, reserved: Set<MACAddress> = [],
        linter: any AttachLinting
    ) throws(LiveError) -> AttachPlan {
        let domain = try lookup(request.domain)
        let scan: HostInventory.FocusedScan
        do {
            scan = try HostInventory.scan(connection, focus: domain, cache: summaryCache)
        } catch {
            throw .libvirt(error)
        }
        let inventory = scan.inventory
        let copies = request.copies.resolved(domainIsActive: scan.state.isActive)
        var notes = scopeRefusals(domain: domain.name, state: scan.state, isPersistent: scan.isPersistent, copies: copies, for: .attach)
        if copies.contains(.live) {
            for name in Set(request.interfaces.compactMap(\.network)).sorted() {
                // An unknown network is the network-on-host rule's to say; an inactive one only
                // matters to a live NIC.
                guard let network = inventory.networks?.first(where: { $0.name == name }), !network.isActive else { continue }
                notes.append(PreflightNote(.refusal, "network '\(name)' is not active on \(uri)", fix: "start it: virsh net-start \(name)"))
            }
        }
        let chosen = AttachPreflight.choosingMACs(for: request.interfaces, inventory: inventory, reserved: reserved)
        notes += chosen.notes
        let nics = chosen.nics

        var deviceXML: [String] = []
        for nic in nics {
            do {
                deviceXML.append(String(decoding: try nic.rendered(by: renderer), as: UTF8.self))
            } catch {
                notes.append(PreflightNote(.refusal, error.description))
            }
        }
        let copy: DomainCopies = copies.contains(.config) ? .config : .live
        if deviceXML.count == nics.count, let original = scan.copies[copy] {
            notes += AttachPreflight.ruleNotes(adding: nics, to: original, inventory: inventory, linter: linter)
        }
        return AttachPlan(
            domain: domain.name, uri: uri, interfaces: nics.compactMap { nic in nic.mac.map { PlannedNIC(spec: nic, mac: $0) } },
            deviceXML: deviceXML, copies: copies, notes: notes, target: domain)
    }

    /// Attaches every NIC of the plan, checking each in the domain XML; on a failure, detaches
    /// what this call attached. Never reports a NIC the XML does not show.
    /// `attached(index)` runs after libvirt accepts NIC `index` and before the next one is sent
    /// (progress for a caller; the fault tests stop libvirtd there).
    public func attach(
        _ plan: AttachPlan, detachTimeout: Duration = .seconds(10), attached: (Int) -> Void = { _ in }
    ) throws(LiveError) -> AttachReport {
        guard plan.refusals.isEmpty else { throw .refused(plan.notes) }
        let domain = if let target = plan.target { target } else { try lookup(plan.domain) }
        var report = AttachReport(
            domain: plan.domain, uri: plan.uri, copies: plan.copies,
            entries: plan.interfaces.map { AttachReport.Entry(requested: $0, state: .notAttempted, view: nil) })
        var sent: [Int] = []
        for (index, nic) in plan.interfaces.enumerated() {
            do {
                try domain.attachDevice(plan.deviceXML[index], scope: DeviceScope(plan.copies))
                sent.append(index)
                attached(index)
            } catch {
                // A broken connection says nothing about whether the daemon applied the call.
                report.entries[index].state =
                    error.isConnectionFailure
                    ? .unknown(reason: "the connection to libvirt broke during the call: \(error.message)")
                    : .notAttached(reason: error.message)
                report.failure = "NIC \(index + 1) of \(plan.interfaces.count) (MAC \(nic.mac)): \(LiveError.describe(error))"
                if error.isConnectionFailure { sent.append(index) }
                break
            }
        }
        // One read of each copy confirms the whole batch: a NIC counts as attached only when
        // every copy asked for shows it.
        do throws(LiveError) {
            let found = try nicViews(in: domain, copies: plan.copies)
            for index in sent {
                let mac = plan.interfaces[index].mac
                if let missing = [DomainCopies.live, .config].first(where: { plan.copies.contains($0) && found[$0]?[mac] == nil }) {
                    report.entries[index].state = .unknown(reason: "libvirt accepted it but the \(missing) XML does not show it")
                    report.failure = report.failure ?? "NIC \(index + 1) (MAC \(mac)) is not in the \(missing) XML of '\(plan.domain)' after the attach"
                } else {
                    report.entries[index].state = .attached
                    report.entries[index].view = found[plan.copies.contains(.live) ? .live : .config]?[mac]
                }
            }
        } catch {
            for index in sent {
                report.entries[index].state = .unknown(reason: "libvirt's domain XML could not be read to confirm it")
            }
            report.failure = report.failure ?? "cannot confirm the NICs in the domain XML: \(error)"
        }
        if report.failure != nil {
            rollBack(&report, domain: domain, plan: plan, timeout: detachTimeout)
        }
        return report
    }

    private func rollBack(_ report: inout AttachReport, domain: LibvirtDomain, plan: AttachPlan, timeout: Duration) {
        var session = self
        var domain = domain
        if !connection.receivesEvents {
            do throws(LiveError) {
                session = try LiveSession(uri: uri, readOnly: false, receivesEvents: true)
                domain = try session.lookup(plan.domain)
            } catch {
                for index in report.entries.indices where report.entries[index].state == .attached {
                    report.entries[index].state = .stillAttached(reason: "rollback could not reconnect: \(error)")
                }
                return
            }
        }
        for index in report.entries.indices.reversed() {
            switch report.entries[index].state {
            case .attached, .unknown: break
            default: continue
            }
            let mac = report.entries[index].requested.mac
            do throws(LiveError) {
                let outcome = try session.removeNIC(mac: mac, from: domain, copies: plan.copies, timeout: timeout)
                report.entries[index].state = outcome.isRemoved ? .rolledBack : .stillAttached(reason: outcome.description)
            } catch {
                report.entries[index].state = .unknown(reason: "rollback failed: \(error)")
            }
        }
    }

    /// Every interface of each copy, by MAC.
    func nicViews(in domain: LibvirtDomain, copies: DomainCopies) throws(LiveError) -> [DomainCopies: [MACAddress: DirectNICView]] {
        var result: [DomainCopies: [MACAddress: DirectNICView]] = [:]
        for copy in [DomainCopies.live, .config] where copies.contains(copy) {
            let entries = try document(of: domain, copy: copy).interfaces
            result[copy] = Dictionary(
                entries.compactMap { entry in entry.macAddress.map { ($0, DirectNICView(entry)) } },
                uniquingKeysWith: { first, _ in first })
        }
        return result
    }
}
