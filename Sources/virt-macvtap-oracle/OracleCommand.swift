import ArgumentParser
import FoundationEssentials
import MacvtapKit
import MacvtapLibvirt
import MacvtapSystem

/// The differential harness: every oracle case through a real libvirtd and through lint, the
/// two compared, docs/LIBVIRT-PARITY.md written. scripts/oracle runs it against the sandbox.
@main
struct OracleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "virt-macvtap-oracle",
        abstract: "Check every lint claim against a real libvirt (the sandbox's libvirtd).",
        discussion: """
            Example:
              scripts/sandbox up
              virt-macvtap-oracle --corpus .corpus/libvirt/tests --markdown docs/LIBVIRT-PARITY.md
            Exits 1 when a judged claim disagrees with libvirt, 3 when libvirt cannot be reached.
            """)

    @Option(name: .customLong("uri"), help: "The libvirt daemon to ask; it defines, starts and destroys oracle-* domains.")
    var uri = "qemu:///system"

    @Option(help: "libvirt's tests directory (scripts/fetch-libvirt-corpus), for the transplanted interfaces.")
    var corpus: String?

    @Flag(help: "Only the subset make test runs (rule examples, grammar points in bridge mode, direct corpus interfaces).")
    var subset = false

    @Option(help: "Cases run side by side.")
    var jobs = 4

    @Option(help: "Write the parity document here.")
    var markdown: String?

    @Option(help: "Reuse libvirt's verdicts saved here by an earlier run (cases not in it are asked), and save them here.")
    var verdicts: String?

    @Flag(help: "Print every judgement, not only the disagreements.")
    var verbose = false

    @Flag(help: "Print the case ids and exit.")
    var list = false

    mutating func run() throws {
        var cases = OracleCases.all(corpusDirectory: corpus)
        if subset { cases = OracleCases.subset(of: cases) }
        if list {
            for testCase in cases { print(testCase.id) }
            return
        }
        let progress = StandardStream.error.isTerminal
        do {
            // The linter first, its schemas compiled before libvirt is asked: a schema that does
            // not compile fails at once, by name.
            let linter = try Linter(configuration: LintConfiguration())
            Linter.waitForSchemaCompilations()
            let hosts = [try HostInventory.scan(uri: uri)]
            var saved: [String: LibvirtVerdict] = [:]
            if let path = self.verdicts, FileIO.exists(atPath: path) {
                saved = try JSONDecoder().decode([String: LibvirtVerdict].self, from: Data(try FileIO.readFile(atPath: path)))
            }
            let toAsk = cases.filter { saved[$0.id] == nil }
            let answers = try LibvirtOracle(uri: uri).run(toAsk, jobs: jobs) { done, total in
                if progress, done % 10 == 0 || done == total { StandardStream.error.write("\roracle: \(done)/\(total)") }
            }
            if progress, !toAsk.isEmpty { StandardStream.error.write("\n") }
            for (testCase, answer) in zip(toAsk, answers) { saved[testCase.id] = answer }
            if let path = self.verdicts {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                try FileIO.replaceAtomically(atPath: path, with: Array(try encoder.encode(saved)), creating: true)
            }
            let verdicts = cases.map { saved[$0.id]! }
            let report = try ParityReport.build(
                cases: cases, verdicts: verdicts, linter: linter, hosts: hosts, libvirtVersion: LibvirtLibrary.version,
                setName: subset ? "subset" : "full")
            let text = report.markdown()
            if let markdown {
                try FileIO.replaceAtomically(atPath: markdown, with: Array(text.utf8), creating: true)
            }
            let judged = report.judgements.count { $0.outcome != .notJudged }
            let disagreements = report.disagreements
            for item in verbose ? report.judgements : disagreements {
                print("\(item.outcome == .disagrees ? "disagree" : item.outcome.rawValue): \(item.caseID) \(item.ruleID ?? "(no finding)") [\(item.claim?.rawValue ?? "")]: \(item.explanation)")
            }
            print("oracle: \(cases.count) cases, \(judged) claims judged, \(judged - disagreements.count) agree, \(disagreements.count) disagree")
            if !disagreements.isEmpty { throw ExitCode(1) }
        } catch let error as LibvirtError {
            StandardStream.error.write("virt-macvtap-oracle: \(error.description)\n")
            throw ExitCode(3)
        }
    }
}
