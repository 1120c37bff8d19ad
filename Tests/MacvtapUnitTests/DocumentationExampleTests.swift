import MacvtapKit
import MacvtapTestSupport
import Testing

/// The code in the DocC articles, compiled (and the lint one run), so that the articles cannot
/// drift from the API.
@Suite("Documentation examples")
struct DocumentationExampleTests {
    @Test("LintingADirectory.md: lint a directory, print the errors, render SARIF")
    func lintingADirectory() throws {
        let linter = try Linter(configuration: LintConfiguration(disable: ["vepa-needs-hairpin"]))
        let sources = try LintInputs.expand([Fixtures.examplesDirectory.appendingPathComponent("lint/bad").path])
        let report = try linter.lint(sources)
        var lines: [String] = []
        for finding in report.findings where finding.severity == .error {
            lines.append("\(finding.file):\(finding.line): \(finding.message) [\(finding.ruleID)]")
        }
        #expect(!lines.isEmpty)
        #expect(SARIFReporter.render(report, rules: RuleRegistry.all).contains("\"version\" : \"2.1.0\""))
    }

    /// AttachingANIC.md, compiled; running it needs a libvirt host (the live suite does the same).
    static func attachingANIC() throws {
        let session = try LiveSession(uri: "qemu:///system", readOnly: false)
        let request = AttachRequest(
            domain: "vm1",
            interfaces: [DirectInterfaceSpec(sourceDevice: "eth0", mode: .bridge)],
            copies: .live)
        let renderer = InterfaceRenderer(schema: try SchemaLocator.loadInterfaceSchema())
        let plan = try session.planAttach(
            request, renderer: renderer, linter: Linter(rulesOnly: Linter.attachConfiguration))
        guard plan.refusals.isEmpty else {
            for note in plan.refusals { print("refused: \(note)") }
            return
        }
        let report = try session.attach(plan)
        for entry in report.entries {
            print("\(entry.requested.mac): \(entry.state)")
        }
    }
}
