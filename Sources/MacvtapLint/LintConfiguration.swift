import FoundationEssentials

/// Which rules run and how strict the run is: `.virt-macvtap.json` at the repository root,
/// then command-line options on top.
///
/// ```json
/// { "disable": ["vepa-needs-hairpin"], "enable": [], "failLevel": "warning",
///   "severity": { "model-missing": "error" },
///   "hosts": { "hv-a": { "files": ["hosts/a/**"], "uri": "qemu+ssh://root@hv-a/system" } } }
/// ```
public struct LintConfiguration: Sendable, Codable, Equatable {
    public var disable: [String] = []
    public var enable: [String] = []
    public var failLevel: Severity?
    public var severity: [String: Severity] = [:]
    /// The fleet's hypervisors and the files of each (patterns relative to the configuration).
    public var hosts: [String: FleetHostConfiguration] = [:]
    /// Devices whose switch port reflects frames back (hairpin), on every host unless a host
    /// names its own (`reach`, and the reachability advice of lint).
    public var hairpin: [String] = []
    /// Devices on which the host has a bridge-mode macvlan shim, where no live host says so.
    public var shims: [String] = []
    /// The domains' interfaces are about to be hot-plugged into running domains (`attach`), so
    /// refusals that only a hot-plug meets apply to whole domains too. Device XML (a bare
    /// `<interface>`, meant for attach-device) is always judged as hot-plugged. Not read from
    /// the configuration file: it is what a command does, not a project's choice.
    public var hotplug = false

    public static let fileName = ".virt-macvtap.json"

    public init(disable: [String] = [], enable: [String] = [], failLevel: Severity? = nil, severity: [String: Severity] = [:]) {
        self.disable = disable
        self.enable = enable
        self.failLevel = failLevel
        self.severity = severity
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        disable = try container.decodeIfPresent([String].self, forKey: .disable) ?? []
        enable = try container.decodeIfPresent([String].self, forKey: .enable) ?? []
        failLevel = try container.decodeIfPresent(Severity.self, forKey: .failLevel)
        severity = try container.decodeIfPresent([String: Severity].self, forKey: .severity) ?? [:]
        hosts = try container.decodeIfPresent([String: FleetHostConfiguration].self, forKey: .hosts) ?? [:]
        hairpin = try container.decodeIfPresent([String].self, forKey: .hairpin) ?? []
        shims = try container.decodeIfPresent([String].self, forKey: .shims) ?? []
    }

    /// What the configuration says of devices that files cannot say, per fleet host (nil: the
    /// top level, for files without a host and hosts that name nothing of their own).
    public var reachFacts: HostReachFacts {
        var facts = HostReachFacts([nil: ReachFacts(hairpin: Set(hairpin), shims: Set(shims))])
        for (name, host) in hosts {
            facts.byHost[name] = ReachFacts(hairpin: Set(host.hairpin ?? hairpin), shims: Set(host.shims ?? shims))
        }
        return facts
    }

    /// Reads a configuration file; nil when `path` does not exist.
    public static func load(path: String) throws(LintConfigurationError) -> LintConfiguration? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw LintConfigurationError(path: path, problem: "cannot be read")
        }
        let configuration: LintConfiguration
        do {
            configuration = try JSONDecoder().decode(LintConfiguration.self, from: data)
        } catch {
            throw LintConfigurationError(path: path, problem: "is not valid: \(error)")
        }
        try configuration.validate(source: path)
        return configuration
    }

    /// The configuration a run uses: `path` when given (it must exist), else the nearest
    /// `.virt-macvtap.json` from `currentDirectory` up, else the defaults; with the directory
    /// its relative paths (fleet host patterns) are relative to.
    public static func applicable(
        path: String?, currentDirectory: String
    ) throws(LintConfigurationError) -> (
        configuration: LintConfiguration, directory: String
    ) {
        guard let path = path ?? discover(from: currentDirectory) else { return (LintConfiguration(), currentDirectory) }
        guard let loaded = try load(path: path) else { throw LintConfigurationError(path: path, problem: "does not exist") }
        let absolute = path.hasPrefix("/") ? path : currentDirectory + "/" + path
        return (loaded, String(absolute[..<(absolute.lastIndex(of: "/") ?? absolute.endIndex)]))
    }

    /// The configuration file that applies in `directory`: the nearest one walking up to the
    /// repository root (the directory holding `.git`).
    public static func discover(from directory: String) -> String? {
        var url = URL(fileURLWithPath: directory).standardizedFileURL
        while true {
            let candidate = url.appendingPathComponent(fileName).path
            if FileManager.default.fileExists(atPath: candidate) { return candidate }
            if FileManager.default.fileExists(atPath: url.appendingPathComponent(".git").path) { return nil }
            let parent = url.deletingLastPathComponent()
            if parent.path == url.path { return nil }
            url = parent
        }
    }

    /// Refuses unknown rule ids, so a typo in a config does not silently disable nothing.
    public func validate(source: String) throws(LintConfigurationError) {
        let known = Set(RuleRegistry.all.map(\.id))
        for id in disable + enable + Array(severity.keys) where !known.contains(id) {
            throw LintConfigurationError(path: source, problem: "names unknown rule '\(id)' (not a rule of this version; the rule list has them all)")
        }
        for (name, host) in hosts {
            if name.isEmpty || host.files.isEmpty || host.files.contains(where: \.isEmpty) {
                throw LintConfigurationError(path: source, problem: "declares host '\(name)' without a name or file patterns; give \"files\": [\"hosts/NAME/**\"]")
            }
        }
    }

    /// The command line's choices on top of the file's.
    public func merged(with overrides: LintConfiguration) -> LintConfiguration {
        var result = self
        result.disable = disable.filter { !overrides.enable.contains($0) } + overrides.disable
        result.enable = enable + overrides.enable
        result.failLevel = overrides.failLevel ?? failLevel
        result.severity.merge(overrides.severity) { _, new in new }
        result.hosts.merge(overrides.hosts) { _, new in new }
        result.hairpin += overrides.hairpin
        result.shims += overrides.shims
        return result
    }

    public func isEnabled(_ id: String) -> Bool {
        !disable.contains(id)
    }

    public func severity(of rule: RuleDescription) -> Severity {
        severity[rule.id] ?? rule.severity
    }

    public var effectiveFailLevel: Severity { failLevel ?? .error }
}

/// Why `.virt-macvtap.json` could not be used: unreadable, not JSON, an unknown key or rule.
public struct LintConfigurationError: Error, Sendable, CustomStringConvertible {
    public var path: String
    public var problem: String
    public var description: String { "\(path) \(problem)" }
}
