import Dispatch
public import MacvtapLibvirt
import MacvtapXML
import Synchronization

/// What one libvirt host has: every domain's interfaces (live and persistent XML) and the
/// host's own network interfaces. Used by `lint -c` and by live operations' preflight.
public struct HostInventory: Sendable {
    public var uri: String
    /// One summary per domain XML read (a running domain contributes its live and its
    /// persistent XML; `DocumentSummary.isSameDomain` tells them apart from other domains).
    public var domains: [DocumentSummary]
    public var hostInterfaces: [HostInterface]

    public struct HostInterface: Sendable, Hashable {
        public var name: String
        public var mac: MACAddress?
    }

    public init(uri: String, domains: [DocumentSummary], hostInterfaces: [HostInterface]) {
        self.uri = uri
        self.domains = domains
        self.hostInterfaces = hostInterfaces
    }

    /// Reads a host's inventory over a read-only connection.
    public static func scan(uri: String) throws(LibvirtError) -> HostInventory {
        let connection = try LibvirtConnection(uri: uri, readOnly: true)
        defer { connection.close() }
        var summaries: [DocumentSummary] = []
        for record in try connection.domains() {
            let versions = [("inactive", record.inactiveXML)] + (record.liveXML.map { [("live", $0)] } ?? [])
            for (label, xml) in versions {
                let name = "\(uri) domain '\(record.name)' (\(label) XML)"
                guard let document = try? DomainDocument(bytes: Array(xml.utf8), fileName: name) else { continue }
                summaries.append(DocumentSummary(document))
            }
        }
        let interfaces = try connection.hostInterfaces().compactMap(hostInterface(from:))
        return HostInventory(uri: uri, domains: summaries, hostInterfaces: interfaces)
    }

    /// Scans several hosts at once (a fleet); the first failure is reported.
    public static func scan(uris: [String]) throws(LibvirtError) -> [HostInventory] {
        let results = Mutex<[Int: Result<HostInventory, LibvirtError>]>([:])
        DispatchQueue.concurrentPerform(iterations: uris.count) { index in
            let result: Result<HostInventory, LibvirtError>
            do throws(LibvirtError) {
                result = .success(try scan(uri: uris[index]))
            } catch {
                result = .failure(error)
            }
            results.withLock { $0[index] = result }
        }
        let collected = results.withLock { $0 }
        var inventories: [HostInventory] = []
        for index in uris.indices {
            switch collected[index]! {
            case .success(let inventory): inventories.append(inventory)
            case .failure(let error): throw error
            }
        }
        return inventories
    }

    private static func hostInterface(from record: HostInterfaceRecord) -> HostInterface? {
        if let name = record.name {
            return HostInterface(name: name, mac: record.mac.flatMap(MACAddress.init))
        }
        guard let xml = record.nodeDeviceXML,
            let document = try? XMLDocument(bytes: Array(xml.utf8), fileName: "nodedev"),
            let capability = document.root?.children(named: "capability").first(where: {
                $0.attribute("type") == "net"
            }),
            let name = capability.firstChild(named: "interface")?.textContent
        else { return nil }
        let mac = capability.firstChild(named: "address").flatMap { MACAddress($0.textContent) }
        return HostInterface(name: name, mac: mac)
    }
}
