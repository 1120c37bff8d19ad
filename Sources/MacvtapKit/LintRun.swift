import FoundationEssentials
import MacvtapSystem

/// One lint run as a front end asks for it (the command line, an editor, a script): inputs,
/// configuration, hosts, fixes, cache policy, libvirt's own layer. `LintRun.perform` turns it
/// into a `LintOutcome`; printing it and mapping it to an exit status is the front end's.
public struct LintRequest: Sendable {
    /// Files, directories (searched for `*.xml`) and `-` for standard input.
    public var inputs: [String]
    /// libvirt hosts to check the files against (`lint -c`).
    public var connect: [String] = []
    /// Fleet hosts named on top of the configuration's: (name, glob) pairs.
    public var hostPatterns: [(name: String, glob: String)] = []
    /// Check each fleet host's files against that host's own URI, all hosts at once.
    public var checkFleetHosts = false
    /// libvirt's domain.rng to use instead of the installed or bundled one.
    public var schema: String?
    /// Validate against this bundled release's schemas and judge for it.
    public var libvirtRelease: LibvirtRelease?
    /// Overrides on top of the configuration file.
    public var disable: [String] = []
    public var enable: [String] = []
    public var failLevel: Severity?
    /// The configuration file; nil: `.virt-macvtap.json` found from the current directory up.
    public var configurationPath: String?
    /// Also ask libvirt's embedded QEMU driver about each whole domain.
    public var askLibvirt = false
    /// What to do with the fixes findings carry.
    public var changes: Changes = .report
    /// With `.apply` or `.preview`: the unsafe fixes too.
    public var unsafeFixes = false
    /// The lint cache: its directory, or nil for none.
    public var cacheDirectory: String?
    /// The ledger whose reservations fixes must avoid, and where new MACs are recorded.
    public var ledger: LedgerLocation?
    public var currentDirectory: String
    public var environment: [String: String]

    /// Whether the fixes are reported, applied or previewed.
    public enum Changes: Sendable {
        /// Only report.
        case report
        /// Write the fixed files (atomically) and record new MACs in the ledger.
        case apply
        /// Compute the changes and write nothing.
        case preview
    }

    public init(inputs: [String], currentDirectory: String, environment: [String: String]) {
        self.inputs = inputs
        self.currentDirectory = currentDirectory
        self.environment = environment
    }
}

/// What a lint run came to.
public struct LintOutcome: Sendable {
    public var report: LintReport
    /// With fixes: the files changed (applied or previewed), how many fixes, how many unsafe
    /// ones were held back.
    public var fixes: FixRun?
    /// What the run could not do fully, for the front end to word beside the report.
    public var notes: [LintNote] = []
    /// One line per host that could not be checked; its files were linted without it.
    public var unreachableHosts: [String] = []
}

/// Something a lint run could not do fully (the front end words it: it knows its flag names).
public enum LintNote: Sendable, Equatable {
    /// libvirt's layer was asked for and did not start; why.
    case libvirtLayerSkipped(String)
    /// libvirt's layer could not judge these domains (no emulator for their architecture).
    case libvirtCouldNotJudge(String)
}

/// Why a lint run could not run at all.
public enum LintRunError: Error, Sendable, CustomStringConvertible {
    /// A configuration, fleet or schema the run cannot use; the message says what to change.
    case setup(String)
    /// Checking each fleet host against its own URI, but no host has one.
    case noFleetHostURI
    /// Fixes asked for standard input, which has no file to change.
    case fixingStandardInput
    /// A fixed file could not be written (the original is intact) or the ledger not updated.
    case system(String)
    /// An input that cannot be expanded (an unreadable directory, one without XML files).
    case input(LintInputError)

    public var description: String {
        switch self {
        case .setup(let message), .system(let message): message
        case .noFleetHostURI: "no fleet host has a \"uri\" in .virt-macvtap.json (\"hosts\": {\"hv-a\": {\"files\": [...], \"uri\": \"qemu+ssh://root@hv-a/system\"}})"
        case .fixingStandardInput: "fixes change files; standard input has none to change"
        case .input(let error): error.description
        }
    }
}

/// The lint front end every caller shares (`virt-macvtap lint`, tests, other tools).
public enum LintRun {
    /// Runs `request`: configuration, fleet, hosts (all at once; one that cannot be reached is a
    /// line in the outcome), libvirt's layer (after the hosts: once libvirt's embedded driver is
    /// loaded a process opens no new daemon connection), the judged release, the cache, then
    /// the lint or the fixes. `progress` hears what is being counted ("hosts scanned", "linted").
    public static func perform(
        _ request: LintRequest, progress: (@Sendable (_ what: String, _ done: Int, _ total: Int) -> Void)? = nil
    ) throws(LintRunError) -> LintOutcome {
        var configuration: LintConfiguration
        let configurationDirectory: String
        do {
            (configuration, configurationDirectory) = try LintConfiguration.applicable(
                path: request.configurationPath, currentDirectory: request.currentDirectory)
        } catch {
            throw .setup(error.description)
        }
        var fleet = FleetHosts(configuration.hosts, relativeTo: configurationDirectory)
        for pattern in request.hostPatterns {
            fleet = fleet.adding(pattern.name, pattern: pattern.glob, relativeTo: request.currentDirectory)
        }
        configuration = configuration.merged(with: LintConfiguration(disable: request.disable, enable: request.enable, failLevel: request.failLevel))
        let sources: [DocumentSource]
        do {
            sources = try LintInputs.expand(request.inputs)
        } catch {
            throw .input(error)
        }
        if request.changes != .report, sources.contains(.standardInput) { throw .fixingStandardInput }

        var outcome = LintOutcome(report: LintReport(findings: [], filesChecked: 0, readErrors: [], failLevel: .error))
        // -c and fleet hosts: every host at once; one that cannot be reached is one line and
        // the others are still checked.
        func scan(_ hosts: [(label: String, uri: String)]) -> [HostInventory?] {
            guard !hosts.isEmpty else { return [] }
            let counter = progress.map { report in { @Sendable (done: Int, total: Int) in report("hosts scanned", done, total) } }
            return HostInventory.scan(named: hosts.map { ($0.label, $0.uri) }, progress: counter).map { label, result in
                switch result {
                case .success(let inventory): return inventory
                case .failure(let error):
                    outcome.unreachableHosts.append(
                        "host \(label) could not be checked (\(LibvirtURI.redacted(error.description))); its files were linted without it")
                    return nil
                }
            }
        }
        let inventories = scan(request.connect.map { (LibvirtURI.redacted($0), $0) }).compactMap { $0 }
        var hostInventories: [String: HostInventory] = [:]
        if request.checkFleetHosts {
            let withURI = fleet.hosts.filter { $0.uri != nil }
            guard !withURI.isEmpty else { throw .noFleetHostURI }
            for (host, inventory) in zip(withURI, scan(withURI.map { ("'\($0.name)'", $0.uri!) })) { hostInventories[host.name] = inventory }
        }
        var layer: LibvirtDefineLayer?
        var layerUnavailable: String?
        if request.askLibvirt {
            do {
                layer = try LibvirtDefineLayer(
                    cacheDirectory: LibvirtDefineLayer.defaultCacheDirectory(environment: request.environment),
                    scratchParents: LibvirtDefineLayer.defaultScratchParents(environment: request.environment))
            } catch {
                layerUnavailable = error.reason
                outcome.notes.append(.libvirtLayerSkipped(error.reason))
            }
        }
        // The scratch root goes however the run ends.
        defer { layer?.finish() }
        // The release findings are judged for: the one -c host's own (virConnectGetLibVersion),
        // else the request's, else the installed libvirt's; the schemas follow when a copy of
        // that release's is bundled.
        let hostRelease = request.connect.count == 1 ? inventories.first?.libvirtRelease : nil
        let schemaRelease = hostRelease.flatMap { LibvirtSchemas.bundledReleases()[$0] != nil ? $0 : nil } ?? request.libvirtRelease
        // Fixes change text in memory; the libvirt layer's verdict depends on the libvirt installed.
        var cache: LintCache?
        if let directory = request.cacheDirectory, request.changes == .report, layer == nil, sources.count >= LintCache.minimumFiles {
            cache = LintCache(
                directory: directory,
                configurationKey: LintCache.configurationKey(
                    configuration: configuration,
                    schemaFiles: LintCache.schemaFiles(domainSchemaPath: request.schema, libvirtRelease: schemaRelease),
                    judgedRelease: hostRelease ?? request.libvirtRelease, fleet: fleet))
        }
        let linter: Linter
        do {
            linter = try Linter(
                configuration: configuration, domainSchemaPath: request.schema, libvirtRelease: schemaRelease,
                judgedRelease: hostRelease ?? request.libvirtRelease, libvirt: layer, libvirtUnavailable: layerUnavailable, cache: cache)
        } catch {
            throw .setup(error.description)
        }
        let linted = progress.map { report in { @Sendable (done: Int, total: Int) in report("linted", done, total) } }
        if request.changes == .report {
            do {
                outcome.report = try linter.lint(
                    sources, hosts: inventories, fleet: fleet, hostInventories: hostInventories,
                    currentDirectory: request.currentDirectory, progress: linted)
            } catch {
                throw .setup(error.description)
            }
        } else {
            let taken = inventories.reduce(into: Set<MACAddress>()) { $0.formUnion($1.usedMACs) }
                .union(hostInventories.values.flatMap(\.usedMACs)).union(try reservations(in: request.ledger))
            let run: FixRun
            do {
                run = try LintFixer.run(
                    sources, linter: linter, unsafe: request.unsafeFixes, takenMACs: taken, hosts: inventories, fleet: fleet,
                    hostInventories: hostInventories, currentDirectory: request.currentDirectory)
            } catch {
                throw .setup(error.description)
            }
            if request.changes == .apply { try write(run, ledger: request.ledger) }
            outcome.fixes = run
            outcome.report = run.report
        }
        outcome.notes += (layer?.notJudged ?? []).map(LintNote.libvirtCouldNotJudge)
        return outcome
    }

    static func reservations(in ledger: LedgerLocation?) throws(LintRunError) -> Set<MACAddress> {
        guard let ledger else { return [] }
        do {
            return try ledger.open(forWriting: false)?.reservedMACs() ?? []
        } catch {
            throw .system("\(error)")
        }
    }

    /// Writes each fixed file atomically (the original stays whole if anything fails) and
    /// records the MACs fixes chose in the ledger.
    static func write(_ run: FixRun, ledger: LedgerLocation?) throws(LintRunError) {
        for change in run.changes {
            do {
                try FileIO.replaceAtomically(atPath: change.name, with: change.fixed)
            } catch {
                throw .system("\(error); the file is unchanged")
            }
        }
        guard !run.newMACs.isEmpty, let ledger else { return }
        do {
            guard let opened = try ledger.open(forWriting: true) else { return }
            for (file, macs) in Dictionary(grouping: run.newMACs, by: \.file) {
                try opened.reserve(macs.map(\.mac), label: "lint --fix: \(file)", checkedAgainst: "lint --fix")
            }
        } catch {
            throw .system("the files are fixed, but the new MACs were not recorded in the ledger: \(error)")
        }
    }
}
