import MacvtapXML
import Synchronization

/// Everything a rule says about itself: what `--list-rules`, docs/rules.md and SARIF show.
public struct RuleDescription: Sendable {
    /// Stable identifier used in output, `--disable`, config files and suppression comments.
    public var id: String
    public var name: String
    /// The rule in one line.
    public var summary: String
    /// Why it matters, with libvirt's own wording where there is one.
    public var rationale: String
    public var severity: Severity
    public var enforcement: Enforcement
    /// Where the rule comes from in the shared libvirt notes (D01–D42, L01–L23, K01–K06).
    public var reference: String
    /// XML documents (whole domains, or a bare `<interface>`) that must trigger the rule, with
    /// `↓` (``marker``) just before each place a finding must point at, as in SwiftLint's examples.
    public var markedTriggering: [String]
    /// The triggering documents as linted (markers removed).
    public var triggering: [String] { markedTriggering.map(Self.unmarked) }
    /// XML documents that must not trigger it.
    public var nonTriggering: [String]
    /// Triggering examples that need other files linted with them (cross-document rules), marked
    /// like ``markedTriggering``.
    public var markedTriggeringSets: [[String]]
    /// The triggering sets as linted (markers removed).
    public var triggeringSets: [[String]] { markedTriggeringSets.map { $0.map(Self.unmarked) } }
    /// Sets of documents linted together that must not trigger it.
    public var nonTriggeringSets: [[String]]
    public var needsLiveHost: Bool
    /// How safely the rule's fix applies; nil when it offers none.
    public var fixes: FixApplicability?
    /// Documents before and after `lint --fix --unsafe-fixes` (run as tests; sets of documents
    /// for cross-file rules: the first is the one fixed).
    public var fixExamples: [FixExample]

    public init(
        id: String, name: String, summary: String, rationale: String, severity: Severity,
        enforcement: Enforcement, reference: String, triggering: [String] = [], nonTriggering: [String] = [],
        triggeringSets: [[String]] = [], nonTriggeringSets: [[String]] = [], needsLiveHost: Bool = false,
        fixes: FixApplicability? = nil, fixExamples: [FixExample] = []
    ) {
        self.id = id
        self.name = name
        self.summary = summary
        self.rationale = rationale
        self.severity = severity
        self.enforcement = enforcement
        self.reference = reference
        self.markedTriggering = triggering
        self.nonTriggering = nonTriggering
        self.markedTriggeringSets = triggeringSets
        self.nonTriggeringSets = nonTriggeringSets
        self.needsLiveHost = needsLiveHost
        self.fixes = fixes
        self.fixExamples = fixExamples
    }
}

extension RuleDescription {
    /// Marks, in a triggering example, where the finding must appear (before the character it points at).
    public static let marker: Character = "↓"

    /// `example` without its markers: the document that is linted.
    public static func unmarked(_ example: String) -> String {
        example.contains(marker) ? example.filter { $0 != marker } : example
    }

    /// The 1-based line and column (in Unicode code points) each marker stands for in the
    /// unmarked text, as findings count them (`SourcePosition`).
    public static func markedPositions(_ example: String) -> [ExamplePosition] {
        var positions: [ExamplePosition] = []
        var line = 1
        var column = 1
        for character in example {
            if character == marker {
                positions.append(ExamplePosition(line: line, column: column))
            } else if character == "\n" {
                line += 1
                column = 1
            } else {
                column += character.unicodeScalars.count
            }
        }
        return positions
    }
}

/// A line and column in a rule example (1-based; columns in Unicode code points, as findings count them).
public struct ExamplePosition: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var line: Int
    public var column: Int

    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    public static func < (lhs: ExamplePosition, rhs: ExamplePosition) -> Bool {
        (lhs.line, lhs.column) < (rhs.line, rhs.column)
    }

    public var description: String { "\(line):\(column)" }
}

/// One fix shown as the document before and after it. In `after`, `FixExample.freshMAC` stands
/// for the MAC the allocator picks.
public struct FixExample: Sendable {
    public static let freshMAC = "52:54:00:…"

    public var before: String
    public var after: String
    /// Other documents linted before `before` (what a cross-file rule compares against).
    public var context: [String]

    public init(before: String, after: String, context: [String] = []) {
        self.before = before
        self.after = after
        self.context = context
    }
}

/// A lint rule: one type per check, described by its `RuleDescription` (SwiftLint's model).
public protocol Rule: Sendable {
    /// What the rule says about itself: id, severity, libvirt's enforcement, examples.
    static var description: RuleDescription { get }
    /// Rules are stateless; the registry makes one with this.
    init()
}

/// Checks one document on its own (runs in parallel, one document per thread).
public protocol DocumentRule: Rule {
    /// The violations in `document`.
    func check(_ document: LintDocument) -> [Violation]
}

/// Checks each `type='direct'` interface of a document.
public protocol DirectInterfaceRule: DocumentRule {
    /// The violations of one direct interface of `document`.
    func check(_ interface: DirectInterface, in document: LintDocument) -> [Violation]
}

extension DirectInterfaceRule {
    public func check(_ document: LintDocument) -> [Violation] {
        document.domain.directInterfaces.flatMap { check($0.direct!, in: document) }
    }
}

/// Which documents a cross-document rule compares.
public enum CrossDocumentScope: Sendable {
    /// The files of one host at a time (devices, target names: one machine's resources).
    case host
    /// Every file of the fleet (MACs: one L2 segment spans hosts).
    case fleet
}

/// Checks all linted documents together (duplicates across files, shared devices).
public protocol CrossDocumentRule: Rule {
    /// `.host` unless the rule says otherwise.
    static var scope: CrossDocumentScope { get }
    /// The violations across `documents` (one host's, or the fleet's, by `scope`).
    func check(_ documents: [DocumentSummary]) -> [Violation]
    /// With the `<network>` files of the same documents' host, for rules that look through
    /// networks; by default the networks do not matter.
    func check(_ documents: [DocumentSummary], networks: [NetworkSummary]) -> [Violation]
    /// With what the configuration says of the host's devices (hairpin ports, shims), for the
    /// rules about reachability; by default those facts do not matter.
    func check(_ documents: [DocumentSummary], networks: [NetworkSummary], facts: ReachFacts) -> [Violation]
}

extension CrossDocumentRule {
    public static var scope: CrossDocumentScope { .host }

    public func check(_ documents: [DocumentSummary], networks: [NetworkSummary]) -> [Violation] {
        check(documents)
    }

    public func check(_ documents: [DocumentSummary], networks: [NetworkSummary], facts: ReachFacts) -> [Violation] {
        check(documents, networks: networks)
    }
}

/// Checks the documents against what libvirt hosts report (`lint -c URI`).
public protocol LiveHostRule: Rule {
    /// The violations of `documents` against what `hosts` have.
    func check(_ documents: [DocumentSummary], against hosts: [HostInventory]) -> [Violation]
    /// With the linted `<network>` files of the documents' host (about to be defined with them).
    func check(_ documents: [DocumentSummary], networks: [NetworkSummary], against hosts: [HostInventory]) -> [Violation]
}

extension LiveHostRule {
    public func check(_ documents: [DocumentSummary], networks: [NetworkSummary], against hosts: [HostInventory]) -> [Violation] {
        check(documents, against: hosts)
    }
}

/// Which libvirt release a lint run judges for, worked out once and only when a rule asks: the
/// installed library's version costs loading libvirt, which most runs never need.
package final class JudgedRelease: Sendable {
    private let compute: @Sendable () -> LibvirtRelease?
    private let cached = Mutex<LibvirtRelease??>(nil)

    package init(_ compute: @escaping @Sendable () -> LibvirtRelease?) {
        self.compute = compute
    }

    package convenience init(fixed release: LibvirtRelease) {
        self.init { release }
    }

    package var value: LibvirtRelease? {
        if let known = cached.withLock({ $0 }) { return known }
        let value = compute()
        cached.withLock { $0 = .some(value) }
        return value
    }
}

/// A parsed document as the per-document rules see it.
public struct LintDocument {
    public let domain: DomainDocument
    /// The configuration says the interfaces are about to be hot-plugged (`attach`).
    private let hotplugIntended: Bool
    private let release: JudgedRelease?

    public init(domain: DomainDocument, hotplug: Bool = false, libvirtRelease: LibvirtRelease? = nil) {
        self.domain = domain
        self.hotplugIntended = hotplug
        self.release = libvirtRelease.map(JudgedRelease.init(fixed:))
    }

    package init(domain: DomainDocument, hotplug: Bool, release: JudgedRelease) {
        self.domain = domain
        self.hotplugIntended = hotplug
        self.release = release
    }

    /// The libvirt release the findings are judged for (the host's with `-c`, else
    /// `--libvirt-version`, else the installed libvirt's); nil when none is known, and rules whose
    /// verdict differs between releases then say what each release does.
    public var libvirtRelease: LibvirtRelease? { release?.value }

    /// Whether findings follow libvirt 11.3 where the oracle saw 9.0 and 11.3 differ: for 11.3
    /// and later, and when no release is known (most users run 10 or later); releases before
    /// 11.3 are judged as 9.0, the only earlier release the oracle has asked.
    public var judgesAsLibvirt11: Bool {
        (libvirtRelease ?? LibvirtRelease.libvirt11) >= LibvirtRelease.libvirt11
    }

    public var file: String { domain.fileName }
    /// True for a bare `<interface>` (device XML for `virsh attach-device`).
    public var isDeviceXML: Bool { domain.isDeviceXML }
    /// Whether the interfaces meet libvirt's hot-plug path: device XML (what attach-device
    /// reads) or a command that hot-plugs them. A whole domain file is defined and started, and
    /// its NICs are never hot-plugged, so hot-plug-only refusals do not apply to it.
    public var isHotplugged: Bool { hotplugIntended || domain.isDeviceXML }
    /// A running domain's live XML (`virsh dumpxml` of an active domain), not a definition.
    public var isLiveDump: Bool { domain.isLiveDump }

    private var osType: XMLElement? { domain.xml.root?.firstChild(named: "os")?.firstChild(named: "type") }

    /// `<os><type machine=…>` as written; nil for device XML or when libvirt picks the default.
    public var machineType: String? { osType?.attribute("machine") }

    /// An x86 domain (`arch` x86_64 or i686, or none given); false for device XML.
    public var isX86Domain: Bool {
        guard !isDeviceXML else { return false }
        let arch = osType?.attribute("arch") ?? "x86_64"
        return arch == "x86_64" || arch == "i686"
    }

    /// An x86 domain on the i440fx machine (libvirt 9.0's default for x86 when none is named):
    /// conventional PCI only, where virtio devices are transitional.
    public var isI440FXDomain: Bool {
        guard isX86Domain else { return false }
        guard let machine = machineType else { return true }
        return machine == "pc" || machine.hasPrefix("pc-i440fx") || machine.hasPrefix("pc-0") || machine.hasPrefix("pc-1")
    }

    /// Whether the domain declares `<controller type='pci' index='N'>` (bus N exists).
    package func hasPCIController(index: UInt64) -> Bool {
        deviceElements.contains { device in
            device.name == "controller" && device.attribute("type") == "pci"
                && device.attribute("index").flatMap { UInt64($0) } == index
        }
    }

    /// Whether the domain runs under QEMU (kvm or qemu); device XML is assumed to.
    public var isQEMUDomain: Bool {
        guard let type = domain.hypervisorType?.value else { return true }
        return type == "kvm" || type == "qemu"
    }
}
