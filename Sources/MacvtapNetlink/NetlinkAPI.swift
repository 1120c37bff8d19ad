internal import CNetlink
internal import MacvtapSystem

#if canImport(Glibc)
    internal import Glibc
#endif

/// libnl-route-3's functions, resolved from libnl-route-3.so.200 the first time a command
/// needs rtnetlink. Linking it would load two libraries into every `lint` run; only
/// `host-shim` pays, and every other command runs where libnl is not installed.
struct NetlinkAPI: @unchecked Sendable {
    // @unchecked: written once in `load`, read-only afterwards; the functions live in a
    // library that stays loaded for the life of the process.
    typealias Pointer = OpaquePointer

    let socketAlloc: @convention(c) () -> Pointer?
    let socketFree: @convention(c) (Pointer?) -> Void
    let connect: @convention(c) (Pointer?, Int32) -> Int32
    let errorString: @convention(c) (Int32) -> UnsafePointer<CChar>?
    let linkGetKernel: @convention(c) (Pointer?, Int32, UnsafePointer<CChar>?, UnsafeMutablePointer<Pointer?>?) -> Int32
    let linkPut: @convention(c) (Pointer?) -> Void
    let linkAlloc: @convention(c) () -> Pointer?
    let linkGetIndex: @convention(c) (Pointer?) -> Int32
    let linkGetName: @convention(c) (Pointer?) -> UnsafeMutablePointer<CChar>?
    let linkGetType: @convention(c) (Pointer?) -> UnsafeMutablePointer<CChar>?
    let linkGetLink: @convention(c) (Pointer?) -> Int32
    let linkGetAddress: @convention(c) (Pointer?) -> Pointer?
    let linkGetFlags: @convention(c) (Pointer?) -> UInt32
    let linkGetMaster: @convention(c) (Pointer?) -> Int32
    let linkGetMTU: @convention(c) (Pointer?) -> UInt32
    let linkGetOperState: @convention(c) (Pointer?) -> UInt8
    let linkSetName: @convention(c) (Pointer?, UnsafePointer<CChar>?) -> Void
    let linkSetLink: @convention(c) (Pointer?, Int32) -> Void
    let linkSetFlags: @convention(c) (Pointer?, UInt32) -> Void
    let linkAdd: @convention(c) (Pointer?, Pointer?, Int32) -> Int32
    let linkDelete: @convention(c) (Pointer?, Pointer?) -> Int32
    let linkChange: @convention(c) (Pointer?, Pointer?, Pointer?, Int32) -> Int32
    let linkAllocCache: @convention(c) (Pointer?, Int32, UnsafeMutablePointer<Pointer?>?) -> Int32
    let macvlanAlloc: @convention(c) () -> Pointer?
    let macvlanSetMode: @convention(c) (Pointer?, UInt32) -> Int32
    let macvlanGetMode: @convention(c) (Pointer?) -> UInt32
    let macvtapGetMode: @convention(c) (Pointer?) -> UInt32
    let addressAllocCache: @convention(c) (Pointer?, UnsafeMutablePointer<Pointer?>?) -> Int32
    let addressAlloc: @convention(c) () -> Pointer?
    let addressPut: @convention(c) (Pointer?) -> Void
    let addressSetIndex: @convention(c) (Pointer?, Int32) -> Void
    let addressSetLocal: @convention(c) (Pointer?, Pointer?) -> Int32
    let addressAdd: @convention(c) (Pointer?, Pointer?, Int32) -> Int32
    let addressGetIndex: @convention(c) (Pointer?) -> Int32
    let addressGetLocal: @convention(c) (Pointer?) -> Pointer?
    let neighbourAllocCache: @convention(c) (Pointer?, UnsafeMutablePointer<Pointer?>?) -> Int32
    let neighbourGetIndex: @convention(c) (Pointer?) -> Int32
    let neighbourGetDestination: @convention(c) (Pointer?) -> Pointer?
    let neighbourGetLinkAddress: @convention(c) (Pointer?) -> Pointer?
    let neighbourGetState: @convention(c) (Pointer?) -> Int32
    let vlanAlloc: @convention(c) () -> Pointer?
    let vlanSetID: @convention(c) (Pointer?, UInt16) -> Int32
    let cacheFirst: @convention(c) (Pointer?) -> Pointer?
    let cacheNext: @convention(c) (Pointer?) -> Pointer?
    let cacheFree: @convention(c) (Pointer?) -> Void
    let addrParse: @convention(c) (UnsafePointer<CChar>?, Int32, UnsafeMutablePointer<Pointer?>?) -> Int32
    let addrPut: @convention(c) (Pointer?) -> Void
    let addrToString: @convention(c) (Pointer?, UnsafeMutablePointer<CChar>?, Int) -> UnsafeMutablePointer<CChar>?
    let addrGetFamily: @convention(c) (Pointer?) -> Int32

    static let shared: Result<NetlinkAPI, NetlinkError> = load()

    static func get(operation: String) throws(NetlinkError) -> NetlinkAPI {
        switch shared {
        case .success(let api): return api
        case .failure(var error):
            error.operation = operation
            throw error
        }
    }

    private static func load() -> Result<NetlinkAPI, NetlinkError> {
        // libnl-route-3 depends on libnl-3 (nl_socket_alloc, nl_addr_*): loading it brings both,
        // and RTLD_GLOBAL is not needed because every symbol is looked up through the handle.
        let libraries: DynamicLibraries
        do {
            libraries = try DynamicLibraries(loading: ["libnl-route-3.so.200", "libnl-3.so.200"], placeholder: "rtnl_link_alloc")
        } catch {
            return .failure(
                NetlinkError(code: NetlinkResultCode.notLoaded.rawValue, message: "\(error.reason); install libnl-route-3-200 (apt-get install libnl-route-3-200)", operation: "loading libnl"))
        }
        // Each C signature is written once, in the table's declaration: the call takes its type from there.
        func symbol<Function>(_ name: String) -> Function { libraries.function(name, as: Function.self) }
        let api = NetlinkAPI(
            socketAlloc: symbol("nl_socket_alloc"),
            socketFree: symbol("nl_socket_free"),
            connect: symbol("nl_connect"),
            errorString: symbol("nl_geterror"),
            linkGetKernel: symbol("rtnl_link_get_kernel"),
            linkPut: symbol("rtnl_link_put"),
            linkAlloc: symbol("rtnl_link_alloc"),
            linkGetIndex: symbol("rtnl_link_get_ifindex"),
            linkGetName: symbol("rtnl_link_get_name"),
            linkGetType: symbol("rtnl_link_get_type"),
            linkGetLink: symbol("rtnl_link_get_link"),
            linkGetAddress: symbol("rtnl_link_get_addr"),
            linkGetFlags: symbol("rtnl_link_get_flags"),
            linkGetMaster: symbol("rtnl_link_get_master"),
            linkGetMTU: symbol("rtnl_link_get_mtu"),
            linkGetOperState: symbol("rtnl_link_get_operstate"),
            linkSetName: symbol("rtnl_link_set_name"),
            linkSetLink: symbol("rtnl_link_set_link"),
            linkSetFlags: symbol("rtnl_link_set_flags"),
            linkAdd: symbol("rtnl_link_add"),
            linkDelete: symbol("rtnl_link_delete"),
            linkChange: symbol("rtnl_link_change"),
            linkAllocCache: symbol("rtnl_link_alloc_cache"),
            macvlanAlloc: symbol("rtnl_link_macvlan_alloc"),
            macvlanSetMode: symbol("rtnl_link_macvlan_set_mode"),
            macvlanGetMode: symbol("rtnl_link_macvlan_get_mode"),
            macvtapGetMode: symbol("rtnl_link_macvtap_get_mode"),
            addressAllocCache: symbol("rtnl_addr_alloc_cache"),
            addressAlloc: symbol("rtnl_addr_alloc"),
            addressPut: symbol("rtnl_addr_put"),
            addressSetIndex: symbol("rtnl_addr_set_ifindex"),
            addressSetLocal: symbol("rtnl_addr_set_local"),
            addressAdd: symbol("rtnl_addr_add"),
            addressGetIndex: symbol("rtnl_addr_get_ifindex"),
            addressGetLocal: symbol("rtnl_addr_get_local"),
            neighbourAllocCache: symbol("rtnl_neigh_alloc_cache"),
            neighbourGetIndex: symbol("rtnl_neigh_get_ifindex"),
            neighbourGetDestination: symbol("rtnl_neigh_get_dst"),
            neighbourGetLinkAddress: symbol("rtnl_neigh_get_lladdr"),
            neighbourGetState: symbol("rtnl_neigh_get_state"),
            vlanAlloc: symbol("rtnl_link_vlan_alloc"),
            vlanSetID: symbol("rtnl_link_vlan_set_id"),
            cacheFirst: symbol("nl_cache_get_first"),
            cacheNext: symbol("nl_cache_get_next"),
            cacheFree: symbol("nl_cache_free"),
            addrParse: symbol("nl_addr_parse"),
            addrPut: symbol("nl_addr_put"),
            addrToString: symbol("nl_addr2str"),
            addrGetFamily: symbol("nl_addr_get_family"))
        guard libraries.missing.isEmpty else {
            return .failure(
                NetlinkError(
                    code: NetlinkResultCode.notLoaded.rawValue, message: "libnl lacks \(libraries.missing.joined(separator: ", ")); libnl 3.2.22 or newer is needed", operation: "loading libnl"))
        }
        return .success(api)
    }

    func message(_ code: Int32) -> String {
        errorString(code < 0 ? -code : code).map { String(cString: $0) } ?? "netlink error \(code)"
    }
}

/// libnl's error numbers (`NLE_*` in netlink/errno.h), by name, like GRDB's `ResultCode`:
/// compare with `==` or match in a `switch`/`catch` with `~=` (`case NetlinkResultCode.exist:`).
public struct NetlinkResultCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }

    /// libnl could not be loaded (not one of libnl's numbers).
    public static let notLoaded = NetlinkResultCode(rawValue: -1)
    public static let exist = NetlinkResultCode(rawValue: 6)
    /// NLE_OPNOTSUPP: the kernel does not know the link kind ("Unknown device type").
    public static let operationNotSupported = NetlinkResultCode(rawValue: 10)
    public static let objectNotFound = NetlinkResultCode(rawValue: 12)
    public static let noAccess = NetlinkResultCode(rawValue: 27)
    public static let permission = NetlinkResultCode(rawValue: 28)
    public static let noDevice = NetlinkResultCode(rawValue: 31)

    public var description: String { "NLE \(rawValue)" }

    /// `case NetlinkResultCode.exist:` against an error.
    public static func ~= (pattern: NetlinkResultCode, error: any Error) -> Bool {
        (error as? NetlinkError)?.resultCode == pattern
    }
}

/// A failure of libnl or of the kernel's answer: libnl's error code and message, and what
/// we were doing.
public struct NetlinkError: Error, Sendable, CustomStringConvertible {
    /// libnl's error number (NLE_*), positive; -1 when libnl could not be loaded.
    public var code: Int
    public var message: String
    public var operation: String

    public init(code: Int, message: String, operation: String) {
        self.code = code
        self.message = message
        self.operation = operation
    }

    public var description: String { "\(operation): \(message)" }

    /// `code` by name.
    public var resultCode: NetlinkResultCode { NetlinkResultCode(rawValue: code) }

    /// The kernel already has an object with that name or address.
    public var isExisting: Bool { resultCode == .exist }
    /// No such device.
    public var isNoDevice: Bool { [.noDevice, .objectNotFound].contains(resultCode) }
    /// The caller lacks CAP_NET_ADMIN.
    public var isPermission: Bool { [.permission, .noAccess].contains(resultCode) }
}
