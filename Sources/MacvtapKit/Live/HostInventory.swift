import Dispatch
public import MacvtapLibvirt
import MacvtapXML
import Synchronization

extension HostInventory {
    /// Reads a host's inventory over a read-only connection.
    public static func scan(uri: String) throws(LibvirtError) -> HostInventory {
        let connection = try LibvirtConnection(uri: uri, readOnly: true)
        defer { connection.close() }
        return try scan(connection)
    }

    /// Reads a host's inventory over an open connection.
    public static func scan(_ connection: LibvirtConnection) throws(LibvirtError) -> HostInventory {
        let uri = connection.uri
        let domains = try connection.allDomains()
        // Each call mostly waits on the daemon: the domains are read and parsed side by side
        // (libvirt's client carries calls from several threads over one socket), while this
        // thread lists the host's interfaces.
        let perDomain = Mutex<[Result<[DocumentSummary], LibvirtError>]>([])
        let domainsRead = DispatchGroup()
        DispatchQueue.global(qos: .userInitiated).async(group: domainsRead) {
            let results = Concurrently.map(domains.count) { index in
                Result { () throws(LibvirtError) in documentSummaries(of: try domains[index].record(), uri: uri) }
            }
            perDomain.withLock { $0 = results }
        }
        let hostRecords = Result { () throws(LibvirtError) in try connection.hostInterfaces() }
        let networks = try? connection.networks().compactMap { HostNetwork(xml: $0.xml, isActive: $0.isActive) }
        domainsRead.wait()
        var summaries: [DocumentSummary] = []
        for result in perDomain.withLock({ $0 }) { summaries += try result.get() }
        var inventory = HostInventory(
            uri: uri, domains: summaries, hostInterfaces: mergedHostInterfaces(try hostRecords.get(), domains: summaries),
            networks: networks)
        inventory.libvirtRelease = (try? connection.libraryVersion()).map { LibvirtRelease(libraryVersion: $0) }
        return inventory
    }

    /// A domain's inactive XML and, while it runs, its live XML, parsed (unparsable XML is left
    /// out: libvirt produced it, so it does not happen).
    private static func documentSummaries(of record: DomainRecord, uri: String) -> [DocumentSummary] {
        let versions = [("inactive", record.inactiveXML)] + (record.liveXML.map { [("live", $0)] } ?? [])
        return versions.compactMap { label, xml in
            let name = "\(uri) domain '\(record.name)' (\(label) XML)"
            guard let document = try? DomainDocument(bytes: Array(xml.utf8), fileName: name) else { return nil }
            var summary = DocumentSummary(document)
            summary.isHostCopy = true
            summary.isLiveCopy = label == "live"
            summary.autostarts = record.autostarts
            return summary
        }
    }

    /// One entry per host device name. The macvtaps libvirt created for running guests carry
    /// their guest's MAC: they are that guest's NIC, already in the domain XML, not a host NIC.
    static func mergedHostInterfaces(_ records: [HostInterfaceRecord], domains: [DocumentSummary]) -> [HostInterface] {
        let guestTaps = Set(domains.flatMap { $0.interfaces.compactMap { $0.targetDev?.value } })
        var byName: [String: HostInterface] = [:]
        var order: [String] = []
        for record in records {
            guard var found = hostInterface(from: record), !guestTaps.contains(found.name) else { continue }
            // The loopback device's MAC never reaches a wire; a passthrough macvtap on lo once
            // gave it a guest's MAC for good (the oracle found that), and it must not count.
            if found.name == "lo" { found.mac = nil }
            if var known = byName[found.name] {
                known.mac = known.mac ?? found.mac
                known.isWireless = known.isWireless || found.isWireless
                known.isVirtualFunction = known.isVirtualFunction ?? found.isVirtualFunction
                byName[found.name] = known
            } else {
                byName[found.name] = found
                order.append(found.name)
            }
        }
        return order.compactMap { byName[$0] }
    }

    /// Scans named hosts at once; each result on its own, so that one host down does not
    /// hide the others.
    public static func scan(
        named hosts: [(name: String, uri: String)], progress: (@Sendable (_ done: Int, _ total: Int) -> Void)? = nil
    ) -> [(name: String, result: Result<HostInventory, LibvirtError>)] {
        let done = Atomic<Int>(0)
        let results = Concurrently.map(hosts.count) { index in
            let result = Result { () throws(LibvirtError) in try scan(uri: hosts[index].uri) }
            progress?(done.add(1, ordering: .relaxed).newValue, hosts.count)
            return result
        }
        return zip(hosts, results).map { ($0.name, $1) }
    }

    /// Scans several hosts at once (a fleet); the first failure is reported.
    public static func scan(
        uris: [String], progress: (@Sendable (_ done: Int, _ total: Int) -> Void)? = nil
    ) throws(LibvirtError) -> [HostInventory] {
        let done = Atomic<Int>(0)
        return try Concurrently.map(uris.count) { (index) throws(LibvirtError) in
            defer { progress?(done.add(1, ordering: .relaxed).newValue, uris.count) }
            return try scan(uri: uris[index])
        }
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
        let isWireless = capability.children(named: "capability").contains { $0.attribute("type") == "80211" }
        let parent = document.root?.firstChild(named: "parent")?.textContent
        return HostInterface(name: name, mac: mac, isWireless: isWireless, isVirtualFunction: parent == "computer" ? false : nil)
    }
}
