/// SARIF 2.1.0 for code-scanning services: rule metadata on the driver, one result per finding,
/// and a `partialFingerprints` value that stays the same when lines move.
public enum SARIFReporter: LintReporter {
    public static let identifier = "sarif"
    static let fingerprintKey = "virtMacvtapFinding/v1"

    struct Log: Encodable {
        var schema = "https://json.schemastore.org/sarif-2.1.0.json"
        var version = "2.1.0"
        var runs: [Run]

        enum CodingKeys: String, CodingKey {
            case schema = "$schema"
            case version, runs
        }
    }

    struct Run: Encodable {
        var tool: Tool
        var results: [Result]
        var columnKind = "unicodeCodePoints"
    }

    struct Tool: Encodable { var driver: Driver }

    struct Driver: Encodable {
        var name = "virt-macvtap"
        var version = Versions.tool
        var informationUri = "https://libvirt.org/formatdomain.html#direct-attachment-to-physical-interface"
        var rules: [Rule]
        var properties: DriverProperties?
    }

    /// Which libvirt schemas the run validated against (the tool component's property bag, §3.19.22).
    struct DriverProperties: Encodable {
        var libvirtSchemas: SchemaProperties
    }

    struct SchemaProperties: Encodable {
        /// `bundled`, `installed` or `environment` (`VIRT_MACVTAP_LIBVIRT_SCHEMA_DIR`).
        var origin: String
        /// The bundled copy's libvirt release (`11.3`).
        var libvirtRelease: String?
        var directory: String

        init(_ schemas: LibvirtSchemas) {
            switch schemas.origin {
            case .environment: origin = "environment"
            case .installed: origin = "installed"
            case .bundled(let release):
                origin = "bundled"
                libvirtRelease = release.description
            }
            directory = schemas.directory
        }
    }

    struct Text: Encodable { var text: String }

    struct Rule: Encodable {
        var id: String
        var name: String
        var shortDescription: Text
        var fullDescription: Text
        var help: Text
        var defaultConfiguration: Configuration
        var properties: Properties
    }

    struct Configuration: Encodable { var level: String }

    struct Properties: Encodable {
        var tags: [String]
        var libvirtReference: String
        var libvirtEnforcement: String
    }

    struct Result: Encodable {
        var ruleId: String
        var ruleIndex: Int
        var level: String
        var message: Text
        var locations: [Location]
        /// The other uses a cross-file finding involves (SARIF §3.27.22), each with its own id.
        /// The finding's fix (SARIF §3.27.30), when its text is known now (not a fresh MAC).
        var fixes: [Fix]?
        var relatedLocations: [Location]?
        var partialFingerprints: [String: String]
    }

    struct Fix: Encodable {
        var description: Text
        var artifactChanges: [ArtifactChange]
    }
    struct ArtifactChange: Encodable {
        var artifactLocation: ArtifactLocation
        var replacements: [Replacement]
    }
    struct Replacement: Encodable {
        var deletedRegion: EditRegion
        var insertedContent: Text?
    }
    /// An edit's region: columns are 1-based, the end column exclusive (an insertion is empty).
    struct EditRegion: Encodable {
        var startLine: Int
        var startColumn: Int
        var endLine: Int
        var endColumn: Int
    }

    struct Location: Encodable {
        var id: Int?
        var physicalLocation: PhysicalLocation
        var message: Text?
    }
    struct PhysicalLocation: Encodable {
        var artifactLocation: ArtifactLocation
        var region: Region
    }
    struct ArtifactLocation: Encodable { var uri: String }
    struct Region: Encodable {
        var startLine: Int
        var startColumn: Int
    }

    static func level(_ severity: Severity) -> String {
        switch severity {
        case .error: "error"
        case .warning: "warning"
        case .info: "note"
        }
    }

    public static func render(_ report: LintReport, rules: [RuleDescription]) -> String {
        let index = Dictionary(uniqueKeysWithValues: rules.enumerated().map { ($0.element.id, $0.offset) })
        let driverRules = rules.map { rule in
            Rule(
                id: rule.id, name: rule.name.filter { $0.isLetter || $0.isNumber }, shortDescription: Text(text: rule.summary),
                fullDescription: Text(text: rule.rationale), help: Text(text: "\(rule.summary) \(rule.rationale)"),
                defaultConfiguration: Configuration(level: level(rule.severity)),
                properties: Properties(tags: ["libvirt", "macvtap"], libvirtReference: rule.reference, libvirtEnforcement: rule.enforcement.rawValue))
        }
        let results = report.findings.map { finding in
            Result(
                ruleId: finding.ruleID, ruleIndex: index[finding.ruleID] ?? -1, level: level(finding.severity),
                message: Text(text: finding.message + (finding.fix.map { " Fix: \($0)" } ?? "")),
                locations: [
                    Location(
                        physicalLocation: PhysicalLocation(
                            artifactLocation: ArtifactLocation(uri: uri(finding.file)),
                            region: Region(startLine: max(finding.line, 1), startColumn: max(finding.column, 1))))
                ],
                fixes: fixes(finding),
                relatedLocations: finding.related?.enumerated().map { index, related in
                    Location(
                        id: index,
                        physicalLocation: PhysicalLocation(
                            artifactLocation: ArtifactLocation(uri: uri(related.file)),
                            region: Region(startLine: max(related.line, 1), startColumn: max(related.column, 1))),
                        message: Text(text: related.message))
                },
                partialFingerprints: [fingerprintKey: fingerprint(finding)])
        }
        return JSONReporter.encode(
            Log(runs: [
                Run(
                    tool: Tool(
                        driver: Driver(
                            rules: driverRules,
                            properties: report.libvirtSchemas.map { DriverProperties(libvirtSchemas: SchemaProperties($0)) })),
                    results: results)
            ]))
    }

    static func fixes(_ finding: Finding) -> [Fix]? {
        guard let correction = finding.correction, !correction.isDeferred, correction.applicability != .displayOnly else { return nil }
        return [
            Fix(
                description: Text(text: "\(correction.message) (\(correction.applicability.rawValue) fix)"),
                artifactChanges: [
                    ArtifactChange(
                        artifactLocation: ArtifactLocation(uri: uri(finding.file)),
                        replacements: correction.edits.map { edit in
                            Replacement(
                                deletedRegion: EditRegion(startLine: edit.startLine, startColumn: edit.startColumn, endLine: edit.endLine, endColumn: edit.endColumn),
                                insertedContent: edit.replacement.isEmpty ? nil : Text(text: edit.replacement))
                        })
                ])
        ]
    }

    /// Percent-encodes what a URI reference cannot carry as is; paths stay relative.
    static func uri(_ path: String) -> String {
        var allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~/".unicodeScalars)
        allowed.insert(":")
        return path.unicodeScalars.map { scalar in
            allowed.contains(scalar) ? String(scalar) : String(scalar).utf8.map { "%" + String($0, radix: 16, uppercase: true).leftPadded(2) }.joined()
        }.joined()
    }

    /// Stable across runs and line moves: the file and the finding's `identity` (rule, domain,
    /// message without line references), hashed with 64-bit FNV-1a.
    static func fingerprint(_ finding: Finding) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in "\(finding.file)|\(finding.identity)".utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01B3
        }
        return String(hash, radix: 16).leftPadded(16)
    }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
