import ArgumentParser
import FoundationEssentials
import MacvtapKit
import MacvtapLibvirt
import MacvtapOracle
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
              virt-macvtap-oracle --corpus .corpus/libvirt/tests --subset   # what make test runs
            Exits 1 when a judged claim disagrees with libvirt, 3 when libvirt cannot be reached.
            """)

    @Option(name: .customLong("uri"), help: "A libvirt daemon to ask (repeatable; default: both sandbox hosts, libvirt 9.0 and 11.3); it defines, starts and destroys oracle-* domains.")
    var uris: [String] = OracleHost.sandbox.map(\.uri)

    @Option(help: "libvirt's tests directory (scripts/fetch-libvirt-corpus), for the transplanted interfaces.")
    var corpus: String?

    @Flag(help: "Only the subset make test runs: every rule example and the cases Tests/Fixtures/oracle-subset.txt lists.")
    var subset = false

    @Option(help: "After the run, write the ids of a covering subset (every libvirt message, rule and grammar point the run saw) here.")
    var writeSubset: String?

    @Option(help: "The seed of the generated cases (deterministic).")
    var seed: UInt64 = OracleCases.fullRunSeed

    @Option(help: "How many cases to generate from the grammar's value space besides the fixed ones (0: none).")
    var count = OracleCases.fullRunGeneratedCount

    @Option(help: "The real-world corpus (scripts/fetch-world-corpus), for its section of the parity document.")
    var worldCorpus: String?

    @Option(help: "Cases run side by side.")
    var jobs = 4

    @Option(help: "Write the parity document here.")
    var markdown: String?

    @Option(help: "Reuse libvirt's verdicts saved here by an earlier run (cases not in it are asked), and save them here.")
    var verdicts: String?

    @Flag(help: "Print every judgement, not only the disagreements.")
    var verbose = false

    @Flag(help: "Print the case ids (with --verbose, and their documents) and exit.")
    var list = false

    @Option(help: "Only the cases whose id contains this text (repeatable), to look at a few again.")
    var only: [String] = []

    mutating func run() throws {
        var cases = OracleCases.full(corpusDirectory: corpus, seed: seed, count: count)
        if subset {
            let text = (try? FileIO.readFile(atPath: OracleCases.subsetFile)).map { String(decoding: $0, as: UTF8.self) } ?? ""
            cases = OracleCases.subset(of: cases, listed: OracleCases.subsetIDs(fromFileText: text))
        }
        if !only.isEmpty { cases = cases.filter { testCase in only.contains { testCase.id.contains($0) } } }
        if list {
            for testCase in cases {
                print(testCase.id)
                // With --verbose, the documents too (to look at a disagreeing case).
                if verbose { for document in testCase.documents { print(document) } }
            }
            return
        }
        let progress = StandardStream.error.isTerminal
        let hosts = uris.map { uri in OracleHost.sandbox.first { $0.uri == uri } ?? OracleHost(name: uri, uri: uri) }
        // The sandbox's hosts get their uplinks' MACs back after passthrough cases (scripts/sandbox).
        let checkout = FileIO.exists(atPath: "scripts/sandbox") ? FileManager.default.currentDirectoryPath : nil
        do {
            var saved: [String: [String: LibvirtVerdict]] = [:]
            if let path = self.verdicts, FileIO.exists(atPath: path) {
                saved = (try? JSONDecoder().decode([String: [String: LibvirtVerdict]].self, from: Data(try FileIO.readFile(atPath: path)))) ?? [:]
            }
            var reports: [ParityReport] = []
            var disagreeingWorld = 0
            for host in hosts {
                var known = saved[host.uri] ?? [:]
                let report = try OracleRun.run(
                    cases, on: host, checkout: host.isSandbox ? checkout : nil,
                    jobs: jobs, setName: subset ? "subset" : "full", saved: &known
                ) { done, total in
                    if progress, done % 10 == 0 || done == total { StandardStream.error.write("\roracle \(host.name): \(done)/\(total)") }
                }
                if progress { StandardStream.error.write("\n") }
                saved[host.uri] = known
                reports.append(report)
            }
            if let path = self.verdicts {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                try FileIO.replaceAtomically(atPath: path, with: Array(try encoder.encode(saved)), creating: true)
            }
            if let writeSubset {
                let ids = ParityReport.coveringSubset(of: reports)
                let text =
                    "# Written by scripts/oracle (ParityReport.coveringSubset): the oracle cases make test runs besides\n"
                    + "# every rule example; together they see every libvirt message, rule and grammar point of the full run.\n"
                    + ids.joined(separator: "\n") + "\n"
                try FileIO.replaceAtomically(atPath: writeSubset, with: Array(text.utf8), creating: true)
            }
            if let markdown {
                // After the daemons: once libvirt's embedded driver is loaded, a process opens no
                // new connection to a daemon.
                var realWorld: String?
                if let worldCorpus {
                    let files = try RealWorldCorpus.lint(directory: worldCorpus)
                    let cache = FileManager.default.temporaryDirectory.appendingPathComponent("virt-macvtap-world-embed").path
                    let layer = try LibvirtDefineLayer(cacheDirectory: cache, scratchParents: ["/dev/shm", "/tmp"])
                    defer { layer.finish() }
                    let claims = RealWorldCorpus.judgeClaims(files, layer: layer)
                    for wrong in claims.wrong { print("real-world corpus: \(wrong)") }
                    disagreeingWorld = claims.wrong.count
                    realWorld = RealWorldCorpus.markdown(files: files, claims: claims)
                }
                try FileIO.replaceAtomically(atPath: markdown, with: Array(ParityReport.markdown(of: reports, realWorld: realWorld).utf8), creating: true)
            }
            var disagreeing = disagreeingWorld
            for report in reports {
                let judged = report.judgements.count { $0.outcome != .notJudged }
                for item in verbose ? report.judgements : report.disagreements {
                    print(
                        "\(item.outcome == .disagrees ? "disagree" : item.outcome.rawValue) (libvirt \(report.libvirtVersion)): \(item.caseID) \(item.ruleID ?? "(no finding)") [\(item.claim?.rawValue ?? "")]: \(item.explanation)"
                    )
                }
                print("oracle, libvirt \(report.libvirtVersion): \(cases.count) cases, \(judged) claims judged, \(judged - report.disagreements.count) agree, \(report.disagreements.count) disagree")
                disagreeing += report.disagreements.count
            }
            if disagreeing > 0 { throw ExitCode(1) }
        } catch let error as LibvirtError {
            StandardStream.error.write("virt-macvtap-oracle: \(error.description)\n")
            throw ExitCode(3)
        }
    }
}
