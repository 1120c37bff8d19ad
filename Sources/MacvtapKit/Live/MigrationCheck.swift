import MacvtapLibvirt
import MacvtapXML

/// What `migrate-check` was asked for.
public struct MigrationCheckRequest: Sendable {
    public var domain: String
    /// The destination host's libvirt URI.
    public var destination: String
    /// Source devices renamed on the destination (`eth0` → `ens1f0`).
    public var deviceMap: [String: String]

    public init(domain: String, destination: String, deviceMap: [String: String] = [:]) {
        self.domain = domain
        self.destination = destination
        self.deviceMap = deviceMap
    }
}

/// What the destination would make of the domain: refusals (lint errors against the
/// destination's inventory), advice, and the migratable XML with the device map applied.
public struct MigrationCheckReport: Sendable {
    public var domain: String
    public var source: String
    public var destination: String
    /// `VIR_DOMAIN_XML_MIGRATABLE`, with every mapped `<source dev>` rewritten.
    public var migratableXML: String
    /// The rewrites made, as `(from, to, MAC)`.
    public var rewrites: [Rewrite]
    public var notes: [PreflightNote]

    /// One `<source dev>` renamed for the destination (`--map SRC=DST`).
    public struct Rewrite: Sendable, Hashable, Codable {
        public var mac: String
        public var from: String
        public var to: String
    }

    public var refusals: [PreflightNote] { notes.filter { $0.kind == .refusal } }
}

/// Lints a domain against hosts and keeps only what the hosts add (what the rules say with
/// them and not without): `migrate-check` asks about the destination, not the file.
public protocol HostLinting: Sendable {
    /// The findings that linting `bytes` against `hosts` adds to linting it alone.
    func hostFindings(of bytes: [UInt8], name: String, hosts: [HostInventory]) throws(LintSetupError) -> [Finding]
}

extension Linter: HostLinting {
    public func hostFindings(of bytes: [UInt8], name: String, hosts: [HostInventory]) throws(LintSetupError) -> [Finding] {
        let alone = try lint([.memory(bytes, name: name)]).findings
        let known = Set(alone.map(\.identity))
        return try lint([.memory(bytes, name: name)], hosts: hosts).findings.filter { !known.contains($0.identity) }
    }
}

extension LiveSession {
    /// Before `virsh migrate`: reads the domain's migratable XML here, rewrites its source
    /// devices by `deviceMap`, and lints it against the destination's inventory (asked of the
    /// destination's libvirt): source devices that are missing, wireless or held by a
    /// passthrough NIC there, MACs in use there, networks it lacks, mode conflicts. Nothing
    /// changes on either host.
    public func checkMigration(_ request: MigrationCheckRequest, linter: any HostLinting) throws(LiveError) -> MigrationCheckReport {
        let domain = try lookup(request.domain)
        let xml: String
        do {
            xml = try domain.migratableXML()
        } catch {
            throw .libvirt(error)
        }
        let name = "\(uri) domain '\(domain.name)' (migratable XML)"
        var bytes = Array(xml.utf8)
        var rewrites: [MigrationCheckReport.Rewrite] = []
        var notes: [PreflightNote] = []
        do {
            var document = try DomainDocument(bytes: bytes, fileName: name)
            for from in request.deviceMap.keys.sorted() {
                let to = request.deviceMap[from]!
                let users = document.directInterfaces.filter { $0.direct?.source?.dev?.value == from }
                if users.isEmpty {
                    notes.append(PreflightNote(.advice, "no direct NIC of '\(domain.name)' uses '\(from)'; the mapping \(from)=\(to) changes nothing"))
                }
                for entry in users {
                    var element = XMLElementSpec(copying: document.element(of: entry))
                    var source = element.firstChild(named: "source") ?? XMLElementSpec("source")
                    source.setAttribute("dev", to: to)
                    element.setChild("source", to: source)
                    bytes = try document.replacingInterface(entry, with: element)
                    document = try DomainDocument(bytes: bytes, fileName: name)
                    rewrites.append(.init(mac: entry.mac?.value ?? "?", from: from, to: to))
                }
            }
        } catch {
            throw .refused([PreflightNote(.refusal, error.description)])
        }
        let destination: HostInventory
        do {
            destination = try HostInventory.scan(uri: request.destination)
        } catch {
            var located = error
            located.operation = "\(error.operation) (destination \(request.destination))"
            throw .libvirt(located)
        }
        let findings: [Finding]
        do {
            findings = try linter.hostFindings(of: bytes, name: name, hosts: [destination])
        } catch {
            throw .usage(error.description)
        }
        notes += findings.filter { $0.severity >= .warning }.map {
            PreflightNote($0.severity == .error ? .refusal : .advice, $0.message, fix: $0.fix, ruleID: $0.ruleID)
        }
        return MigrationCheckReport(
            domain: domain.name, source: uri, destination: request.destination,
            migratableXML: String(decoding: bytes, as: UTF8.self), rewrites: rewrites, notes: notes)
    }
}
