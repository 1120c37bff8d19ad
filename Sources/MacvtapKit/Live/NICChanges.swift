import MacvtapLibvirt
import MacvtapXML

/// A link state libvirt can give a NIC (`<link state=…>`; no element means up).
public enum LinkState: String, Sendable, Hashable, Codable, CaseIterable, CustomStringConvertible {
    case up, down
    public var description: String { rawValue }
}

/// What `set-link` was asked for.
public struct SetLinkRequest: Sendable {
    public var domain: String
    /// `.mac`, `.target` or `.alias`: one NIC.
    public var selector: NICSelector
    public var state: LinkState
    /// The copies asked for (`.current` unless told).
    public var copies: DomainCopies

    public init(domain: String, selector: NICSelector, state: LinkState, copies: DomainCopies = .current) {
        self.domain = domain
        self.selector = selector
        self.state = state
        self.copies = copies
    }
}

/// What `change-mode` was asked for.
public struct ChangeModeRequest: Sendable {
    public var domain: String
    /// `.mac`, `.target` or `.alias`: one NIC.
    public var selector: NICSelector
    public var mode: MacvtapMode
    /// Also move the NIC to this 802.1Q VLAN of its device: the source becomes `DEV.N` (from
    /// `DEV` or from another VLAN device `DEV.M` of it).
    public var vlan: Int?
    /// The copies asked for (`.current` unless told).
    public var copies: DomainCopies
    /// How long the guest may take to release the NIC before it is plugged in again.
    public var timeout: Duration

    public init(domain: String, selector: NICSelector, mode: MacvtapMode, vlan: Int? = nil, copies: DomainCopies = .current, timeout: Duration) {
        self.domain = domain
        self.selector = selector
        self.mode = mode
        self.vlan = vlan
        self.copies = copies
        self.timeout = timeout
    }
}

/// Where a direct NIC sits: its mode and, when a change moves it (`--vlan`), its source device.
struct NICPlacement: CustomStringConvertible {
    var mode: MacvtapMode
    /// nil: the source device stays what it is.
    var source: String?

    var description: String { "\(mode) mode" + (source.map { " on \($0)" } ?? "") }

    func isShown(by view: DirectNICView) -> Bool {
        view.mode == mode.rawValue && (source == nil || view.source == source)
    }
}

/// One step of a NIC change and what the domain XML showed after it.
public struct NICChangeStep: Sendable, Hashable, Codable, CustomStringConvertible {
    /// How one step of a day-two change ended, as the domain XML shows it.
    public enum Outcome: String, Sendable, Hashable, Codable {
        /// Done, and the XML read back shows it.
        case confirmed
        /// libvirt refused; this step changed nothing.
        case refused
        /// Sent, but the XML read back does not show it (or could not be read).
        case unconfirmed
        /// Not tried because an earlier step failed.
        case skipped
    }

    /// What the step does, in words ("detach the bridge NIC from the live domain").
    public var action: String
    public var outcome: Outcome
    /// What the XML showed, or why it failed.
    public var detail: String?

    public init(_ action: String, _ outcome: Outcome, _ detail: String? = nil) {
        self.action = action
        self.outcome = outcome
        self.detail = detail
    }

    public var description: String {
        "\(action): \(outcome.rawValue)" + (detail.map { " (\($0))" } ?? "")
    }
}

/// The outcome of `set-link` or `change-mode`: the NIC before, after, and each step.
public struct NICChangeReport: Sendable {
    public var domain: String
    public var uri: String
    public var copies: DomainCopies
    /// The NIC as the XML showed it before the change (live copy when there is one).
    public var before: DirectNICView
    /// The NIC as the XML shows it after the change, when it is there.
    public var after: DirectNICView?
    public var steps: [NICChangeStep]
    /// Advice from the preflight (a lint warning the change causes).
    public var notes: [PreflightNote]

    public var succeeded: Bool { steps.allSatisfy { $0.outcome == .confirmed } }
    /// True when some step's effect is unknown: the domain may not be as it was nor as asked.
    public var isUnconfirmed: Bool { steps.contains { $0.outcome == .unconfirmed } }
}

extension LiveSession {
    /// The one direct NIC `selector` names in `document`, or a refusal that lists the candidates.
    func uniqueDirectNIC(
        _ selector: NICSelector, in document: DomainDocument, domain: String, copy: DomainCopies
    ) throws(LiveError) -> DomainDocument.InterfaceEntry {
        let nics = try matchingDirectNICs(selector, in: document, domain: domain, copy: copy)
        guard nics.count == 1 else {
            throw .refused([
                PreflightNote(
                    .refusal, "\(nics.count) direct interfaces of '\(domain)' match \(selector): \(nics.map(Self.candidateLabel).joined(separator: "; "))",
                    fix: "name one by its MAC")
            ])
        }
        return nics[0]
    }

    /// The direct NICs `selector` names in `document`; refuses when there is none (saying so
    /// when the match is an interface of another type).
    func matchingDirectNICs(
        _ selector: NICSelector, in document: DomainDocument, domain: String, copy: DomainCopies
    ) throws(LiveError) -> [DomainDocument.InterfaceEntry] {
        let matching = document.interfaces.filter(selector.matches)
        let direct = matching.filter { $0.direct != nil }
        if !direct.isEmpty { return direct }
        if let other = matching.first {
            throw .refused([
                PreflightNote(
                    .refusal, "the interface with \(selector) on '\(domain)' is type='\(other.type?.value ?? "?")', not a direct (macvtap) interface",
                    fix: "virt-macvtap changes direct interfaces only; use virsh for others")
            ])
        }
        let present = document.directInterfaces.map(Self.candidateLabel)
        throw .refused([
            PreflightNote(
                .refusal, "no direct interface with \(selector) in the \(copy) XML of '\(domain)'",
                fix: present.isEmpty ? "it has no direct interfaces" : "it has \(present.joined(separator: "; "))")
        ])
    }

    /// Resolves the scope, refuses a live change of a domain that does not run, and finds the
    /// NIC in the copy that leads (live when it is changed, else config). Returns its MAC.
    private func changeTarget(
        domain reference: String, selector: NICSelector, copies asked: DomainCopies, scanningHost: Bool = false
    ) throws(LiveError) -> (
        domain: LibvirtDomain, copies: DomainCopies, document: DomainDocument, nic: DomainDocument.InterfaceEntry, mac: MACAddress,
        inventory: HostInventory?
    ) {
        let domain = try lookup(reference)
        // A change the rules judge needs the whole host: one concurrent scan brings the
        // domain's own state and copies with it (as attach's does).
        var scan: HostInventory.FocusedScan?
        if scanningHost {
            do {
                scan = try HostInventory.scan(connection, focus: domain, cache: summaryCache)
            } catch {
                throw .libvirt(error)
            }
        }
        let state: DomainState
        if let scan { state = scan.state } else { state = try self.state(of: domain) }
        let isPersistent = scan?.isPersistent ?? domain.isPersistent
        let copies = asked.resolved(domainIsActive: state.isActive)
        let refusals = scopeRefusals(domain: domain.name, state: state, isPersistent: isPersistent, copies: copies, for: .change)
        if !refusals.isEmpty { throw .refused(refusals) }
        let lead: DomainCopies = copies.contains(.live) ? .live : .config
        let document: DomainDocument
        if let scanned = scan?.copies[lead] { document = scanned } else { document = try self.document(of: domain, copy: lead) }
        let nic = try uniqueDirectNIC(selector, in: document, domain: domain.name, copy: lead)
        guard let mac = nic.macAddress else {
            throw .refused([PreflightNote(.refusal, "the NIC \(selector) of '\(domain.name)' has no MAC address in its \(lead) XML")])
        }
        if let network = document.element(of: nic).firstChild(named: "source")?.attribute("network") {
            throw .refused([
                PreflightNote(
                    .refusal, "the NIC \(mac) of '\(domain.name)' comes from libvirt network '\(network)': its device and mode are the network's",
                    fix: "change the network's <forward> (virsh net-edit \(network)), or give the domain a direct interface")
            ])
        }
        return (domain, copies, document, nic, mac, scan?.inventory)
    }

    /// The NIC with `mac` in one copy, as an element to change, or nil when that copy lacks it.
    private func nicElement(_ mac: MACAddress, of domain: LibvirtDomain, copy: DomainCopies) throws(LiveError) -> (DomainDocument, DomainDocument.InterfaceEntry, XMLElementSpec)? {
        let document = try document(of: domain, copy: copy)
        guard let entry = document.interfaces.first(where: { $0.macAddress == mac }) else { return nil }
        return (document, entry, XMLElementSpec(copying: document.element(of: entry)))
    }

    // MARK: set-link

    /// Sets the link state of one NIC in each copy asked for (virDomainUpdateDeviceFlags, as
    /// `virsh domif-setlink` does), then reads each copy back.
    public func setLink(_ request: SetLinkRequest) throws(LiveError) -> NICChangeReport {
        let target = try changeTarget(domain: request.domain, selector: request.selector, copies: request.copies)
        var report = NICChangeReport(
            domain: target.domain.name, uri: uri, copies: target.copies, before: DirectNICView(target.nic), after: nil,
            steps: [], notes: [])
        for copy in [DomainCopies.live, .config] where target.copies.contains(copy) {
            let action = "set the link \(request.state) in the \(copy) XML"
            guard report.steps.allSatisfy({ $0.outcome == .confirmed }) else {
                report.steps.append(NICChangeStep(action, .skipped))
                continue
            }
            guard let (_, _, element) = try nicElement(target.mac, of: target.domain, copy: copy) else {
                report.steps.append(NICChangeStep(action, .refused, "the \(copy) XML has no NIC with MAC \(target.mac)"))
                continue
            }
            var changed = element
            changed.setChild("link", to: XMLElementSpec("link", attributes: [("state", request.state.rawValue)]))
            let xml = try Self.deviceXML(changed)
            do {
                try target.domain.updateDevice(xml, scope: copy == .live ? .live : .config)
            } catch {
                report.steps.append(NICChangeStep(action, .refused, LiveError.describe(error)))
                continue
            }
            let shown = try? nicElement(target.mac, of: target.domain, copy: copy).map { Self.linkState(of: $0.2) }
            report.steps.append(
                shown == request.state
                    ? NICChangeStep(action, .confirmed, "the \(copy) XML shows link state \(request.state)")
                    : NICChangeStep(action, .unconfirmed, "libvirt accepted it but the \(copy) XML shows \(shown.map { "link state \($0)" } ?? "no such NIC")"))
        }
        report.after = try? nicViews(in: target.domain, copies: target.copies.contains(.live) ? .live : .config).values.first?[target.mac]
        return report
    }

    static func linkState(of element: XMLElementSpec) -> LinkState {
        element.firstChild(named: "link")?.attribute("state") == "down" ? .down : .up
    }

    static func deviceXML(_ element: XMLElementSpec) throws(LiveError) -> String {
        do {
            return String(decoding: try XMLFragmentWriter.serialize(element), as: UTF8.self)
        } catch {
            throw .refused([PreflightNote(.refusal, error.description)])
        }
    }

    // MARK: change-mode

    /// Moves one NIC to another macvtap mode. libvirt cannot change a direct NIC's mode in a
    /// running domain ("unable to change config on 'direct' network type"), so the live copy
    /// is unplugged (waiting for the guest to release it) and plugged in again with the new
    /// mode and the same MAC, model, user alias and PCI address; if that fails, the old NIC
    /// goes back. The persistent copy is rewritten with virDomainUpdateDeviceFlags. Before
    /// anything changes, the lint rules judge the domain with the new mode against the host
    /// (attach's preflight: passthrough exclusivity, mixed modes).
    public func changeMode(_ request: ChangeModeRequest, linter: any AttachLinting) throws(LiveError) -> NICChangeReport {
        let target = try changeTarget(domain: request.domain, selector: request.selector, copies: request.copies, scanningHost: true)
        var report = NICChangeReport(
            domain: target.domain.name, uri: uri, copies: target.copies, before: DirectNICView(target.nic), after: nil,
            steps: [], notes: [])
        var placement = NICPlacement(mode: request.mode, source: nil)
        if let vlan = request.vlan {
            let current = target.nic.direct?.source?.dev?.value ?? ""
            let base = LinuxInterfaceName.vlanParts(of: current).device
            guard let device = LinuxInterfaceName.vlanDevice(of: base, vlan: vlan) else {
                throw .refused([
                    PreflightNote(
                        .refusal, "'\(base).\(vlan)' passes the kernel's 15 bytes for an interface name",
                        fix:
                            "create it as \(LinuxInterfaceName.vlanFallbackName(vlan: vlan)) (virt-macvtap host-vlan \(base) \(vlan) --name \(LinuxInterfaceName.vlanFallbackName(vlan: vlan))) and move the NIC there with attach/detach"
                    )
                ])
            }
            placement.source = device
        }
        var leadElement = XMLElementSpec(copying: target.document.element(of: target.nic))
        leadElement.place(placement)
        let changedDomain: [UInt8]
        do {
            changedDomain = try target.document.replacingInterface(target.nic, with: leadElement)
        } catch {
            throw .refused([PreflightNote(.refusal, error.description)])
        }
        let inventory: HostInventory
        if let scanned = target.inventory { inventory = scanned } else { inventory = try self.inventory() }
        let notes = AttachPreflight.ruleNotes(before: target.document, after: changedDomain, inventory: inventory, linter: linter)
        report.notes = notes.filter { $0.kind == .advice }
        guard notes.allSatisfy({ $0.kind != .refusal }) else { throw .refused(notes) }

        for copy in [DomainCopies.live, .config] where target.copies.contains(copy) {
            guard report.steps.allSatisfy({ $0.outcome == .confirmed }) else {
                report.steps.append(NICChangeStep("change the mode in the \(copy) XML", .skipped))
                continue
            }
            guard let (_, entry, element) = try nicElement(target.mac, of: target.domain, copy: copy) else {
                report.steps.append(NICChangeStep("change the mode in the \(copy) XML", .refused, "the \(copy) XML has no NIC with MAC \(target.mac)"))
                continue
            }
            let current = NICPlacement(mode: entry.direct?.effectiveMode ?? .libvirtDefault, source: entry.direct?.source?.dev?.value)
            if current.mode == placement.mode, placement.source == nil || current.source == placement.source {
                report.steps.append(NICChangeStep("change the mode in the \(copy) XML", .confirmed, "already \(placement)"))
                continue
            }
            if copy == .live {
                report.steps += try replugLive(element, mac: target.mac, from: current, to: placement, domain: target.domain, timeout: request.timeout)
            } else {
                report.steps.append(try updateConfigMode(element, mac: target.mac, to: placement, domain: target.domain))
            }
        }
        report.after = try? nicViews(in: target.domain, copies: target.copies.contains(.live) ? .live : .config).values.first?[target.mac]
        return report
    }

    private func updateConfigMode(_ element: XMLElementSpec, mac: MACAddress, to placement: NICPlacement, domain: LibvirtDomain) throws(LiveError) -> NICChangeStep {
        let action = "rewrite the persistent definition in \(placement)"
        var changed = element
        changed.place(placement)
        let xml = try Self.deviceXML(changed)
        do {
            try domain.updateDevice(xml, scope: .config)
        } catch {
            return NICChangeStep(action, .refused, LiveError.describe(error))
        }
        let shown = (try? nicElement(mac, of: domain, copy: .config)).flatMap { $0.map { DirectNICView($0.1) } }
        return shown.map(placement.isShown(by:)) == true
            ? NICChangeStep(action, .confirmed, "the persistent XML shows mode \(placement.mode)" + (placement.source.map { " on \($0)" } ?? ""))
            : NICChangeStep(
                action, .unconfirmed, "libvirt accepted it but the persistent XML shows \(shown.map { "mode \($0.mode) on \($0.source ?? "?")" } ?? "no such NIC")")
    }

    /// Unplug, then plug in with the new mode; on a refused plug, the old NIC goes back.
    private func replugLive(
        _ element: XMLElementSpec, mac: MACAddress, from oldPlacement: NICPlacement, to newPlacement: NICPlacement,
        domain: LibvirtDomain, timeout: Duration
    ) throws(LiveError) -> [NICChangeStep] {
        let (oldMode, newMode) = (oldPlacement.mode, newPlacement.mode)
        let original = Self.replugElement(element)
        var replacement = original
        replacement.place(newPlacement)
        let unplug = "detach the \(oldMode) NIC from the running domain"
        let session = connection.receivesEvents ? self : try LiveSession(uri: uri, readOnly: false, receivesEvents: true)
        let removal = try session.removeNIC(mac: mac, from: domain, copies: .live, timeout: timeout)
        guard removal.isRemoved else {
            // A guest that refused left the NIC as it was; a timeout leaves the unplug pending.
            let outcome: NICChangeStep.Outcome = removal == .refusedByGuest ? .refused : .unconfirmed
            return [NICChangeStep(unplug, outcome, removal.description), NICChangeStep("attach it in \(newMode) mode", .skipped)]
        }
        var steps = [NICChangeStep(unplug, .confirmed, "gone from the live XML")]
        let plug = "attach it again in \(newPlacement) (same MAC, model and PCI address)"
        let replacementXML = try Self.deviceXML(replacement)
        let originalXML = try Self.deviceXML(original)
        do {
            try domain.attachDevice(replacementXML, scope: .live)
            steps.append(confirmLive(plug, mac: mac, placement: newPlacement, like: original, domain: domain))
            return steps
        } catch {
            steps.append(NICChangeStep(plug, .refused, LiveError.describe(error)))
        }
        let restore = "put the \(oldMode) NIC back"
        do {
            try domain.attachDevice(originalXML, scope: .live)
            steps.append(confirmLive(restore, mac: mac, placement: oldPlacement, like: original, domain: domain))
        } catch {
            steps.append(NICChangeStep(restore, .unconfirmed, "\(LiveError.describe(error)); the NIC is no longer in the running domain"))
        }
        return steps
    }

    private func confirmLive(_ action: String, mac: MACAddress, placement: NICPlacement, like original: XMLElementSpec, domain: LibvirtDomain) -> NICChangeStep {
        guard let found = try? nicElement(mac, of: domain, copy: .live) else {
            return NICChangeStep(action, .unconfirmed, "the live XML does not show MAC \(mac)")
        }
        let view = DirectNICView(found.1)
        var detail = "the live XML shows \(view.target.map { "\($0), " } ?? "")mode \(view.mode)"
        if placement.source != nil { detail += " on \(view.source ?? "?")" }
        if let address = view.pciAddress { detail += ", PCI \(address)" }
        let wantedAddress = original.firstChild(named: "address")
        guard placement.isShown(by: view), wantedAddress == nil || found.2.firstChild(named: "address") == wantedAddress else {
            return NICChangeStep(action, .unconfirmed, detail + "; expected \(placement) at the same PCI address")
        }
        return NICChangeStep(action, .confirmed, detail)
    }

    /// The live element as device XML for a new attach: what libvirt generated (macvtapN name,
    /// its own alias) goes, everything the NIC is (MAC, model, user alias, PCI address) stays.
    static func replugElement(_ live: XMLElementSpec) -> XMLElementSpec {
        var element = live
        if let dev = element.firstChild(named: "target")?.attribute("dev"),
            ["macvtap", "macvlan", "vnet"].contains(where: dev.hasPrefix)
        {
            element.setChild("target", to: nil)
        }
        if let alias = element.firstChild(named: "alias")?.attribute("name"), !alias.hasPrefix("ua-") {
            element.setChild("alias", to: nil)
        }
        return element
    }
}

extension XMLElementSpec {
    /// Sets `<source mode=…>` of an interface element.
    mutating func place(_ placement: NICPlacement) {
        var source = firstChild(named: "source") ?? XMLElementSpec("source")
        source.setAttribute("mode", to: placement.mode.rawValue)
        if let device = placement.source { source.setAttribute("dev", to: device) }
        setChild("source", to: source)
    }
}
