import FoundationEssentials
import MacvtapSystem
import MacvtapXML

/// Domain and interface XML other projects write (scripts/fetch-world-corpus: libvirt 11.3's
/// tests, virt-manager 5.0's, nova 31's, libguestfs'), linted file by file — each file is its
/// own host: they are unrelated configurations, not one fleet — and lint's claims on them held
/// against libvirt's embedded QEMU driver (QEMU/KVM domains) and test driver (the others).
/// The real-world corpus test and `scripts/oracle` (docs/LIBVIRT-PARITY.md) share this.
public enum RealWorldCorpus {
    /// What the checks read of one linted file (plain facts, shareable across tasks).
    public struct LintedFile: Sendable {
        public var path: String
        /// The corpus directory it came from (`libvirt-11.3`, `nova-31`, …).
        public var project: String
        public var findings: [Finding]
        public var domainType: String?
        public var isLiveDump = false
        public var sourceDevices: Set<String> = []
        public var isQEMU: Bool { domainType == "qemu" || domainType == "kvm" }

        /// Parsed again where a check needs the tree (parsed documents are not Sendable).
        public func document() -> DomainDocument? {
            (try? FileIO.readFile(atPath: path)).flatMap { try? DomainDocument(bytes: $0, fileName: path, allowDeviceXML: true) }
        }
    }

    /// Every `*.xml` under `directory`, linted on its own with every rule.
    public static func lint(directory: String) throws(LintSetupError) -> [LintedFile] {
        let linter = try Linter(configuration: LintConfiguration())
        let root = directory.hasSuffix("/") ? directory : directory + "/"
        var files: [LintedFile] = []
        for path in xmlFiles(under: directory) {
            var file = LintedFile(
                path: path, project: String(path.dropFirst(root.count).prefix { $0 != "/" }),
                findings: try linter.lint([.file(path)]).findings)
            if let document = file.document() {
                file.domainType = document.xml.root?.attribute("type")
                file.isLiveDump = document.isLiveDump
                file.sourceDevices = Set(document.directInterfaces.compactMap { $0.direct?.source?.dev?.value })
            }
            files.append(file)
        }
        return files
    }

    static func xmlFiles(under directory: String) -> [String] {
        guard let subpaths = try? FileManager.default.subpathsOfDirectory(atPath: directory) else { return [] }
        return subpaths.filter { $0.hasSuffix(".xml") }.sorted().map { directory + "/" + $0 }
    }

    /// Rules of the engine, not claims about libvirt's behaviour at define.
    static let engineRules: Set<String> = ["libvirt-schema", "interface-schema", "xml-malformed", "libvirt-define", "libvirt-not-judged", "not-a-domain"]

    /// lint's claims on the corpus held against libvirt.
    public struct ClaimCheck: Sendable {
        public var libvirtVersion = ""
        public var judgedFiles = 0
        /// Domains for an architecture this host has no emulator for.
        public var notJudgedFiles = 0
        public var defineClaims = 0
        public var dropClaims = 0
        /// Refusals that go away when the domain's interfaces are removed.
        public var interfaceRefusals = 0
        /// Every claim libvirt contradicted, and every interface refusal no error reported.
        public var wrong: [String] = []
    }

    /// Defines each domain that has interfaces or a claim (plain, validating, read back): every
    /// define claim must be a refusal, every drop claim must be gone from the kept XML, and
    /// every refusal caused by an interface (the domain without its interfaces is defined) must
    /// have an error-level finding.
    public static func judgeClaims(_ files: [LintedFile], layer: LibvirtDefineLayer) -> ClaimCheck {
        var check = ClaimCheck(libvirtVersion: layer.libvirtVersion)
        for file in files {
            guard let document = file.document(), !document.isDeviceXML, document.xml.root?.name == "domain" else { continue }
            let defineFindings = file.findings.filter { $0.enforcement == .define && $0.severity == .error && !engineRules.contains($0.ruleID) }
            let dropFindings = file.findings.filter { $0.enforcement == .silentlyDropped && $0.ruleID != "live-dump" }
            guard !defineFindings.isEmpty || !dropFindings.isEmpty || !document.interfaces.isEmpty else { continue }
            let judgement = layer.judge(document)
            if judgement.notJudged != nil {
                check.notJudgedFiles += 1
                continue
            }
            check.judgedFiles += 1
            let name = file.project + "/" + (file.path.split(separator: "/").last.map(String.init) ?? file.path)
            for finding in defineFindings {
                check.defineClaims += 1
                if judgement.refusal == nil {
                    check.wrong.append("\(name):\(finding.line) [\(finding.ruleID)] claims a define refusal; libvirt defines it")
                }
            }
            if let kept = judgement.inactiveXML, let keptDocument = try? DomainDocument(bytes: Array(kept.utf8), fileName: "kept") {
                for finding in dropFindings {
                    guard let claim = DropClaim(finding, in: document) else { continue }
                    check.dropClaims += 1
                    if claim.isStill(in: keptDocument) {
                        check.wrong.append("\(name):\(finding.line) [\(finding.ruleID)] claims libvirt drops \(claim); it kept it")
                    }
                }
            }
            if let refusal = judgement.refusal, !document.interfaces.isEmpty, let bare = withoutInterfaces(document),
                layer.judge(bare).refusal == nil
            {
                check.interfaceRefusals += 1
                if !file.findings.contains(where: { $0.severity == .error && $0.enforcement != .validate }) {
                    check.wrong.append("\(name): libvirt refuses it because of an interface (\(refusal)); lint reports no error")
                }
            }
        }
        return check
    }

    /// A drop claim made concrete: which interface, and which attribute (or element) of it.
    struct DropClaim: CustomStringConvertible {
        var interfaceIndex: Int
        var path: [String]
        var attribute: String?
        var value: String
        var description: String { "<\(path.joined(separator: "/"))\(attribute.map { " \($0)='\(value)'" } ?? "")>" }

        init?(_ finding: Finding, in document: DomainDocument) {
            for (index, entry) in document.interfaces.enumerated() {
                let element = document.element(of: entry)
                guard (element.position.line...element.endPosition.line).contains(finding.line) else { continue }
                for candidate in element.selfAndDescendants {
                    var path: [String] = []
                    var walker: XMLElement? = candidate
                    while let current = walker, current.position != element.position {
                        path.insert(current.name, at: 0)
                        walker = current.parent
                    }
                    for attribute in candidate.attributes
                    where attribute.position.line == finding.line && attribute.position.column == finding.column {
                        self.init(interfaceIndex: index, path: path, attribute: attribute.name, value: attribute.value)
                        return
                    }
                    if candidate.position.line == finding.line, candidate.position.column == finding.column, !path.isEmpty {
                        self.init(interfaceIndex: index, path: path, attribute: nil, value: "")
                        return
                    }
                }
            }
            return nil
        }

        init(interfaceIndex: Int, path: [String], attribute: String?, value: String) {
            self.interfaceIndex = interfaceIndex
            self.path = path
            self.attribute = attribute
            self.value = value
        }

        func isStill(in kept: DomainDocument) -> Bool {
            guard interfaceIndex < kept.interfaces.count else { return false }
            var elements = [kept.element(of: kept.interfaces[interfaceIndex])]
            for step in path { elements = elements.flatMap { $0.children(named: step) } }
            guard let attribute else { return !elements.isEmpty }
            return elements.contains { $0.attribute(attribute) == value }
        }
    }

    static func withoutInterfaces(_ document: DomainDocument) -> DomainDocument? {
        var bytes = document.xml.source
        for entry in document.interfaces.reversed() {
            if let range = document.element(of: entry).byteRange { bytes.removeSubrange(range) }
        }
        return try? DomainDocument(bytes: bytes, fileName: document.fileName)
    }

    /// The section of docs/LIBVIRT-PARITY.md about the corpus: files per project, findings per
    /// rule and severity, and the claims judged.
    public static func markdown(files: [LintedFile], claims: ClaimCheck) -> String {
        var lines = ["## Real-world corpus", ""]
        let projects = Dictionary(grouping: files, by: \.project)
        let findings = files.flatMap(\.findings)
        lines.append("Other projects' libvirt XML from Debian 13 source packages (`scripts/fetch-world-corpus`), each file")
        lines.append(
            "linted on its own (`RealWorldCorpusTests`, in `make test`): "
                + projects.keys.sorted().map { "\($0) \(projects[$0]!.count)" }.joined(separator: ", ")
                + "; \(files.count) files, \(findings.count) findings.")
        lines.append("Against libvirt \(claims.libvirtVersion)'s embedded QEMU driver and test driver: \(claims.judgedFiles) domains judged")
        lines.append("(\(claims.notJudgedFiles) more need an emulator this host lacks), \(claims.defineClaims) define claims, \(claims.dropClaims) drop claims,")
        lines.append("\(claims.interfaceRefusals) refusals caused by an interface; \(claims.wrong.count) wrong.")
        lines.append("")
        lines.append("| rule | error | warning | info |")
        lines.append("|---|---|---|---|")
        var byRule: [String: [Severity: Int]] = [:]
        for finding in findings { byRule[finding.ruleID, default: [:]][finding.severity, default: 0] += 1 }
        for (rule, counts) in byRule.sorted(by: { $0.key < $1.key }) {
            lines.append("| `\(rule)` | \(counts[.error] ?? 0) | \(counts[.warning] ?? 0) | \(counts[.info] ?? 0) |")
        }
        lines.append("")
        return lines.joined(separator: "\n")
    }
}
