import Foundation
import MacvtapKit
import MacvtapOracle
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

    typealias LintedFile = RealWorldCorpus.LintedFile

    /// Every file linted on its own.
    static let linted: [LintedFile] = {
        guard let directory = TestGate.worldCorpus.value else { return [] }
        return (try? RealWorldCorpus.lint(directory: directory)) ?? []
    }()

    /// The corpus's figures, printed for the closing note; the same section is in docs/LIBVIRT-PARITY.md.
    @Test("Corpus figures (files per project, findings per rule and severity); every claim against libvirt is true; docs/LIBVIRT-PARITY.md has the figures")
    func claimsAgainstLibvirt() throws {
        let files = Self.linted
        #expect(files.count > 3000, "only \(files.count) files")
        #expect(Set(files.map(\.project)) == ["libguestfs-1.54", "libvirt-11.3", "nova-31", "virt-manager-5.0"])
        let cache = FileManager.default.temporaryDirectory.appendingPathComponent("virt-macvtap-world-embed").path
        let layer = try LibvirtDefineLayer(cacheDirectory: cache, scratchParents: ["/dev/shm", "/tmp"])
        defer { layer.finish() }
        let claims = RealWorldCorpus.judgeClaims(files, layer: layer)
        let section = RealWorldCorpus.markdown(files: files, claims: claims)
        print(section)
        #expect(claims.judgedFiles > 500)
        #expect(claims.defineClaims > 10 && claims.dropClaims > 3 && claims.interfaceRefusals > 5, "too few claims to say much")
        #expect(claims.wrong.isEmpty, "\(claims.wrong.count) wrong:\n\(claims.wrong.prefix(25).joined(separator: "\n"))")
        let parity = try String(contentsOf: Fixtures.packageRoot.appendingPathComponent("docs/LIBVIRT-PARITY.md"), encoding: .utf8)
        #expect(parity.contains(section), "docs/LIBVIRT-PARITY.md's real-world section is stale: run scripts/oracle")
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
                    Issue.record("\(file.path):\(finding.line) [\(finding.ruleID)] warns on \(mac) (\(oui.displayName))")
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
                #expect(count <= max(devices.count, 1), "\(file.path): \(count) \(rule) findings for \(devices.count) devices")
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
                Issue.record("\(file.path):\(finding.line) [\(finding.ruleID)] on a type='\(file.domainType!)' domain")
            }
        }
        #expect(otherDomains > 100, "only \(otherDomains) non-QEMU domains")
    }

    @Test("A schema error points at the element at fault, and no unrelated finding hides it")
    func schemaErrorsAreNotHidden() throws {
        let schemaOnly = try Linter(configuration: LintConfiguration(disable: RuleRegistry.all.map(\.id).filter { $0 != "libvirt-schema" }))
        var located = 0
        for file in Self.linted {
            let alone = try schemaOnly.lint([.file(file.path)]).findings
            let document = alone.isEmpty ? nil : file.document()
            for finding in alone {
                // On <domain> only what is wrong with the domain itself (a child it lacks); never on <devices>.
                if finding.message.hasPrefix("domain.rng: <devices>:"), !finding.message.contains("extra content: text") {
                    Issue.record("\(file.path):\(finding.line) schema error on <devices>: \(finding.message)")
                }
                located += 1
                if file.findings.contains(where: { $0.ruleID == finding.ruleID && $0.line == finding.line && $0.message == finding.message }) { continue }
                // Dropped only where a define refusal sits on the same element (the finding says more).
                let element = document?.xml.root?.selfAndDescendants.first { $0.position.line == finding.line }
                let span = finding.line...(element?.endPosition.line ?? finding.line)
                if !file.findings.contains(where: { $0.enforcement == .define && span.contains($0.line) }) {
                    Issue.record("\(file.path):\(finding.line) schema error hidden by an unrelated finding: \(finding.message)")
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
            #expect(file.findings.filter { $0.ruleID == "live-dump" }.count <= 1, "\(file.path)")
            for finding in file.findings where ["alias-not-user", "target-dev-invalid"].contains(finding.ruleID) {
                Issue.record("\(file.path):\(finding.line) [\(finding.ruleID)] per NIC on a live dump")
            }
        }
        #expect(dumps > 0, "no live dump in the corpus")
    }
}
