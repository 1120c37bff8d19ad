internal import CNetlink

#if canImport(Glibc)
    internal import Glibc
#endif

/// A network link as the kernel reports it (`ip -d link`), in plain values.
public struct NetworkLink: Sendable, Hashable {
    public var index: Int32
    public var name: String
    /// The link kind (`macvlan`, `macvtap`, `veth`, `bridge`, …); nil for a plain device.
    public var kind: String?
    /// The lower device's index for stacked links (macvlan, macvtap, vlan).
    public var parentIndex: Int32?
    /// The hardware address, `52:54:00:…`.
    public var mac: String?
    public var isUp: Bool
    /// For a macvlan or macvtap: its mode's name (`bridge`, `vepa`, `private`, `passthru`).
    public var macvlanMode: String?
    /// The index of the bridge, bond or Open vSwitch datapath this link is a port of.
    public var masterIndex: Int32?
    public var mtu: Int = 0
    /// RFC 2863's operational state as `ip link` names it (`up`, `down`, `lowerlayerdown`, …).
    public var operationalState: String = "unknown"
}

/// An address on a link (`ip addr`).
public struct NetworkAddress: Sendable, Hashable {
    public var linkIndex: Int32
    /// With its prefix length: `192.0.2.2/24`.
    public var address: String

    /// The address without its prefix length.
    public var host: String { String(address.split(separator: "/", maxSplits: 1).first ?? "") }
}

/// An entry of the kernel's neighbour table (`ip neigh`): an address another machine on a
/// link answered for, with its MAC.
public struct NeighbourEntry: Sendable, Hashable {
    public var linkIndex: Int32
    /// `192.0.2.11` or `fe80::5054:ff:fe00:1`.
    public var address: String
    public var mac: String
    /// `reachable`, `stale`, `delay`, `probe`, `permanent` or `noarp`.
    public var state: String
}

/// One rtnetlink socket in the network namespace the process runs in. Owns the libnl socket
/// and every object it allocates; nothing libnl gives out leaves this type.
public final class RouteNetlink {
    private let api: NetlinkAPI
    private var socket: OpaquePointer?

    public init() throws(NetlinkError) {
        api = try NetlinkAPI.get(operation: "opening an rtnetlink socket")
        guard let socket = api.socketAlloc() else {
            throw NetlinkError(code: 5, message: "out of memory", operation: "opening an rtnetlink socket")
        }
        let result = api.connect(socket, NETLINK_ROUTE)
        guard result == 0 else {
            api.socketFree(socket)
            throw NetlinkError(code: Int(-result), message: api.message(result), operation: "opening an rtnetlink socket")
        }
        self.socket = socket
    }

    deinit { close() }

    public func close() {
        if let socket { api.socketFree(socket) }
        socket = nil
    }

    private func check(_ result: Int32, _ operation: @autoclosure () -> String) throws(NetlinkError) {
        guard result >= 0 else {
            throw NetlinkError(code: Int(-result), message: api.message(result), operation: operation())
        }
    }

    private func string(_ address: OpaquePointer?) -> String? {
        guard let address else { return nil }
        var buffer = [CChar](repeating: 0, count: 128)
        guard let text = api.addrToString(address, &buffer, buffer.count) else { return nil }
        return String(cString: text)
    }

    private func describe(_ link: OpaquePointer) -> NetworkLink {
        let kind = api.linkGetType(link).map { String(cString: $0) }
        let parent = api.linkGetLink(link)
        var mode: String?
        if kind == "macvlan" || kind == "macvtap" {
            // libnl asserts (aborts) when asked the macvlan mode of a macvtap, or the reverse.
            let raw = kind == "macvlan" ? api.macvlanGetMode(link) : api.macvtapGetMode(link)
            mode =
                switch raw {
                case MACVLAN_MODE_PRIVATE.rawValue: "private"
                case MACVLAN_MODE_VEPA.rawValue: "vepa"
                case MACVLAN_MODE_BRIDGE.rawValue: "bridge"
                case MACVLAN_MODE_PASSTHRU.rawValue: "passthru"
                case MACVLAN_MODE_SOURCE.rawValue: "source"
                default: nil
                }
        }
        let master = api.linkGetMaster(link)
        // IF_OPER_* (linux/if.h), by the names `ip link` prints.
        let states = ["unknown", "notpresent", "down", "lowerlayerdown", "testing", "dormant", "up"]
        let state = Int(api.linkGetOperState(link))
        return NetworkLink(
            index: api.linkGetIndex(link), name: api.linkGetName(link).map { String(cString: $0) } ?? "",
            kind: kind, parentIndex: parent > 0 ? parent : nil, mac: string(api.linkGetAddress(link)),
            isUp: api.linkGetFlags(link) & UInt32(IFF_UP) != 0, macvlanMode: mode, masterIndex: master > 0 ? master : nil,
            mtu: Int(api.linkGetMTU(link)), operationalState: state < states.count ? states[state] : "unknown")
    }

    /// The link named `name`, or nil when the namespace has none.
    public func link(named name: String) throws(NetlinkError) -> NetworkLink? {
        var link: OpaquePointer?
        let result = api.linkGetKernel(socket, 0, name, &link)
        if result < 0 {
            let error = NetlinkError(code: Int(-result), message: api.message(result), operation: "looking up link '\(name)'")
            if error.isNoDevice { return nil }
            throw error
        }
        guard let link else { return nil }
        defer { api.linkPut(link) }
        return describe(link)
    }

    /// Every link of the namespace.
    public func links() throws(NetlinkError) -> [NetworkLink] {
        var cache: OpaquePointer?
        try check(api.linkAllocCache(socket, AF_UNSPEC, &cache), "listing links")
        defer { api.cacheFree(cache) }
        var result: [NetworkLink] = []
        var object = api.cacheFirst(cache)
        while let current = object {
            result.append(describe(current))
            object = api.cacheNext(current)
        }
        return result
    }

    /// Every address of every link of the namespace.
    public func addresses() throws(NetlinkError) -> [NetworkAddress] {
        var cache: OpaquePointer?
        try check(api.addressAllocCache(socket, &cache), "listing addresses")
        defer { api.cacheFree(cache) }
        var result: [NetworkAddress] = []
        var object = api.cacheFirst(cache)
        while let current = object {
            if let address = string(api.addressGetLocal(current)) {
                result.append(NetworkAddress(linkIndex: api.addressGetIndex(current), address: address))
            }
            object = api.cacheNext(current)
        }
        return result
    }

    /// The neighbour table's entries that have a MAC (answered, or entered by hand).
    public func neighbours() throws(NetlinkError) -> [NeighbourEntry] {
        var cache: OpaquePointer?
        try check(api.neighbourAllocCache(socket, &cache), "listing the neighbour table")
        defer { api.cacheFree(cache) }
        // NUD_* (linux/neighbour.h); INCOMPLETE and FAILED entries have no MAC to report.
        let states: [(Int32, String)] = [(0x02, "reachable"), (0x04, "stale"), (0x08, "delay"), (0x10, "probe"), (0x40, "noarp"), (0x80, "permanent")]
        var result: [NeighbourEntry] = []
        var object = api.cacheFirst(cache)
        while let current = object {
            object = api.cacheNext(current)
            let state = api.neighbourGetState(current)
            guard let name = states.first(where: { state & $0.0 != 0 })?.1,
                let address = string(api.neighbourGetDestination(current)), let mac = string(api.neighbourGetLinkAddress(current))
            else { continue }
            result.append(
                NeighbourEntry(
                    linkIndex: api.neighbourGetIndex(current), address: String(address.split(separator: "/").first ?? ""), mac: mac,
                    state: name))
        }
        return result
    }

    /// Creates the 802.1Q link `name` for VLAN `id` on the link with index `parent`, up (`ip link
    /// add link PARENT name NAME type vlan id ID up`). A kernel without 802.1Q answers with
    /// `NetlinkResultCode.operationNotSupported`.
    public func addVLAN(named name: String, id: UInt16, parent: Int32) throws(NetlinkError) -> NetworkLink {
        let operation = "creating VLAN link '\(name)'"
        guard let link = api.vlanAlloc() else { throw NetlinkError(code: 5, message: "out of memory", operation: operation) }
        defer { api.linkPut(link) }
        api.linkSetName(link, name)
        api.linkSetLink(link, parent)
        try check(api.vlanSetID(link, id), operation)
        api.linkSetFlags(link, UInt32(IFF_UP))
        try check(api.linkAdd(socket, link, NLM_F_CREATE | NLM_F_EXCL), operation)
        guard let created = try self.link(named: name) else {
            throw NetlinkError(code: 12, message: "the kernel accepted it but does not list it", operation: operation)
        }
        return created
    }

    /// Whether `text` is an address with a prefix length libnl understands (`192.0.2.2/24`,
    /// `2001:db8::2/64`); the canonical form when it is.
    public func parseAddress(_ text: String) throws(NetlinkError) -> String {
        var parsed: OpaquePointer?
        try check(api.addrParse(text, AF_UNSPEC, &parsed), "reading address '\(text)'")
        defer { api.addrPut(parsed) }
        return string(parsed) ?? text
    }

    /// Creates a macvlan in bridge mode named `name` on the link with index `parent`, up
    /// (`ip link add NAME link PARENT type macvlan mode bridge up`). Fails when the name exists.
    public func addBridgeMacvlan(named name: String, parent: Int32) throws(NetlinkError) -> NetworkLink {
        let operation = "creating macvlan '\(name)'"
        guard let link = api.macvlanAlloc() else { throw NetlinkError(code: 5, message: "out of memory", operation: operation) }
        defer { api.linkPut(link) }
        api.linkSetName(link, name)
        api.linkSetLink(link, parent)
        try check(api.macvlanSetMode(link, MACVLAN_MODE_BRIDGE.rawValue), operation)
        api.linkSetFlags(link, UInt32(IFF_UP))
        try check(api.linkAdd(socket, link, NLM_F_CREATE | NLM_F_EXCL), operation)
        guard let created = try self.link(named: name) else {
            throw NetlinkError(code: 12, message: "the kernel accepted it but does not list it", operation: operation)
        }
        return created
    }

    /// Adds `address` (with its prefix length) to the link with index `index`.
    public func addAddress(_ address: String, toLink index: Int32) throws(NetlinkError) {
        let operation = "adding address \(address)"
        var parsed: OpaquePointer?
        try check(api.addrParse(address, AF_UNSPEC, &parsed), operation)
        defer { api.addrPut(parsed) }
        guard let entry = api.addressAlloc() else { throw NetlinkError(code: 5, message: "out of memory", operation: operation) }
        defer { api.addressPut(entry) }
        api.addressSetIndex(entry, index)
        try check(api.addressSetLocal(entry, parsed), operation)
        try check(api.addressAdd(socket, entry, 0), operation)
    }

    /// Deletes the link named `name` (`ip link del NAME`).
    public func deleteLink(named name: String) throws(NetlinkError) {
        var link: OpaquePointer?
        try check(api.linkGetKernel(socket, 0, name, &link), "looking up link '\(name)'")
        defer { api.linkPut(link) }
        try check(api.linkDelete(socket, link), "deleting link '\(name)'")
    }
}
