import FoundationEssentials
import MacvtapSystem
import MacvtapXML

/// What `reach` is asked: files (domains and networks), live hosts, or both.
public struct ReachRequest: Sendable {
    /// Files, directories (searched for `*.xml`) and `-` for standard input.
    public var inputs: [String]
    /// libvirt hosts whose running domains (live XML) are read.
    public var connect: [String] = []
    /// Every fleet host of the configuration that has a URI.
    public var fleetHosts = false
    /// The configuration file; nil: `.virt-macvtap.json` found from the current directory up.
    public var configurationPath: String?
    public var currentDirectory: String

    public init(inputs: [String], currentDirectory: String) {
        self.inputs = inputs
        self.currentDirectory = currentDirectory
    }
}

/// Who reaches whom, per host and device, and what could not be read.
public struct ReachOutcome: Sendable {
    public var segments: [ReachSegment]
    /// One line per host that could not be read.
    public var unreachableHosts: [String] = []
    /// Where the facts files cannot give came from, per host (`-c` URIs: the host's own links
    /// when it is this machine).
    public var factSources: [String] = []
}

/// The `reach` front end: files and hosts into `Reachability`'s segments.
public enum ReachRun {
    public static func perform(_ request: ReachRequest) throws(LintRunError) -> ReachOutcome {
        let configuration: LintConfiguration
        let configurationDirectory: String
        do {
            (configuration, configurationDirectory) = try LintConfiguration.applicable(
                path: request.configurationPath, currentDirectory: request.currentDirectory)
        } catch {
            throw .setup(error.description)
        }
        let fleet = FleetHosts(configuration.hosts, relativeTo: configurationDirectory)
        var facts = configuration.reachFacts
        var documents: [DocumentSummary] = []
        var networks: [NetworkSummary] = []
        if !request.inputs.isEmpty {
            let sources: [DocumentSource]
            do {
                sources = try LintInputs.expand(request.inputs)
            } catch {
                throw .input(error)
            }
            for source in sources {
                guard let xml = try? XMLDocument(source: source) else {
                    throw .setup("\(source.displayName) cannot be read or is not well-formed XML; `virt-macvtap lint \(source.displayName)` says why")
                }
                var host: String?
                if case .file(let path) = source {
                    do {
                        host = try fleet.host(forFile: path, currentDirectory: request.currentDirectory)
                    } catch {
                        throw .setup(error.description)
                    }
                }
                if let network = NetworkDocument(xml) {
                    var summary = NetworkSummary(network)
                    summary.host = host
                    networks.append(summary)
                } else if let domain = try? DomainDocument(xml, allowDeviceXML: true) {
                    var summary = DocumentSummary(domain)
                    summary.host = host
                    documents.append(summary)
                }
            }
        }
        var outcome = ReachOutcome(segments: [])
        var hosts: [(name: String, uri: String)] = request.connect.map { (LibvirtURI.redacted($0), $0) }
        if request.fleetHosts {
            let withURI = fleet.hosts.filter { $0.uri != nil }
            guard !withURI.isEmpty else { throw .noFleetHostURI }
            hosts += withURI.map { ($0.name, $0.uri!) }
        }
        for (label, result) in HostInventory.scan(named: hosts) {
            switch result {
            case .success(let inventory):
                // A running guest is what its live XML says; a shut-off one reaches no one.
                for var summary in inventory.domains where summary.isLiveCopy {
                    summary.host = label
                    documents.append(summary)
                }
                for network in inventory.networks ?? [] {
                    var summary = NetworkSummary(hostNetwork: network, uri: inventory.uri)
                    summary.host = label
                    networks.append(summary)
                }
                facts.observe(inventory, as: label)
                outcome.factSources.append(
                    LibvirtURI.isLocal(inventory.uri)
                        ? "\(label): links down and shims from the host's links; hairpin ports from the configuration"
                        : "\(label): links down as libvirt reports them; shims and hairpin ports from the configuration (\"shims\", \"hairpin\")")
            case .failure(let error):
                outcome.unreachableHosts.append("host \(label) could not be read (\(LibvirtURI.redacted(error.description)))")
            }
        }
        outcome.segments = Reachability.segments(of: documents, networks: networks, facts: facts)
        return outcome
    }
}
