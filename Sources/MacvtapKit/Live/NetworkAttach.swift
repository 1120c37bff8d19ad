public import MacvtapLibvirt

/// `attach --network`: one `<interface type='network'>`; the network chooses the device and,
/// for macvtap forward modes, the mode.
public struct NetworkAttachRequest: Sendable {
    public var domain: String
    public var interface: NetworkInterfaceSpec
    public var scope: ScopeOptions

    public init(domain: String, interface: NetworkInterfaceSpec, scope: ScopeOptions) {
        self.domain = domain
        self.interface = interface
        self.scope = scope
    }
}

/// Decided before the change: the MAC, the device XML, the notes.
public struct NetworkAttachPlan: Sendable {
    public var domain: String
    public var uri: String
    public var interface: NetworkInterfaceSpec
    /// The MAC the NIC gets (chosen when the request had none).
    public var mac: MACAddress
    public var deviceXML: String
    public var scope: DeviceScope
    public var copies: DomainCopies
    public var notes: [PreflightNote]

    public var refusals: [PreflightNote] { notes.filter { $0.kind == .refusal } }
}

/// What the domain XML shows after `attach --network`.
public struct NetworkAttachReport: Sendable {
    public var domain: String
    public var uri: String
    public var copies: DomainCopies
    public var mac: MACAddress
    public var network: String
    public var state: NICState
    /// The NIC as the XML shows it: for a running domain the device and mode libvirt chose.
    public var view: DirectNICView?
    public var succeeded: Bool { state == .attached }
}

extension LiveSession {
    /// The preflight of `attach --network`: the domain's state for the scope, the network runs,
    /// a free MAC, and the lint rules over the domain with the new NIC against the host (the
    /// network exists there; a passthrough pool has a free device).
    public func planNetworkAttach(
        _ request: NetworkAttachRequest, reserved: Set<MACAddress> = [], linter: any AttachLinting
    ) throws(LiveError) -> NetworkAttachPlan {
        try request.scope.validate()
        var spec: NetworkInterfaceSpec
        do {
            spec = try request.interface.validated()
        } catch {
            throw .invalidInterface(error)
        }
        let domain = try lookup(request.domain)
        let state = try state(of: domain)
        let (scope, copies) = request.scope.resolve(domainIsActive: state.isActive)
        var notes = scopeRefusals(domain: domain, state: state, copies: copies)
        let inventory = try inventory()
        // An unknown network and a passthrough pool with no free device are the rules' to say
        // (network-on-host, network-pool-exhausted, below); what no rule knows is here.
        let network = inventory.networks?.first { $0.name == spec.network }
        if let network, !network.isActive, copies.contains(.live) {
            notes.append(PreflightNote(.refusal, "network '\(network.name)' is not active on \(uri)", fix: "start it: virsh net-start \(network.name)"))
        }
        if spec.mac == nil {
            do {
                spec.mac = try MACAllocator(space: .qemuDefault).allocate(count: 1, taken: inventory.usedMACs.union(reserved)).first?.mac
            } catch {
                notes.append(PreflightNote(.refusal, error.description))
            }
        } else if let mac = spec.mac, reserved.contains(mac) {
            notes.append(PreflightNote(.advice, "MAC \(mac) is reserved in the ledger (virt-macvtap mac list); using it anyway as asked"))
        }
        let mac = spec.mac ?? MACAddress(value: 0x5254_0000_0000)
        let xml: String
        do {
            xml = String(decoding: try spec.rendered(), as: UTF8.self)
        } catch {
            throw .refused([PreflightNote(.refusal, error.description)])
        }
        let copy: DomainCopies = copies.contains(.config) ? .config : .live
        let original = try document(of: domain, copy: copy)
        if let added = try? original.addingInterface(spec.elementSpec) {
            notes += AttachPreflight.ruleNotes(before: original, after: added, inventory: inventory, linter: linter)
        }
        return NetworkAttachPlan(
            domain: domain.name, uri: uri, interface: spec, mac: mac, deviceXML: xml, scope: scope, copies: copies, notes: notes)
    }

    /// A live change needs a running domain; a config change a persistent one.
    func scopeRefusals(domain: LibvirtDomain, state: DomainState, copies: DomainCopies) -> [PreflightNote] {
        var notes: [PreflightNote] = []
        if copies.contains(.live), !state.isActive {
            notes.append(
                PreflightNote(
                    .refusal, "domain '\(domain.name)' is \(state), so there is no running guest to attach to",
                    fix: "start it first, or change only its persistent definition (config)"))
        }
        if copies.contains(.config), !domain.isPersistent {
            notes.append(
                PreflightNote(
                    .refusal, "domain '\(domain.name)' is transient: it has no persistent definition to change",
                    fix: "change only the running domain (live), or define the domain first (virsh define)"))
        }
        return notes
    }

    /// Attaches the planned NIC and reads each copy back: attached only when every copy shows it.
    public func attachNetwork(_ plan: NetworkAttachPlan) throws(LiveError) -> NetworkAttachReport {
        guard plan.refusals.isEmpty else { throw .refused(plan.notes) }
        let domain = try lookup(plan.domain)
        var report = NetworkAttachReport(
            domain: plan.domain, uri: plan.uri, copies: plan.copies, mac: plan.mac, network: plan.interface.network,
            state: .notAttempted, view: nil)
        do {
            try domain.attachDevice(plan.deviceXML, scope: plan.scope)
        } catch {
            if error.isConnectionFailure {
                report.state = .unknown(reason: "the connection to libvirt broke during the call: \(error.message)")
                return report
            }
            throw .libvirt(error)
        }
        do throws(LiveError) {
            let found = try nicViews(in: domain, copies: plan.copies)
            if let missing = [DomainCopies.live, .config].first(where: { plan.copies.contains($0) && found[$0]?[plan.mac] == nil }) {
                report.state = .unknown(reason: "libvirt accepted it but the \(missing) XML does not show it")
            } else {
                report.state = .attached
                report.view = found[plan.copies.contains(.live) ? .live : .config]?[plan.mac]
            }
        } catch {
            report.state = .unknown(reason: "the domain XML could not be read to confirm it: \(error)")
        }
        return report
    }
}
