import Foundation
import MacvtapKit
import MacvtapLibvirt
import MacvtapOracle
import MacvtapTestSupport
import Testing

/// libvirt is the judge: every oracle case through the sandbox's real libvirtd and through
/// lint, claim by claim (`scripts/oracle` runs the same from the command line). `make test` runs
/// this suite on its own, after the live suites, because it defines, starts and hot-plugs on the
/// same eth0/eth1 they use.
@Suite("Oracle: lint's claims against a real libvirt", .serialized, .enabled(if: Sandbox.isConfigured))
struct OracleTests {
    static let parityDocument = Fixtures.packageRoot.appendingPathComponent("docs/LIBVIRT-PARITY.md")

    static func cases() throws -> [OracleCase] {
        let corpus = try #require(Fixtures.corpusDirectory, "VIRT_MACVTAP_CORPUS is not set")
        return OracleCases.full(corpusDirectory: corpus.appendingPathComponent("tests").path)
    }

    /// The ids scripts/oracle chose to cover the full run (Tests/Fixtures/oracle-subset.txt).
    static func subsetIDs() throws -> Set<String> {
        let text = try String(contentsOf: Fixtures.packageRoot.appendingPathComponent(OracleCases.subsetFile), encoding: .utf8)
        return OracleCases.subsetIDs(fromFileText: text)
    }

    @Test("At least 5,000 distinct cases in a full run, stable ids, every rule with an example among them; the subset names only real cases")
    func caseSet() throws {
        let cases = try Self.cases()
        #expect(cases.count >= 5000, "only \(cases.count) cases")
        #expect(Set(cases.map(\.id)).count == cases.count, "case ids collide")
        #expect(Set(cases.map(\.documents)).count == cases.count, "duplicate cases")
        #expect(try Self.cases().map(\.id) == cases.map(\.id), "case ids are not deterministic")
        #expect(cases.count { if case .generated = $0.origin { true } else { false } } >= 3000, "too few generated cases")
        // Every rule example is a case (under the first rule that has it, where two share one).
        let documents = Set(cases.map(\.documents))
        for example in OracleCases.ruleExamples() {
            #expect(documents.contains(example.documents), "\(example.id) is not among the cases")
        }
        let listed = try Self.subsetIDs()
        let missing = listed.subtracting(cases.map(\.id))
        #expect(missing.isEmpty, "Tests/Fixtures/oracle-subset.txt names cases that no longer exist (run scripts/oracle): \(missing.sorted().prefix(5))")
        #expect(listed.count > 100)
    }

    @Test("Every element libvirt's grammar allows in an interface has a grammar point")
    func grammarCoverage() throws {
        let schema = try String(contentsOfFile: "/usr/share/libvirt/schemas/domaincommon.rng", encoding: .utf8)
        let covered = Set(OracleGrammar.points.flatMap(\.elements))
        // The direct group and interface-options: the element names between their definitions.
        guard let start = schema.range(of: "<define name=\"interface-options\">"),
            let end = schema.range(of: "</define>", range: start.upperBound..<schema.endIndex)
        else {
            Issue.record("interface-options not found in domaincommon.rng")
            return
        }
        let block = schema[start.upperBound..<end.lowerBound]
        let names = Set(block.matches(of: /<element name="([a-zA-Z]+)">/).map { String($0.output.1) })
        #expect(!names.isEmpty)
        let missing = names.subtracting(covered)
        #expect(missing.isEmpty, "grammar elements without an oracle point: \(missing.sorted())")
    }

    @Test("The subset: every judged claim agrees with libvirt 9.0 and 11.3, every refusal has an error; docs/LIBVIRT-PARITY.md lists every rule and message it sees")
    func parity() throws {
        let cases = OracleCases.subset(of: try Self.cases(), listed: try Self.subsetIDs())
        var reports: [ParityReport] = []
        // One host after the other: macvtaps of both namespaces share the global /dev/tapN names.
        for host in OracleHost.sandbox {
            var verdicts: [String: LibvirtVerdict] = [:]
            let report = try OracleRun.run(
                cases, on: host, checkout: Fixtures.packageRoot.path, jobs: 4, setName: "subset", saved: &verdicts)
            let problems = report.results.filter { !$0.verdict.harnessProblems.isEmpty }
            #expect(problems.isEmpty, "libvirt \(report.libvirtVersion): harness problems: \(problems.prefix(5).map { "\($0.testCase.id): \($0.verdict.harnessProblems)" })")
            let judged = report.judgements.filter { $0.outcome != .notJudged }
            #expect(judged.count > 300, "libvirt \(report.libvirtVersion): only \(judged.count) claims could be judged")
            for disagreement in report.disagreements {
                Issue.record("libvirt \(report.libvirtVersion): \(disagreement.caseID) \(disagreement.ruleID ?? "(no finding)") [\(disagreement.claim?.rawValue ?? "")]: \(disagreement.explanation)")
            }
            reports.append(report)
        }
        #expect(reports.map(\.libvirtVersion).map { $0.prefix(4) } == ["9.0.", "11.3"], "the sandbox's hosts are not libvirt 9.0 and 11.3: \(reports.map(\.libvirtVersion))")
        print("oracle subset: \(cases.count) cases on each of libvirt \(reports.map(\.libvirtVersion).joined(separator: " and "))")
        let committed = try String(contentsOf: Self.parityDocument, encoding: .utf8)
        let stale = ParityReport.staleness(of: committed, checkedBy: reports)
        #expect(stale.isEmpty, "docs/LIBVIRT-PARITY.md is stale (run scripts/oracle): \(stale.prefix(10))")
    }
}

/// `lint --libvirt` (libvirt's embedded QEMU driver, in-process) held against the sandbox's
/// libvirtd on every x86 QEMU domain of libvirt's test corpus.
extension OracleTests {
    @Test("lint --libvirt refuses exactly what the daemon refuses, on libvirt's own test domains, with a position")
    func libvirtLayerAgreesWithTheDaemon() throws {
        let corpus = try #require(Fixtures.corpusDirectory).appendingPathComponent("tests/qemuxml2argvdata")
        let files = Fixtures.xmlFiles(under: corpus).filter { url in
            guard let text = try? String(contentsOf: url, encoding: .utf8) else { return false }
            return text.contains("<domain type='qemu'") || text.contains("<domain type='kvm'")
        }
        #expect(files.count > 500)
        // The daemon's connection first: once libvirt's embedded QEMU driver is loaded, a process
        // opens no new connection to a daemon (libvirt 9.0: "no connection driver available").
        let connection = try LibvirtConnection(uri: "qemu:///system", readOnly: false)
        let oracle = LibvirtOracle(uri: "qemu:///system")
        let cache = FileManager.default.temporaryDirectory.appendingPathComponent("virt-macvtap-oracle-embed").path
        let layer = try LibvirtDefineLayer(cacheDirectory: cache, scratchParents: ["/dev/shm", "/tmp"])
        defer { layer.finish() }
        let linter = try Linter(configuration: LintConfiguration(), libvirt: layer)
        let report = try linter.lint(files.map { DocumentSource.file($0.path) })
        let byFile = Dictionary(grouping: report.findings, by: \.file)
        var refused = 0
        var mismatches: [String] = []
        for (index, url) in files.enumerated() {
            let text = try String(contentsOf: url, encoding: .utf8)
            let daemon = oracle.defineRefusal(of: text, number: index, on: connection)
            // An emulator this host lacks (aarch64, ppc64, …) is a fact about the host.
            if let daemon, LibvirtDefineLayer.lacksEmulator(daemon) { continue }
            let findings = byFile[url.path] ?? []
            let ours = findings.first { $0.ruleID == "libvirt-define" }
            let claimedAtDefine = findings.contains { $0.enforcement == .define && $0.severity == .error }
            if let daemon {
                refused += 1
                if !claimedAtDefine { mismatches.append("\(url.lastPathComponent): the daemon refuses (\(daemon)), lint says nothing at define") }
                if let ours, ours.line < 1 { mismatches.append("\(url.lastPathComponent): no position") }
            } else if claimedAtDefine {
                let claims = findings.filter { $0.enforcement == .define && $0.severity == .error }.map { "\($0.ruleID): \($0.message)" }
                mismatches.append("\(url.lastPathComponent): the daemon defines it, lint claims a define refusal: \(claims)")
            }
        }
        #expect(refused > 20, "only \(refused) refusals: the comparison says little")
        #expect(mismatches.isEmpty, "\(mismatches.count) mismatches:\n\(mismatches.prefix(30).joined(separator: "\n"))")
    }
}

extension OracleTests {
    @Test("lint --libvirt: libvirt's refusal is a libvirt-define error on the element it names; a note in every format when the layer cannot run or judge")
    func lintLibvirtCommandLine() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("virt-macvtap-lint-libvirt-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let bad = directory.appendingPathComponent("bad.xml")
        try """
        <domain type='kvm'>
          <name>bad1</name>
          <memory unit='MiB'>512</memory>
          <os><type arch='x86_64' machine='pc'>hvm</type></os>
          <devices>
            <disk type='file' device='disk'><source file='/x.img'/><target dev='vda' bus='virtio'/></disk>
            <disk type='file' device='disk'><source file='/y.img'/><target dev='vda' bus='virtio'/></disk>
            <interface type='direct'><mac address='52:54:00:00:00:01'/><source dev='eth0' mode='bridge'/><model type='virtio'/></interface>
          </devices>
        </domain>
        """.write(to: bad, atomically: true, encoding: .utf8)
        let good = Fixtures.examplesDirectory.appendingPathComponent("lint/good").path
        let cache = "export XDG_CACHE_HOME='\(directory.path)/cache';"

        let refused = try Tool.run(["lint", "--libvirt", bad.path], shellPrefix: cache)
        #expect(refused.status == 1, "\(refused.standardError)")
        #expect(refused.standardOutput.contains("bad.xml:7:"), "\(refused.standardOutput)")
        #expect(refused.standardOutput.contains("target 'vda' duplicated") && refused.standardOutput.contains("[libvirt-define]"))
        #expect(refused.standardError.isEmpty, "libvirt's own log lines must not reach stderr: \(refused.standardError)")

        let clean = try Tool.run(["lint", "--libvirt", good], shellPrefix: cache)
        #expect(!clean.standardOutput.contains("[libvirt-define]"), "\(clean.standardOutput)")

        let skipped = try Tool.run(["lint", "--libvirt", good], shellPrefix: "export XDG_CACHE_HOME=/proc/virt-macvtap-nowhere;")
        #expect(skipped.standardError.contains("note: the --libvirt layer was skipped"), "\(skipped.standardError)")
        #expect(skipped.status == clean.status)
        #expect(skipped.standardOutput.contains("the layer did not start") && skipped.standardOutput.contains("[libvirt-not-judged]"), "\(skipped.standardOutput)")

        // A domain for an architecture this host has no emulator for: a note in every format.
        let foreign = directory.appendingPathComponent("arm.xml")
        try """
        <domain type='qemu'>
          <name>arm1</name>
          <memory unit='MiB'>512</memory>
          <os><type arch='aarch64' machine='virt'>hvm</type></os>
          <devices>
            <interface type='direct'><mac address='52:54:00:00:00:01'/><source dev='eth0' mode='bridge'/><model type='virtio'/></interface>
          </devices>
        </domain>
        """.write(to: foreign, atomically: true, encoding: .utf8)
        var formats = 0
        for format in LintFormat.allCases.map(\.rawValue) {
            let run = try Tool.run(["lint", "--libvirt", "--format", format, foreign.path], shellPrefix: cache)
            #expect(run.standardOutput.contains("libvirt-not-judged"), "--format \(format): \(run.standardOutput)")
            #expect(run.standardOutput.contains("aarch64"), "--format \(format) does not say why: \(run.standardOutput)")
            formats += 1
        }
        #expect(formats == 5)
    }
}
