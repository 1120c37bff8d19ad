import Foundation
import MacvtapKit
import MacvtapTestSupport
import MacvtapXML
import Testing

@Suite("lint reporters")
struct ReporterTests {
    static let report: LintReport = {
        let linter = try! Linter(configuration: LintConfiguration())
        let directory = Fixtures.examplesDirectory.appendingPathComponent("lint/bad").path
        return try! linter.lint(try! LintInputs.expand([directory]))
    }()

    @Test func textIsGCCStyle() throws {
        let text = TextReporter.render(Self.report, colored: false)
        let first = try #require(text.split(separator: "\n").first)
        #expect(first.wholeMatch(of: /.+\.xml:\d+:\d+: (error|warning|info): .+ \[[a-z0-9-]+\]/) != nil, "\(first)")
        #expect(text.hasSuffix(Self.report.summaryLine + "\n"))
        #expect(!text.contains("\u{1B}["))
        #expect(TextReporter.render(Self.report, colored: true).contains("\u{1B}[1;31merror\u{1B}[0m"))
    }

    @Test func jsonRoundTripsTheFindings() throws {
        struct Document: Decodable {
            var findings: [Finding]
            var files: Int
        }
        let data = Data(JSONReporter.render(Self.report, rules: RuleRegistry.all).utf8)
        let decoded = try JSONDecoder().decode(Document.self, from: data)
        #expect(decoded.findings == Self.report.findings)
        #expect(decoded.files == 2)
    }

    @Test func githubAnnotationsAreEscaped() {
        let finding = Finding(
            ruleID: "r", severity: .warning, file: "a,b:c.xml", position: SourcePosition(line: 3, column: 4),
            message: "50% done\nnext", fix: nil, domain: nil)
        let report = LintReport(findings: [finding], filesChecked: 1, readErrors: [], failLevel: .error)
        #expect(GitHubReporter.render(report, rules: []) == "::warning file=a%2Cb%3Ac.xml,line=3,col=4,title=r::50%25 done%0Anext\n")
    }

    @Test func junitIsWellFormedAndCountsFailures() throws {
        let xml = JUnitReporter.render(Self.report, rules: RuleRegistry.all)
        let document = try XMLDocument(bytes: Array(xml.utf8), fileName: "junit.xml")
        let suite = try #require(document.root?.firstChild(named: "testsuite"))
        let failures = suite.children.flatMap { $0.children(named: "failure") }
        #expect(suite.attribute("failures") == "\(failures.count)")
        #expect(failures.count == Self.report.findings.filter { $0.severity >= .error }.count)
        #expect(failures.allSatisfy { RuleRegistry.description(forID: $0.attribute("type") ?? "") != nil })
    }

    @Test func sarifHasRulesFingerprintsAndValidates() throws {
        let sarif = SARIFReporter.render(Self.report, rules: RuleRegistry.all)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(sarif.utf8)) as? [String: Any])
        let run = try #require((object["runs"] as? [[String: Any]])?.first)
        let driver = try #require((run["tool"] as? [String: Any])?["driver"] as? [String: Any])
        #expect((driver["rules"] as? [Any])?.count == RuleRegistry.all.count)
        let results = try #require(run["results"] as? [[String: Any]])
        #expect(results.count == Self.report.findings.count)
        #expect(results.allSatisfy { ($0["partialFingerprints"] as? [String: String])?.isEmpty == false })
        // Stable: the same report gives the same fingerprints.
        #expect(sarif == SARIFReporter.render(Self.report, rules: RuleRegistry.all))
        try Self.validate(json: sarif, schema: Fixtures.fixturesDirectory.appendingPathComponent("sarif-2.1.0-subset.schema.json"))
    }

    @Test("A finding's identity ignores the lines it quotes, not what it is about")
    func identityIgnoresLineNumbers() {
        let a = Finding(
            ruleID: "mac-duplicate-across-domains", severity: .error, file: "f", position: SourcePosition(line: 3, column: 1),
            message: "MAC 52:54:00:00:00:01 is also used by domain 'vm1' (hosts/vm1.xml:12)", fix: nil, domain: "vm2")
        var moved = a
        moved.line = 9
        moved.message = "MAC 52:54:00:00:00:01 is also used by domain 'vm1' (hosts/vm1.xml:15)"
        #expect(a.identity == moved.identity)
        var other = a
        other.message = "MAC 52:54:00:00:00:02 is also used by domain 'vm1' (hosts/vm1.xml:12)"
        #expect(a.identity != other.identity, "two MACs are two problems")
        var otherDomain = a
        otherDomain.domain = "vm3"
        #expect(a.identity != otherDomain.identity)
    }

    @Test func fingerprintsIgnoreLineMoves() throws {
        let a = Finding(ruleID: "r", severity: .error, file: "f", position: SourcePosition(line: 3, column: 1), message: "also used at line 12", fix: nil, domain: "d")
        var b = a
        b.line = 40
        b.message = "also used at line 57"
        let render = { (finding: Finding) in
            SARIFReporter.render(LintReport(findings: [finding], filesChecked: 1, readErrors: [], failLevel: .error), rules: [])
        }
        func fingerprint(_ sarif: String) throws -> String {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(sarif.utf8)) as? [String: Any])
            let result = try #require(((object["runs"] as? [[String: Any]])?.first?["results"] as? [[String: Any]])?.first)
            return try #require((result["partialFingerprints"] as? [String: String])?["virtMacvtapFinding/v1"])
        }
        let first = try fingerprint(render(a))
        #expect(!first.isEmpty)
        #expect(first == (try fingerprint(render(b))))
        // And it is a fingerprint of something: another rule gives another one.
        var c = a
        c.ruleID = "other"
        #expect(first != (try fingerprint(render(c))))
    }

    /// Python's jsonschema (installed by scripts/setup), with format checks on.
    static func validate(json: String, schema: URL) throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("sarif-\(UUID().uuidString).json")
        try Data(json.utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "python3", "-c",
            "import json,sys,jsonschema; jsonschema.validate(json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), format_checker=jsonschema.FormatChecker())",
            file.path, schema.path,
        ]
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        // Read before waiting: jsonschema's message quotes the whole instance, more than a pipe holds.
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "SARIF does not validate: \(message.prefix(2_000))")
    }
}
