import FoundationEssentials
import MacvtapLibvirt
import MacvtapSystem

/// Which copies of a domain's definition a change touches: the running domain (`live`), its
/// persistent definition (`config`), or both: virsh's `--live`, `--config`, `--current` and
/// `--persistent`, as one value. As asked, it may name neither (`current`: the running copy
/// when the domain runs, else the persistent one) or ask for the running copy only when there
/// is one (`persistent`); `resolved(domainIsActive:)` turns the request into the copies changed.
public struct DomainCopies: OptionSet, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }
    public static let live = DomainCopies(rawValue: 1)
    public static let config = DomainCopies(rawValue: 2)
    /// As asked: the running copy too, when the domain runs.
    public static let liveWhenRunning = DomainCopies(rawValue: 4)
    /// As asked, `--current` (or no option): live when the domain runs, else config.
    public static let current: DomainCopies = []
    /// As asked, `--persistent`: config, and live too when the domain runs.
    public static let persistent: DomainCopies = [.config, .liveWhenRunning]

    /// The copies a change asked as `self` touches on a domain that runs or not.
    public func resolved(domainIsActive: Bool) -> DomainCopies {
        var copies = intersection([.live, .config])
        if contains(.liveWhenRunning), domainIsActive { copies.insert(.live) }
        if copies.isEmpty { copies = domainIsActive ? .live : .config }
        return copies
    }

    public var description: String {
        [contains(.live) ? "live" : nil, contains(.config) ? "config" : nil].compactMap { $0 }.joined(separator: "+")
    }
}

extension DeviceScope {
    /// libvirt's flags for changing resolved `copies`.
    init(_ copies: DomainCopies) {
        self = []
        if copies.contains(.live) { insert(.live) }
        if copies.contains(.config) { insert(.config) }
    }
}

/// Why a live command did not do (all of) what was asked.
public enum LiveError: Error, Sendable, CustomStringConvertible {
    /// Options that contradict each other.
    case usage(String)
    /// libvirt failed (daemon down, wrong URI, permission, or it rejected the change).
    case libvirt(LibvirtFailure)
    /// The host's kernel (rtnetlink) failed: this machine's links, neighbours or a removal.
    case netlink(NetlinkFailure)
    /// Preflight refused before anything changed.
    case refused([PreflightNote])

    public var description: String {
        switch self {
        case .usage(let message): message
        case .libvirt(let failure): failure.description
        case .netlink(let failure): failure.description + (failure.isPermission ? "; this needs root (CAP_NET_ADMIN, CAP_NET_RAW)" : "")
        case .refused(let notes): notes.filter { $0.kind == .refusal }.map(\.description).joined(separator: "\n")
        }
    }

}

/// One finding of a preflight: a refusal stops the command, advice is printed and it goes on.
public struct PreflightNote: Sendable, Hashable, Codable, CustomStringConvertible {
    /// A refusal stops the change; advice is printed and the change goes ahead.
    public enum Kind: String, Sendable, Codable { case refusal, advice }
    public var kind: Kind
    public var message: String
    public var fix: String?
    /// The lint rule behind the note, when a rule found it.
    public var ruleID: String?

    public init(_ kind: Kind, _ message: String, fix: String? = nil, ruleID: String? = nil) {
        self.kind = kind
        self.message = message
        self.fix = fix
        self.ruleID = ruleID
    }

    public var description: String {
        message + (fix.map { "; \($0)" } ?? "") + (ruleID.map { " [\($0)]" } ?? "")
    }
}

/// A direct NIC as a domain's XML shows it, for reports and `list`.
public struct DirectNICView: Sendable, Hashable, Codable {
    public var mac: String
    /// The MAC the guest set, when the live XML reports one that differs (libvirt ≥ 11.2).
    public var currentMAC: String?
    public var source: String?
    public var mode: String
    public var model: String?
    public var target: String?
    public var alias: String?
    /// `DDDD:BB:SS.F`, when libvirt assigned a PCI address.
    public var pciAddress: String?
    /// `down` when `<link state='down'/>`; nil when the XML says nothing (the link is up).
    public var linkState: String?
    /// The libvirt network the macvtap comes from (`<source network>`), if any.
    public var network: String?

    init(_ entry: DomainDocument.InterfaceEntry) {
        let direct = entry.direct
        mac = entry.macAddress?.description ?? entry.mac?.value ?? ""
        currentMAC = entry.currentMACAddress?.description
        source = direct?.source?.dev?.value
        mode = direct?.effectiveMode?.rawValue ?? direct?.source?.mode?.value ?? MacvtapMode.libvirtDefault.rawValue
        model = direct?.model?.value
        target = entry.targetDev?.value
        alias = entry.alias?.value
        pciAddress = direct?.address.flatMap(Self.pciAddress)
        linkState = direct?.linkState?.value
        network = entry.sourceNetwork?.value
    }

    /// An `<interface type='network'>` of a persistent definition, on a macvtap network: its
    /// device is chosen when the domain starts, its mode is the network's.
    init(_ entry: DomainDocument.InterfaceEntry, network: HostInventory.HostNetwork) {
        self.init(entry)
        source = network.devices.count == 1 ? network.devices[0] : nil
        mode = network.forwardMode ?? MacvtapMode.libvirtDefault.rawValue
        self.network = network.name
    }

    private static func pciAddress(_ address: ElementRecord) -> String? {
        guard address.attribute("type")?.value == "pci" else { return nil }
        func field(_ name: String, width: Int) -> String {
            let raw = address.attribute(name)?.value ?? "0"
            let digits = raw.hasPrefix("0x") ? String(raw.dropFirst(2)) : raw
            let value = UInt(digits, radix: raw.hasPrefix("0x") ? 16 : 10) ?? 0
            let hex = String(value, radix: 16)
            return String(repeating: "0", count: max(0, width - hex.count)) + hex
        }
        return "\(field("domain", width: 4)):\(field("bus", width: 2)):\(field("slot", width: 2)).\(field("function", width: 1))"
    }
}

/// A connection for the live commands, with the domain XML reading they share.
public final class LiveSession {
    let connection: LibvirtConnection
    /// What earlier scans of this host learnt of its definitions (nil: every one is parsed).
    let summaryCache: HostSummaryCache?

    /// Opens `uri`: read-only for `list`; `detach` needs events (the device-removed event).
    /// `attach` goes without: starting the event loop costs time on every call, and only a
    /// rollback needs it (it opens its own connection then).
    /// With `summaryCacheDirectory`, the host's definitions are parsed only when they changed
    /// since an earlier scan (`HostSummaryCache`).
    public init(uri: String, readOnly: Bool, receivesEvents: Bool = false, summaryCacheDirectory: String? = nil) throws(LiveError) {
        do {
            connection = try LibvirtConnection(uri: uri, readOnly: readOnly, receivesEvents: receivesEvents)
        } catch {
            throw .libvirt(error)
        }
        summaryCache = summaryCacheDirectory.map { HostSummaryCache(directory: $0, uri: uri) }
    }

    public var uri: String { connection.uri }

    private static let libvirtLoaded = BackgroundWork()

    /// Starts loading libvirt on a thread of its own, so that a command can parse its arguments
    /// and read its files meanwhile; the first connection waits for it.
    public static func loadLibvirtInBackground() {
        libvirtLoaded.start { LibvirtConnection.loadLibrary() }
    }

    /// Blocks until a background load of libvirt is done: a process must not end while a
    /// library is half loaded and initialised on another thread.
    public static func waitForLibvirtLoad() {
        libvirtLoaded.wait()
    }

    func lookup(_ reference: String) throws(LiveError) -> LibvirtDomain {
        do {
            return try connection.lookupDomain(reference)
        } catch  where error.is(.noDomain) {
            throw .refused([
                PreflightNote(
                    .refusal, "domain '\(reference)' not found on \(uri)",
                    fix: "give its name, UUID or id as `virsh -c \(uri) list --all` shows them")
            ])
        } catch {
            throw .libvirt(error)
        }
    }

    /// A copy of the domain's definition, parsed.
    func document(of domain: LibvirtDomain, copy: DomainCopies) throws(LiveError) -> DomainDocument {
        let xml: String
        do {
            xml = try domain.xml(inactive: copy == .config)
        } catch {
            throw .libvirt(error)
        }
        do {
            return try DomainDocument(bytes: Array(xml.utf8), fileName: "\(uri) domain '\(domain.name)' (\(copy) XML)")
        } catch {
            throw .libvirt(
                LibvirtError(code: 0, domain: 0, message: error.description, operation: "reading domain '\(domain.name)'"))
        }
    }

    /// What a live command does to a NIC, for the words of its scope refusals.
    enum NICChange {
        case attach, change, detach

        /// Why a live change of a domain that does not run is refused, and what to do.
        func nothingRunning(_ domain: String, _ state: DomainState) -> PreflightNote {
            switch self {
            case .attach:
                PreflightNote(
                    .refusal, "domain '\(domain)' is \(state), so there is no running guest to attach to",
                    fix: "start it first, or change only its persistent definition (config)")
            case .change:
                PreflightNote(
                    .refusal, "domain '\(domain)' is \(state): there is no running NIC to change", fix: "change its persistent definition (config) instead")
            case .detach:
                PreflightNote(
                    .refusal, "domain '\(domain)' is \(state): there is no live NIC to detach", fix: "change its persistent definition (config) instead")
            }
        }
    }

    /// The refusals every live command shares: a live change needs a running domain, a config
    /// change a persistent one (libvirt refuses both the same way, later and less clearly).
    func scopeRefusals(domain: String, state: DomainState, isPersistent: @autoclosure () -> Bool, copies: DomainCopies, for change: NICChange) -> [PreflightNote] {
        var notes: [PreflightNote] = []
        if copies.contains(.live), !state.isActive { notes.append(change.nothingRunning(domain, state)) }
        if copies.contains(.config), !isPersistent() {
            notes.append(
                PreflightNote(
                    .refusal, "domain '\(domain)' is transient: it has no persistent definition to change",
                    fix: "change only the running domain (live)" + (change == .attach ? ", or define the domain first (virsh define)" : "")))
        }
        return notes
    }

    func state(of domain: LibvirtDomain) throws(LiveError) -> DomainState {
        do {
            return try domain.state()
        } catch {
            throw .libvirt(error)
        }
    }

    func inventory() throws(LiveError) -> HostInventory {
        do {
            return try HostInventory.scan(connection, focus: nil, cache: summaryCache).inventory
        } catch {
            throw .libvirt(error)
        }
    }
}
