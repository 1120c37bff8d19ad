internal import CLibvirt
import Dispatch
import Synchronization

#if canImport(Glibc)
    internal import Glibc
#endif

/// An open libvirt connection. Owns its `virConnectPtr` and closes it in `close()` or `deinit`.
///
/// Not thread-safe (libvirt's connection is, but the error slot we read is per thread, so each
/// call reads its own error right after the failing call on the same thread).
public final class LibvirtConnection {
    public let uri: String
    public let isReadOnly: Bool
    /// Whether libvirt's event loop serves this connection (`DeviceRemovalWatch` needs it).
    public let receivesEvents: Bool
    private var pointer: virConnectPtr?
    private let api: LibvirtAPI

    /// Opens `uri` (e.g. `qemu:///system`, `test:///default`); read-only where nothing changes.
    /// `receivesEvents` starts libvirt's event loop first (it must exist before the connection
    /// does for events to arrive) and turns on keepalive, so a dead daemon is noticed while
    /// waiting for an event.
    public init(uri: String, readOnly: Bool, receivesEvents: Bool = false) throws(LibvirtError) {
        let api = try LibvirtAPI.get(operation: "connecting to \(uri)")
        if receivesEvents, case .failure(let error) = LibvirtEventLoop.started { throw error }
        let opened = readOnly ? api.connectOpenReadOnly(uri) : api.connectOpen(uri)
        guard let opened else { throw LibvirtError.last(operation: "connecting to \(uri)") }
        if receivesEvents, api.connectSetKeepAlive(opened, 2, 3) < 0 {
            // Drivers without keepalive (test://, qemu+unix on old daemons) still deliver events.
            api.resetLastError()
        }
        self.uri = uri
        self.isReadOnly = readOnly
        self.receivesEvents = receivesEvents
        self.pointer = opened
        self.api = api
    }

    /// Loads libvirt now (dlopen of libvirt.so.0 and its ~50 libraries, virInitialize: several
    /// milliseconds); otherwise the first connection does. Safe from any thread, once or often.
    public static func loadLibrary() {
        _ = LibvirtAPI.shared
    }

    /// Finds a domain the way virsh does: by id when the reference is a number, then by UUID,
    /// then by name.
    public func lookupDomain(_ reference: String) throws(LibvirtError) -> LibvirtDomain {
        let connection = try open("looking up domain '\(reference)'")
        if let id = Int32(reference), id >= 0, let found = api.domainLookupByID(connection, id) {
            return LibvirtDomain(pointer: found, uri: uri, api: api)
        }
        api.resetLastError()
        if reference.utf8.count == 36 || reference.utf8.count == 32,
            let found = api.domainLookupByUUIDString(connection, reference)
        {
            return LibvirtDomain(pointer: found, uri: uri, api: api)
        }
        api.resetLastError()
        guard let found = api.domainLookupByName(connection, reference) else {
            throw LibvirtError.last(operation: "looking up domain '\(reference)' on \(uri)")
        }
        return LibvirtDomain(pointer: found, uri: uri, api: api)
    }

    /// Every domain, running or not, in libvirt's order.
    public func allDomains() throws(LibvirtError) -> [LibvirtDomain] {
        try allDomains(flags: 0)
    }

    /// The domains `virConnectListAllDomains` lists with `flags` (VIR_CONNECT_LIST_DOMAINS_*).
    func allDomains(flags: UInt32) throws(LibvirtError) -> [LibvirtDomain] {
        let connection = try open("listing domains")
        var domains: UnsafeMutablePointer<virDomainPtr?>?
        let count = api.connectListAllDomains(connection, &domains, flags)
        guard count >= 0, let domains else { throw LibvirtError.last(operation: "listing domains on \(uri)") }
        defer { free(domains) }
        return (0..<Int(count)).compactMap { index in
            domains[index].map { LibvirtDomain(pointer: $0, uri: uri, api: api) }
        }
    }

    /// Defines (or redefines) a persistent domain from `xml` with virDomainDefineXMLFlags;
    /// `validate` adds VIR_DOMAIN_DEFINE_VALIDATE (libvirt's RelaxNG check, as `virsh define
    /// --validate` does). A refusal is the libvirt error, message and code intact.
    public func defineDomain(xml: String, validate: Bool = false) throws(LibvirtError) -> LibvirtDomain {
        let connection = try open("defining a domain")
        let flags = validate ? UInt32(VIR_DOMAIN_DEFINE_VALIDATE.rawValue) : 0
        guard let defined = api.domainDefineXMLFlags(connection, xml, flags) else {
            throw LibvirtError.last(operation: "defining a domain on \(uri)")
        }
        return LibvirtDomain(pointer: defined, uri: uri, api: api)
    }

    /// Starts listening for the removal of `domain`'s devices; open the connection with
    /// `receivesEvents: true`.
    public func watchDeviceRemoval(of domain: LibvirtDomain) throws(LibvirtError) -> DeviceRemovalWatch {
        try DeviceRemovalWatch(connection: self, domain: domain)
    }

    func withPointer<Result>(_ body: (virConnectPtr) throws(LibvirtError) -> Result) throws(LibvirtError) -> Result {
        try body(open("using the connection"))
    }

    deinit {
        close()
    }

    public func close() {
        if let pointer { _ = api.connectClose(pointer) }
        pointer = nil
    }

    /// The URI libvirt resolved the connection to (e.g. `test:///default`).
    public func canonicalURI() throws(LibvirtError) -> String {
        let connection = try open("reading the connection URI")
        guard let uri = api.connectGetURI(connection) else {
            throw LibvirtError.last(operation: "reading the connection URI")
        }
        defer { free(uri) }
        return String(cString: uri)
    }

    /// The libvirt version of the host at the other end (`virConnectGetLibVersion`: the
    /// daemon's for a remote URI), as major × 1,000,000 + minor × 1,000 + micro.
    public func libraryVersion() throws(LibvirtError) -> UInt {
        let connection = try open("reading the host's libvirt version")
        var version: UInt = 0
        guard api.connectGetLibVersion(connection, &version) == 0 else {
            throw LibvirtError.last(operation: "reading the host's libvirt version")
        }
        return version
    }

    /// Every domain with its persistent XML and, when it runs, its live XML.
    public func domains() throws(LibvirtError) -> [DomainRecord] {
        try allDomains().map { (domain) throws(LibvirtError) in try domain.record() }
    }

    /// Host network interfaces, as libvirt's interface driver lists them (name, MAC) followed by
    /// its `net` node devices (raw XML: drivers without an interface backend still have those,
    /// and only they say whether a device is wireless).
    public func hostInterfaces() throws(LibvirtError) -> [HostInterfaceRecord] {
        _ = try open("listing host interfaces")
        // The two listings are independent and each description is one call: all are read at
        // once (`LibvirtCalls`), which took the host scan's longest chain from ~4 ms to ~1.
        let listed = Mutex<[HostInterfaceRecord]>([])
        let devices = Mutex<Result<[HostInterfaceRecord], LibvirtError>>(.success([]))
        let lent = Lent(self)
        LibvirtCalls.run(2, width: 2) { which in
            if which == 0 {
                listed.withLock { $0 = lent.value.listedInterfaces() }
            } else {
                devices.withLock { $0 = Result { () throws(LibvirtError) in try lent.value.netNodeDevices() } }
            }
        }
        let records = listed.withLock { $0 }
        switch devices.withLock({ $0 }) {
        case .success(let found): return records + found
        // A host without node devices still has its interfaces listed.
        case .failure(let error): if records.isEmpty { throw error } else { return records }
        }
    }

    /// The interface driver's interfaces with their descriptions; none when it has no backend.
    private func listedInterfaces() -> [HostInterfaceRecord] {
        var interfaces: UnsafeMutablePointer<virInterfacePtr?>?
        let count = pointer.map { api.connectListAllInterfaces($0, &interfaces, 0) } ?? -1
        guard count >= 0, let interfaces else {
            api.resetLastError()
            return []
        }
        defer { free(interfaces) }
        let calls = api
        return Self.readEach(of: interfaces, count: Int(count)) { interface in
            defer { _ = calls.interfaceFree(interface) }
            let name = calls.interfaceGetName(interface).map { String(cString: $0) } ?? ""
            let mac = calls.interfaceGetMACString(interface).map { String(cString: $0) }
            // The description says what the MAC cannot: the device's kind, MTU and link
            // state, and a bridge's ports or a bond's slaves with its mode (only the master
            // is listed; its ports are inside its description).
            var description: String?
            if let xml = calls.interfaceGetXMLDesc(interface, 0) {
                description = String(cString: xml)
                free(xml)
            } else {
                calls.resetLastError()
            }
            return HostInterfaceRecord(name: name, mac: mac, interfaceXML: description)
        }
    }

    /// The `net` node devices, as raw XML: drivers without an interface backend still have
    /// those, and they tell wireless devices and SR-IOV functions apart.
    private func netNodeDevices() throws(LibvirtError) -> [HostInterfaceRecord] {
        var devices: UnsafeMutablePointer<virNodeDevicePtr?>?
        let deviceCount = try api.connectListAllNodeDevices(
            open("listing host network devices"), &devices, UInt32(VIR_CONNECT_LIST_NODE_DEVICES_CAP_NET.rawValue))
        guard deviceCount >= 0, let devices else {
            throw LibvirtError.last(operation: "listing host network devices on \(uri)")
        }
        defer { free(devices) }
        let calls = api
        return Self.readEach(of: devices, count: Int(deviceCount)) { device in
            defer { _ = calls.nodeDeviceFree(device) }
            guard let xml = calls.nodeDeviceGetXMLDesc(device, 0) else {
                calls.resetLastError()
                return nil
            }
            defer { free(xml) }
            return HostInterfaceRecord(name: nil, mac: nil, nodeDeviceXML: String(cString: xml))
        }
    }

    /// `read` of each of the `count` objects of a list libvirt returned, at once (`LibvirtCalls`),
    /// in the list's order; `read` frees its object.
    private static func readEach<Read: Sendable>(
        of list: UnsafeMutablePointer<OpaquePointer?>, count: Int, _ read: @escaping @Sendable (OpaquePointer) -> Read?
    ) -> [Read] {
        let listed = Lent(list)
        let results = Mutex<[Read?]>(Array(repeating: nil, count: count))
        LibvirtCalls.run(count, width: 8) { index in
            guard let object = listed.value[index], let result = read(object) else { return }
            results.withLock { $0[index] = result }
        }
        return results.withLock { $0 }.compactMap { $0 }
    }

    /// Defines a network (virNetworkDefineXMLFlags); `validate` adds libvirt's RelaxNG check
    /// (`VIR_NETWORK_DEFINE_VALIDATE`, libvirt ≥ 7.7).
    public func defineNetwork(xml: String, validate: Bool = false) throws(LibvirtError) -> LibvirtNetwork {
        let connection = try open("defining a network")
        guard let define = api.networkDefineXMLFlags else {
            throw LibvirtError(
                code: LibvirtError.Code.notLoaded.rawValue, domain: 0, message: "this libvirt has no virNetworkDefineXMLFlags (libvirt 7.7 or newer is needed)",
                operation: "defining a network on \(uri)")
        }
        guard let defined = define(connection, xml, validate ? 1 : 0) else {
            throw LibvirtError.last(operation: "defining a network on \(uri)")
        }
        return LibvirtNetwork(pointer: defined, api: api)
    }

    /// Every network as a handle (to remove the oracle's leftovers).
    public func allNetworks() throws(LibvirtError) -> [LibvirtNetwork] {
        let connection = try open("listing networks")
        var networks: UnsafeMutablePointer<OpaquePointer?>?
        let count = api.connectListAllNetworks(connection, &networks, 0)
        guard count >= 0, let networks else { throw LibvirtError.last(operation: "listing the networks of \(uri)") }
        defer { free(networks) }
        return (0..<Int(count)).compactMap { networks[$0].map { LibvirtNetwork(pointer: $0, api: api) } }
    }

    /// Every virtual network the host defines (active or not), with its XML.
    public func networks() throws(LibvirtError) -> [NetworkRecord] {
        let connection = try open("listing networks")
        var networks: UnsafeMutablePointer<OpaquePointer?>?
        let count = api.connectListAllNetworks(connection, &networks, 0)
        guard count >= 0, let networks else {
            throw LibvirtError.last(operation: "listing the networks of \(uri)")
        }
        defer { free(networks) }
        var records: [NetworkRecord] = []
        var failure: LibvirtError?
        for index in 0..<Int(count) {
            guard let network = networks[index] else { continue }
            defer { _ = api.networkFree(network) }
            guard failure == nil else { continue }
            let name = api.networkGetName(network).map { String(cString: $0) } ?? ""
            guard let xml = api.networkGetXMLDesc(network, 0) else {
                failure = LibvirtError.last(operation: "reading the XML of network '\(name)' on \(uri)")
                continue
            }
            records.append(NetworkRecord(name: name, isActive: api.networkIsActive(network) == 1, xml: String(cString: xml)))
            free(xml)
        }
        if let failure { throw failure }
        return records
    }

    private func open(_ operation: String) throws(LibvirtError) -> virConnectPtr {
        guard let pointer else {
            throw LibvirtError(code: 0, domain: 0, message: "the connection is closed", operation: operation)
        }
        return pointer
    }
}

/// A domain as libvirt reports it.
public struct DomainRecord: Sendable {
    public var name: String
    public var uuid: String?
    public var isActive: Bool
    /// Started by libvirt when the host boots.
    public var autostarts: Bool = false
    /// The running configuration; nil when the domain is shut off.
    public var liveXML: String?
    /// The persistent (inactive) configuration.
    public var inactiveXML: String
}

/// A libvirt virtual network (`virsh net-list --all`).
public struct NetworkRecord: Sendable {
    public var name: String
    public var isActive: Bool
    /// Its definition (`virsh net-dumpxml`).
    public var xml: String
}

/// A host network interface: name and MAC from the interface driver, or the raw node-device
/// XML (`<capability type='net'>`) for the model layer to read.
public struct HostInterfaceRecord: Sendable {
    public var name: String?
    public var mac: String?
    /// `virInterfaceGetXMLDesc` of a listed interface.
    public var interfaceXML: String?
    public var nodeDeviceXML: String?

    public init(name: String?, mac: String?, interfaceXML: String? = nil, nodeDeviceXML: String? = nil) {
        self.name = name
        self.mac = mac
        self.interfaceXML = interfaceXML
        self.nodeDeviceXML = nodeDeviceXML
    }
}

extension LibvirtConnection {
    /// Runs `reads` at once, each on a thread of its own, and returns when all are done. Each
    /// read is lent this connection: libvirt's connections are thread-safe and its client
    /// carries calls from several threads over one socket; the error each call reads is its
    /// own thread's; and the connection cannot be closed meanwhile, since this call holds it.
    public func concurrently(_ reads: [@Sendable (LibvirtConnection) -> Void]) {
        let lent = Lent(self)
        LibvirtCalls.run(reads.count, width: reads.count) { reads[$0](lent.value) }
    }

    /// Every domain with its record (state, autostart, definitions), read `width` calls at a
    /// time: which domains run and which autostart come from two listings, so each domain
    /// costs only its XML reads. A domain that vanished meanwhile has its error as its record.
    public func allDomainRecords(width: Int = 8) throws(LibvirtError) -> [(domain: LibvirtDomain, record: Result<DomainRecord, LibvirtError>)] {
        // The three listings at once, then the definitions.
        let flags = [0, UInt32(VIR_CONNECT_LIST_DOMAINS_ACTIVE.rawValue), UInt32(VIR_CONNECT_LIST_DOMAINS_AUTOSTART.rawValue)]
        let listings = Mutex<[Result<[LibvirtDomain], LibvirtError>]>(Array(repeating: .success([]), count: flags.count))
        let lent = Lent(self)
        LibvirtCalls.run(flags.count, width: flags.count) { index in
            let listing = Result { () throws(LibvirtError) in try lent.value.allDomains(flags: flags[index]) }
            listings.withLock { $0[index] = listing }
        }
        let (domains, active, autostarted) = try listings.withLock { (listings) throws(LibvirtError) in
            (try listings[0].get(), Set(try listings[1].get().map(\.uuid)), Set(try listings[2].get().map(\.uuid)))
        }
        let records = Mutex<[Result<DomainRecord, LibvirtError>?]>(Array(repeating: nil, count: domains.count))
        LibvirtCalls.run(domains.count, width: width) { index in
            let domain = domains[index]
            let isActive = active.contains(domain.uuid)
            let record = Result { () throws(LibvirtError) in
                DomainRecord(
                    name: domain.name, uuid: domain.uuid.isEmpty ? nil : domain.uuid, isActive: isActive,
                    autostarts: autostarted.contains(domain.uuid), liveXML: isActive ? try domain.xml(inactive: false) : nil,
                    inactiveXML: try domain.xml(inactive: true))
            }
            records.withLock { $0[index] = record }
        }
        return zip(domains, records.withLock { $0 }).map { ($0, $1!) }
    }
}

/// A connection, or a list libvirt returned, as `LibvirtCalls` lends it to its threads: libvirt's
/// connections and objects are thread-safe, each thread reads its own error, every thread
/// touches its own list entries, and the lender outlives the threads (`run` waits for them).
private struct Lent<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}

/// libvirt calls spread over threads that mostly wait on the daemon: more threads than cores
/// (a queue of our own targets libdispatch's overcommitting pool, unlike `concurrentPerform`,
/// which stops at one thread per core). libvirtd serves five calls of one client at a time by
/// default (max_client_requests), so a few more threads than that keep it busy.
/// The calling thread takes calls too, and waits only for calls that started: runs nest (the
/// host scan's reads each list, then describe what they listed), and libdispatch grows its pool
/// by one thread a second once its threads all wait, which stalled a nested scan for seconds.
enum LibvirtCalls {
    private static let queue = DispatchQueue(label: "virt-macvtap.libvirt-calls", attributes: .concurrent)

    static func run(_ count: Int, width: Int, _ body: @escaping @Sendable (Int) -> Void) {
        guard count > 0 else { return }
        let next = Atomic<Int>(0)
        let finished = Atomic<Int>(0)
        let allFinished = DispatchSemaphore(value: 0)
        // A helper that starts after every call was taken finds nothing left and returns.
        let takeCalls: @Sendable () -> Void = {
            while true {
                let index = next.add(1, ordering: .relaxed).oldValue
                guard index < count else { return }
                body(index)
                if finished.add(1, ordering: .acquiringAndReleasing).newValue == count { allFinished.signal() }
            }
        }
        for _ in 1..<min(width, count) { queue.async(execute: takeCalls) }
        takeCalls()
        allFinished.wait()
    }
}
