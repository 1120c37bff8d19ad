import ArgumentParser
import FoundationEssentials
import MacvtapKit
import MacvtapSystem

struct Lint: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lint",
        abstract: "Check domain XML and interface device XML for macvtap problems.",
        discussion: """
            Inputs are files, directories (searched recursively for *.xml) or - for standard input: \
            whole domains (virsh dumpxml) or a bare <interface> (what virsh attach-device takes). \
            Layers: well-formedness; libvirt's domain.rng (the installed libvirt's, else the newest \
            copy bundled with the tool; --libvirt-version 9.0|11.3 chooses a bundled one) and our \
            interface-direct.rng; \
            every rule libvirt enforces on direct interfaces (quoting libvirt's wording and saying when \
            libvirt would notice); checks libvirt never makes (duplicate MACs across files, shared \
            passthrough devices, …); with -c, against live hosts; with --libvirt, libvirt's own \
            verdict on each whole domain (its embedded QEMU driver, under ~/.cache/virt-macvtap).

            Exit codes: 0 nothing at or above --fail-level; 1 findings; 2 usage or configuration \
            error; 3 I/O or libvirt error. A .virt-macvtap.json at the repository root sets \
            disable/enable/failLevel/severity; <!-- virt-macvtap: disable RULE --> before an element \
            silences a rule there.

            Examples:
              virt-macvtap lint domains/
              virt-macvtap lint --format sarif domains/ > lint.sarif
              virsh dumpxml vm1 | virt-macvtap lint -
              virt-macvtap lint -c qemu:///system -c qemu+ssh://host2/system new-vm.xml
              virt-macvtap lint --host hv-a='hosts/a/**' --host hv-b='hosts/b/**' hosts/
              virt-macvtap lint --hosts hosts/          # each host's files against its own uri
              virt-macvtap lint --libvirt domains/      # plus libvirt's own define verdict
              virt-macvtap lint --libvirt-version 9.0 domains/   # libvirt 9.0's bundled schemas
              virt-macvtap lint --disable vepa-needs-hairpin --fail-level warning domains/
              virt-macvtap lint --fix domains/          # safe fixes in place
              virt-macvtap lint --diff --unsafe-fixes domains/
              git ls-files -z '*.xml' | virt-macvtap lint --files-from -
              virt-macvtap lint --list-rules
            """
    )

    @Argument(help: "Files, directories (recursive, *.xml) or - for standard input.")
    var inputs: [String] = []

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Also lint the paths listed in FILE (one per line, or NUL-separated as find -print0 and git ls-files -z write; - for standard input): for lists too long for the command line.",
            valueName: "FILE"))
    var filesFrom: String?

    @Option(name: [.customShort("c"), .long], help: "Also check against this libvirt host (repeatable).")
    var connect: [String] = []

    @Option(
        name: .long,
        help: ArgumentHelp("The files of a fleet host (repeatable; on top of \"hosts\" in .virt-macvtap.json). Device rules compare files within one host; MACs across all.", valueName: "NAME=GLOB"))
    var host: [HostPattern] = []

    @Flag(name: .long, help: "Check each host's files against that host's \"uri\" in .virt-macvtap.json, all hosts at once.")
    var hosts = false

    @Option(name: .long, help: "libvirt's domain.rng to use instead of the installed or bundled one.")
    var schema: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Validate against the schemas of this libvirt release, bundled with the tool (9.0 or 11.3). Default: the installed libvirt's, else the newest bundled.", valueName: "RELEASE"))
    var libvirtVersion: LibvirtRelease?

    @Option(name: .long, help: "Output format: text, json, sarif, github or junit.")
    var format: LintFormat = .text

    @Option(name: .long, help: "Turn a rule off (repeatable).")
    var disable: [String] = []

    @Option(name: .long, help: "Turn a rule back on that the config file disabled (repeatable).")
    var enable: [String] = []

    @Option(name: .long, help: "Lowest severity that makes the exit status 1: error, warning or info.")
    var failLevel: Severity?

    @Option(name: .long, help: "Configuration file (default: .virt-macvtap.json found from the current directory up to the repository root).")
    var config: String?

    @Flag(name: .long, help: "Also ask libvirt: define each domain in libvirt's own QEMU driver (embedded, private, nothing started) and report refusals.")
    var libvirt = false

    @Flag(name: .long, help: "Apply the safe fixes findings carry (in place, atomically; to a fixed point, at most 10 rounds).")
    var fix = false

    @Flag(name: .long, help: "With --fix or --diff: also the unsafe fixes (new MACs, mod= → mode=, a <model> added).")
    var unsafeFixes = false

    @Flag(name: .long, help: "Print the unified diff --fix would make and change nothing (exit 1 when there is one).")
    var diff = false

    @Option(name: .long, help: ArgumentHelp("Where the lint cache lives (default: $XDG_CACHE_HOME/virt-macvtap/lint, else ~/.cache/virt-macvtap/lint).", valueName: "DIR"))
    var cacheDir: String?

    @Flag(name: .long, help: "Lint every file afresh; read and write no cache.")
    var noCache = false

    @OptionGroup var ledgerChoice: LedgerChoice

    @OptionGroup var quietFlag: QuietFlag

    @Flag(name: .long, help: "List the rules and exit.")
    var listRules = false

    @Flag(name: .long, help: "With --list-rules: print docs/rules.md.")
    var markdown = false

    func validate() throws {
        if unsafeFixes, !fix, !diff { throw ValidationError("--unsafe-fixes goes with --fix or --diff") }
        if fix, diff { throw ValidationError("give --fix (change the files) or --diff (show the change), not both") }
        let known = Set(RuleRegistry.all.map(\.id))
        for id in disable + enable where !known.contains(id) {
            throw ValidationError("unknown rule '\(id)'; see virt-macvtap lint --list-rules")
        }
    }

    func run() throws {
        if listRules {
            writeStandardOutput(Array((markdown ? RulesDocumentation.markdown() : RulesDocumentation.table()).utf8))
            return
        }
        let listed = try filesFrom.map(Self.inputList(from:)) ?? []
        guard !inputs.isEmpty || !listed.isEmpty else {
            throw CommandFailure.usage("give files, directories or - to lint (or --files-from FILE, or --list-rules)")
        }
        let environment = ProcessInfo.processInfo.environment
        var request = LintRequest(inputs: inputs + listed, currentDirectory: FileManager.default.currentDirectoryPath, environment: environment)
        request.connect = connect
        request.hostPatterns = host.map { ($0.name, $0.glob) }
        request.checkFleetHosts = hosts
        request.schema = schema
        request.libvirtRelease = libvirtVersion
        request.disable = disable
        request.enable = enable
        request.failLevel = failLevel
        request.configurationPath = config
        request.askLibvirt = libvirt
        request.changes = fix ? .apply : diff ? .preview : .report
        request.unsafeFixes = unsafeFixes
        request.cacheDirectory = noCache ? nil : cacheDir ?? Self.defaultCacheDirectory(environment)
        request.ledger = ledgerChoice.location
        let files = ProgressLine(quiet: quietFlag.quiet, applies: true)
        defer { files.finish() }
        let outcome: LintOutcome
        do {
            outcome = try LintRun.perform(request) { what, done, total in
                // A line only where it helps: many files, or more than a few hosts.
                if (what == "linted" && total > 500) || (what == "hosts scanned" && total > 3) { files.counter(what)(done, total) }
            }
        } catch {
            switch error {
            case .setup(let message): throw CommandFailure.usage(message)
            case .noFleetHostURI: throw CommandFailure.usage(CommandFailure.hostsNeedURI)
            case .fixingStandardInput: throw CommandFailure.usage("--fix and --diff change files; standard input (-) has none to change")
            case .system(let message): throw CommandFailure.system(message)
            case .input(let input): throw input
            }
        }
        files.finish()
        for line in outcome.unreachableHosts { StandardStream.error.write("virt-macvtap: error: \(line)\n") }
        for note in outcome.notes {
            switch note {
            case .libvirtLayerSkipped(let reason): StandardStream.error.write("virt-macvtap: note: the --libvirt layer was skipped: \(reason)\n")
            case .libvirtCouldNotJudge(let what): StandardStream.error.write("virt-macvtap: note: --libvirt could not judge \(what)\n")
            }
        }
        if let run = outcome.fixes {
            let heldBack = run.unsafeHeldBack > 0 ? "; \(run.unsafeHeldBack) unsafe \(run.unsafeHeldBack == 1 ? "fix" : "fixes") held back (--unsafe-fixes)" : ""
            if diff {
                for change in run.changes {
                    writeStandardOutput(Array(UnifiedDiff.make(original: change.original, edited: change.fixed, originalName: "a/" + change.name, editedName: "b/" + change.name).utf8))
                }
                StandardStream.error.write(
                    "virt-macvtap: \(run.fixesApplied) \(run.fixesApplied == 1 ? "fix" : "fixes") would change \(run.changes.count) \(run.changes.count == 1 ? "file" : "files")\(heldBack)\n")
                if !run.changes.isEmpty { throw CommandFailure.status(CommandFailure.refusedStatus) }
                return
            }
            StandardStream.error.write(
                "virt-macvtap: fixed \(run.fixesApplied) \(run.fixesApplied == 1 ? "finding" : "findings") in \(run.changes.count) \(run.changes.count == 1 ? "file" : "files")\(heldBack)\n")
        }
        let report = outcome.report
        for readError in report.readErrors {
            StandardStream.error.write("virt-macvtap: error: \(readError)\n")
        }
        let context = LintRenderContext(colored: StandardStream.output.isTerminal)
        writeStandardOutput(Array(format.reporter.render(report, rules: RuleRegistry.all, context: context).utf8))
        if !outcome.unreachableHosts.isEmpty { throw CommandFailure.status(CommandFailure.systemStatus) }
        switch report.outcome {
        case .clean: break
        case .findings: throw CommandFailure.status(CommandFailure.refusedStatus)
        case .unreadableInput: throw CommandFailure.status(CommandFailure.systemStatus)
        }
    }
}

extension Lint {
    /// Compiling libvirt's domain.rng is most of a one-file lint: it starts in the background
    /// as soon as the arguments are parsed, while the inputs are listed and read.
    func prefetchSchemas() {
        guard !listRules else { return }
        Linter.prefetchSchemas(configuration: LintConfiguration(disable: disable), domainSchemaPath: schema, libvirtRelease: libvirtVersion)
    }

    /// The input list `--files-from` names: one path per line, or NUL-separated (`find -print0`,
    /// `git ls-files -z`); `-` is standard input.
    static func inputList(from source: String) throws -> [String] {
        let bytes: [UInt8]
        do {
            bytes = source == "-" ? try FileIO.readStandardInput() : try FileIO.readFile(atPath: source)
        } catch {
            throw CommandFailure.system("\(source == "-" ? "standard input" : source): cannot read the input list (\(error))")
        }
        let separator = bytes.contains(0) ? UInt8(0) : UInt8(ascii: "\n")
        return bytes.split(separator: separator).map { String(decoding: $0, as: UTF8.self) }
            .map { $0.hasSuffix("\r") ? String($0.dropLast()) : $0 }.filter { !$0.isEmpty }
    }

    /// `$XDG_CACHE_HOME/virt-macvtap/lint`, else `~/.cache/virt-macvtap/lint`.
    static func defaultCacheDirectory(_ environment: [String: String]) -> String {
        cacheDirectory(named: "lint", environment)
    }
}

/// `$XDG_CACHE_HOME/virt-macvtap/NAME`, else `~/.cache/virt-macvtap/NAME`: the tool's caches.
func cacheDirectory(named name: String, _ environment: [String: String]) -> String {
    if let cache = environment["XDG_CACHE_HOME"], cache.hasPrefix("/") { return cache + "/virt-macvtap/" + name }
    return (environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? "/root") + "/.cache/virt-macvtap/" + name
}
