import FoundationEssentials
import MacvtapXML

/// Formats a lint report. Stateless: the same report always gives the same text.
public protocol LintReporter: Sendable {
    /// The name `--format` takes (`text`, `json`, `sarif`, …).
    static var identifier: String { get }
    /// The whole report as the format's text; `rules` describes the rules (SARIF lists them).
    static func render(_ report: LintReport, rules: [RuleDescription]) -> String
    /// The same for where the output goes (a terminal takes colour); by default `context`
    /// changes nothing.
    static func render(_ report: LintReport, rules: [RuleDescription], context: LintRenderContext) -> String
}

extension LintReporter {
    public static func render(_ report: LintReport, rules: [RuleDescription], context: LintRenderContext) -> String {
        render(report, rules: rules)
    }
}

/// Where a report is going, for the reporters that care.
public struct LintRenderContext: Sendable {
    /// The output is a terminal that shows ANSI colours.
    public var colored: Bool

    public init(colored: Bool = false) {
        self.colored = colored
    }
}

/// Every reporter, looked up by its `identifier` (SwiftLint's `reporterFrom(identifier:)`):
/// adding a format is one type and one line here.
public enum LintReporters {
    public static let all: [any LintReporter.Type] = [
        TextReporter.self, JSONReporter.self, SARIFReporter.self, GitHubReporter.self, JUnitReporter.self,
    ]

    public static func reporter(forIdentifier identifier: String) -> (any LintReporter.Type)? {
        all.first { $0.identifier == identifier }
    }
}

/// A lint output format, named by its reporter's identifier.
public struct LintFormat: RawRepresentable, CaseIterable, Sendable, Hashable {
    public let reporter: any LintReporter.Type
    public var rawValue: String { reporter.identifier }

    public init?(rawValue: String) {
        guard let reporter = LintReporters.reporter(forIdentifier: rawValue) else { return nil }
        self.reporter = reporter
    }

    public static var allCases: [LintFormat] { LintReporters.all.compactMap { LintFormat(rawValue: $0.identifier) } }
    public static let text = LintFormat(rawValue: TextReporter.identifier)!

    public static func == (lhs: LintFormat, rhs: LintFormat) -> Bool { lhs.rawValue == rhs.rawValue }
    public func hash(into hasher: inout Hasher) { hasher.combine(rawValue) }
}

extension LintReport {
    public var counts: (errors: Int, warnings: Int, infos: Int) {
        (
            findings.filter { $0.severity == .error }.count, findings.filter { $0.severity == .warning }.count,
            findings.filter { $0.severity == .info }.count
        )
    }

    public var summaryLine: String {
        let (errors, warnings, infos) = counts
        return "\(errors) error\(errors == 1 ? "" : "s"), \(warnings) warning\(warnings == 1 ? "" : "s"), "
            + "\(infos) info in \(filesChecked) file\(filesChecked == 1 ? "" : "s")"
    }
}

/// gcc style, one finding per line (`file:line:col: severity: message [rule]`), the fix on the
/// next line; colour only when asked (the command asks when stdout is a terminal).
public enum TextReporter: LintReporter {
    public static let identifier = "text"

    public static func render(_ report: LintReport, rules: [RuleDescription]) -> String {
        render(report, colored: false)
    }

    public static func render(_ report: LintReport, rules: [RuleDescription], context: LintRenderContext) -> String {
        render(report, colored: context.colored)
    }

    public static func render(_ report: LintReport, colored: Bool) -> String {
        func paint(_ text: String, _ code: String) -> String { colored ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text }
        var output = ""
        for finding in report.findings {
            let severity: String =
                switch finding.severity {
                case .error: paint("error", "1;31")
                case .warning: paint("warning", "1;33")
                case .info: paint("info", "1;36")
                }
            output += "\(finding.file):\(finding.line):\(finding.column): \(severity): \(finding.message) [\(finding.ruleID)]\n"
            if let fix = finding.fix { output += "    fix: \(fix)\n" }
            for related in finding.related ?? [] {
                output += "    also at \(related.file):\(related.line):\(related.column): \(related.message)\n"
            }
        }
        output += report.summaryLine + "\n"
        return output
    }
}

/// The report as JSON: the findings (with related locations and fixes) and the summary counts.
public enum JSONReporter: LintReporter {
    public static let identifier = "json"

    package struct Document: Encodable {
        package var tool = "virt-macvtap"
        package var version = Versions.tool
        package var files: Int
        package var summary: [String: Int]
        package var findings: [Finding]
    }

    public static func render(_ report: LintReport, rules: [RuleDescription]) -> String {
        let (errors, warnings, infos) = report.counts
        let document = Document(
            files: report.filesChecked, summary: ["error": errors, "warning": warnings, "info": infos],
            findings: report.findings)
        return encode(document)
    }

    package static func encode(_ value: some Encodable) -> String {
        JSONOutput.encode(value) + "\n"
    }
}

/// GitHub Actions workflow commands: annotations on the pull request's files.
public enum GitHubReporter: LintReporter {
    public static let identifier = "github"

    public static func render(_ report: LintReport, rules: [RuleDescription]) -> String {
        var output = ""
        for finding in report.findings {
            let command: String =
                switch finding.severity {
                case .error: "error"
                case .warning: "warning"
                case .info: "notice"
                }
            let message = finding.message + (finding.fix.map { " (fix: \($0))" } ?? "")
            output +=
                "::\(command) file=\(property(finding.file)),line=\(finding.line),col=\(finding.column),"
                + "title=\(property(finding.ruleID))::\(data(message))\n"
        }
        return output
    }

    /// Escaping from GitHub's toolkit (command.ts): data escapes %, CR, LF; properties also : and ,.
    package static func data(_ text: String) -> String {
        text.replacing("%", with: "%25").replacing("\r", with: "%0D")
            .replacing("\n", with: "%0A")
    }

    package static func property(_ text: String) -> String {
        data(text).replacing(":", with: "%3A").replacing(",", with: "%2C")
    }
}

/// JUnit XML (GitLab, Jenkins): one test case per file, one failure per finding at or above
/// the fail level, the findings below it in the case's `<system-out>`. Built with libxml2, like every XML we write.
public enum JUnitReporter: LintReporter {
    public static let identifier = "junit"

    public static func render(_ report: LintReport, rules: [RuleDescription]) -> String {
        var byFile: [String: [Finding]] = [:]
        for finding in report.findings { byFile[finding.file, default: []].append(finding) }
        let files = byFile.keys.sorted()
        var failures = 0
        let cases: [XMLElementSpec] = files.map { file in
            let failing = byFile[file]!.filter { $0.severity >= report.failLevel }
            failures += failing.count
            // Findings below the fail level (notes such as libvirt-not-judged) are the case's output.
            let below = byFile[file]!.filter { $0.severity < report.failLevel }
            let output =
                below.isEmpty
                ? []
                : [
                    XMLElementSpec(
                        "system-out",
                        text: below.map { "\($0.file):\($0.line):\($0.column): \($0.severity.rawValue): \($0.message) [\($0.ruleID)]" }.joined(separator: "\n"))
                ]
            return XMLElementSpec(
                "testcase", attributes: [("classname", "virt-macvtap.lint"), ("name", file)],
                children: failing.map { finding in
                    XMLElementSpec(
                        "failure",
                        attributes: [("type", finding.ruleID), ("message", "\(finding.line):\(finding.column): \(finding.message)")],
                        text: "\(finding.file):\(finding.line):\(finding.column): \(finding.severity.rawValue): \(finding.message) [\(finding.ruleID)]"
                            + (finding.fix.map { "\nfix: \($0)" } ?? ""))
                } + output)
        }
        let suite = XMLElementSpec(
            "testsuite",
            attributes: [("name", "virt-macvtap lint"), ("tests", "\(files.count)"), ("failures", "\(failures)"), ("errors", "0")],
            children: cases)
        let root = XMLElementSpec("testsuites", children: [suite])
        let body = (try? XMLFragmentWriter.serialize(root)) ?? []
        return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + String(decoding: body, as: UTF8.self) + "\n"
    }
}
