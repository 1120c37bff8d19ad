internal import CLibvirt
internal import MacvtapSystem

#if canImport(Glibc)
    internal import Glibc
#endif

/// libvirt's functions, resolved from libvirt.so.0 the first time anything needs libvirt.
///
/// Linking libvirt would load it and ~50 libraries it depends on (glib, gnutls, curl, krb5, …)
/// in every process: about 12 ms before `main`, on every `lint` run of a CI job that never
/// connects to a host. Loaded here, only `-c`/live operations pay, and the tool runs where
/// libvirt0 is not installed.
struct LibvirtAPI: @unchecked Sendable {
    // @unchecked: the table is written once, in `load`, and only read afterwards; the
    // pointers are to functions in a library that stays loaded for the life of the process.
    typealias ConnectPtr = OpaquePointer
    typealias DomainPtr = OpaquePointer

    let initialize: @convention(c) () -> Int32
    let setErrorFunc: @convention(c) (UnsafeMutableRawPointer?, virErrorFunc?) -> Void
    let getVersion: @convention(c) (UnsafeMutablePointer<UInt>?, UnsafePointer<CChar>?, UnsafeMutablePointer<UInt>?) -> Int32
    let getLastError: @convention(c) () -> virErrorPtr?
    let resetLastError: @convention(c) () -> Void
    let connectOpen: @convention(c) (UnsafePointer<CChar>?) -> ConnectPtr?
    let connectOpenReadOnly: @convention(c) (UnsafePointer<CChar>?) -> ConnectPtr?
    let connectClose: @convention(c) (ConnectPtr?) -> Int32
    let connectGetURI: @convention(c) (ConnectPtr?) -> UnsafeMutablePointer<CChar>?
    let connectGetLibVersion: @convention(c) (ConnectPtr?, UnsafeMutablePointer<UInt>?) -> Int32
    let connectListAllDomains: @convention(c) (ConnectPtr?, UnsafeMutablePointer<UnsafeMutablePointer<DomainPtr?>?>?, UInt32) -> Int32
    let domainGetName: @convention(c) (DomainPtr?) -> UnsafePointer<CChar>?
    let domainFree: @convention(c) (DomainPtr?) -> Int32
    let domainGetUUIDString: @convention(c) (DomainPtr?, UnsafeMutablePointer<CChar>?) -> Int32
    let domainIsActive: @convention(c) (DomainPtr?) -> Int32
    let domainGetXMLDesc: @convention(c) (DomainPtr?, UInt32) -> UnsafeMutablePointer<CChar>?
    let connectListAllInterfaces: @convention(c) (ConnectPtr?, UnsafeMutablePointer<UnsafeMutablePointer<OpaquePointer?>?>?, UInt32) -> Int32
    let interfaceGetName: @convention(c) (OpaquePointer?) -> UnsafePointer<CChar>?
    let interfaceGetMACString: @convention(c) (OpaquePointer?) -> UnsafePointer<CChar>?
    let interfaceFree: @convention(c) (OpaquePointer?) -> Int32
    let connectListAllNodeDevices: @convention(c) (ConnectPtr?, UnsafeMutablePointer<UnsafeMutablePointer<OpaquePointer?>?>?, UInt32) -> Int32
    let nodeDeviceGetXMLDesc: @convention(c) (OpaquePointer?, UInt32) -> UnsafeMutablePointer<CChar>?
    let nodeDeviceFree: @convention(c) (OpaquePointer?) -> Int32
    let domainLookupByName: @convention(c) (ConnectPtr?, UnsafePointer<CChar>?) -> DomainPtr?
    let domainLookupByUUIDString: @convention(c) (ConnectPtr?, UnsafePointer<CChar>?) -> DomainPtr?
    let domainLookupByID: @convention(c) (ConnectPtr?, Int32) -> DomainPtr?
    let domainGetID: @convention(c) (DomainPtr?) -> UInt32
    let domainGetState: @convention(c) (DomainPtr?, UnsafeMutablePointer<Int32>?, UnsafeMutablePointer<Int32>?, UInt32) -> Int32
    let domainIsPersistent: @convention(c) (DomainPtr?) -> Int32
    let domainGetAutostart: @convention(c) (DomainPtr?, UnsafeMutablePointer<Int32>?) -> Int32
    let domainAttachDeviceFlags: @convention(c) (DomainPtr?, UnsafePointer<CChar>?, UInt32) -> Int32
    let domainDetachDeviceFlags: @convention(c) (DomainPtr?, UnsafePointer<CChar>?, UInt32) -> Int32
    let domainUpdateDeviceFlags: @convention(c) (DomainPtr?, UnsafePointer<CChar>?, UInt32) -> Int32
    let connectListAllNetworks: @convention(c) (ConnectPtr?, UnsafeMutablePointer<UnsafeMutablePointer<OpaquePointer?>?>?, UInt32) -> Int32
    let networkGetName: @convention(c) (OpaquePointer?) -> UnsafePointer<CChar>?
    let networkIsActive: @convention(c) (OpaquePointer?) -> Int32
    let networkGetXMLDesc: @convention(c) (OpaquePointer?, UInt32) -> UnsafeMutablePointer<CChar>?
    let networkFree: @convention(c) (OpaquePointer?) -> Int32
    /// libvirt ≥ 7.7 (`VIR_NETWORK_DEFINE_VALIDATE`); nil before, where only the oracle misses it.
    let networkDefineXMLFlags: (@convention(c) (ConnectPtr?, UnsafePointer<CChar>?, UInt32) -> OpaquePointer?)?
    let networkCreate: @convention(c) (OpaquePointer?) -> Int32
    let networkDestroy: @convention(c) (OpaquePointer?) -> Int32
    let networkUndefine: @convention(c) (OpaquePointer?) -> Int32
    let eventRegisterDefaultImpl: @convention(c) () -> Int32
    let eventRunDefaultImpl: @convention(c) () -> Int32
    let connectDomainEventRegisterAny: @convention(c) (ConnectPtr?, DomainPtr?, Int32, virConnectDomainEventGenericCallback?, UnsafeMutableRawPointer?, virFreeCallback?) -> Int32
    let connectDomainEventDeregisterAny: @convention(c) (ConnectPtr?, Int32) -> Int32
    let connectRegisterCloseCallback: @convention(c) (ConnectPtr?, virConnectCloseFunc?, UnsafeMutableRawPointer?, virFreeCallback?) -> Int32
    let connectUnregisterCloseCallback: @convention(c) (ConnectPtr?, virConnectCloseFunc?) -> Int32
    let connectSetKeepAlive: @convention(c) (ConnectPtr?, Int32, UInt32) -> Int32
    let domainDefineXMLFlags: @convention(c) (ConnectPtr?, UnsafePointer<CChar>?, UInt32) -> DomainPtr?
    let domainCreateWithFlags: @convention(c) (DomainPtr?, UInt32) -> Int32
    let domainDestroy: @convention(c) (DomainPtr?) -> Int32
    let domainUndefineFlags: @convention(c) (DomainPtr?, UInt32) -> Int32

    /// The loaded table, or why libvirt cannot be used on this machine.
    static let shared: Result<LibvirtAPI, LibvirtError> = load()

    /// libvirt's RPC client writes to its socket with plain write(): a daemon that dies during a
    /// call would end this process with SIGPIPE (exit 141, no message) instead of an error we
    /// can report. virsh ignores SIGPIPE for the same reason; so do we, unless the process
    /// already chose a handler of its own.
    private static func ignoreBrokenPipes() {
        var current = sigaction()
        guard sigaction(SIGPIPE, nil, &current) == 0, current.__sigaction_handler.sa_handler == nil else { return }
        var ignore = sigaction()
        ignore.__sigaction_handler.sa_handler = SIG_IGN
        sigemptyset(&ignore.sa_mask)
        _ = sigaction(SIGPIPE, &ignore, nil)
    }

    static func get(operation: String) throws(LibvirtError) -> LibvirtAPI {
        switch shared {
        case .success(let api): return api
        case .failure(var error):
            error.operation = operation
            throw error
        }
    }

    private static func load() -> Result<LibvirtAPI, LibvirtError> {
        ignoreBrokenPipes()
        let libraries: DynamicLibraries
        do {
            libraries = try DynamicLibraries(loading: ["libvirt.so.0"], placeholder: "virGetVersion")
        } catch {
            return .failure(LibvirtError(code: -1, domain: 0, message: "\(error.reason); install libvirt0 (apt-get install libvirt0)", operation: "loading libvirt"))
        }
        func symbol<Function>(_ name: String, as type: Function.Type) -> Function { libraries.function(name, as: type) }
        let api = LibvirtAPI(
            initialize: symbol("virInitialize", as: (@convention(c) () -> Int32).self),
            setErrorFunc: symbol("virSetErrorFunc", as: (@convention(c) (UnsafeMutableRawPointer?, virErrorFunc?) -> Void).self),
            getVersion: symbol("virGetVersion", as: (@convention(c) (UnsafeMutablePointer<UInt>?, UnsafePointer<CChar>?, UnsafeMutablePointer<UInt>?) -> Int32).self),
            getLastError: symbol("virGetLastError", as: (@convention(c) () -> virErrorPtr?).self),
            resetLastError: symbol("virResetLastError", as: (@convention(c) () -> Void).self),
            connectOpen: symbol("virConnectOpen", as: (@convention(c) (UnsafePointer<CChar>?) -> ConnectPtr?).self),
            connectOpenReadOnly: symbol("virConnectOpenReadOnly", as: (@convention(c) (UnsafePointer<CChar>?) -> ConnectPtr?).self),
            connectClose: symbol("virConnectClose", as: (@convention(c) (ConnectPtr?) -> Int32).self),
            connectGetURI: symbol("virConnectGetURI", as: (@convention(c) (ConnectPtr?) -> UnsafeMutablePointer<CChar>?).self),
            connectGetLibVersion: symbol("virConnectGetLibVersion", as: (@convention(c) (ConnectPtr?, UnsafeMutablePointer<UInt>?) -> Int32).self),
            connectListAllDomains: symbol("virConnectListAllDomains", as: (@convention(c) (ConnectPtr?, UnsafeMutablePointer<UnsafeMutablePointer<DomainPtr?>?>?, UInt32) -> Int32).self),
            domainGetName: symbol("virDomainGetName", as: (@convention(c) (DomainPtr?) -> UnsafePointer<CChar>?).self),
            domainFree: symbol("virDomainFree", as: (@convention(c) (DomainPtr?) -> Int32).self),
            domainGetUUIDString: symbol("virDomainGetUUIDString", as: (@convention(c) (DomainPtr?, UnsafeMutablePointer<CChar>?) -> Int32).self),
            domainIsActive: symbol("virDomainIsActive", as: (@convention(c) (DomainPtr?) -> Int32).self),
            domainGetXMLDesc: symbol("virDomainGetXMLDesc", as: (@convention(c) (DomainPtr?, UInt32) -> UnsafeMutablePointer<CChar>?).self),
            connectListAllInterfaces: symbol("virConnectListAllInterfaces", as: (@convention(c) (ConnectPtr?, UnsafeMutablePointer<UnsafeMutablePointer<OpaquePointer?>?>?, UInt32) -> Int32).self),
            interfaceGetName: symbol("virInterfaceGetName", as: (@convention(c) (OpaquePointer?) -> UnsafePointer<CChar>?).self),
            interfaceGetMACString: symbol("virInterfaceGetMACString", as: (@convention(c) (OpaquePointer?) -> UnsafePointer<CChar>?).self),
            interfaceFree: symbol("virInterfaceFree", as: (@convention(c) (OpaquePointer?) -> Int32).self),
            connectListAllNodeDevices: symbol("virConnectListAllNodeDevices", as: (@convention(c) (ConnectPtr?, UnsafeMutablePointer<UnsafeMutablePointer<OpaquePointer?>?>?, UInt32) -> Int32).self),
            nodeDeviceGetXMLDesc: symbol("virNodeDeviceGetXMLDesc", as: (@convention(c) (OpaquePointer?, UInt32) -> UnsafeMutablePointer<CChar>?).self),
            nodeDeviceFree: symbol("virNodeDeviceFree", as: (@convention(c) (OpaquePointer?) -> Int32).self),
            domainLookupByName: symbol("virDomainLookupByName", as: (@convention(c) (ConnectPtr?, UnsafePointer<CChar>?) -> DomainPtr?).self),
            domainLookupByUUIDString: symbol("virDomainLookupByUUIDString", as: (@convention(c) (ConnectPtr?, UnsafePointer<CChar>?) -> DomainPtr?).self),
            domainLookupByID: symbol("virDomainLookupByID", as: (@convention(c) (ConnectPtr?, Int32) -> DomainPtr?).self),
            domainGetID: symbol("virDomainGetID", as: (@convention(c) (DomainPtr?) -> UInt32).self),
            domainGetState: symbol("virDomainGetState", as: (@convention(c) (DomainPtr?, UnsafeMutablePointer<Int32>?, UnsafeMutablePointer<Int32>?, UInt32) -> Int32).self),
            domainIsPersistent: symbol("virDomainIsPersistent", as: (@convention(c) (DomainPtr?) -> Int32).self),
            domainGetAutostart: symbol("virDomainGetAutostart", as: (@convention(c) (DomainPtr?, UnsafeMutablePointer<Int32>?) -> Int32).self),
            domainAttachDeviceFlags: symbol("virDomainAttachDeviceFlags", as: (@convention(c) (DomainPtr?, UnsafePointer<CChar>?, UInt32) -> Int32).self),
            domainDetachDeviceFlags: symbol("virDomainDetachDeviceFlags", as: (@convention(c) (DomainPtr?, UnsafePointer<CChar>?, UInt32) -> Int32).self),
            domainUpdateDeviceFlags: symbol("virDomainUpdateDeviceFlags", as: (@convention(c) (DomainPtr?, UnsafePointer<CChar>?, UInt32) -> Int32).self),
            connectListAllNetworks: symbol("virConnectListAllNetworks", as: (@convention(c) (ConnectPtr?, UnsafeMutablePointer<UnsafeMutablePointer<OpaquePointer?>?>?, UInt32) -> Int32).self),
            networkGetName: symbol("virNetworkGetName", as: (@convention(c) (OpaquePointer?) -> UnsafePointer<CChar>?).self),
            networkIsActive: symbol("virNetworkIsActive", as: (@convention(c) (OpaquePointer?) -> Int32).self),
            networkGetXMLDesc: symbol("virNetworkGetXMLDesc", as: (@convention(c) (OpaquePointer?, UInt32) -> UnsafeMutablePointer<CChar>?).self),
            networkFree: symbol("virNetworkFree", as: (@convention(c) (OpaquePointer?) -> Int32).self),
            networkDefineXMLFlags: libraries.optionalFunction(
                "virNetworkDefineXMLFlags", as: (@convention(c) (ConnectPtr?, UnsafePointer<CChar>?, UInt32) -> OpaquePointer?).self),
            networkCreate: symbol("virNetworkCreate", as: (@convention(c) (OpaquePointer?) -> Int32).self),
            networkDestroy: symbol("virNetworkDestroy", as: (@convention(c) (OpaquePointer?) -> Int32).self),
            networkUndefine: symbol("virNetworkUndefine", as: (@convention(c) (OpaquePointer?) -> Int32).self),
            eventRegisterDefaultImpl: symbol("virEventRegisterDefaultImpl", as: (@convention(c) () -> Int32).self),
            eventRunDefaultImpl: symbol("virEventRunDefaultImpl", as: (@convention(c) () -> Int32).self),
            connectDomainEventRegisterAny: symbol(
                "virConnectDomainEventRegisterAny",
                as: (@convention(c) (ConnectPtr?, DomainPtr?, Int32, virConnectDomainEventGenericCallback?, UnsafeMutableRawPointer?, virFreeCallback?) -> Int32).self),
            connectDomainEventDeregisterAny: symbol("virConnectDomainEventDeregisterAny", as: (@convention(c) (ConnectPtr?, Int32) -> Int32).self),
            connectRegisterCloseCallback: symbol("virConnectRegisterCloseCallback", as: (@convention(c) (ConnectPtr?, virConnectCloseFunc?, UnsafeMutableRawPointer?, virFreeCallback?) -> Int32).self),
            connectUnregisterCloseCallback: symbol("virConnectUnregisterCloseCallback", as: (@convention(c) (ConnectPtr?, virConnectCloseFunc?) -> Int32).self),
            connectSetKeepAlive: symbol("virConnectSetKeepAlive", as: (@convention(c) (ConnectPtr?, Int32, UInt32) -> Int32).self),
            domainDefineXMLFlags: symbol("virDomainDefineXMLFlags", as: (@convention(c) (ConnectPtr?, UnsafePointer<CChar>?, UInt32) -> DomainPtr?).self),
            domainCreateWithFlags: symbol("virDomainCreateWithFlags", as: (@convention(c) (DomainPtr?, UInt32) -> Int32).self),
            domainDestroy: symbol("virDomainDestroy", as: (@convention(c) (DomainPtr?) -> Int32).self),
            domainUndefineFlags: symbol("virDomainUndefineFlags", as: (@convention(c) (DomainPtr?, UInt32) -> Int32).self))
        guard libraries.missing.isEmpty else {
            return .failure(
                LibvirtError(code: -1, domain: 0, message: "libvirt.so.0 lacks \(libraries.missing.joined(separator: ", ")); libvirt 1.2.14 or newer is needed", operation: "loading libvirt"))
        }
        // Drivers that run in this process (the embedded QEMU driver of `lint --libvirt`) log
        // warnings and info lines to stderr; errors reach us through the API anyway.
        if getenv("LIBVIRT_LOG_OUTPUTS") == nil { setenv("LIBVIRT_LOG_OUTPUTS", "4:file:/dev/null", 1) }
        _ = api.initialize()
        api.setErrorFunc(nil, ignoreLibvirtError)
        return .success(api)
    }
}

private let ignoreLibvirtError: virErrorFunc = { _, _ in }
