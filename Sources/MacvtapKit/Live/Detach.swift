import MacvtapLibvirt

/// Which direct NIC(s) `detach` means.
public enum NICSelector: Sendable, Hashable, CustomStringConvertible {
    case mac(MACAddress)
    case target(String)
    case alias(String)
    case source(String)

    public var description: String {
        switch self {
        case .mac(let mac): "MAC \(mac)"
        case .target(let name): "target device '\(name)'"
        case .alias(let name): "alias '\(name)'"
        case .source(let name): "source device '\(name)'"
        }
    }

    func matches(_ entry: DomainDocument.InterfaceEntry) -> Bool {
        switch self {
        case .mac(let mac): entry.macAddress == mac
        case .target(let name): entry.targetDev?.value == name
        case .alias(let name): entry.alias?.value == name
        case .source(let name): entry.direct?.source?.dev?.value == name
        }
    }
}

/// What `detach` is asked: the domain, which NICs, which copies, and how long to wait.
public struct DetachRequest: Sendable {
    public var domain: String
    public var selector: NICSelector
    /// With `.source`: every NIC on that device instead of refusing when there are several.
    public var all: Bool
    /// The copies asked for (`.current` unless told).
    public var copies: DomainCopies
    /// How long to wait, from the request, for the guest to release each NIC.
    public var timeout: Duration

    public init(domain: String, selector: NICSelector, all: Bool, copies: DomainCopies = .current, timeout: Duration) {
        self.domain = domain
        self.selector = selector
        self.all = all
        self.copies = copies
        self.timeout = timeout
    }
}

/// How one NIC's removal ended.
public enum RemovalResult: Sendable, Hashable, CustomStringConvertible {
    /// Gone from every copy asked for (the live XML re-read after the device-removed event).
    case removed
    /// The guest did not release it in time; it is still in the live XML.
    case timedOut(seconds: Double)
    /// The guest refused (libvirt's device-removal-failed event).
    case refusedByGuest
    /// The connection closed while waiting; its state is unknown.
    case connectionLost
    /// The copy named is still there although libvirt reported nothing wrong.
    case stillPresent(copy: String)

    public var isRemoved: Bool { self == .removed }

    public var description: String {
        switch self {
        case .removed: "removed"
        case .timedOut(let seconds):
            "the guest did not release it within \(Self.format(seconds)) s and it is still in the live XML: the guest must acknowledge ACPI PCI hot-unplug (a running OS with PCI hotplug support); libvirt keeps the request pending, so it may still go later"
        case .refusedByGuest: "the guest refused the unplug (libvirt's device-removal-failed event); it is still in the live XML"
        case .connectionLost: "the connection to libvirt was lost while waiting; whether it was removed is unknown"
        case .stillPresent(let copy): "libvirt reported success but the \(copy) XML still shows it"
        }
    }

    private static func format(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? String(Int(seconds)) : String(seconds)
    }
}

/// The outcome of a detach, per NIC, each confirmed (or not) in the domain XML.
public struct DetachReport: Sendable {
    /// One NIC: as it was before the detach, and what became of it.
    public struct Entry: Sendable {
        public var nic: DirectNICView
        public var result: RemovalResult
    }
    public var domain: String
    public var uri: String
    public var copies: DomainCopies
    public var entries: [Entry]
    public var succeeded: Bool { entries.allSatisfy { $0.result.isRemoved } }
}

extension LiveSession {
    /// Finds the NICs the request means, or refuses (none, ambiguous, not a direct NIC).
    func detachTargets(_ request: DetachRequest) throws(LiveError) -> (domain: LibvirtDomain, nics: [DirectNICView], copies: DomainCopies) {
        let domain = try lookup(request.domain)
        let state = try state(of: domain)
        let copies = request.copies.resolved(domainIsActive: state.isActive)
        let refusals = scopeRefusals(domain: domain.name, state: state, isPersistent: domain.isPersistent, copies: copies, for: .detach)
        if !refusals.isEmpty { throw .refused(refusals) }
        let copy: DomainCopies = copies.contains(.live) ? .live : .config
        let document = try document(of: domain, copy: copy)
        let direct = try matchingDirectNICs(request.selector, in: document, domain: domain.name, copy: copy)
        let ambiguous: Bool
        switch request.selector {
        case .source: ambiguous = direct.count > 1 && !request.all
        default: ambiguous = direct.count > 1
        }
        if ambiguous {
            throw .refused([
                PreflightNote(
                    .refusal, "\(direct.count) direct interfaces of '\(domain.name)' match \(request.selector): \(direct.map(Self.candidateLabel).joined(separator: "; "))",
                    fix: "name one by its MAC" + (request.selector.isSource ? ", or ask for all of them" : ""))
            ])
        }
        return (domain, direct.map(DirectNICView.init), copies)
    }

    /// Detaches the NICs found by `detachTargets`, one at a time, each confirmed in the XML.
    public func detach(_ request: DetachRequest) throws(LiveError) -> DetachReport {
        let targets = try detachTargets(request)
        var report = DetachReport(domain: targets.domain.name, uri: uri, copies: targets.copies, entries: [])
        for nic in targets.nics {
            guard let mac = MACAddress(nic.mac) else { continue }
            let result = try removeNIC(
                mac: mac, from: targets.domain, copies: targets.copies, timeout: request.timeout)
            report.entries.append(DetachReport.Entry(nic: nic, result: result))
        }
        return report
    }

    /// Sends the detach for the NIC with `mac` and waits for it to leave every copy in `copies`.
    /// For the live copy that is libvirt's device-removed event, then a re-read of the live XML.
    func removeNIC(
        mac: MACAddress, from domain: LibvirtDomain, copies: DomainCopies, timeout: Duration
    ) throws(LiveError) -> RemovalResult {
        let clock = ContinuousClock()
        let start = clock.now
        let copy: DomainCopies = copies.contains(.live) ? .live : .config
        let document = try document(of: domain, copy: copy)
        guard let entry = document.interfaces.first(where: { $0.macAddress == mac }),
            let range = document.element(of: entry).byteRange
        else {
            return .removed
        }
        let deviceXML = String(decoding: document.xml.source[range], as: UTF8.self)
        var watch: DeviceRemovalWatch?
        if copies.contains(.live) {
            do {
                watch = try connection.watchDeviceRemoval(of: domain)
            } catch {
                throw .libvirt(error)
            }
        }
        defer { watch?.cancel() }
        do {
            try domain.detachDevice(deviceXML, scope: DeviceScope(copies))
        } catch {
            // libvirt itself waits a few seconds for the guest inside this call; a daemon that
            // dies meanwhile may or may not have sent the unplug request.
            if error.isConnectionFailure { return .connectionLost }
            throw .libvirt(error)
        }
        var outcome = DeviceRemovalOutcome.removed
        if let watch, let alias = entry.alias?.value {
            outcome = watch.wait(forAlias: alias, timeout: timeout - (clock.now - start))
        }
        if outcome == .connectionClosed { return .connectionLost }
        do throws(LiveError) {
            let present = try nicViews(in: domain, copies: copies)
            if present[.live]?[mac] != nil {
                switch outcome {
                case .removalFailed: return .refusedByGuest
                case .timedOut:
                    let elapsed = clock.now - start
                    return .timedOut(seconds: Double(max(elapsed, timeout).components.seconds))
                default: return .stillPresent(copy: "live")
                }
            }
            if present[.config]?[mac] != nil { return .stillPresent(copy: "persistent") }
        } catch {
            if case .libvirt = error, outcome != .removed { return .connectionLost }
            throw error
        }
        return .removed
    }

    static func candidateLabel(_ entry: DomainDocument.InterfaceEntry) -> String {
        let view = DirectNICView(entry)
        let details = [view.target, view.alias, view.source.map { "on \($0)" }].compactMap { $0 }
        return view.mac + (details.isEmpty ? "" : " (\(details.joined(separator: ", ")))")
    }
}

extension NICSelector {
    var isSource: Bool {
        if case .source = self { return true }
        return false
    }
}
