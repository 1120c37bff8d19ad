import MacvtapSystem
import MacvtapXML

/// What `lint --fix` did (or, for `--diff`, would do), in memory: the caller writes the files.
public struct FixRun: Sendable {
    /// One file `lint --fix` changed: its name and its text before and after.
    public struct FileChange: Sendable {
        public var name: String
        public var original: [UInt8]
        public var fixed: [UInt8]
    }

    /// Files whose text changed, in input order.
    public var changes: [FileChange]
    /// Fixes applied, over every round.
    public var fixesApplied: Int
    /// Unsafe fixes still offered in the fixed files (held back without `--unsafe-fixes`).
    public var unsafeHeldBack: Int
    /// The new MACs fixes wrote, by file (for the ledger).
    public var newMACs: [(file: String, mac: MACAddress)]
    /// The lint of the fixed text.
    public var report: LintReport
}

/// Ruff's fix loop for lint findings: apply the fixes the findings carry (safe ones, and unsafe
/// ones when asked), lint the result again, and repeat to a fixed point (at most 10 rounds).
/// Overlapping fixes wait for the next round; a file that does not parse is never touched; a
/// suppressed finding carries no fix, so suppressed regions stay as they are. Edits splice the
/// original bytes: everything outside them stays byte for byte.
public enum LintFixer {
    public static let maximumRounds = 10

    public static func run(
        _ sources: [DocumentSource], linter: Linter, unsafe: Bool, takenMACs: Set<MACAddress> = [],
        hosts: [HostInventory] = [], fleet: FleetHosts = FleetHosts(), hostInventories: [String: HostInventory] = [:],
        currentDirectory: String? = nil
    ) throws(LintSetupError) -> FixRun {
        // Files are fixed in memory; what cannot be read stays a file source, so lint reports it.
        var contents: [String: [UInt8]] = [:]
        var order: [String] = []
        var passThrough: [DocumentSource] = []
        for source in sources {
            switch source {
            case .file(let path):
                if let bytes = try? FileIO.readFile(atPath: path) {
                    contents[path] = bytes
                    order.append(path)
                } else {
                    passThrough.append(source)
                }
            case .memory(let bytes, let name):
                contents[name] = bytes
                order.append(name)
            case .standardInput:
                passThrough.append(source)
            }
        }
        let originals = contents
        var applied = 0
        var newMACs: [(file: String, mac: MACAddress)] = []
        var allocated: Set<MACAddress> = []
        func lintNow() throws(LintSetupError) -> LintReport {
            try linter.lint(
                order.map { DocumentSource.memory(contents[$0]!, name: $0) } + passThrough, hosts: hosts, fleet: fleet,
                hostInventories: hostInventories, currentDirectory: currentDirectory)
        }
        var report = try lintNow()
        for _ in 0..<maximumRounds {
            let malformed = Set(report.findings.filter { $0.ruleID == XMLMalformedRule.description.id }.map(\.file))
            let byFile = Dictionary(
                grouping: report.findings.filter { finding in
                    guard let correction = finding.correction, !malformed.contains(finding.file), contents[finding.file] != nil else { return false }
                    return correction.applicability == .safe || (unsafe && correction.applicability == .unsafe)
                }, by: \.file)
            guard !byFile.isEmpty else { break }
            // Every MAC of the files, for fresh MACs only: parsing them all is worth it only then.
            var taken = takenMACs.union(allocated)
            if byFile.values.contains(where: { $0.contains { $0.correction?.isDeferred == true } }) {
                for bytes in contents.values {
                    if let document = try? DomainDocument(bytes: bytes, fileName: "") { taken.formUnion(document.interfaces.compactMap(\.macAddress)) }
                }
            }
            var roundApplied = 0
            for name in order {
                guard let findings = byFile[name], let bytes = contents[name] else { continue }
                var chosen: [TextEdit] = []
                var count = 0
                for correction in findings.compactMap(\.correction) {
                    guard !correction.edits.contains(where: { edit in chosen.contains { overlaps($0, edit) } }) else { continue }
                    chosen += correction.edits
                    count += 1
                }
                var fixed = bytes
                var macs: [MACAddress] = []
                for edit in chosen.sorted(by: { $0.start > $1.start }) {
                    var replacement = Array(edit.replacement.utf8)
                    if edit.freshMAC {
                        guard let mac = try? MACAllocator(space: .qemuDefault).allocate(count: 1, taken: taken).first?.mac else { continue }
                        taken.insert(mac)
                        macs.append(mac)
                        replacement = Array(mac.description.utf8)
                    }
                    fixed.replaceSubrange(edit.range, with: replacement)
                }
                // Never leave a file that no longer parses.
                guard (try? XMLDocument(bytes: fixed, fileName: name)) != nil, fixed != bytes else { continue }
                contents[name] = fixed
                roundApplied += count
                allocated.formUnion(macs)
                newMACs += macs.map { (name, $0) }
            }
            guard roundApplied > 0 else { break }
            applied += roundApplied
            report = try lintNow()
        }
        let changes = order.compactMap { name -> FixRun.FileChange? in
            guard let original = originals[name], let fixed = contents[name], original != fixed else { return nil }
            return FixRun.FileChange(name: name, original: original, fixed: fixed)
        }
        let heldBack = unsafe ? 0 : report.findings.filter { $0.correction?.applicability == .unsafe }.count
        return FixRun(changes: changes, fixesApplied: applied, unsafeHeldBack: heldBack, newMACs: newMACs, report: report)
    }

    /// Two edits touch the same bytes (two insertions at one point count as touching).
    package static func overlaps(_ a: TextEdit, _ b: TextEdit) -> Bool {
        if a.start == a.end || b.start == b.end { return a.start <= b.end && b.start <= a.end }
        return a.start < b.end && b.start < a.end
    }
}
