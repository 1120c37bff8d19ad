import Dispatch
import FoundationEssentials
import MacvtapLibvirt
import MacvtapSystem
package import MacvtapXML
import Synchronization

/// The result of one lint run: findings as data, plus what could not be read.
public struct LintReport: Sendable {
    public var findings: [Finding]
    public var filesChecked: Int
    /// Files that could not be read (missing, unreadable, a FIFO): exit code 3.
    public var readErrors: [String]
    public var failLevel: Severity
    /// The libvirt schemas the files were validated against (SARIF names them).
    public var libvirtSchemas: LibvirtSchemas?

    public init(
        findings: [Finding], filesChecked: Int, readErrors: [String], failLevel: Severity,
        libvirtSchemas: LibvirtSchemas? = nil
    ) {
        self.findings = findings
        self.filesChecked = filesChecked
        self.readErrors = readErrors
        self.failLevel = failLevel
        self.libvirtSchemas = libvirtSchemas
    }

    /// What the run comes to, for the command to map to its exit status.
    public enum Outcome: Sendable, Equatable {
        /// Nothing at or above the fail level, every input read.
        case clean
        /// At least one finding at or above the fail level.
        case findings
        /// Some input could not be read (missing, unreadable, a FIFO).
        case unreadableInput
    }

    public var outcome: Outcome {
        if !readErrors.isEmpty { return .unreadableInput }
        return findings.contains { $0.severity >= failLevel } ? .findings : .clean
    }
}

/// Runs every enabled rule over a set of documents.
public final class Linter: Sendable {
    public let configuration: LintConfiguration
    private let domainSchema: SchemaCompilation?
    /// Whether each fleet host's files may take its release's bundled domain.rng (not when
    /// `--schema` names one, nor when domain.rng is not validated).
    private let schemaFollowsFleetRelease: Bool
    /// Each fleet release's bundled domain.rng, looked up once (nil: not bundled).
    private let fleetSchemas = Mutex<[LibvirtRelease: SchemaCompilation?]>([:])
    private let interfaceSchema: SchemaCompilation?
    private let documentRules: [any DocumentRule]
    private let networkRules: [any NetworkRule]
    private let crossDocumentRules: [any CrossDocumentRule]
    private let liveHostRules: [any LiveHostRule]
    private let libvirtLayer: LibvirtDefineLayer?
    /// Why `--libvirt` was asked for but its layer did not start: each domain gets a note.
    private let libvirtUnavailable: String?
    private let cache: LintCache?
    /// The libvirt schemas this linter validates against (nil: none found, and none needed).
    public let libvirtSchemas: LibvirtSchemas?
    private let judgedRelease: JudgedRelease
    /// The libvirt release findings are judged for: the one asked for, else the installed
    /// libvirt's (loaded on first use), else the bundled schemas' release; nil when none is known.
    public var libvirtRelease: LibvirtRelease? { judgedRelease.value }

    /// Finds the schemas now (a missing one is an error at once) and compiles each once, in the
    /// background: files are read, parsed and checked by the rules meanwhile, and only schema
    /// validation waits. `libvirtRelease` chooses the bundled copy of that libvirt release's
    /// schemas (else the installed libvirt's, else the newest bundled: `LibvirtSchemas.locate`);
    /// `domainSchemaPath` overrides domain.rng alone. The domain schema is only required when
    /// the libvirt-schema rule is enabled; a release with no bundled schemas is always an error.
    /// With `libvirt`, each domain is also defined in libvirt's own driver (`lint --libvirt`).
    /// With `cache`, files whose content the cache knows are not parsed again (`LintCache`);
    /// it is ignored with `libvirt`, whose verdict depends on the libvirt installed.
    /// `judgedRelease` is the libvirt release findings are judged for when it is not
    /// `libvirtRelease` (a `-c` host's own, whose schemas may not be bundled).
    public convenience init(
        configuration: LintConfiguration, domainSchemaPath: String? = nil, libvirtRelease: LibvirtRelease? = nil,
        judgedRelease: LibvirtRelease? = nil, libvirt: LibvirtDefineLayer? = nil, libvirtUnavailable: String? = nil,
        cache: LintCache? = nil
    ) throws(LintSetupError) {
        let schemas: Schemas
        do throws(SchemaNotFound) {
            let validatesDomains = configuration.isEnabled(LibvirtSchemaRule.description.id)
            let located: LibvirtSchemas? =
                libvirtRelease != nil || (validatesDomains && domainSchemaPath == nil)
                ? try LibvirtSchemas.locate(release: libvirtRelease) : try? LibvirtSchemas.locate()
            schemas = Schemas(
                located: located,
                domain: validatesDomains ? (domainSchemaPath ?? located?.domainSchema).map(SchemaCompilation.shared(path:)) : nil,
                followsFleetRelease: validatesDomains && domainSchemaPath == nil,
                interface: configuration.isEnabled(InterfaceSchemaRule.description.id)
                    ? SchemaCompilation.shared(path: try SchemaLocator.interfaceSchemaPath()) : nil)
        } catch {
            throw .schema(.notFound(error))
        }
        self.init(
            configuration: configuration, schemas: schemas, judgedRelease: judgedRelease ?? libvirtRelease, libvirt: libvirt,
            libvirtUnavailable: libvirtUnavailable, cache: cache)
    }

    /// A linter of the rules alone: the schema rules are off whatever `configuration` says, so
    /// no schema has to be found and it cannot fail. What attach's preflight and the check of a
    /// typed value (`DirectInterfaceSpec.validated()`) use.
    public convenience init(rulesOnly configuration: LintConfiguration) {
        var configuration = configuration
        for schemaRule in [LibvirtSchemaRule.description.id, InterfaceSchemaRule.description.id] where configuration.isEnabled(schemaRule) {
            configuration.disable.append(schemaRule)
        }
        self.init(
            configuration: configuration, schemas: Schemas(located: try? LibvirtSchemas.locate()), judgedRelease: nil, libvirt: nil,
            libvirtUnavailable: nil, cache: nil)
    }

    /// The schemas a linter validates against, found (and their compilation started) before it
    /// is made.
    private struct Schemas {
        var located: LibvirtSchemas?
        var domain: SchemaCompilation? = nil
        var followsFleetRelease = false
        var interface: SchemaCompilation? = nil
    }

    private init(
        configuration: LintConfiguration, schemas: Schemas, judgedRelease asked: LibvirtRelease?, libvirt: LibvirtDefineLayer?,
        libvirtUnavailable: String?, cache: LintCache?
    ) {
        self.configuration = configuration
        self.cache = libvirt == nil ? cache : nil
        self.libvirtLayer = configuration.isEnabled(LibvirtDefineRule.description.id) ? libvirt : nil
        self.libvirtUnavailable = configuration.isEnabled(LibvirtNotJudgedRule.description.id) ? libvirtUnavailable : nil
        libvirtSchemas = schemas.located
        domainSchema = schemas.domain
        schemaFollowsFleetRelease = schemas.followsFleetRelease
        interfaceSchema = schemas.interface
        let located = schemas.located
        self.judgedRelease = JudgedRelease {
            if let asked { return asked }
            if located?.origin == .installed || located == nil, let installed = LibvirtRelease(LibvirtLibrary.version) { return installed }
            return located?.bundledRelease
        }
        documentRules = RuleRegistry.documentRules.filter { configuration.isEnabled($0.description.id) }.map { $0.init() }
        networkRules = RuleRegistry.networkRules.filter { configuration.isEnabled($0.description.id) }.map { $0.init() }
        crossDocumentRules = RuleRegistry.crossDocumentRules.filter { configuration.isEnabled($0.description.id) }.map { $0.init() }
        liveHostRules = RuleRegistry.liveHostRules.filter { configuration.isEnabled($0.description.id) }.map { $0.init() }
    }

    /// Starts compiling the schemas a lint with `configuration` uses (libvirt's domain.rng, or
    /// `domainSchemaPath`, and ours) in the background, before a linter exists. A schema that
    /// cannot be found is skipped here; creating the linter reports it.
    public static func prefetchSchemas(
        configuration: LintConfiguration, domainSchemaPath: String? = nil, libvirtRelease: LibvirtRelease? = nil
    ) {
        var locators: [@Sendable () -> String?] = []
        if configuration.isEnabled(LibvirtSchemaRule.description.id) {
            locators.append { domainSchemaPath ?? (try? SchemaLocator.domainSchemaPath(release: libvirtRelease)) }
        }
        if configuration.isEnabled(InterfaceSchemaRule.description.id) {
            locators.append { try? SchemaLocator.interfaceSchemaPath() }
        }
        SchemaCompilation.prefetch(locators)
    }

    /// Blocks until every background schema compilation and lint-cache write of the process is
    /// done. Call it before the process ends: libxml2 compiling on another thread while the
    /// process exits can crash, and a pack half written is lost.
    public static func waitForBackgroundWork() {
        SchemaCompilation.waitForAll()
        LintCache.waitForSaves()
    }

    /// Lints `sources` in parallel (all cores), then across them, then against `hosts`.
    /// With `fleet`, each file belongs to the host whose patterns claim it: host-scoped
    /// cross-file rules compare files within one host, and `hostInventories` (by host name,
    /// `lint --hosts`) are checked against that host's files only; `hosts` against every file.
    /// Throws when a schema file exists but does not compile, or a file belongs to two hosts.
    /// `progress(done, total)` runs after each file, on the thread that linted it.
    public func lint(
        _ sources: [DocumentSource], hosts: [HostInventory] = [], fleet: FleetHosts = FleetHosts(),
        hostInventories: [String: HostInventory] = [:], currentDirectory: String? = nil,
        progress: (@Sendable (_ done: Int, _ total: Int) -> Void)? = nil
    ) throws(LintSetupError) -> LintReport {
        let done = Atomic<Int>(0)
        let directory = currentDirectory ?? FileManager.default.currentDirectoryPath
        let fileResults = Concurrently.map(sources.count) { index in
            // A fleet host's own release, where the configuration names one, over the run's.
            let release: LibvirtRelease? =
                if case .file(let path) = sources[index] { fleet.release(forFile: path, currentDirectory: directory) } else { nil }
            let result = lintCached(sources[index], release: release)
            if let progress { progress(done.add(1, ordering: .relaxed).newValue, sources.count) }
            return result
        }
        cache?.saveInBackground()
        return try combine(fileResults, sources: sources, hosts: hosts, fleet: fleet, hostInventories: hostInventories, directory: directory)
    }

    /// Lints domain documents already parsed (a live domain's copies, as a host scan read
    /// them), on their own and against `hosts`, without reading or parsing them again.
    package func lint(parsed documents: [DomainDocument], hosts: [HostInventory] = []) throws(LintSetupError) -> LintReport {
        let fileResults = documents.map { lintDomain($0, file: $0.fileName, release: nil) }
        return try combine(fileResults, sources: [], hosts: hosts, fleet: FleetHosts(), hostInventories: [:], directory: "")
    }

    /// The cross-file and host rules over the files' results, and the report.
    private func combine(
        _ fileResults: [FileResult], sources: [DocumentSource], hosts: [HostInventory], fleet: FleetHosts,
        hostInventories: [String: HostInventory], directory: String
    ) throws(LintSetupError) -> LintReport {
        for compilation in [domainSchema, interfaceSchema].compactMap({ $0 }) {
            if case .failure(let error) = compilation.result { throw .schema(.invalid(error)) }
        }
        var findings = fileResults.flatMap(\.findings)
        var summaries = fileResults.compactMap(\.summary)
        var networks = fileResults.compactMap(\.network)
        if !fleet.isEmpty {
            do throws(FleetHostsError) {
                for index in summaries.indices {
                    summaries[index].host = try fleet.host(forFile: summaries[index].file, currentDirectory: directory)
                }
                for index in networks.indices {
                    networks[index].host = try fleet.host(forFile: networks[index].file, currentDirectory: directory)
                }
            } catch {
                throw .fleet(error)
            }
        }
        let networksByHost = Dictionary(grouping: networks, by: \.host)
        let suppressionsByFile = Dictionary(
            fileResults.compactMap { result in result.summary.map { ($0.file, result.suppressions) } },
            uniquingKeysWith: { first, _ in first })
        // Groups in first-seen order, so that findings come out the same way every run.
        var hostOrder: [String?] = []
        var byHost: [String?: [DocumentSummary]] = [:]
        for summary in summaries {
            if byHost[summary.host] == nil { hostOrder.append(summary.host) }
            byHost[summary.host, default: []].append(summary)
        }

        var crossViolations: [(RuleDescription, Violation)] = []
        // What a live host shows joins what the configuration declares, as `reach` does.
        var reachFacts = configuration.reachFacts
        for (name, inventory) in hostInventories { reachFacts.observe(inventory, as: name) }
        if hosts.count == 1 { reachFacts.observe(hosts[0], as: nil) }
        for rule in crossDocumentRules {
            if type(of: rule).scope == .fleet {
                crossViolations += rule.check(summaries, networks: networks, facts: reachFacts[nil]).map { (type(of: rule).description, $0) }
                continue
            }
            for host in hostOrder {
                let facts = reachFacts[host]
                crossViolations += rule.check(byHost[host]!, networks: networksByHost[host] ?? [], facts: facts).map { (type(of: rule).description, $0) }
            }
        }
        for rule in liveHostRules {
            if !hosts.isEmpty {
                crossViolations += rule.check(summaries, networks: networks, against: hosts).map { (type(of: rule).description, $0) }
            }
            for (name, inventory) in hostInventories.sorted(by: { $0.key < $1.key }) {
                guard let group = byHost[name] else { continue }
                crossViolations += rule.check(group, networks: networksByHost[name] ?? [], against: [inventory]).map { (type(of: rule).description, $0) }
            }
        }
        // Cross-file fixes are few: their files are parsed again here to place the edits.
        var resolvers: [String: CorrectionResolver] = [:]
        let sourcesByName = Dictionary(sources.map { ($0.displayName, $0) }, uniquingKeysWith: { first, _ in first })
        for (_, violation) in crossViolations where violation.correction != nil {
            let file = violation.file ?? ""
            guard resolvers[file] == nil, let source = sourcesByName[file], let document = try? XMLDocument(source: source) else { continue }
            resolvers[file] = CorrectionResolver(document)
        }
        for (description, violation) in crossViolations {
            let finding = makeFinding(
                description, violation, file: violation.file ?? "", domain: violation.domain, resolver: resolvers[violation.file ?? ""])
            if !(suppressionsByFile[finding.file]?.suppresses(finding) ?? false) { findings.append(finding) }
        }
        findings.sort { ($0.file, $0.line, $0.column, $0.ruleID) < ($1.file, $1.line, $1.column, $1.ruleID) }
        return LintReport(
            findings: findings, filesChecked: sources.count, readErrors: fileResults.compactMap(\.readError),
            failLevel: configuration.effectiveFailLevel, libvirtSchemas: libvirtSchemas)
    }

    private struct FileResult: Sendable {
        package var findings: [Finding] = []
        package var summary: DocumentSummary?
        package var network: NetworkSummary?
        package var suppressions = Suppressions.none
        package var readError: String?
    }

    /// `lintOne`, through the cache for files: a known content is not parsed again.
    private func lintCached(_ source: DocumentSource, release: LibvirtRelease?) -> FileResult {
        guard let cache, case .file(let path) = source else { return lintOne(source, release: release) }
        let status = FileIO.status(atPath: path)
        var bytes: [UInt8]?
        var key = status.flatMap { cache.knownKey(path: path, status: $0) }
        if key == nil {
            // Unreadable: lintOne reads it again and reports why.
            guard let read = try? FileIO.readFile(atPath: path) else { return lintOne(source, release: release) }
            bytes = read
            // The same content on hosts of different releases is two results; the pack's key
            // covers which file has which release, so the path's record keeps the mixed key.
            key = release.map { LintCache.ContentKey(read).mixing("libvirt \($0)") } ?? LintCache.ContentKey(read)
        }
        guard let key else { return lintOne(source, release: release) }
        if let cached = cache.result(for: key, file: path) {
            cache.remember(path: path, status: status, key: key, result: nil)
            return FileResult(findings: cached.findings, summary: cached.summary, network: cached.network, suppressions: cached.suppressions)
        }
        guard let content = bytes ?? (try? FileIO.readFile(atPath: path)) else { return lintOne(source, release: release) }
        let result = lintOne(.memory(content, name: path), release: release)
        cache.remember(
            path: path, status: status, key: key,
            result: CachedFile(findings: result.findings, summary: result.summary, network: result.network, suppressions: result.suppressions))
        return result
    }

    private func lintOne(_ source: DocumentSource, release: LibvirtRelease? = nil) -> FileResult {
        var result = FileResult()
        let file = source.displayName
        let xml: XMLDocument
        do {
            xml = try XMLDocument(source: source)
        } catch {
            switch error {
            case .file(let fileError):
                result.readError = fileError.description
            case .malformed(let parseError):
                let failures = parseError.diagnostics.filter { $0.severity != .warning }
                for diagnostic in (failures.isEmpty ? parseError.diagnostics : failures).prefix(5) {
                    add(XMLMalformedRule.description, Violation(at: diagnostic.position, diagnostic.message, fix: "fix the XML syntax first"), file: file, domain: nil, to: &result.findings)
                }
            }
            return result
        }
        if let network = NetworkDocument(xml) {
            lintNetwork(network, into: &result)
            return result
        }
        let domain: DomainDocument
        do {
            domain = try DomainDocument(xml, allowDeviceXML: true)
        } catch {
            let root = xml.root?.qualifiedName ?? "none"
            add(
                NotADomainRule.description,
                Violation(
                    at: xml.root?.position ?? SourcePosition(line: 1, column: 1), "skipped: root element <\(root)> is not <domain>, <interface> or <network>",
                    fix: "lint domain XML (virsh dumpxml), interface device XML or network XML (virsh net-dumpxml)"), file: file, domain: nil, to: &result.findings)
            return result
        }
        return lintDomain(domain, file: file, release: release)
    }

    /// The per-document rules, the schemas and libvirt's verdict over one parsed domain.
    private func lintDomain(_ domain: DomainDocument, file: String, release: LibvirtRelease?) -> FileResult {
        var result = FileResult()
        let xml = domain.xml
        let document = LintDocument(domain: domain, hotplug: configuration.hotplug, release: release.map(JudgedRelease.init(fixed:)) ?? judgedRelease)
        let label = domain.name?.value
        let resolver = CorrectionResolver(xml)
        var ruleFindings: [Finding] = []
        for rule in documentRules {
            for violation in rule.check(document) {
                add(type(of: rule).description, violation, file: file, domain: label, to: &ruleFindings, resolver: resolver)
            }
        }
        // Schema errors inside an element where a specific rule already spoke add only noise
        // (libxml2 often reports an interleave failure on the parent, far from the cause), but
        // only a rule that says libvirt refuses the file at define makes the schema's verdict
        // moot: a file a rule calls silently rewritten can still fail `virsh define --validate`.
        let definingLines = ruleFindings.filter { $0.enforcement == .define }.map(\.line)
        var ruleLines = ruleFindings.map(\.line)
        func isExplained(_ range: ClosedRange<Int>, by lines: [Int]) -> Bool { lines.contains { range.contains($0) } }
        var schemaFindings: [Finding] = []
        // A fleet host's release picks its bundled domain.rng (an unbundled release, the run's).
        let fileSchema = release.flatMap(bundledSchema(for:)) ?? domainSchema
        if case .success(let domainSchema)? = fileSchema?.result, !domain.isDeviceXML, let root = xml.root {
            let narrowing = SchemaFaultFinder(document: xml, schema: domainSchema)
            for problem in SchemaFindings.readable(domainSchema.validate(xml), schemaName: "domain.rng", within: root, narrowing: narrowing)
            where !isExplained(problem.lines, by: definingLines) {
                add(
                    LibvirtSchemaRule.description, Violation(at: problem.position, problem.message, fix: "compare with https://libvirt.org/formatdomain.html; virt-xml-validate reports the same"),
                    file: file, domain: label, to: &schemaFindings)
            }
            ruleLines += schemaFindings.map(\.line)
        }
        if case .success(let interfaceSchema)? = interfaceSchema?.result {
            for entry in domain.directInterfaces {
                let element = domain.element(of: entry)
                let diagnostics = interfaceSchema.validate(element)
                for problem in SchemaFindings.readable(diagnostics, schemaName: SchemaLocator.interfaceSchemaName, within: element)
                where !isExplained(problem.lines, by: ruleLines) {
                    add(
                        InterfaceSchemaRule.description, Violation(at: problem.position, problem.message, fix: "see Schemas/interface-direct.rng for what a direct interface may contain"), file: file,
                        domain: label, to: &schemaFindings)
                }
            }
        }
        // libvirt's own verdict, unless one of our rules already said libvirt refuses this file.
        if !domain.isDeviceXML, domain.xml.root?.name == "domain" {
            if let libvirtLayer, !ruleFindings.contains(where: { $0.enforcement == .define && $0.severity == .error }) {
                switch libvirtLayer.verdict(for: domain) {
                case .defined: break
                case .refused(let violation): add(LibvirtDefineRule.description, violation, file: file, domain: label, to: &schemaFindings)
                case .notJudged(let violation): add(LibvirtNotJudgedRule.description, violation, file: file, domain: label, to: &schemaFindings)
                }
            } else if let reason = libvirtUnavailable, let root = domain.xml.root {
                add(
                    LibvirtNotJudgedRule.description,
                    Violation(at: root.position, "--libvirt could not judge this domain: the layer did not start (\(reason))", fix: "lint's own rules still ran"),
                    file: file, domain: label, to: &schemaFindings)
            }
        }
        result.suppressions = Suppressions(xml)
        result.findings = (ruleFindings + schemaFindings).filter { !result.suppressions.suppresses($0) }
        result.summary = DocumentSummary(domain)
        return result
    }

    /// The bundled domain.rng of a fleet host's `release`, compiled once; nil when that release
    /// is not bundled or the run's schema is fixed.
    private func bundledSchema(for release: LibvirtRelease) -> SchemaCompilation? {
        guard schemaFollowsFleetRelease else { return nil }
        return fleetSchemas.withLock { known in
            if let compilation = known[release] { return compilation }
            let compilation = LibvirtSchemas.bundledReleases()[release].flatMap { _ in
                (try? SchemaLocator.domainSchemaPath(release: release)).map(SchemaCompilation.shared(path:))
            }
            known[release] = compilation
            return compilation
        }
    }

    /// A `<network>`: the network rules, then libvirt's network.rng (compiled on the first
    /// network of the process: domain-only runs never pay for it).
    private func lintNetwork(_ network: NetworkDocument, into result: inout FileResult) {
        let file = network.fileName
        var findings: [Finding] = []
        for rule in networkRules {
            for violation in rule.check(network) {
                add(type(of: rule).description, violation, file: file, domain: nil, to: &findings)
            }
        }
        if configuration.isEnabled(LibvirtNetworkSchemaRule.description.id), let root = network.xml.root,
            let path = libvirtSchemas?.networkSchema,
            case .success(let schema) = SchemaCompilation.shared(path: path).result
        {
            let explained = findings.filter { $0.enforcement == .define }.map(\.line)
            for problem in SchemaFindings.readable(schema.validate(network.xml), schemaName: "network.rng", within: root)
            where !explained.contains(where: problem.lines.contains) {
                add(
                    LibvirtNetworkSchemaRule.description, Violation(at: problem.position, problem.message, fix: "compare with https://libvirt.org/formatnetwork.html"), file: file, domain: nil,
                    to: &findings)
            }
        }
        result.suppressions = Suppressions(network.xml)
        result.findings = findings.filter { !result.suppressions.suppresses($0) }
        result.network = NetworkSummary(network)
    }

    private func add(
        _ description: RuleDescription, _ violation: Violation, file: String, domain: String?, to findings: inout [Finding],
        resolver: CorrectionResolver? = nil
    ) {
        guard configuration.isEnabled(description.id) else { return }
        findings.append(makeFinding(description, violation, file: file, domain: domain, resolver: resolver))
    }

    private func makeFinding(
        _ description: RuleDescription, _ violation: Violation, file: String, domain: String?, resolver: CorrectionResolver? = nil
    ) -> Finding {
        let enforcement = violation.enforcement ?? description.enforcement
        let suffix: String =
            switch enforcement {
            case .advice: ""
            case let enforcement: " [\(enforcement.phrase)]"
            }
        return Finding(
            ruleID: description.id, severity: configuration.severity[description.id] ?? violation.severity ?? description.severity, file: file,
            position: violation.position, message: violation.message + suffix, fix: violation.fix, domain: domain,
            enforcement: enforcement, related: violation.related.isEmpty ? nil : violation.related,
            correction: violation.correction.flatMap { intent in resolver?.resolve(intent) })
    }
}

/// A schema being compiled on a background thread; `result` waits for it.
///
/// Compilations are shared by the whole process, one per schema path: compiling libvirt's
/// domain.rng is most of a one-file lint, so the command line starts it before it has parsed its
/// arguments (`Linter.prefetchSchemas`), and a process that lints many times compiles once.
/// A schema file changed on disk is therefore seen by the next process, not by this one.
package final class SchemaCompilation: @unchecked Sendable {
    // @unchecked: `compiled` is written once on the compiling thread before `done` is
    // signalled, and read only after waiting on `done`.
    private let done = DispatchGroup()
    private var compiled: Result<RelaxNGSchema, XMLParseError>?

    private static let byPath = Mutex<[String: SchemaCompilation]>([:])
    /// A prefetch finds the schema files in the background too (half a millisecond, spent
    /// before the compile can start); `shared` waits for that, so that no schema compiles twice.
    private static let locating = DispatchGroup()

    /// Finds and compiles each schema in the background. The first (libvirt's, the big one)
    /// gets a thread of its own that starts at once; the others share Dispatch's pool.
    package static func prefetch(_ locators: [@Sendable () -> String?]) {
        for (index, locate) in locators.enumerated() {
            locating.enter()
            let work: @Sendable () -> Void = {
                let compilation = locate().flatMap(registered)
                locating.leave()
                compilation?.compile()
            }
            if index == 0, DetachedThread.start(work) { continue }
            DispatchQueue.global(qos: .userInitiated).async(execute: work)
        }
    }

    /// A new compilation of `path`, not started, or nil when the process already has one.
    private static func registered(path: String) -> SchemaCompilation? {
        byPath.withLock { compilations in
            guard compilations[path] == nil else { return nil }
            let compilation = SchemaCompilation(path: path)
            compilations[path] = compilation
            return compilation
        }
    }

    /// The process's compilation of the schema at `path`, started now if it is not yet.
    package static func shared(path: String) -> SchemaCompilation {
        locating.wait()
        if let compilation = registered(path: path) {
            compilation.startInBackground()
            return compilation
        }
        return byPath.withLock { $0[path]! }
    }

    /// Blocks until every compilation started in this process is done.
    package static func waitForAll() {
        locating.wait()
        for compilation in byPath.withLock({ Array($0.values) }) { _ = compilation.result }
    }

    private let path: String

    /// Not started yet: call `compile` or `startInBackground` exactly once.
    private init(path: String) {
        self.path = path
        done.enter()
    }

    private func startInBackground() {
        DispatchQueue.global(qos: .userInitiated).async { self.compile() }
    }

    private func compile() {
        ThreadHeap.reserve(bytes: 6 << 20)
        do throws(XMLParseError) {
            compiled = .success(try RelaxNGSchema(contentsOfFile: path))
        } catch {
            compiled = .failure(error)
        }
        done.leave()
    }

    package var result: Result<RelaxNGSchema, XMLParseError> {
        done.wait()
        return compiled!
    }
}

/// Why the linter could not be set up: a schema that cannot be found or compiled, or fleet host patterns that place a file twice.
public enum LintSetupError: Error, Sendable, CustomStringConvertible {
    case schema(SchemaLoadError)
    /// The fleet's host patterns cannot place a file (two hosts claim it).
    case fleet(FleetHostsError)

    public var description: String {
        switch self {
        case .schema(let error):
            "\(error.description) (or disable the libvirt-schema rule)"
        case .fleet(let error):
            error.description
        }
    }
}

/// Expands command-line inputs: files as given, directories recursively (`*.xml`), `-` for stdin.
public enum LintInputs {
    public static func expand(_ arguments: [String]) throws(LintInputError) -> [DocumentSource] {
        var sources: [DocumentSource] = []
        for argument in arguments {
            var isDirectory = false
            if argument != "-", FileManager.default.fileExists(atPath: argument, isDirectory: &isDirectory), isDirectory {
                let subpaths: [String]
                do {
                    subpaths = try FileManager.default.subpathsOfDirectory(atPath: argument)
                } catch {
                    throw .unreadableDirectory(argument)
                }
                let display = argument.hasSuffix("/") ? argument : argument + "/"
                let found = subpaths.filter { $0.hasSuffix(".xml") }.sorted().map { DocumentSource.file(display + $0) }
                // A CI step that lints an empty or misspelled directory must not pass silently.
                guard !found.isEmpty else { throw .noXMLFiles(argument) }
                sources += found
            } else {
                sources.append(DocumentSource(argument: argument))
            }
        }
        return sources
    }
}

/// Why the inputs of a lint could not be gathered: an unreadable directory, or one without XML files.
public enum LintInputError: Error, Sendable, CustomStringConvertible {
    case unreadableDirectory(String)
    case noXMLFiles(String)

    public var description: String {
        switch self {
        case .unreadableDirectory(let path):
            "\(path): cannot list this directory; check its permissions"
        case .noXMLFiles(let path):
            "\(path): the directory holds no *.xml files; give the directory that holds the domain XML"
        }
    }

    /// An unreadable directory is an I/O error (3); an empty one, a usage error (2).
    public var isInputOutput: Bool {
        if case .unreadableDirectory = self { return true }
        return false
    }
}
