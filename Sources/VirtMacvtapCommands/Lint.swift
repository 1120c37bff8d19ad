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
              virt-macvtap lint --list-rules
            """
    )

    @Argument(help: "Files, directories (recursive, *.xml) or - for standard input.")
    var inputs: [String] = []

    @Option(name: [.customShort("c"), .long], help: "Also check against this libvirt host (repeatable).")
    var connect: [String] = []

    @Option(name: .long, help: ArgumentHelp("The files of a fleet host (repeatable; on top of \"hosts\" in .virt-macvtap.json). Device rules compare files within one host; MACs across all.", valueName: "NAME=GLOB"))
    var host: [HostPattern] = []

    @Flag(name: .long, help: "Check each host's files against that host's \"uri\" in .virt-macvtap.json, all hosts at once.")
    var hosts = false

    @Option(name: .long, help: "libvirt's domain.rng to use instead of the installed or bundled one.")
    var schema: String?

    @Option(name: .long, help: ArgumentHelp("Validate against the schemas of this libvirt release, bundled with the tool (9.0 or 11.3). Default: the installed libvirt's, else the newest bundled.", valueName: "RELEASE"))
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
        // Checked here, not in validate(): inputs are added after parsing (see `split`).
        guard !inputs.isEmpty else {
            throw CommandFailure.usage("give files, directories or - to lint (or --list-rules)")
        }
        var configuration = LintConfiguration()
        let currentDirectory = FileManager.default.currentDirectoryPath
        var configurationDirectory = currentDirectory
        do {
            let path = config ?? LintConfiguration.discover(from: currentDirectory)
            if let path {
                guard let loaded = try LintConfiguration.load(path: path) else {
                    throw CommandFailure.usage("configuration file \(path) does not exist")
                }
                configuration = loaded
                let absolute = path.hasPrefix("/") ? path : currentDirectory + "/" + path
                configurationDirectory = String(absolute[..<(absolute.lastIndex(of: "/") ?? absolute.endIndex)])
            }
        } catch let error as LintConfigurationError {
            throw CommandFailure.usage(error.description)
        }
        var fleet = FleetHosts(configuration.hosts, relativeTo: configurationDirectory)
        for pattern in host {
            fleet = fleet.adding(pattern.name, pattern: pattern.glob, relativeTo: currentDirectory)
        }
        configuration = configuration.merged(with: LintConfiguration(disable: disable, enable: enable, failLevel: failLevel))

        let sources = try LintInputs.expand(inputs)
        let quiet = quietFlag.quiet
        // -c and --hosts: every host at once; one that cannot be reached is one error line
        // (exit 3) and the others are still checked.
        var unreachableHosts = 0
        let inventories = scanHosts(connect.map { (LibvirtURI.redacted($0), $0) }, quiet: quiet, unreachable: &unreachableHosts).compactMap { $0 }
        var hostInventories: [String: HostInventory] = [:]
        if hosts {
            let withURI = fleet.hosts.filter { $0.uri != nil }
            guard !withURI.isEmpty else {
                throw CommandFailure.usage(CommandFailure.hostsNeedURI)
            }
            let scanned = scanHosts(withURI.map { ("'\($0.name)'", $0.uri!) }, quiet: quiet, unreachable: &unreachableHosts)
            for (host, inventory) in zip(withURI, scanned) { hostInventories[host.name] = inventory }
        }
        // After the hosts: once libvirt's embedded QEMU driver is loaded, the process can open no
        // new connection to a daemon (libvirt 9.0: "no connection driver available").
        var libvirtLayer: LibvirtDefineLayer?
        var libvirtUnavailable: String?
        if libvirt {
            do {
                let environment = ProcessInfo.processInfo.environment
                libvirtLayer = try LibvirtDefineLayer(
                    cacheDirectory: LibvirtDefineLayer.defaultCacheDirectory(environment: environment),
                    scratchParents: LibvirtDefineLayer.defaultScratchParents(environment: environment))
            } catch {
                StandardStream.error.write("virt-macvtap: note: the --libvirt layer was skipped: \(error.reason)\n")
                libvirtUnavailable = error.reason
            }
        }
        // The scratch root goes however the run ends.
        defer { libvirtLayer?.finish() }
        // The release findings are judged for: the one -c host's own (virConnectGetLibVersion),
        // else --libvirt-version, else the installed libvirt's; the schemas follow when a copy of
        // that release's is bundled.
        let hostRelease = connect.count == 1 ? inventories.first?.libvirtRelease : nil
        let schemaRelease = hostRelease.flatMap { LibvirtSchemas.bundledReleases()[$0] != nil ? $0 : nil } ?? libvirtVersion
        // Fixes lint changing text in memory; --libvirt's verdict depends on the libvirt installed.
        var cache: LintCache?
        if !noCache, !fix, !diff, libvirtLayer == nil, sources.count >= LintCache.minimumFiles {
            cache = LintCache(
                directory: cacheDir ?? Self.defaultCacheDirectory(ProcessInfo.processInfo.environment),
                configurationKey: LintCache.configurationKey(
                    configuration: configuration, schemaFiles: LintCache.schemaFiles(domainSchemaPath: schema, libvirtRelease: schemaRelease),
                    judgedRelease: hostRelease ?? libvirtVersion, fleet: fleet))
        }
        let linter: Linter
        do {
            linter = try Linter(
                configuration: configuration, domainSchemaPath: schema, libvirtRelease: schemaRelease,
                judgedRelease: hostRelease ?? libvirtVersion, libvirt: libvirtLayer, libvirtUnavailable: libvirtUnavailable, cache: cache)
        } catch {
            throw CommandFailure.usage(error.description)
        }
        let progress = ProgressLine(quiet: quiet, applies: sources.count > 500)
        defer { progress.finish() }
        let report: LintReport
        if fix || diff {
            guard !sources.contains(.standardInput) else {
                throw CommandFailure.usage("--fix and --diff change files; standard input (-) has none to change")
            }
            let taken = inventories.reduce(into: Set<MACAddress>()) { $0.formUnion($1.usedMACs) }
                .union(hostInventories.values.flatMap(\.usedMACs)).union(try ledgerReservations(ledgerChoice.location))
            let run: FixRun
            do {
                run = try LintFixer.run(
                    sources, linter: linter, unsafe: unsafeFixes, takenMACs: taken, hosts: inventories, fleet: fleet,
                    hostInventories: hostInventories, currentDirectory: currentDirectory)
            } catch {
                throw CommandFailure.usage(error.description)
            }
            let heldBack = run.unsafeHeldBack > 0 ? "; \(run.unsafeHeldBack) unsafe \(run.unsafeHeldBack == 1 ? "fix" : "fixes") held back (--unsafe-fixes)" : ""
            if diff {
                for change in run.changes {
                    writeStandardOutput(Array(UnifiedDiff.make(original: change.original, edited: change.fixed, originalName: "a/" + change.name, editedName: "b/" + change.name).utf8))
                }
                StandardStream.error.write("virt-macvtap: \(run.fixesApplied) \(run.fixesApplied == 1 ? "fix" : "fixes") would change \(run.changes.count) \(run.changes.count == 1 ? "file" : "files")\(heldBack)\n")
                if !run.changes.isEmpty { throw CommandFailure.status(CommandFailure.refusedStatus) }
                return
            }
            try write(run)
            StandardStream.error.write("virt-macvtap: fixed \(run.fixesApplied) \(run.fixesApplied == 1 ? "finding" : "findings") in \(run.changes.count) \(run.changes.count == 1 ? "file" : "files")\(heldBack)\n")
            report = run.report
        } else {
            do {
                report = try linter.lint(
                    sources, hosts: inventories, fleet: fleet, hostInventories: hostInventories, currentDirectory: currentDirectory,
                    progress: progress.counter("linted"))
            } catch {
                throw CommandFailure.usage(error.description)
            }
        }
        progress.finish()
        for reason in libvirtLayer?.notJudged ?? [] {
            StandardStream.error.write("virt-macvtap: note: --libvirt could not judge \(reason)\n")
        }
        for readError in report.readErrors {
            StandardStream.error.write("virt-macvtap: error: \(readError)\n")
        }
        let rendered =
            format == .text
            ? TextReporter.render(report, colored: StandardStream.output.isTerminal)
            : format.reporter.render(report, rules: RuleRegistry.all)
        writeStandardOutput(Array(rendered.utf8))
        if unreachableHosts > 0 { throw CommandFailure.status(CommandFailure.systemStatus) }
        switch report.outcome {
        case .clean: break
        case .findings: throw CommandFailure.status(CommandFailure.refusedStatus)
        case .unreadableInput: throw CommandFailure.status(CommandFailure.systemStatus)
        }
    }
}

extension Lint {
    /// Writes each fixed file atomically (the original stays whole if anything fails) and
    /// records the MACs fixes chose in the ledger.
    func write(_ run: FixRun) throws {
        for change in run.changes {
            do {
                try FileIO.replaceAtomically(atPath: change.name, with: change.fixed)
            } catch {
                throw CommandFailure.system("\(error); the file is unchanged")
            }
        }
        guard !run.newMACs.isEmpty else { return }
        do {
            guard let ledger = try ledgerChoice.location.open(forWriting: true) else { return }
            for (file, macs) in Dictionary(grouping: run.newMACs, by: \.file) {
                try ledger.reserve(macs.map(\.mac), label: "lint --fix: \(file)", checkedAgainst: "lint --fix")
            }
        } catch {
            throw CommandFailure.system("the files are fixed, but the new MACs were not recorded in the ledger: \(error)")
        }
    }
}

/// swift-argument-parser takes time quadratic in the number of positional arguments (0.15 s for
/// 2,300 file names), and pre-commit or `xargs` pass thousands. Beyond `inputSplitThreshold`
/// arguments, `lint`'s inputs are therefore taken out before parsing and added back after;
/// below it argument-parser parses everything itself, so a one-file lint pays nothing for the split.
extension Lint {
    /// More arguments than this and the inputs are set aside before parsing (64 positionals
    /// cost argument-parser well under a millisecond).
    static let inputSplitThreshold = 64

    static func splitsInputs(_ arguments: [String]) -> Bool {
        arguments.first == "lint" && arguments.count > inputSplitThreshold
    }

    /// Compiling libvirt's domain.rng is most of a one-file lint: start it (and our schema) in
    /// the background before the arguments are parsed, when they ask for a lint.
    static func prefetchSchemas(_ arguments: [String]) {
        guard arguments.first == "lint" else { return }
        // Few arguments: the names looked for below are enough, and an input file called like
        // an option's value only makes the head start guess wrong, never the lint.
        let options = splitsInputs(arguments) ? split(Array(arguments.dropFirst())).options : Array(arguments.dropFirst())
        let informational: Set<String> = ["-h", "--help", "--list-rules"]
        guard !options.contains(where: informational.contains) else { return }
        // `--name value` and `--name=value`, in order.
        func values(of name: String) -> [String] {
            zip(options, options.dropFirst() + [""]).compactMap { option, next in
                option == name ? next : option.hasPrefix(name + "=") ? String(option.dropFirst(name.count + 1)) : nil
            }
        }
        Linter.prefetchSchemas(
            configuration: LintConfiguration(disable: values(of: "--disable")), domainSchemaPath: values(of: "--schema").last,
            libvirtRelease: values(of: "--libvirt-version").last.flatMap { LibvirtRelease(argument: $0) })
    }

    /// Options of `lint` that take a value (the next argument belongs to them), derived from
    /// argument-parser's own description of `Lint` (`_dumpHelp()`, the JSON behind
    /// `--experimental-dump-help`): an option added to `Lint` is here without anyone listing it,
    /// so its value can never be taken for an input file.
    static let optionsWithValues: Set<String> = {
        struct Dump: Decodable {
            struct Command: Decodable { var arguments: [Argument]? }
            struct Argument: Decodable {
                var kind: String
                var names: [Name]?
            }
            struct Name: Decodable {
                var kind: String
                var name: String
            }
            var command: Command
        }
        // A dump argument-parser cannot give would be a bug in it; no option then takes a value,
        // which LintOptionValueTests would catch.
        guard let dump = try? JSONDecoder().decode(Dump.self, from: Data(Lint._dumpHelp().utf8)) else { return [] }
        let names = (dump.command.arguments ?? []).filter { $0.kind == "option" }.flatMap { $0.names ?? [] }
        return Set(names.map { $0.kind == "short" || $0.kind == "longWithSingleDash" ? "-\($0.name)" : "--\($0.name)" })
    }()

    /// `$XDG_CACHE_HOME/virt-macvtap/lint`, else `~/.cache/virt-macvtap/lint`.
    static func defaultCacheDirectory(_ environment: [String: String]) -> String {
        if let cache = environment["XDG_CACHE_HOME"], cache.hasPrefix("/") { return cache + "/virt-macvtap/lint" }
        return (environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? "/root") + "/.cache/virt-macvtap/lint"
    }

    /// The arguments with `lint`'s positional inputs removed (other commands: unchanged).
    static func withoutInputs(_ arguments: [String]) -> [String] {
        guard splitsInputs(arguments) else { return arguments }
        return ["lint"] + split(Array(arguments.dropFirst())).options
    }

    /// `lint`'s positional inputs, in order.
    static func inputs(in arguments: [String]) -> [String] {
        guard splitsInputs(arguments) else { return [] }
        return split(Array(arguments.dropFirst())).inputs
    }

    static func split(_ arguments: [String]) -> (options: [String], inputs: [String]) {
        var options: [String] = []
        var inputs: [String] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            if argument == "--" {
                inputs += arguments[(index + 1)...]
                break
            }
            if argument.hasPrefix("-") && argument != "-" {
                options.append(argument)
                if optionsWithValues.contains(argument), index + 1 < arguments.count {
                    options.append(arguments[index + 1])
                    index += 1
                }
            } else {
                inputs.append(argument)
            }
            index += 1
        }
        return (options, inputs)
    }
}

extension Lint {
    /// Scans `hosts` (a label for messages, a URI) all at once, in order; one that cannot be
    /// reached is one error line, nil, and counts in `unreachable` (exit 3).
    func scanHosts(_ hosts: [(label: String, uri: String)], quiet: Bool, unreachable: inout Int) -> [HostInventory?] {
        guard !hosts.isEmpty else { return [] }
        let progress = ProgressLine(quiet: quiet, applies: hosts.count > 3)
        let scanned = HostInventory.scan(named: hosts.map { ($0.label, $0.uri) }, progress: progress.counter("hosts scanned"))
        progress.finish()
        return scanned.map { label, result in
            switch result {
            case .success(let inventory): return inventory
            case .failure(let error):
                unreachable += 1
                StandardStream.error.write("virt-macvtap: error: host \(label) could not be checked (\(LibvirtURI.redacted(error.description))); its files were linted without it\n")
                return nil
            }
        }
    }
}
