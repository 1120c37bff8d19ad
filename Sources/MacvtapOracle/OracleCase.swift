import FoundationEssentials
import MacvtapSystem
import MacvtapXML

/// One question for libvirt: a domain (or a set of domains defined side by side) that lint has
/// an opinion on. The oracle asks libvirt what it does with it; the judge compares the two.
public struct OracleCase: Sendable, Hashable {
    /// Where a case comes from, which says what its verdict is evidence for.
    public enum Origin: Sendable, Hashable, Codable {
        /// A rule's own triggering or non-triggering example (or example set).
        case ruleExample(ruleID: String, triggering: Bool)
        /// An `<interface>` of one of libvirt's own test domains, in a minimal domain.
        case corpus(file: String)
        /// One change to a good direct interface, from the grammar of libvirt's `<interface>`.
        case mutant(point: String)
        /// A random combination from the grammar's value space (`OracleGenerator`), for a seed.
        case generated(seed: UInt64)

        /// The kind, for summaries.
        public var kind: String {
            switch self {
            case .ruleExample: "rule example"
            case .corpus: "libvirt test domain"
            case .mutant: "grammar mutant"
            case .generated: "generated case"
            }
        }
    }

    /// Stable across runs for the same inputs: the origin plus a hash of the documents.
    public var id: String
    public var origin: Origin
    /// Whole domain documents; a bare `<interface>` example arrives already wrapped.
    public var documents: [String]

    public init(origin: Origin, documents: [String], label: String) {
        self.origin = origin
        self.documents = documents
        self.id = "\(label)#\(OracleCase.shortHash(documents))"
    }

    static func shortHash(_ documents: [String]) -> String {
        String(SHA256.hex(Array(documents.joined(separator: "\u{0}").utf8)).prefix(8))
    }
}

/// The oracle's case sets, deterministic for the same rules, corpus and grammar table.
public enum OracleCases {
    /// Whether a case document is a `<network>` (judged with the network API).
    static func isNetwork(_ document: String) -> Bool {
        (try? XMLDocument(bytes: Array(document.utf8), fileName: "case"))?.root?.name == "network"
    }

    /// A minimal QEMU domain around `devices` (which are written as given): no disk and no OS,
    /// so it starts under TCG in a fraction of a second; ACPI, so PCI hot-plug works.
    static func minimalDomain(devices: String) -> String {
        """
        <domain type='qemu'>
          <name>oracle</name>
          <memory unit='MiB'>64</memory>
          <os><type arch='x86_64' machine='pc'>hvm</type></os>
          <features><acpi/></features>
          <devices>
        \(devices)
            <memballoon model='none'/>
          </devices>
        </domain>
        """
    }

    /// Every case, each document set once (the first origin wins): rule examples, grammar
    /// mutants, and with `corpusDirectory` (libvirt's `tests/`) its x86 interfaces.
    public static func all(corpusDirectory: String?) -> [OracleCase] {
        let cases = ruleExamples() + grammarMutants() + (corpusDirectory.map { corpusTransplants(corpusDirectory: $0) } ?? [])
        var seen: Set<[String]> = []
        return cases.filter { seen.insert($0.documents).inserted }
    }

    /// Every triggering and non-triggering example (and example set) of every rule.
    public static func ruleExamples() -> [OracleCase] {
        var cases: [OracleCase] = []
        for rule in RuleRegistry.all {
            func add(_ documents: [String], triggering: Bool, index: Int) {
                let wrapped = documents.map { document in
                    document.trimmingWhitespace().hasPrefix("<interface") ? minimalDomain(devices: "    " + document) : document
                }
                let label = "\(rule.id)/\(triggering ? "triggers" : "clean")-\(index + 1)"
                cases.append(OracleCase(origin: .ruleExample(ruleID: rule.id, triggering: triggering), documents: wrapped, label: label))
            }
            for (index, example) in rule.triggering.enumerated() { add([example], triggering: true, index: index) }
            for (index, example) in rule.nonTriggering.enumerated() { add([example], triggering: false, index: index) }
            for (index, set) in rule.triggeringSets.enumerated() {
                add(set, triggering: true, index: rule.triggering.count + index)
            }
            for (index, set) in rule.nonTriggeringSets.enumerated() {
                add(set, triggering: false, index: rule.nonTriggering.count + index)
            }
        }
        return cases
    }

    /// Every distinct `<interface>` of libvirt's x86 QEMU test domains under `corpusDirectory`
    /// (qemuxml2argvdata and qemuxml2xmloutdata), each alone in a minimal domain, but for
    /// vhost-user interfaces whose socket QEMU serves: QEMU then waits for a client that the
    /// sandbox does not have, and no verdict comes.
    public static func corpusTransplants(corpusDirectory: String) -> [OracleCase] {
        var seen: Set<String> = []
        var cases: [OracleCase] = []
        for subdirectory in ["qemuxml2argvdata", "qemuxml2xmloutdata"] {
            let directory = corpusDirectory + "/" + subdirectory
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { continue }
            for name in names.sorted() where name.hasSuffix(".xml") {
                guard let bytes = try? FileIO.readFile(atPath: directory + "/" + name),
                    let document = try? XMLDocument(bytes: bytes, fileName: name),
                    let root = document.root, root.name == "domain",
                    ["qemu", "kvm"].contains(root.attribute("type") ?? ""),
                    (root.firstChild(named: "os")?.firstChild(named: "type")?.attribute("arch") ?? "x86_64") == "x86_64"
                else { continue }
                for interface in root.firstChild(named: "devices")?.children(named: "interface") ?? [] {
                    guard let range = interface.byteRange,
                        interface.attribute("type") != "vhostuser" || interface.firstChild(named: "source")?.attribute("mode") != "server"
                    else { continue }
                    let text = String(decoding: bytes[range], as: UTF8.self)
                    let key = text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" }).joined(separator: " ")
                    guard seen.insert(key).inserted else { continue }
                    cases.append(
                        OracleCase(
                            origin: .corpus(file: subdirectory + "/" + name), documents: [minimalDomain(devices: "    " + text)],
                            label: "corpus/\(name.dropLast(4))"))
                }
            }
        }
        return cases
    }

    /// One-change mutants of a good direct interface, in each macvtap mode: every element and
    /// attribute libvirt's `<interface>` grammar allows on `type='direct'`, with valid,
    /// boundary and invalid values (`OracleGrammar.points`), plus devices beside it that share
    /// PCI addresses, boot orders, aliases, ACPI indexes and MACs.
    public static func grammarMutants(modes: [String] = ["vepa", "bridge", "private", "passthrough"]) -> [OracleCase] {
        var cases: [OracleCase] = []
        var seen: Set<String> = []
        for mode in modes {
            for point in OracleGrammar.points {
                for (index, mutation) in point.mutations.enumerated() {
                    let devices = mutation.devices(mode)
                    let document = minimalDomain(devices: devices)
                    guard seen.insert(document).inserted else { continue }
                    cases.append(
                        OracleCase(
                            origin: .mutant(point: point.name), documents: [document],
                            label: "mutant/\(point.name)/\(mode)-\(index + 1)"))
                }
            }
        }
        return cases
    }

    /// The seed and size of the generated share of a full run: with the fixed cases, more than
    /// 5,000 distinct cases (`scripts/oracle`).
    public static let fullRunSeed: UInt64 = 1
    public static let fullRunGeneratedCount = 3700

    /// A full run's cases: every fixed case, then `count` generated ones for `seed`.
    public static func full(corpusDirectory: String?, seed: UInt64 = fullRunSeed, count: Int = fullRunGeneratedCount) -> [OracleCase] {
        let fixed = all(corpusDirectory: corpusDirectory)
        return fixed + OracleGenerator.cases(seed: seed, count: count, excluding: Set(fixed.map(\.documents)))
    }

    /// Where `scripts/oracle` writes the subset `make test` runs (`ParityReport.coveringSubset`).
    public static let subsetFile = "Tests/Fixtures/oracle-subset.txt"

    /// The subset `make test` runs: every rule example, and the cases `listed` names (the ones a
    /// full run found to cover every libvirt message, rule and grammar point).
    public static func subset(of cases: [OracleCase], listed: Set<String>) -> [OracleCase] {
        cases.filter { testCase in
            if case .ruleExample = testCase.origin { return true }
            return listed.contains(testCase.id)
        }
    }

    /// The ids in a subset file: one per line, `#` comments and blank lines skipped.
    public static func subsetIDs(fromFileText text: String) -> Set<String> {
        Set(text.split(separator: "\n").map { String($0).trimmingWhitespace() }.filter { !$0.isEmpty && !$0.hasPrefix("#") })
    }
}
