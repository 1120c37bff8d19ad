/// SARIF 2.1.0 for code-scanning services: rule metadata on the driver, one result per finding,
/// and a `partialFingerprints` value that stays the same when lines move.
public enum SARIFReporter: LintReporter {
    public static let identifier = "sarif"
    package static let fingerprintKey = "virtMacvtapFinding/v1"

    package struct Log: Encodable {
        package var schema = "https://json.schemastore.org/sarif-2.1.0.json"
        package var version = "2.1.0"
        package var runs: [Run]

        package enum CodingKeys: String, CodingKey {
            case schema = "$schema"
            case version, runs
        }
    }

    package struct Run: Encodable {
        package var tool: Tool
        package var results: [Result]
        package var columnKind = "unicodeCodePoints"
    }

    package struct Tool: Encodable { var driver: Driver }

    package struct Driver: Encodable {
        package var name = "virt-macvtap"
        package var version = Versions.tool
        package var informationUri = "https://libvirt.org/formatdomain.html#direct-attachment-to-physical-interface"
        package var rules: [Rule]
        package var properties: DriverProperties?
    }

    /// Which libvirt schemas the run validated against (the tool component's property bag, §3.19.22).
    package struct DriverProperties: Encodable {
        package var libvirtSchemas: SchemaProperties
    }

    package struct SchemaProperties: Encodable {
        /// `bundled`, `installed` or `environment` (`VIRT_MACVTAP_LIBVIRT_SCHEMA_DIR`).
        package var origin: String
        /// The bundled copy's libvirt release (`11.3`).
        package var libvirtRelease: String?
        package var directory: String

        package init(_ schemas: LibvirtSchemas) {
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

    package struct Text: Encodable { var text: String }

    package struct Rule: Encodable {
        package var id: String
        package var name: String
        package var shortDescription: Text
        package var fullDescription: Text
        package var help: Text
        package var defaultConfiguration: Configuration
        package var properties: Properties
    }

    package struct Configuration: Encodable { var level: String }

    package struct Properties: Encodable {
        package var tags: [String]
        package var libvirtReference: String
        package var libvirtEnforcement: String
    }

    package struct Result: Encodable {
        package var ruleId: String
        package var ruleIndex: Int
        package var level: String
        package var message: Text
        package var locations: [Location]
        /// The finding's fix (SARIF §3.27.30), when its text is known now (not a fresh MAC).
        package var fixes: [Fix]?
        /// The other uses a cross-file finding involves (SARIF §3.27.22), each with its own id.
        package var relatedLocations: [Location]?
        package var partialFingerprints: [String: String]
    }

    package struct Fix: Encodable {
        package var description: Text
        package var artifactChanges: [ArtifactChange]
    }
    package struct ArtifactChange: Encodable {
        package var artifactLocation: ArtifactLocation
        package var replacements: [Replacement]
    }
    package struct Replacement: Encodable {
        package var deletedRegion: EditRegion
        package var insertedContent: Text?
    }
    /// An edit's region: columns are 1-based, the end column exclusive (an insertion is empty).
    package struct EditRegion: Encodable {
        package var startLine: Int
        package var startColumn: Int
        package var endLine: Int
        package var endColumn: Int
    }

    package struct Location: Encodable {
        package var id: Int?
        package var physicalLocation: PhysicalLocation
        package var message: Text?
    }
    package struct PhysicalLocation: Encodable {
        package var artifactLocation: ArtifactLocation
        package var region: Region
    }
    package struct ArtifactLocation: Encodable { var uri: String }
    package struct Region: Encodable {
        package var startLine: Int
        package var startColumn: Int
    }

    package static func level(_ severity: Severity) -> String {
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

    package static func fixes(_ finding: Finding) -> [Fix]? {
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
    package static func uri(_ path: String) -> String {
        var allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~/".unicodeScalars)
        allowed.insert(":")
        return path.unicodeScalars.map { scalar in
            allowed.contains(scalar) ? String(scalar) : String(scalar).utf8.map { "%" + String($0, radix: 16, uppercase: true).leftPadded(2) }.joined()
        }.joined()
    }

    /// Stable across runs and line moves: the file and the finding's `identity` (rule, domain,
    /// message without line references), hashed with 64-bit FNV-1a.
    package static func fingerprint(_ finding: Finding) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in "\(finding.file)|\(finding.identity)".utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01B3
        }
        return String(hash, radix: 16).leftPadded(16)
    }
}

extension String {
    package func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
