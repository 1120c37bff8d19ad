import MacvtapXML

/// One claim a finding makes about libvirt (or one refusal lint should have reported), held
/// against what libvirt did.
public struct ClaimJudgement: Sendable, Hashable, Codable {
    /// Whether libvirt did what the rule claims (agree), the opposite (disagree), or could not be asked.
    public enum Outcome: String, Sendable, Codable {
        case agrees, disagrees, notJudged
    }

    public var caseID: String
    /// The rule whose finding made the claim; nil for a refusal no finding reported.
    public var ruleID: String?
    public var claim: Enforcement?
    public var outcome: Outcome
    /// What libvirt did, in a sentence.
    public var explanation: String
}

/// Compares lint's findings with libvirt's verdict, in the rules' vocabulary:
/// - "rejects this at define": define (no flags) refused the document;
/// - "… with define --validate, if not already at define": define with VIR_DOMAIN_DEFINE_VALIDATE refused it
///   (a plain define may have refused it already);
/// - "… fails at start or hotplug": defined, then start or the live attach of its interface failed;
/// - "… refuses it when hot-plugged": the live attach of an interface failed (judged only where the
///   oracle hot-plugs: cases of one document);
/// - "silently drops or rewrites this": defined, and the XML read back lost or changed something;
/// - "does not check this": defined, started and hot-plugged without complaint.
/// Where another finding of the same document already explains an earlier refusal, a claim about
/// a later phase cannot be observed and is not judged. Every refusal needs a finding that says so:
/// an error for define and start, at least a warning for a hot-plug that fails where the start
/// did not.
public enum ParityJudge {
    /// The configuration the oracle lints its cases with: every rule, and hot-plug intent, since
    /// the oracle hot-plugs each one-document case's interfaces as well as starting it.
    public static var lintConfiguration: LintConfiguration {
        var configuration = LintConfiguration()
        configuration.hotplug = true
        return configuration
    }

    /// Lints a case's documents as `case-N.xml`, with `hosts` as `lint -c` would. A linter that
    /// cannot run (a schema that does not compile) is an error, never "no findings".
    public static func findings(for testCase: OracleCase, linter: Linter, hosts: [HostInventory]) throws(LintSetupError) -> [Finding] {
        let sources = testCase.documents.enumerated().map { DocumentSource.memory(Array($0.element.utf8), name: "case-\($0.offset).xml") }
        return try linter.lint(sources, hosts: hosts).findings
    }

    public static func judge(_ testCase: OracleCase, findings: [Finding], verdict: LibvirtVerdict) -> [ClaimJudgement] {
        func judgement(_ ruleID: String?, _ claim: Enforcement?, _ outcome: ClaimJudgement.Outcome, _ explanation: String) -> ClaimJudgement {
            ClaimJudgement(caseID: testCase.id, ruleID: ruleID, claim: claim, outcome: outcome, explanation: explanation)
        }
        if let reason = verdict.notRun {
            return findings.map { judgement($0.ruleID, $0.enforcement, .notJudged, reason) } + [judgement(nil, nil, .notJudged, reason)]
        }
        guard verdict.harnessProblems.isEmpty, verdict.documents.count == testCase.documents.count else {
            return findings.map { judgement($0.ruleID, $0.enforcement, .notJudged, "harness: \(verdict.harnessProblems.joined(separator: "; "))") }
        }
        if let reason = outOfScope(testCase) {
            return findings.map { judgement($0.ruleID, $0.enforcement, .notJudged, reason) }
        }
        if let limitation = verdict.documents.lazy.flatMap(\.messages).compactMap(SandboxLimitation.init).first {
            return findings.map { judgement($0.ruleID, $0.enforcement, .notJudged, limitation.reason) }
                + [judgement(nil, nil, .notJudged, limitation.reason)]
        }
        func documentIndex(_ finding: Finding) -> Int? {
            guard finding.file.hasPrefix("case-"), finding.file.hasSuffix(".xml") else { return nil }
            return Int(finding.file.dropFirst(5).dropLast(4))
        }
        let byDocument = Dictionary(grouping: findings.filter { documentIndex($0) != nil }) { documentIndex($0)! }
        let anyStartOrHotplugFailure = verdict.documents.contains(where: \.failedAtStartOrHotplug)
        // The first refusal at start or hot-plug, for the explanations.
        let startFailure = verdict.documents.lazy.compactMap { $0.startError ?? $0.hotplugErrors.compactMap { $0 }.first }.first ?? ""
        func claims(_ claim: Enforcement, in index: Int, errorsOnly: Bool = false, besides finding: Finding? = nil) -> Bool {
            (byDocument[index] ?? []).contains { other in
                other.enforcement == claim && other != finding && (!errorsOnly || other.severity == .error)
            }
        }
        // A hot-plug claim explains a failure only where the start itself worked.
        let startFails = verdict.documents.contains { $0.startError != nil }
        func startClaimed(besides finding: Finding? = nil, atLeast minimum: Severity = .info) -> Bool {
            findings.contains {
                ($0.enforcement == .start || (!startFails && $0.enforcement == .hotplug)) && $0 != finding && $0.severity >= minimum
            }
        }

        var result: [ClaimJudgement] = []
        for finding in findings {
            guard let claim = finding.enforcement, claim != .advice else { continue }
            guard let index = documentIndex(finding), index < verdict.documents.count else { continue }
            let document = verdict.documents[index]
            if let defineError = document.defineError, claim != .define, claim != .validate {
                result.append(
                    claims(.define, in: index, besides: finding)
                        ? judgement(finding.ruleID, claim, .notJudged, "refused at define for another reason")
                        : judgement(finding.ruleID, claim, .disagrees, "libvirt refuses it at define: \(defineError)"))
                continue
            }
            switch claim {
            case .define:
                result.append(
                    document.defineError != nil
                        ? judgement(finding.ruleID, claim, .agrees, "refused at define: \(document.defineError!)")
                        : judgement(finding.ruleID, claim, .disagrees, "libvirt defines it"))
            case .validate:
                if let message = document.validateError ?? document.defineError {
                    result.append(judgement(finding.ruleID, claim, .agrees, "refused with validation: \(message)"))
                } else {
                    result.append(judgement(finding.ruleID, claim, .disagrees, "libvirt defines it with VIR_DOMAIN_DEFINE_VALIDATE too"))
                }
            case .start:
                result.append(
                    anyStartOrHotplugFailure
                        ? judgement(finding.ruleID, claim, .agrees, "fails at start or hot-plug: \(startFailure)")
                        : judgement(finding.ruleID, claim, .disagrees, "libvirt defines it, starts it and hot-plugs its interfaces"))
            case .hotplug:
                let attempts = verdict.documents.flatMap(\.hotplugErrors)
                if attempts.isEmpty {
                    result.append(judgement(finding.ruleID, claim, .notJudged, "the case is not hot-plugged (a set of documents)"))
                } else if let refusal = attempts.compactMap({ $0 }).first {
                    result.append(judgement(finding.ruleID, claim, .agrees, "refused when hot-plugged: \(refusal)"))
                } else {
                    result.append(judgement(finding.ruleID, claim, .disagrees, "libvirt hot-plugs its interfaces"))
                }
            case .silentlyDropped:
                if anyStartOrHotplugFailure, !startClaimed(besides: finding) {
                    result.append(judgement(finding.ruleID, claim, .disagrees, "not silent: it fails at start or hot-plug: \(startFailure)"))
                } else if document.rewrites.isEmpty {
                    result.append(judgement(finding.ruleID, claim, .disagrees, "libvirt keeps the interface as written"))
                } else {
                    result.append(judgement(finding.ruleID, claim, .agrees, "read back changed: \(document.rewrites.joined(separator: "; "))"))
                }
            case .notChecked:
                if anyStartOrHotplugFailure, !startClaimed(besides: finding) {
                    result.append(judgement(finding.ruleID, claim, .disagrees, "libvirt does check: it fails at start or hot-plug: \(startFailure)"))
                } else {
                    result.append(judgement(finding.ruleID, claim, .agrees, "libvirt defines and starts it"))
                }
            case .advice:
                break
            }
        }

        // The reverse: every refusal needs an error-level finding that says so.
        // A macvtap network is ours as much as a direct interface is.
        let hasDirectInterface = testCase.documents.contains {
            $0.contains("type='direct'") || $0.contains("type=\"direct\"") || OracleCases.isNetwork($0)
        }
        for (index, document) in verdict.documents.enumerated() {
            if let defineError = document.defineError {
                if !claims(.define, in: index, errorsOnly: true), !claims(.validate, in: index, errorsOnly: true) {
                    result.append(judgement(nil, .define, .disagrees, "libvirt refuses it at define and no error says so: \(defineError)"))
                }
                continue
            }
            if let validateError = document.validateError, !claims(.validate, in: index) {
                result.append(judgement(nil, .validate, .disagrees, "libvirt refuses it with validation and no finding says so: \(validateError)"))
            }
        }
        // A domain that starts but whose NIC cannot be hot-plugged is fine for a file that is only
        // defined and started: there a warning is the right level; a failing start needs an error.
        if anyStartOrHotplugFailure, !startClaimed(atLeast: startFails ? .error : .warning) {
            result.append(
                hasDirectInterface
                    ? judgement(nil, .start, .disagrees, "fails at start or hot-plug and no error says so: \(startFailure)")
                    : judgement(nil, .start, .notJudged, "host resources of non-direct interfaces are outside virt-macvtap's rules: \(startFailure)"))
        }
        return result
    }

    /// Cases the sandbox's QEMU driver cannot speak for: documents that are neither domains nor
    /// networks (judged with the network API), and domains for another hypervisor.
    static func outOfScope(_ testCase: OracleCase) -> String? {
        for text in testCase.documents {
            guard let document = try? XMLDocument(bytes: Array(text.utf8), fileName: "case"), let root = document.root else { continue }
            if root.name == "network" { continue }
            if root.name != "domain" { return "not a domain document (<\(root.name)>)" }
            if let type = root.attribute("type"), type != "kvm", type != "qemu" {
                return "a \(type) domain; the sandbox runs libvirt's QEMU driver"
            }
        }
        return nil
    }
}

/// Refusals that come from what the sandbox lacks, not from the case: a real host with the
/// missing piece starts the same domain.
struct SandboxLimitation {
    let reason: String

    private static let known: [(fragment: String, reason: String)] = [
        ("Failed to load TC action", "the sandbox kernel lacks tc's police action (bandwidth limits)"),
        ("Specified qdisc kind is unknown", "the sandbox kernel lacks tc's sfq qdisc (bandwidth limits)"),
        ("PortProfileRequest", "802.1Qbg/802.1Qbh need lldpad and a VDP-capable switch; the sandbox has neither"),
        ("error dumping (null) (2) interface", "802.1Qbg/802.1Qbh need lldpad and a VDP-capable switch; the sandbox has neither"),
        ("failed to find romfile", "the ROM file named by the case does not exist on the sandbox host"),
        ("Cannot find 'passt' in path", "the sandbox's libvirt 11.3 root has no passt program"),
    ]

    init?(_ message: String) {
        // The netlink dump names the device's index, which depends on the host ("(2)", "(4)").
        let message = message.replacing(#/error dumping \(null\) \(\d+\) interface/#, with: "error dumping (null) (2) interface")
        guard let match = Self.known.first(where: { message.contains($0.fragment) }) else { return nil }
        reason = "sandbox limitation: " + match.reason
    }
}
