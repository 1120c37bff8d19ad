import ArgumentParser
import FoundationEssentials
import MacvtapKit
import MacvtapSystem

/// `virt-macvtap edit-guard FILE`: the editor `virsh edit` runs. It runs the real editor, lints
/// what was saved and, on an error, opens the editor again with the findings on top (as visudo
/// and crontab -e do) until the file is clean or the user keeps it anyway.
struct EditGuard: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "edit-guard",
        abstract: "Lint a domain between your editor and virsh edit's define.",
        discussion: """
            Set it as virsh's editor: it runs the real editor ($VIRT_MACVTAP_EDITOR, else $VISUAL, \
            else vi), lints the saved file (against the host virsh talks to: -c, else \
            $VIRSH_DEFAULT_CONNECT_URI, else $LIBVIRT_DEFAULT_URI) and, when lint finds an error, \
            asks: e (the default) opens the editor again with the findings at the top as an XML \
            comment, which is removed again before the file goes back to virsh; k keeps the file as \
            it is; q gives up (virsh then leaves the domain unchanged). Warnings are printed, not \
            blocking. virsh gets exactly what you wrote: the file is only ever replaced whole \
            (a temporary file and a rename), so a guard killed at any moment leaves it as you \
            last saved it.

            Exit codes: 0 the file is clean or kept; 1 given up; the editor's own status when it fails.

            Examples:
              EDITOR="virt-macvtap edit-guard" virsh edit vm1
              VIRT_MACVTAP_EDITOR=nano EDITOR="virt-macvtap edit-guard" virsh -c qemu:///system edit vm1
            """)

    @Argument(help: "The file virsh edit wrote (virsh passes it).")
    var file: String

    @Option(name: [.customShort("c"), .long], help: "Lint against this libvirt host (default: virsh's own, from the environment).")
    var connect: String?

    static let commentHeader = "<!-- virt-macvtap edit-guard: fix these and save; this comment is removed before virsh sees the file."

    func run() throws {
        let environment = ProcessInfo.processInfo.environment
        let editor = Self.realEditor(environment)
        func runEditor(_ path: String) throws {
            let status = try ChildProcess.run(["/bin/sh", "-c", editor + " \"$@\"", "sh", path])
            guard status == 0 else { throw CommandFailure.status(status) }
        }
        try runEditor(file)
        let uri = connect ?? [environment["VIRSH_DEFAULT_CONNECT_URI"], environment["LIBVIRT_DEFAULT_URI"]].compactMap { $0 }.first { !$0.isEmpty }
        var hosts: [HostInventory] = []
        if let uri {
            do {
                hosts = [try HostInventory.scan(uri: uri)]
            } catch {
                StandardStream.error.write("virt-macvtap: warning: \(LibvirtURI.redacted(uri)) could not be checked (\(error)); linting without it\n")
            }
        }
        let linter: Linter
        do {
            linter = try Linter(configuration: Self.configuration(from: FileManager.default.currentDirectoryPath))
        } catch {
            throw CommandFailure.usage(error.description)
        }
        while true {
            let saved: [UInt8]
            do { saved = try FileIO.readFile(atPath: file) } catch { throw CommandFailure.system(error.description) }
            let report = try linter.lint([.memory(saved, name: file)], hosts: hosts)
            let errors = report.findings.filter { $0.severity >= report.failLevel }
            let others = report.findings.filter { $0.severity < report.failLevel }
            for finding in others { StandardStream.error.write(Self.line(finding, lineOffset: 0) + "\n") }
            guard !errors.isEmpty else { return }
            for finding in errors { StandardStream.error.write(Self.line(finding, lineOffset: 0) + "\n") }
            StandardStream.error.write("virt-macvtap: \(errors.count) error\(errors.count == 1 ? "" : "s") in \(file). (e)dit again, (k)eep it anyway, (q)uit without saving? [e] ")
            switch readLine()?.lowercased().first {
            case "k":
                return
            case "q", nil:  // no answer (no terminal, end of input): give up rather than loop
                StandardStream.error.write("\nvirt-macvtap: gave up; virsh leaves the domain unchanged\n")
                throw CommandFailure.status(1)
            default:
                try reedit(saved, errors: errors, runEditor: runEditor)
            }
        }
    }

    /// Opens a copy of `saved` with the findings on top; what the user saves there, without the
    /// comment, replaces the file virsh reads (atomically).
    private func reedit(_ saved: [UInt8], errors: [Finding], runEditor: (String) throws -> Void) throws {
        let (comment, insertAt) = Self.comment(for: errors, in: saved)
        var annotated = saved
        annotated.insert(contentsOf: comment, at: insertAt)
        let scratch = file + ".virt-macvtap-edit.xml"
        do {
            try FileIO.replaceAtomically(atPath: scratch, with: annotated, creating: true, newFileMode: 0o600)
        } catch {
            throw CommandFailure.system(error.description)
        }
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        try runEditor(scratch)
        do {
            try FileIO.replaceAtomically(atPath: file, with: Self.removingComment(try FileIO.readFile(atPath: scratch)))
        } catch {
            throw CommandFailure.system(error.description)
        }
    }

    /// The findings as an XML comment, and where it goes: after an XML declaration, else first.
    static func comment(for findings: [Finding], in text: [UInt8]) -> (bytes: [UInt8], at: Int) {
        var insertAt = 0
        if text.starts(with: Array("<?xml".utf8)), let end = text.firstIndex(of: 0x0A) { insertAt = end + 1 }
        var lines = [commentHeader]
        let count = findings.count + 2
        // Lines as the editor shows them, with this comment on top.
        let precedingLines = text[..<insertAt].filter { $0 == 0x0A }.count
        for finding in findings {
            let shifted = finding.line > precedingLines ? count : 0
            // "--" may not appear inside an XML comment.
            lines.append("  " + line(finding, lineOffset: shifted).replacing("--", with: "- -"))
        }
        lines.append("-->")
        return (Array((lines.joined(separator: "\n") + "\n").utf8), insertAt)
    }

    /// The text without our comment (wherever the user left it); anything else stays byte for byte.
    static func removingComment(_ text: [UInt8]) -> [UInt8] {
        let header = Array(commentHeader.utf8)
        guard let start = text.firstRange(of: header)?.lowerBound,
            let close = text[start...].firstRange(of: Array("-->\n".utf8)) ?? text[start...].firstRange(of: Array("-->".utf8))
        else { return text }
        var result = text
        result.removeSubrange(start..<close.upperBound)
        return result
    }

    static func line(_ finding: Finding, lineOffset: Int) -> String {
        "\(finding.file):\(finding.line + lineOffset):\(finding.column): \(finding.severity.rawValue): \(finding.message) [\(finding.ruleID)]"
    }

    /// The editor to run: VIRT_MACVTAP_EDITOR, else VISUAL or EDITOR unless they name the guard.
    static func realEditor(_ environment: [String: String]) -> String {
        if let chosen = environment["VIRT_MACVTAP_EDITOR"], !chosen.isEmpty { return chosen }
        for name in ["VISUAL", "EDITOR"] {
            if let value = environment[name], !value.isEmpty, !value.contains("edit-guard") { return value }
        }
        return "vi"
    }

    /// .virt-macvtap.json found from `directory`, as lint finds it; none or a broken one: defaults.
    static func configuration(from directory: String) -> LintConfiguration {
        guard let path = LintConfiguration.discover(from: directory), let loaded = try? LintConfiguration.load(path: path) else {
            return LintConfiguration()
        }
        return loaded
    }
}
