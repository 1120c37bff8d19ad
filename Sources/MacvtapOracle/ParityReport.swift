/// The result of an oracle run: every case, libvirt's verdict, lint's claims and the judgement,
/// rendered as docs/LIBVIRT-PARITY.md.
public struct ParityReport: Sendable {
    /// One oracle case: what lint said, what libvirt did, and the judgement.
    public struct CaseResult: Sendable {
        public var testCase: OracleCase
        public var verdict: LibvirtVerdict
        public var findings: [Finding]
        public var judgements: [ClaimJudgement]
    }

    public var results: [CaseResult]
    /// libvirt's version where the verdicts came from, e.g. "9.0.0".
    public var libvirtVersion: String
    /// Which set ran ("full" or "subset"), for the document's header.
    public var setName: String

    public init(results: [CaseResult], libvirtVersion: String, setName: String) {
        self.results = results
        self.libvirtVersion = libvirtVersion
        self.setName = setName
    }

    /// Judges every case against its verdict (lint runs here, with `hosts` as `lint -c` would).
    public static func build(
        cases: [OracleCase], verdicts: [LibvirtVerdict], linter: Linter, hosts: [HostInventory], libvirtVersion: String,
        setName: String
    ) throws(LintSetupError) -> ParityReport {
        var results: [CaseResult] = []
        for (testCase, verdict) in zip(cases, verdicts) {
            let findings = try ParityJudge.findings(for: testCase, linter: linter, hosts: hosts)
            results.append(
                CaseResult(
                    testCase: testCase, verdict: verdict, findings: findings,
                    judgements: ParityJudge.judge(testCase, findings: findings, verdict: verdict)))
        }
        return ParityReport(results: results, libvirtVersion: libvirtVersion, setName: setName)
    }

    public var judgements: [ClaimJudgement] { results.flatMap(\.judgements) }
    public var disagreements: [ClaimJudgement] { judgements.filter { $0.outcome == .disagrees } }

    /// libvirt's message with the values taken out, so one kind of refusal is one line.
    static func messageClass(_ message: String) -> String {
        // MACs (libvirt generates some) first, as wholes; then what varies from run to run in a
        // QEMU start failure: libvirt's wording (which depends on when QEMU died), the log
        // timestamp and the device's full JSON: QEMU's own complaint is what stays.
        let message = message.replacing(/[0-9a-fA-F]{1,2}(:[0-9a-fA-F]{1,2}){5}/, with: "MAC")
            .replacing("process exited while connecting to monitor: ", with: "QEMU exited: ")
            .replacing("qemu unexpectedly closed the monitor: ", with: "QEMU exited: ")
            // libvirt 11.3's wording, which also depends on when QEMU died.
            .replacing(#/QEMU unexpectedly closed the monitor \(vm='[^']*'\): /#, with: "QEMU exited: ")
            .replacing(#/\d{4}-\d\d-\d\dT[0-9:.]+Z /#, with: "")
            .replacing(#/-device \{[^}]*\}/#, with: "-device {…}")
        var result = ""
        var inQuote = false
        var previousWasDigit = false
        for character in message {
            if character == "'" {
                if !inQuote { result += "'…'" }
                inQuote.toggle()
                continue
            }
            if inQuote { continue }
            if character.isNumber || (previousWasDigit && character.isHexDigit) {
                if !previousWasDigit { result += "N" }
                previousWasDigit = true
                continue
            }
            previousWasDigit = false
            result.append(character)
        }
        // A helper's command line carries libvirtd's environment (PATH), which varies by machine.
        if let start = result.firstRange(of: "Child process ("), let end = result.firstRange(of: ") unexpected exit status") {
            if start.upperBound <= end.lowerBound { result.replaceSubrange(start.upperBound..<end.lowerBound, with: "…") }
        }
        // Our domain names vary per case.
        return String(result.replacing("oracle-N-N-hp", with: "DOMAIN").replacing("oracle-N-N", with: "DOMAIN").prefix(200))
    }

    /// The Markdown document for this one libvirt; deterministic for the same cases and verdicts.
    public func markdown() -> String {
        Self.markdown(of: [self])
    }

    /// The Markdown document for the same cases judged against several libvirt versions (one
    /// report each, in the order given): one column per version in every table.
    /// `realWorld` is the real-world corpus section (`RealWorldCorpus.markdown`), when it was asked.
    public static func markdown(of reports: [ParityReport], realWorld: String? = nil) -> String {
        guard let first = reports.first else { return "" }
        let versions = reports.map(\.libvirtVersion)
        let named = versions.map { "libvirt \($0)" }.joined(separator: " and ")
        var lines: [String] = []
        func row(_ cells: [String]) { lines.append("| " + cells.joined(separator: " | ") + " |") }
        func header(_ cells: [String]) {
            row(cells)
            lines.append("|" + String(repeating: "---|", count: cells.count))
        }
        lines.append("# virt-macvtap and libvirt: parity")
        lines.append("")
        lines.append("Generated by `scripts/oracle` (\(first.setName) case set) against \(named), QEMU under TCG in")
        lines.append("the sandbox (`scripts/sandbox up`: the first host runs libvirt 9.0 from Debian 12, the second host `hv2`")
        lines.append("libvirt 11.3 from a Debian 13 root); do not edit by hand. `OracleTests` fails when it is stale.")
        lines.append("")
        lines.append("Each case is defined (flags 0), defined with `VIR_DOMAIN_DEFINE_VALIDATE`, started (paused; its")
        lines.append("macvtaps are really created on the host's `eth0`/`eth1`), its interfaces hot-plugged into the same")
        lines.append("domain started without them, and its persistent XML read back, on each host. Each finding `lint -c`")
        lines.append("against that host gives for the case (judged for that host's libvirt version) is held against it")
        lines.append("(see `ParityJudge`); so is every refusal, which must have an error-level finding saying so. The sandbox")
        lines.append("runs `type='qemu'` where a case says kvm, and gives each case its own name and no UUID; nothing else")
        lines.append("is changed.")
        lines.append("")
        header([""] + versions.map { "libvirt \($0)" })
        func counts(_ label: String, _ value: (ParityReport) -> Int) { row([label] + reports.map { String(value($0)) }) }
        counts("cases") { $0.results.count }
        let kinds = Set(reports.flatMap { $0.results.map(\.testCase.origin.kind) }).sorted()
        for kind in kinds { counts("… \(kind)s") { $0.results.count { $0.testCase.origin.kind == kind } } }
        counts("refused at define") { $0.results.count { $0.verdict.documents.contains { !$0.isDefined } } }
        counts("refused only with validation") { $0.results.count { $0.verdict.documents.contains { $0.isDefined && $0.validateError != nil } } }
        counts("failed at start or hot-plug") { $0.results.count { $0.verdict.documents.contains(where: \.failedAtStartOrHotplug) } }
        counts("claims judged") { $0.judgements.count { $0.outcome != .notJudged } }
        counts("claims agreeing with libvirt") { $0.judgements.count { $0.outcome == .agrees } }
        counts("disagreements") { $0.disagreements.count }
        counts("not judged (an earlier refusal hides the phase, or outside the rules' scope)") { $0.judgements.count { $0.outcome == .notJudged } }
        lines.append("")

        lines.append("## Per rule")
        lines.append("")
        lines.append("Cases: cases where the rule reported something. Judged / agree: its claims about each libvirt.")
        lines.append("")
        header(["rule", "libvirt"] + versions.flatMap { ["cases \($0)", "judged \($0)", "agree \($0)"] })
        for rule in RuleRegistry.all {
            let phrase = rule.enforcement == .advice ? "advice (not judged)" : rule.enforcement.phrase
            var cells = ["`\(rule.id)`", phrase]
            for report in reports {
                let judged = report.judgements.filter { $0.outcome != .notJudged && $0.ruleID == rule.id }
                cells += [
                    String(report.results.count { $0.findings.contains { $0.ruleID == rule.id } }), String(judged.count),
                    String(judged.count { $0.outcome == .agrees }),
                ]
            }
            row(cells)
        }
        lines.append("")

        lines.append("## libvirt's messages")
        lines.append("")
        lines.append("Every refusal seen, values replaced by `'…'` and `N`, with the phase, how often each libvirt gave it,")
        lines.append("and the rules whose findings (error, or warning for a hot-plug-only refusal) reported it in those")
        lines.append("cases, or why none is expected.")
        lines.append("")
        var rulesByMessage: [String: Set<String>] = [:]
        var countByMessage: [String: [Int]] = [:]
        var notJudgedReason: [String: String] = [:]
        for (position, report) in reports.enumerated() {
            for (key, rules, reason) in report.messagesSeen() {
                countByMessage[key, default: Array(repeating: 0, count: reports.count)][position] += 1
                rulesByMessage[key, default: []].formUnion(rules)
                if rules.isEmpty, let reason { notJudgedReason[key] = reason }
            }
        }
        header(["phase", "message"] + versions.map { "cases \($0)" } + ["reported by"])
        for key in countByMessage.keys.sorted() {
            let parts = key.split(separator: "\t", maxSplits: 1).map(String.init)
            let rules = rulesByMessage[key, default: []].sorted().map { "`\($0)`" }.joined(separator: ", ")
            let reporter = rules.isEmpty ? (notJudgedReason[key] ?? "**none**") : rules
            row([parts[0], Self.escape(parts[1])] + countByMessage[key]!.map(String.init) + [reporter])
        }
        lines.append("")

        lines.append("## Where the versions differ")
        lines.append("")
        var differing: [String] = []
        if reports.count > 1 {
            let byID = reports.map { Dictionary($0.results.map { ($0.testCase.id, $0.verdict) }, uniquingKeysWith: { first, _ in first }) }
            for result in first.results {
                let phases = byID.map { $0[result.testCase.id].map(Self.phaseSummary) ?? "not run" }
                if Set(phases).count > 1 {
                    differing.append("| `\(result.testCase.id)` | " + phases.map(Self.escape).joined(separator: " | ") + " |")
                }
            }
        }
        if differing.isEmpty {
            lines.append(reports.count > 1 ? "No case got a different verdict." : "Only one libvirt was asked.")
        } else {
            lines.append("Cases whose verdict (the first phase that refused them) differs between the versions. Not every")
            lines.append("difference is the version's: on `hv2`, `eth0` carries vm-far's bridge macvtap, so a passthrough on")
            lines.append("`eth0` fails there (and `lint -c` against that host says so); 802.1Qbg/Qbh cases are not run on 11.3.")
            lines.append("")
            header(["case"] + versions.map { "libvirt \($0)" })
            lines += differing
        }
        lines.append("")

        if let realWorld { lines.append(realWorld) }

        lines.append("## Disagreements")
        lines.append("")
        let disagreements = reports.flatMap { report in report.disagreements.map { (report.libvirtVersion, $0) } }
        if disagreements.isEmpty {
            lines.append("None: every judged claim agrees with \(named).")
        } else {
            header(["libvirt", "case", "rule", "claim", "libvirt's verdict"])
            for (version, item) in disagreements.sorted(by: { ($0.0, $0.1.caseID, $0.1.ruleID ?? "") < ($1.0, $1.1.caseID, $1.1.ruleID ?? "") }) {
                row([version, "`\(item.caseID)`", item.ruleID.map { "`\($0)`" } ?? "(none)", item.claim?.rawValue ?? "", Self.escape(item.explanation)])
            }
        }
        lines.append("")
        return lines.joined(separator: "\n")
    }

    /// The first phase that refused a case, in a few words (for comparing versions).
    static func phaseSummary(_ verdict: LibvirtVerdict) -> String {
        if verdict.notRun != nil { return "not run (sandbox limitation)" }
        for document in verdict.documents {
            if let message = document.defineError { return "define: " + messageClass(message) }
            if let message = document.validateError { return "validate: " + messageClass(message) }
            if let message = document.startError { return "start: " + messageClass(message) }
            if let message = document.hotplugErrors.compactMap({ $0 }).first { return "hot-plug: " + messageClass(message) }
        }
        return verdict.harnessProblems.isEmpty ? "accepted" : "not judged (harness)"
    }

    /// Every refusal message of every case as `phase<TAB>message class`, with the rules whose
    /// findings reported it, or why the case was not judged.
    func messagesSeen() -> [(key: String, rules: Set<String>, notJudged: String?)] {
        var seenMessages: [(String, Set<String>, String?)] = []
        for result in results {
            for (index, document) in result.verdict.documents.enumerated() {
                var seen: [(phase: String, message: String)] = []
                if let message = document.defineError { seen.append(("define", message)) }
                if let message = document.validateError { seen.append(("validate", message)) }
                if let message = document.startError { seen.append(("start", message)) }
                for message in document.hotplugErrors.compactMap({ $0 }) { seen.append(("hot-plug", message)) }
                for item in seen {
                    let wanted: Enforcement =
                        switch item.phase {
                        case "define": .define
                        case "validate": .validate
                        default: .start
                        }
                    // A validate claim covers a define refusal too ("… if not already at define");
                    // a hot-plug refusal is reported by a start claim or a hot-plug one.
                    let accepted: Set<Enforcement> =
                        wanted == .define ? [.define, .validate] : item.phase == "hot-plug" ? [.start, .hotplug] : [wanted]
                    let reporters = result.findings.filter { finding in
                        finding.enforcement.map(accepted.contains) == true && finding.severity >= .warning
                            && (wanted == .start || finding.file == "case-\(index).xml")
                    }.map(\.ruleID)
                    let reason = result.judgements.first(where: { $0.outcome == .notJudged }).map { "not judged: " + String($0.explanation.prefix { $0 != ":" }) }
                    seenMessages.append(("\(item.phase)\t\(Self.messageClass(item.message))", Set(reporters), reason))
                }
            }
        }
        return seenMessages
    }

    static func escape(_ text: String) -> String {
        text.replacing("|", with: "\\|").replacing("\n", with: " ")
    }
}

extension ParityReport {
    /// The ids of a small set of cases that, judged against the same libvirts, sees everything
    /// these full-run reports saw: every libvirt message class in every phase, every rule that
    /// reported something, every value of every grammar point and a sample of generated cases (rule examples are always
    /// run and are not listed). `make test` runs it (`OracleTests`); `scripts/oracle` writes it.
    public static func coveringSubset(of reports: [ParityReport], generatedSample: Int = 40) -> [String] {
        var chosen: [String] = []
        var chosenSet: Set<String> = []
        func choose(_ id: String) {
            if chosenSet.insert(id).inserted { chosen.append(id) }
        }
        let isRuleExample: (CaseResult) -> Bool = { if case .ruleExample = $0.testCase.origin { true } else { false } }
        var coveredMessages: Set<String> = []
        var coveredRules: Set<String> = []
        var coveredPoints: Set<String> = []
        // What the rule examples see comes for free.
        for report in reports {
            for result in report.results where isRuleExample(result) {
                coveredMessages.formUnion(Self.messageKeys(of: result))
                coveredRules.formUnion(result.findings.map(\.ruleID))
            }
        }
        for report in reports {
            for result in report.results where !isRuleExample(result) {
                var useful = false
                if Self.messageKeys(of: result).contains(where: { !coveredMessages.contains($0) }) { useful = true }
                if result.findings.contains(where: { !coveredRules.contains($0.ruleID) }) { useful = true }
                // Every value of every grammar point (each value class), in one mode at least.
                let valueKey = Self.mutationKey(of: result.testCase)
                if let valueKey, !coveredPoints.contains(valueKey) { useful = true }
                guard useful else { continue }
                choose(result.testCase.id)
                coveredMessages.formUnion(Self.messageKeys(of: result))
                coveredRules.formUnion(result.findings.map(\.ruleID))
                if let valueKey { coveredPoints.insert(valueKey) }
            }
        }
        // A fixed sample of generated cases: combinations, not only the classes one by one.
        if let first = reports.first {
            for result in first.results.lazy.filter({ if case .generated = $0.testCase.origin { true } else { false } }).prefix(generatedSample) {
                choose(result.testCase.id)
            }
        }
        return chosen
    }

    /// `mutant/POINT/MODE-N#hash` → `POINT#N`: one value of one grammar point, whatever the mode.
    static func mutationKey(of testCase: OracleCase) -> String? {
        guard case .mutant(let point) = testCase.origin,
            let suffix = testCase.id.split(separator: "#").first?.split(separator: "-").last
        else { return nil }
        return "\(point)#\(suffix)"
    }

    static func messageKeys(of result: CaseResult) -> Set<String> {
        var keys: Set<String> = []
        for document in result.verdict.documents {
            if let message = document.defineError { keys.insert("define\t" + messageClass(message)) }
            if let message = document.validateError { keys.insert("validate\t" + messageClass(message)) }
            if let message = document.startError { keys.insert("start\t" + messageClass(message)) }
            for message in document.hotplugErrors.compactMap({ $0 }) { keys.insert("hot-plug\t" + messageClass(message)) }
        }
        return keys
    }

    /// Why `document` (docs/LIBVIRT-PARITY.md, written by a full run) no longer describes the
    /// rules and what `reports` (a subset run) saw: a rule without its row or with another
    /// enforcement, a libvirt message it does not list, another set of libvirt versions.
    public static func staleness(of document: String, checkedBy reports: [ParityReport]) -> [String] {
        var problems: [String] = []
        for rule in RuleRegistry.all {
            let phrase = rule.enforcement == .advice ? "advice (not judged)" : rule.enforcement.phrase
            if !document.contains("| `\(rule.id)` | \(phrase) |") { problems.append("rule \(rule.id) (\(phrase)) has no row") }
        }
        for report in reports {
            if !document.contains("libvirt \(report.libvirtVersion)") { problems.append("libvirt \(report.libvirtVersion) is not a column") }
            for result in report.results {
                for key in messageKeys(of: result) {
                    let parts = key.split(separator: "\t", maxSplits: 1).map(String.init)
                    if !document.contains("| \(parts[0]) | \(escape(parts[1])) |") {
                        problems.append("libvirt \(report.libvirtVersion)'s \(parts[0]) message \"\(parts[1])\" (\(result.testCase.id)) is not listed")
                    }
                }
            }
        }
        return problems
    }
}
