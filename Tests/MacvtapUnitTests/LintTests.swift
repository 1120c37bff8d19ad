import Foundation
import MacvtapKit
import MacvtapTestSupport
import Testing

@Suite("lint: engine behaviour", .serialized)
struct LintTests {
    static func lint(_ documents: [String: String], configuration: LintConfiguration = LintConfiguration(), hosts: [HostInventory] = []) throws -> LintReport {
        let linter = try Linter(configuration: configuration)
        let sources = documents.sorted { $0.key < $1.key }.map { DocumentSource.memory(Array($0.value.utf8), name: $0.key) }
        return try linter.lint(sources, hosts: hosts)
    }

    static let vm1 = """
        <domain type='kvm'>
          <name>vm1</name>
          <uuid>aaaaaaaa-0000-0000-0000-000000000001</uuid>
          <memory unit='MiB'>512</memory>
          <os><type arch='x86_64' machine='pc'>hvm</type></os>
          <devices>
            <interface type='direct'>
              <mac address='52:54:00:aa:00:01'/>
              <source dev='eth0' mode='bridge'/>
              <model type='virtio'/>
            </interface>
          </devices>
        </domain>
        """

    @Test func findingsCarryRulePositionSeverityAndFix() throws {
        let report = try Self.lint(["bad.xml": Self.vm1.replacingOccurrences(of: "mode='bridge'", with: "mode='Bridge'")])
        let finding = try #require(report.findings.first { $0.ruleID == "source-mode-invalid" })
        #expect(finding.file == "bad.xml")
        #expect(finding.line == 9 && finding.column == 26)
        #expect(finding.severity == .error)
        #expect(finding.message.contains("Invalid value for attribute 'mode' in element 'source': 'Bridge'"))
        #expect(finding.message.contains("[libvirt rejects this at define]"))
        #expect(finding.fix == "write mode='bridge'")
        #expect(finding.domain == "vm1")
        #expect(report.outcome == .findings)
    }

    @Test func exitStatusFollowsTheFailLevel() throws {
        let clean = try Self.lint(["vm1.xml": Self.vm1])
        #expect(clean.outcome == .clean)
        let warning = Self.vm1.replacingOccurrences(of: "<model type='virtio'/>", with: "")
        #expect(try Self.lint(["w.xml": warning]).outcome == .clean)
        #expect(try Self.lint(["w.xml": warning], configuration: LintConfiguration(failLevel: .warning)).outcome == .findings)
        #expect(try Self.lint(["vm1.xml": Self.vm1], configuration: LintConfiguration(failLevel: .info)).outcome == .findings)
    }

    @Test func duplicateMACsAcrossFilesButNotTheSameDomainTwice() throws {
        let vm2 = Self.vm1.replacingOccurrences(of: "<name>vm1</name>", with: "<name>vm2</name>")
            .replacingOccurrences(of: "000000000001", with: "000000000002")
        let report = try Self.lint(["a.xml": Self.vm1, "b.xml": vm2])
        let duplicates = report.findings.filter { $0.ruleID == "mac-duplicate-across-domains" }
        #expect(duplicates.count == 1)
        #expect(duplicates.first?.file == "b.xml")
        #expect(duplicates.first?.message.contains("domain 'vm1' (a.xml:7)") == true)
        // The same domain (same UUID) in two files, e.g. its live and inactive XML, is no conflict.
        let again = try Self.lint(["a.xml": Self.vm1, "a-live.xml": Self.vm1])
        #expect(!again.findings.contains { $0.ruleID == "mac-duplicate-across-domains" })
    }

    @Test func disableAndSeverityOverrides() throws {
        let noModel = Self.vm1.replacingOccurrences(of: "<model type='virtio'/>", with: "")
        let disabled = try Self.lint(["x.xml": noModel], configuration: LintConfiguration(disable: ["model-missing"]))
        #expect(!disabled.findings.contains { $0.ruleID == "model-missing" })
        let raised = try Self.lint(["x.xml": noModel], configuration: LintConfiguration(severity: ["model-missing": .error]))
        #expect(raised.findings.first { $0.ruleID == "model-missing" }?.severity == .error)
        #expect(raised.outcome == .findings)
        let reenabled = LintConfiguration(disable: ["model-missing"]).merged(with: LintConfiguration(enable: ["model-missing"]))
        #expect(reenabled.isEnabled("model-missing"))
    }

    @Test func inlineSuppressionCoversTheElementOnly() throws {
        let document = """
            <domain type='kvm'>
              <name>s</name>
              <memory unit='MiB'>512</memory>
              <os><type arch='x86_64' machine='pc'>hvm</type></os>
              <devices>
                <!-- virt-macvtap: disable model-missing mac-not-locally-administered -->
                <interface type='direct'>
                  <mac address='00:11:22:33:44:55'/>
                  <source dev='eth0' mode='bridge'/>
                </interface>
                <interface type='direct'>
                  <mac address='00:11:22:33:44:56'/>
                  <source dev='eth0' mode='bridge'/>
                </interface>
              </devices>
            </domain>
            """
        let report = try Self.lint(["s.xml": document])
        #expect(report.findings.filter { $0.ruleID == "model-missing" }.map(\.line) == [11])
        #expect(report.findings.filter { $0.ruleID == "mac-not-locally-administered" }.map(\.line) == [12])
        let fileWide = "<!-- virt-macvtap: disable-file all -->\n" + document
        #expect(try Self.lint(["s.xml": fileWide]).findings.isEmpty)
    }

    @Test func malformedAndForeignDocuments() throws {
        let report = try Self.lint(["broken.xml": "<domain>\n  <name>x</nam>\n</domain>", "pool.xml": "<pool type='dir'><name>n</name></pool>"])
        let malformed = try #require(report.findings.first { $0.ruleID == "xml-malformed" })
        #expect(malformed.file == "broken.xml" && malformed.line == 2)
        #expect(report.findings.contains { $0.ruleID == "not-a-domain" && $0.severity == .info })
        #expect(report.outcome == .findings)
    }

    @Test func deviceXMLIsLinted() throws {
        let report = try Self.lint(["nic.xml": "<interface type='direct'><mac address='01:00:5e:00:00:01'/><source dev='eth0' mode='bridge'/><model type='virtio'/></interface>"])
        #expect(report.findings.map(\.ruleID).contains("mac-multicast"))
        #expect(!report.findings.contains { $0.ruleID == "libvirt-schema" })
    }

    @Test func unreadableFilesAreIOErrors() throws {
        let linter = try Linter(configuration: LintConfiguration())
        let report = try linter.lint([.file("/nonexistent/vm.xml")])
        #expect(report.readErrors.count == 1)
        #expect(report.outcome == .unreadableInput)
    }

    @Test func schemaLayerReportsWhatRulesDoNotCover() throws {
        let document = Self.vm1.replacingOccurrences(of: "<memory unit='MiB'>512</memory>", with: "<memory unit='MiB'>lots</memory>")
        let report = try Self.lint(["m.xml": document])
        let schema = try #require(report.findings.first { $0.ruleID == "libvirt-schema" })
        #expect(schema.message.hasPrefix("domain.rng: <memory>"))
        #expect(schema.line == 4)
    }

    @Test func configFileIsDiscoveredAndValidated() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cfg-\(UUID().uuidString)")
        let nested = directory.appendingPathComponent("domains/prod")
        try FileManager.default.createDirectory(at: nested, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: directory.appendingPathComponent(".git"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent(LintConfiguration.fileName).path
        try Data(#"{"disable": ["vepa-needs-hairpin"], "failLevel": "warning"}"#.utf8).write(to: URL(fileURLWithPath: path))
        #expect(LintConfiguration.discover(from: nested.path) == path)
        let loaded = try #require(try LintConfiguration.load(path: path))
        #expect(loaded.disable == ["vepa-needs-hairpin"] && loaded.failLevel == .warning)
        try Data(#"{"disable": ["no-such-rule"]}"#.utf8).write(to: URL(fileURLWithPath: path))
        #expect(throws: LintConfigurationError.self) { try LintConfiguration.load(path: path) }
    }

    @Test func directoriesAreSearchedRecursively() throws {
        let sources = try LintInputs.expand([Fixtures.examplesDirectory.path + "/lint"])
        #expect(sources.count == 4)
        #expect(sources.allSatisfy { $0.displayName.hasSuffix(".xml") })
    }

    @Test func rulesDocumentationIsUpToDate() throws {
        let committed = try String(contentsOf: Fixtures.packageRoot.appendingPathComponent("docs/rules.md"), encoding: .utf8)
        #expect(committed == RulesDocumentation.markdown(), "docs/rules.md is stale: run make docs")
    }
}

@Suite("lint: live hosts through libvirt's test driver")
struct LiveHostLintTests {
    static var hostURI: String { "test://" + Fixtures.fixturesDirectory.appendingPathComponent("test-host.xml").path }

    @Test func inventoryReadsDomainsAndHostInterfaces() throws {
        let inventory = try HostInventory.scan(uri: Self.hostURI)
        #expect(inventory.domains.contains { $0.domainName == "running-vm" })
        #expect(Set(inventory.hostInterfaces.map(\.name)).isSuperset(of: ["eth0", "enp3s0f0v1"]))
        #expect(inventory.hostInterfaces.first { $0.name == "eth0" }?.mac == MACAddress("52:54:00:ee:ee:01"))
    }

    @Test func macsDevicesAndPassthroughAreCheckedAgainstTheHost() throws {
        let inventory = try HostInventory.scan(uris: [Self.hostURI, "test:///default"])
        let document = """
            <domain type='kvm'>
              <name>newcomer</name>
              <memory unit='MiB'>512</memory>
              <os><type arch='x86_64' machine='pc'>hvm</type></os>
              <devices>
                <interface type='direct'>
                  <mac address='52:54:00:aa:00:01'/>
                  <source dev='enp3s0f0v1' mode='bridge'/>
                  <model type='virtio'/>
                </interface>
                <interface type='direct'>
                  <mac address='52:54:00:ee:ee:01'/>
                  <source dev='eth9' mode='bridge'/>
                  <model type='virtio'/>
                </interface>
              </devices>
            </domain>
            """
        let report = try LintTests.lint(["new.xml": document], hosts: [inventory[0]])
        let live = report.findings.filter { $0.ruleID == "mac-in-use-on-host" || $0.ruleID == "source-dev-on-host" }
        #expect(live.contains { $0.message.contains("used by domain 'running-vm'") && $0.line == 7 })
        #expect(live.contains { $0.message.contains("host interface 'eth0'") && $0.line == 12 })
        #expect(live.contains { $0.message.contains("'eth9' does not exist") })
        #expect(live.contains { $0.message.contains("held by a passthrough interface of domain 'running-vm'") })
        // The host's own copy of a domain is not a conflict with the file describing it.
        let own = try LintTests.lint(["own.xml": document.replacingOccurrences(of: "newcomer", with: "running-vm")], hosts: [inventory[0]])
        #expect(!own.findings.contains { $0.message.contains("used by domain 'running-vm'") })
    }

    @Test func aWrongURIIsATypedError() {
        do {
            _ = try HostInventory.scan(uri: "test:///nonexistent/host.xml")
            Issue.record("scanning a test driver file that does not exist succeeded")
        } catch {
            // Typed: libvirt's own error number and message, naming what was wrong.
            #expect(error.code != 0, "\(error)")
            #expect(error.message.contains("/nonexistent/host.xml"), "\(error.message)")
        }
    }
}
