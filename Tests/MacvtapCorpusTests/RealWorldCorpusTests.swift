import Foundation
import MacvtapKit
import MacvtapTestSupport
import MacvtapXML
import Testing

/// Domain and interface XML other projects write (libvirt 11.3's tests, virt-manager 5.0's,
/// nova 31's, libguestfs', fetched by scripts/fetch-world-corpus), linted file by file (each file
/// is its own host: they are unrelated configurations, not one fleet) and every claim held
/// against libvirt itself: its embedded QEMU driver for QEMU/KVM domains, the test driver for
/// the others. Then the noise budget: what a linter must never say on real configurations.
@Suite("Real-world corpus: every claim against libvirt, and a noise budget", TestGate.worldCorpus.trait, .serialized)
struct RealWorldCorpusTests {
    @Test("VIRT_MACVTAP_WORLD_CORPUS set: the corpus is there", TestGate.worldCorpus.trait)
    func gate() {
        #expect(TestGate.worldCorpus.unsatisfied() == nil, "\(TestGate.worldCorpus.unsatisfied() ?? "")")
    }

    /// What the budget tests read of a file (plain facts: the list is shared by the suite).
    struct LintedFile: Sendable {
        var url: URL
        var findings: [Finding]
        var domainType: String?
        var isLiveDump = false
        var sourceDevices: Set<String> = []
        var isQEMU: Bool { domainType == "qemu" || domainType == "kvm" }

        /// Parsed again where a test needs the tree (parsed documents are not Sendable).
        func document() -> DomainDocument? {
            (try? Fixtures.bytes(url)).flatMap { try? DomainDocument(bytes: $0, fileName: url.path, allowDeviceXML: true) }
        }
    }

    /// Every file linted on its own: the findings and the parsed document.
    static let linted: [LintedFile] = {
        guard let directory = TestGate.worldCorpus.value.map(URL.init(fileURLWithPath:)),
            let linter = try? Linter(configuration: LintConfiguration())
        else { return [] }
        return Fixtures.xmlFiles(under: directory).map { url in
            var file = LintedFile(url: url, findings: (try? linter.lint([.file(url.path)]).findings) ?? [])
            if let document = file.document() {
                file.domainType = document.xml.root?.attribute("type")
                file.isLiveDump = document.isLiveDump
                file.sourceDevices = Set(document.directInterfaces.compactMap { $0.direct?.source?.dev?.value })
            }
            return file
        }
    }()

    /// The corpus's figures, printed for the closing note and docs/LIBVIRT-PARITY.md.
    @Test("Corpus figures: files per project, findings per rule and severity")
    func figures() throws {
        let files = Self.linted
        #expect(files.count > 3000, "only \(files.count) files")
        let root = URL(fileURLWithPath: try #require(TestGate.worldCorpus.value)).standardizedFileURL.pathComponents.count
        let projects = Dictionary(grouping: files) { $0.url.standardizedFileURL.pathComponents.dropFirst(root).first ?? "?" }
        #expect(projects.keys.filter { $0 != "?" }.count >= 4, "projects: \(projects.keys.sorted())")
        let findings = files.flatMap(\.findings)
        var byRule: [String: [Severity: Int]] = [:]
        for finding in findings { byRule[finding.ruleID, default: [:]][finding.severity, default: 0] += 1 }
        var lines = ["real-world corpus: \(files.count) files (" + projects.keys.sorted().map { "\($0): \(projects[$0]!.count)" }.joined(separator: ", ") + "), \(findings.count) findings"]
        for (rule, counts) in byRule.sorted(by: { $0.key < $1.key }) {
            lines.append("  \(rule): " + counts.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.value) \($0.key.rawValue)" }.joined(separator: ", "))
        }
        print(lines.joined(separator: "\n"))
    }

    // MARK: - Claims against libvirt

    @Test("Every define claim is true, every drop claim is true, every refusal that concerns an interface is reported")
    func claimsAgainstLibvirt() throws {
        let cache = FileManager.default.temporaryDirectory.appendingPathComponent("virt-macvtap-world-embed").path
        let layer = try LibvirtDefineLayer(cacheDirectory: cache, scratchParents: ["/dev/shm", "/tmp"])
        defer { layer.finish() }
        var defineClaims = 0, dropClaims = 0, interfaceRefusals = 0, notJudged = 0, judgedFiles = 0
        var wrong: [String] = []
        for file in Self.linted {
            guard let document = file.document(), !document.isDeviceXML, document.xml.root?.name == "domain" else { continue }
            let defineFindings = file.findings.filter { $0.enforcement == .define && $0.severity == .error && !Self.engineRules.contains($0.ruleID) }
            let dropFindings = file.findings.filter { $0.enforcement == .silentlyDropped && $0.ruleID != "live-dump" }
            guard !defineFindings.isEmpty || !dropFindings.isEmpty || !document.interfaces.isEmpty else { continue }
            let judgement = layer.judge(document)
            if judgement.notJudged != nil {
                notJudged += 1
                continue
            }
            judgedFiles += 1
            let name = file.url.lastPathComponent
            for finding in defineFindings {
                defineClaims += 1
                if judgement.refusal == nil {
                    wrong.append("\(name):\(finding.line) [\(finding.ruleID)] claims a define refusal; libvirt defines it")
                }
            }
            if let kept = judgement.inactiveXML, let keptDocument = try? DomainDocument(bytes: Array(kept.utf8), fileName: "kept") {
                for finding in dropFindings {
                    guard let claim = Self.dropClaim(finding, in: document) else { continue }
                    dropClaims += 1
                    if Self.stillThere(claim, in: keptDocument) {
                        wrong.append("\(name):\(finding.line) [\(finding.ruleID)] claims libvirt drops \(claim.description); it kept it")
                    }
                }
            }
            // A refusal concerns an interface when the same domain without its interfaces is defined.
            if let refusal = judgement.refusal, !document.interfaces.isEmpty,
                layer.judge(try Self.withoutInterfaces(document)).refusal == nil
            {
                interfaceRefusals += 1
                if !file.findings.contains(where: { $0.severity == .error && $0.enforcement != .validate }) {
                    wrong.append("\(name): libvirt refuses it because of an interface (\(refusal)); lint reports no error")
                }
            }
        }
        print("real-world claims against libvirt \(layer.libvirtVersion): \(judgedFiles) files judged (\(notJudged) for architectures without an emulator here), \(defineClaims) define claims, \(dropClaims) drop claims, \(interfaceRefusals) refusals caused by an interface; \(wrong.count) wrong")
        #expect(judgedFiles > 500)
        #expect(defineClaims > 10 && dropClaims > 3 && interfaceRefusals > 5, "too few claims to say much")
        #expect(wrong.isEmpty, "\(wrong.count) wrong:\n\(wrong.prefix(25).joined(separator: "\n"))")
    }

    static let engineRules: Set<String> = ["libvirt-schema", "interface-schema", "xml-malformed", "libvirt-define", "unsupported-document"]

    /// A drop claim made concrete: which interface, and which attribute (or element) of it.
    struct DropClaim: CustomStringConvertible {
        var interfaceIndex: Int
        var path: [String]
        var attribute: String?
        var value: String
        var description: String { "<\(path.joined(separator: "/"))\(attribute.map { " \($0)='\(value)'" } ?? "")>" }
    }

    static func dropClaim(_ finding: Finding, in document: DomainDocument) -> DropClaim? {
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
                for attribute in candidate.attributes where attribute.position.line == finding.line && attribute.position.column == finding.column {
                    return DropClaim(interfaceIndex: index, path: path, attribute: attribute.name, value: attribute.value)
                }
                if candidate.position.line == finding.line && candidate.position.column == finding.column && !path.isEmpty {
                    return DropClaim(interfaceIndex: index, path: path, attribute: nil, value: "")
                }
            }
        }
        return nil
    }

    static func stillThere(_ claim: DropClaim, in kept: DomainDocument) -> Bool {
        guard claim.interfaceIndex < kept.interfaces.count else { return false }
        var elements = [kept.element(of: kept.interfaces[claim.interfaceIndex])]
        for step in claim.path { elements = elements.flatMap { $0.children(named: step) } }
        guard let attribute = claim.attribute else { return !elements.isEmpty }
        return elements.contains { $0.attribute(attribute) == claim.value }
    }

    static func withoutInterfaces(_ document: DomainDocument) throws -> DomainDocument {
        var bytes = document.xml.source
        for entry in document.interfaces.reversed() {
            if let range = document.element(of: entry).byteRange { bytes.removeSubrange(range) }
        }
        return try DomainDocument(bytes: bytes, fileName: document.fileName)
    }

    // MARK: - The noise budget

    @Test("No MAC-origin warning on a MAC inside a well-known virtualisation OUI")
    func noWarningOnPlatformOUIs() {
        let originRules: Set<String> = ["mac-not-locally-administered", "mac-foreign-oui", "mac-fe-prefix"]
        var checked = 0
        for file in Self.linted {
            for finding in file.findings where originRules.contains(finding.ruleID) {
                checked += 1
                let mac = finding.message.firstMatch(of: /[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}/).flatMap { MACAddress(String($0.output.0)) }
                if let mac, let oui = mac.knownOUI, finding.severity >= .warning {
                    Issue.record("\(file.url.lastPathComponent):\(finding.line) [\(finding.ruleID)] warns on \(mac) (\(oui.displayName))")
                }
            }
        }
        #expect(checked > 100, "only \(checked) MAC-origin findings: the budget says little")
    }

    @Test("Device advice once per source device and host, not once per NIC")
    func oneAdvicePerDevice() {
        let deviceRules: Set<String> = ["vepa-needs-hairpin", "host-guest-unreachable", "mixed-modes"]
        var checked = 0
        for file in Self.linted {
            let devices = file.sourceDevices
            for rule in deviceRules {
                let count = file.findings.filter { $0.ruleID == rule }.count
                checked += count
                #expect(count <= max(devices.count, 1), "\(file.url.lastPathComponent): \(count) \(rule) findings for \(devices.count) devices")
            }
        }
        #expect(checked > 5)
    }

    @Test("A rule about QEMU's NIC models never fires on LXC, Xen or test-driver domains")
    func qemuRulesStayOnQEMU() {
        let qemuRules: Set<String> = ["model-missing", "model-unknown", "virtio-option-without-virtio", "hotplug-refused", "address-type-unsupported", "vhostuser-shared-memory"]
        var otherDomains = 0
        for file in Self.linted where file.domainType != nil && !file.isQEMU {
            otherDomains += 1
            for finding in file.findings where qemuRules.contains(finding.ruleID) {
                Issue.record("\(file.url.lastPathComponent):\(finding.line) [\(finding.ruleID)] on a type='\(file.domainType!)' domain")
            }
        }
        #expect(otherDomains > 100, "only \(otherDomains) non-QEMU domains")
    }

    @Test("A schema error points at the element at fault, and no unrelated finding hides it")
    func schemaErrorsAreNotHidden() throws {
        let schemaOnly = try Linter(configuration: LintConfiguration(disable: RuleRegistry.all.map(\.id).filter { $0 != "libvirt-schema" }))
        var located = 0
        for file in Self.linted {
            let alone = try schemaOnly.lint([.file(file.url.path)]).findings
            let document = alone.isEmpty ? nil : file.document()
            for finding in alone {
                // On <domain> only what is wrong with the domain itself (a child it lacks); never on <devices>.
                if finding.message.hasPrefix("domain.rng: <devices>:"), !finding.message.contains("extra content: text") {
                    Issue.record("\(file.url.lastPathComponent):\(finding.line) schema error on <devices>: \(finding.message)")
                }
                located += 1
                if file.findings.contains(where: { $0.ruleID == finding.ruleID && $0.line == finding.line && $0.message == finding.message }) { continue }
                // Dropped only where a define refusal sits on the same element (the finding says more).
                let element = document?.xml.root?.selfAndDescendants.first { $0.position.line == finding.line }
                let span = finding.line...(element?.endPosition.line ?? finding.line)
                if !file.findings.contains(where: { $0.enforcement == .define && span.contains($0.line) }) {
                    Issue.record("\(file.url.lastPathComponent):\(finding.line) schema error hidden by an unrelated finding: \(finding.message)")
                }
            }
        }
        #expect(located > 100)
    }

    @Test("A live dump is summarised once per file, not a warning per NIC")
    func liveDumpsOncePerFile() {
        var dumps = 0
        for file in Self.linted where file.isLiveDump {
            dumps += 1
            #expect(file.findings.filter { $0.ruleID == "live-dump" }.count <= 1, "\(file.url.lastPathComponent)")
            for finding in file.findings where ["alias-not-user", "target-dev-invalid"].contains(finding.ruleID) {
                Issue.record("\(file.url.lastPathComponent):\(finding.line) [\(finding.ruleID)] per NIC on a live dump")
            }
        }
        #expect(dumps > 0, "no live dump in the corpus")
    }
}
