import Dispatch
import MacvtapLibvirt
import MacvtapNetlink
import MacvtapXML
import Synchronization

extension HostInventory {
    /// Reads a host's inventory over a read-only connection; with `summaryCacheDirectory`, the
    /// definitions an earlier scan of `uri` read are not parsed again (`HostSummaryCache`; run
    /// `HostSummaryCache.waitForSaves()` before the process ends).
    public static func scan(uri: String, summaryCacheDirectory: String? = nil) throws(LibvirtFailure) -> HostInventory {
        do throws(LibvirtError) {
            let connection = try LibvirtConnection(uri: uri, readOnly: true)
            defer { connection.close() }
            let cache = summaryCacheDirectory.map { HostSummaryCache(directory: $0, uri: uri) }
            return try scan(connection, focus: nil, cache: cache).inventory
        } catch {
            throw LibvirtFailure(error)
        }
    }

    /// The inventory, and `focus`'s own copies whole (the domain a live command changes): read
    /// and parsed once, by the scan, for the preflight's rules to lint as they are.
    struct FocusedScan {
        var inventory: HostInventory
        /// The focus domain's definition: the persistent copy and, while it runs, the live one.
        var copies: [DomainCopies: DomainDocument] = [:]
        var state: DomainState = .noState
        var isPersistent = false
    }

    /// Every read at once: libvirt's client carries calls from several threads over one socket
    /// and each mostly waits on the daemon, so the scan takes about as long as its slowest read.
    /// With `cache`, a definition read before is not parsed again (`HostSummaryCache`); the
    /// focus domain's always is, since its documents are kept whole.
    static func scan(_ connection: LibvirtConnection, focus: LibvirtDomain?, cache: HostSummaryCache? = nil) throws(LibvirtError) -> FocusedScan {
        let uri = connection.uri
        let domainRecords = Mutex<Result<[Result<(Bool, Handover<[ReadCopy]>), LibvirtError>], LibvirtError>?>(nil)
        let focusFacts = Mutex<Result<(DomainState, Bool), LibvirtError>?>(nil)
        let hostRecords = Mutex<Result<[HostInterfaceRecord], LibvirtError>?>(nil)
        let networks = Mutex<[HostNetwork]?>(nil)
        let release = Mutex<LibvirtRelease?>(nil)
        let kernelLinks = Mutex<[NetworkLink]>([])
        connection.concurrently([
            { connection in
                let read = Result { () throws(LibvirtError) in
                    let records = try connection.allDomainRecords()
                    // Parsed once every read is in: parsing beside the reads takes the cores
                    // libvirtd needs to format the definitions (measured slower on 2 cores).
                    let parsed = Concurrently.map(records.count) { index in
                        let isFocus = focus.map { records[index].domain.uuid == $0.uuid } ?? false
                        return records[index].record.map { record in
                            (record.autostarts, Handover(copies(of: record, uri: uri, keepingDocuments: isFocus, cache: cache)))
                        }
                    }
                    cache?.saveInBackground()
                    return parsed
                }
                domainRecords.withLock { $0 = read }
            },
            { connection in hostRecords.withLock { $0 = Result { () throws(LibvirtError) in try connection.hostInterfaces() } } },
            { connection in
                networks.withLock { $0 = try? connection.networks().compactMap { HostNetwork(xml: $0.xml, isActive: $0.isActive) } }
            },
            { _ in
                guard LibvirtURI.isLocal(uri), let netlink = try? RouteNetlink() else { return }
                defer { netlink.close() }
                kernelLinks.withLock { $0 = (try? netlink.links()) ?? [] }
            },
            { connection in release.withLock { $0 = (try? connection.libraryVersion()).map { LibvirtRelease(libraryVersion: $0) } } },
            { _ in
                guard let focus else { return }
                focusFacts.withLock { $0 = Result { () throws(LibvirtError) in (try focus.state(), focus.isPersistent) } }
            },
        ])

        var result = FocusedScan(inventory: HostInventory(uri: uri, domains: [], hostInterfaces: [], networks: nil))
        var summaries: [DocumentSummary] = []
        for read in try domainRecords.withLock({ $0 })!.get() {
            let (autostarts, handover) = try read.get()
            for read in handover.value {
                var summary = read.summary
                summary.isHostCopy = true
                summary.isLiveCopy = read.copy == .live
                summary.autostarts = autostarts
                summaries.append(summary)
                // Only the focus domain's copies keep their document.
                if let document = read.document { result.copies[read.copy] = document }
            }
        }
        if let facts = try focusFacts.withLock({ $0 })?.get() {
            (result.state, result.isPersistent) = facts
        }
        let records = try hostRecords.withLock { $0 }?.get() ?? []
        result.inventory = HostInventory(
            uri: uri, domains: summaries,
            hostInterfaces: withKernelFacts(mergedHostInterfaces(records, domains: summaries), links: kernelLinks.withLock { $0 }),
            networks: networks.withLock { $0 })
        result.inventory.libvirtRelease = release.withLock { $0 }
        return result
    }

    /// One copy of a domain's definition as the scan read it: its summary, and the document
    /// itself when the scan keeps it (the focus domain's).
    struct ReadCopy {
        var copy: DomainCopies
        var summary: DocumentSummary
        var document: DomainDocument?
    }

    /// A domain's inactive XML and, while it runs, its live XML, summarised (unparsable XML is
    /// left out: libvirt produced it, so it does not happen); parsed only when `keepingDocuments`
    /// or when `cache` does not know the XML.
    private static func copies(of record: DomainRecord, uri: String, keepingDocuments: Bool, cache: HostSummaryCache?) -> [ReadCopy] {
        let versions = [(DomainCopies.config, record.inactiveXML)] + (record.liveXML.map { [(DomainCopies.live, $0)] } ?? [])
        return versions.compactMap { copy, xml in
            let name = "\(uri) domain '\(record.name)' (\(copy == .live ? "live" : "inactive") XML)"
            let bytes = Array(xml.utf8)
            func parsed() -> DomainDocument? { try? DomainDocument(bytes: bytes, fileName: name) }
            guard let cache, !keepingDocuments else {
                return parsed().map { ReadCopy(copy: copy, summary: DocumentSummary($0), document: keepingDocuments ? $0 : nil) }
            }
            return cache.summary(of: bytes, file: name) { parsed().map(DocumentSummary.init) }.map { ReadCopy(copy: copy, summary: $0) }
        }
    }

    /// One entry per host device name. The macvtaps libvirt created for running guests carry
    /// their guest's MAC: they are that guest's NIC, already in the domain XML, not a host NIC.
    static func mergedHostInterfaces(_ records: [HostInterfaceRecord], domains: [DocumentSummary]) -> [HostInterface] {
        let guestTaps = Set(domains.flatMap { $0.interfaces.compactMap { $0.targetDev?.value } })
        var byName: [String: HostInterface] = [:]
        var order: [String] = []
        for record in records {
            for var found in hostInterfaces(from: record) where !guestTaps.contains(found.name) {
                // The loopback device's MAC never reaches a wire; a passthrough macvtap on lo once
                // gave it a guest's MAC for good (the oracle found that), and it must not count.
                if found.name == "lo" { found.mac = nil }
                if byName[found.name] != nil {
                    byName[found.name]!.merge(found)
                } else {
                    byName[found.name] = found
                    order.append(found.name)
                }
            }
        }
        return order.compactMap { byName[$0] }
    }

    /// The kernel's word on kind, master (Open vSwitch too, which libvirt does not see), state
    /// and MTU, for the devices that are the same device: same name and same MAC. A local URI
    /// can still reach a libvirtd in another network namespace, whose `eth0` is not ours.
    static func withKernelFacts(_ interfaces: [HostInterface], links: [NetworkLink]) -> [HostInterface] {
        guard !links.isEmpty else { return interfaces }
        let byName = Dictionary(links.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let byIndex = Dictionary(links.map { ($0.index, $0) }, uniquingKeysWith: { first, _ in first })
        return interfaces.map { interface in
            guard let link = byName[interface.name], let mac = interface.mac, link.mac.flatMap(MACAddress.init) == mac else { return interface }
            var kernel = HostInterface(
                name: link.name, mac: mac, kind: link.kind, linkState: link.operationalState, mtu: link.mtu > 0 ? link.mtu : nil)
            kernel.lowerDevice = link.parentIndex.flatMap { byIndex[$0]?.name }
            kernel.macvlanMode = link.macvlanMode
            if let master = link.masterIndex.flatMap({ byIndex[$0] }) {
                kernel.master = HostInterface.Master(name: master.name, kind: master.kind ?? "master")
            }
            // The kernel's facts are read now and exactly; libvirt's fill what it does not say
            // (wireless, SR-IOV, a bond's mode).
            kernel.merge(interface)
            return kernel
        }
    }

    /// Scans named hosts at once; each result on its own, so that one host down does not
    /// hide the others.
    public static func scan(
        named hosts: [(name: String, uri: String)], progress: (@Sendable (_ done: Int, _ total: Int) -> Void)? = nil
    ) -> [(name: String, result: Result<HostInventory, LibvirtFailure>)] {
        let done = Atomic<Int>(0)
        let results = Concurrently.map(hosts.count) { index in
            let result = Result { () throws(LibvirtFailure) in try scan(uri: hosts[index].uri) }
            progress?(done.add(1, ordering: .relaxed).newValue, hosts.count)
            return result
        }
        return zip(hosts, results).map { ($0.name, $1) }
    }

    /// Scans several hosts at once (a fleet); the first failure is reported.
    public static func scan(
        uris: [String], progress: (@Sendable (_ done: Int, _ total: Int) -> Void)? = nil
    ) throws(LibvirtFailure) -> [HostInventory] {
        let done = Atomic<Int>(0)
        return try Concurrently.map(uris.count) { (index) throws(LibvirtFailure) in
            defer { progress?(done.add(1, ordering: .relaxed).newValue, uris.count) }
            return try scan(uri: uris[index])
        }
    }

    private static func hostInterfaces(from record: HostInterfaceRecord) -> [HostInterface] {
        if let name = record.name {
            let described = record.interfaceXML.map(HostInterface.described(by:)) ?? []
            guard var listed = described.first(where: { $0.name == name }) else {
                return [HostInterface(name: name, mac: record.mac.flatMap(MACAddress.init))]
            }
            listed.mac = listed.mac ?? record.mac.flatMap(MACAddress.init)
            return [listed] + described.filter { $0.name != name }
        }
        return nodeDeviceInterface(from: record).map { [$0] } ?? []
    }

    private static func nodeDeviceInterface(from record: HostInterfaceRecord) -> HostInterface? {
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
        return HostInterface(
            name: name, mac: mac, isWireless: isWireless, isVirtualFunction: parent == "computer" ? false : nil,
            linkState: capability.firstChild(named: "link")?.attribute("state"))
    }
}
