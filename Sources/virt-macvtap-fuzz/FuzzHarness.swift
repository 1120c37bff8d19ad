import FoundationEssentials
import MacvtapKit
import MacvtapXML

/// parse → lint → emit → edit, with the invariants whose failure is a bug. A violated invariant
/// traps, so libFuzzer (or the replay mode) reports it with the input that caused it.
enum FuzzHarness {
    /// Compiled once per process: libvirt's domain.rng and our interface schema.
    static let linter: Linter = {
        do {
            return try Linter(configuration: LintConfiguration())
        } catch {
            fatalError("fuzz harness: \(error) (set VIRT_MACVTAP_SCHEMA_DIR to the repository's Schemas/)")
        }
    }()

    static let spec = DirectInterfaceSpec(
        sourceDevice: "eth0", mode: .bridge, mac: MACAddress("52:54:00:fe:ed:01"), model: "virtio")

    static func run(_ bytes: [UInt8]) {
        let report: LintReport
        do {
            report = try linter.lint([.memory(bytes, name: "fuzz.xml")])
        } catch {
            fatalError("the schemas failed to compile: \(error)")
        }
        checkFindings(report, lineCount: bytes.count { $0 == UInt8(ascii: "\n") } + 1)
        checkReporters(report)
        checkEditing(bytes)
    }

    /// Every finding is one line at a position inside the input (0:0 means "whole file").
    static func checkFindings(_ report: LintReport, lineCount: Int) {
        for finding in report.findings {
            precondition(finding.line >= 0 && finding.line <= lineCount, "finding outside the input: \(finding)")
            precondition(finding.column >= 0, "negative column: \(finding)")
            precondition(!finding.message.contains("\n"), "multi-line message: \(finding.message)")
            precondition(RuleRegistry.description(forID: finding.ruleID) != nil, "unregistered rule \(finding.ruleID)")
        }
    }

    private struct JSONShape: Decodable {
        struct Item: Decodable {
            var ruleID: String
            var line: Int
        }
        var files: Int
        var findings: [Item]
    }

    private struct SARIFShape: Decodable {
        struct Run: Decodable {
            struct Result: Decodable { var ruleId: String }
            var results: [Result]
        }
        var version: String
        var runs: [Run]
    }

    /// Machine-readable outputs stay valid whatever the input put into messages.
    static func checkReporters(_ report: LintReport) {
        let rules = RuleRegistry.all
        for format in LintFormat.allCases {
            let output = Array(format.reporter.render(report, rules: rules).utf8)
            switch format.rawValue {
            case JSONReporter.identifier:
                let decoded = try? JSONDecoder().decode(JSONShape.self, from: Data(output))
                precondition(decoded?.findings.count == report.findings.count, "json output does not decode")
            case SARIFReporter.identifier:
                let decoded = try? JSONDecoder().decode(SARIFShape.self, from: Data(output))
                precondition(decoded?.version == "2.1.0", "sarif output does not decode")
                precondition(decoded?.runs.first?.results.count == report.findings.count, "sarif lost results")
            case JUnitReporter.identifier:
                do {
                    _ = try XMLDocument(bytes: output, fileName: "junit.xml")
                } catch {
                    preconditionFailure("junit output is not well-formed: \(error)")
                }
            case GitHubReporter.identifier:
                let lines = output.split(separator: UInt8(ascii: "\n"))
                precondition(lines.count >= report.findings.count, "github output lost annotations")
            case TextReporter.identifier:
                break
            default:
                preconditionFailure("no invariant for the \(format.rawValue) reporter: add one here")
            }
        }
    }

    /// Adding an interface only inserts bytes (or expands `<devices/>`), the result shows the
    /// interface, and removing it again gives back the original interfaces.
    static func checkEditing(_ bytes: [UInt8]) {
        guard let xml = try? XMLDocument(bytes: bytes, fileName: "fuzz.xml"),
            let document = try? DomainDocument(xml), !document.isDeviceXML, xml.hasByteSpans,
            let mac = spec.mac, document.interfaces.allSatisfy({ $0.macAddress != mac })
        else { return }
        let plan: DomainEditPlan
        do {
            plan = try DomainFileEditor.planAdd(spec, to: document, path: "fuzz.xml")
        } catch {
            if case .verificationFailed(_, let reason) = error { preconditionFailure("add: \(reason)") }
            return
        }
        let selfClosingDevices = xml.root?.children.first { $0.qualifiedName == "devices" }
            .flatMap { devices in devices.byteRange == devices.startTagRange ? devices.byteRange : nil }
        checkInsertion(original: bytes, edited: plan.edited, replaceable: selfClosingDevices)
        guard let edited = try? DomainDocument(XMLDocument(bytes: plan.edited, fileName: "fuzz.xml")) else {
            preconditionFailure("the edited document does not parse")
        }
        do {
            let removal = try DomainFileEditor.planRemove(mac: mac, from: edited, path: "fuzz.xml")
            let restored = try DomainDocument(XMLDocument(bytes: removal.edited, fileName: "fuzz.xml"))
            precondition(
                restored.interfaces.map(\.macAddress) == document.interfaces.map(\.macAddress),
                "add then remove changed the interfaces")
        } catch {
            preconditionFailure("remove after add failed: \(error)")
        }
    }

    /// The original bytes survive around the insertion point; only a self-closing `<devices/>`
    /// (`replaceable`) may be replaced, by its open/close pair.
    static func checkInsertion(original: [UInt8], edited: [UInt8], replaceable: Range<Int>?) {
        let (prefix, suffix) = original.commonAffixLengths(with: edited)
        let replaced = prefix..<(original.count - suffix)
        precondition(
            replaced.isEmpty || replaceable.map { $0.contains(replaced.lowerBound) && $0.contains(replaced.upperBound - 1) } == true,
            "the edit changed bytes outside the new interface: \(String(decoding: original[replaced], as: UTF8.self))")
    }
}
