public import MacvtapXML

/// How serious a finding is, in increasing order; `--fail-level` compares against it.
public enum Severity: String, Sendable, Codable, CaseIterable, Comparable {
    case info, warning, error

    private var rank: Int {
        switch self {
        case .info: 0
        case .warning: 1
        case .error: 2
        }
    }

    public static func < (lhs: Severity, rhs: Severity) -> Bool { lhs.rank < rhs.rank }
}

/// When libvirt itself notices the problem, if ever; said in every message so users know
/// whether `virsh define` would have caught it.
public enum Enforcement: String, Sendable, Codable {
    /// Rejected whenever the XML is parsed or validated: define, create, attach.
    case define
    /// Rejected only when the domain starts, or on hotplug.
    case start
    /// Accepted at define and start; refused only when the interface is hot-plugged into a
    /// running domain (`attach`, `virsh attach-device --live`).
    case hotplug
    /// With `virsh define --validate` or `virsh edit` (RelaxNG); libvirt's parser may refuse it
    /// at a plain define already (an invalid enumerated value, say), and the oracle showed both.
    case validate
    /// Accepted, then silently dropped or rewritten.
    case silentlyDropped
    /// libvirt never checks it.
    case notChecked
    /// Advice rather than a libvirt rule.
    case advice

    public var phrase: String {
        switch self {
        case .define: "libvirt rejects this at define"
        case .start: "libvirt accepts this at define but the domain fails at start or hotplug"
        case .hotplug: "libvirt accepts this at define and start but refuses it when hot-plugged"
        case .validate: "libvirt rejects this with define --validate or virsh edit, if not already at define"
        case .silentlyDropped: "libvirt silently drops or rewrites this"
        case .notChecked: "libvirt does not check this"
        case .advice: "advice"
        }
    }
}

/// One problem found, as data: reporters format it, nothing else interprets it.
public struct Finding: Sendable, Hashable, Codable {
    public var ruleID: String
    public var severity: Severity
    public var file: String
    public var line: Int
    public var column: Int
    public var message: String
    public var fix: String?
    /// The domain the finding is about, when the document is a domain.
    public var domain: String?
    /// When libvirt itself notices it (what the message's bracketed phrase says).
    public var enforcement: Enforcement?
    /// For a finding across files: the other uses involved (the finding itself sits where the
    /// fix belongs). Nil when there are none.
    public var related: [RelatedLocation]?
    /// The fix as byte edits on the file, when the rule offers one (`lint --fix`).
    public var correction: Correction?

    public init(
        ruleID: String, severity: Severity, file: String, position: SourcePosition, message: String,
        fix: String?, domain: String?, enforcement: Enforcement? = nil, related: [RelatedLocation]? = nil,
        correction: Correction? = nil
    ) {
        self.ruleID = ruleID
        self.severity = severity
        self.file = file
        self.line = position.line
        self.column = position.column
        self.message = message
        self.fix = fix
        self.domain = domain
        self.enforcement = enforcement
        self.related = related
        self.correction = correction
    }

    public var position: SourcePosition { SourcePosition(line: line, column: column) }
}

/// Another place a finding involves ("the other use of this MAC").
public struct RelatedLocation: Sendable, Hashable, Codable {
    public var file: String
    public var line: Int
    public var column: Int
    /// What is there ("MAC 52:54:00:… in domain 'vm1' on host hv-a").
    public var message: String

    public init(file: String, position: SourcePosition, message: String) {
        self.file = file
        self.line = position.line
        self.column = position.column
        self.message = message
    }
}

/// What a rule reports: where and what. The engine adds the rule id, severity and file.
public struct Violation: Sendable, Hashable {
    public var position: SourcePosition
    public var message: String
    public var fix: String?
    /// For cross-document rules: the file the violation is in (nil = the document checked).
    public var file: String?
    public var domain: String?
    /// When one rule covers cases libvirt treats differently (define vs start).
    public var enforcement: Enforcement?
    /// The other uses a cross-file violation involves.
    public var related: [RelatedLocation]
    /// The fix the rule proposes, by position; the engine turns it into byte edits.
    public var correction: CorrectionIntent?
    /// When one rule's findings weigh differently by libvirt release (refused by one, accepted by
    /// another); a severity the configuration sets for the rule still wins.
    public var severity: Severity?

    public init(
        at position: SourcePosition, _ message: String, fix: String? = nil, file: String? = nil, domain: String? = nil,
        enforcement: Enforcement? = nil, related: [RelatedLocation] = [], correction: CorrectionIntent? = nil,
        severity: Severity? = nil
    ) {
        self.severity = severity
        self.position = position
        self.message = message
        self.fix = fix
        self.file = file
        self.domain = domain
        self.enforcement = enforcement
        self.related = related
        self.correction = correction
    }
}

extension Finding {
    /// What the finding says, wherever it sits: its rule, domain and message with the line
    /// numbers it quotes (`line 12`, `vm1.xml:12`) taken out. Two runs over a file whose lines
    /// moved (a NIC added above) give the same identities for the same problems: `attach` keeps
    /// only the findings its change adds, `migrate-check` those the destination adds, and SARIF
    /// fingerprints them.
    public var identity: String {
        let message = self.message.replacing(#/line \d+/#, with: "line #").replacing(#/(\.xml|<stdin>):\d+(:\d+)?/#) { match in "\(match.output.1):#" }
        return "\(ruleID)\u{0}\(domain ?? "")\u{0}\(message)"
    }
}
