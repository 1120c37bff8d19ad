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
    let interfaceGetXMLDesc: @convention(c) (OpaquePointer?, UInt32) -> UnsafeMutablePointer<CChar>?
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
            return .failure(LibvirtError(code: LibvirtError.Code.notLoaded.rawValue, domain: 0, message: "\(error.reason); install libvirt0 (apt-get install libvirt0)", operation: "loading libvirt"))
        }
        // Each C signature is written once, in the table's declaration: the call takes its type from there.
        func symbol<Function>(_ name: String) -> Function { libraries.function(name, as: Function.self) }
        func optionalSymbol<Function>(_ name: String) -> Function? { libraries.optionalFunction(name, as: Function.self) }
        let api = LibvirtAPI(
            initialize: symbol("virInitialize"),
            setErrorFunc: symbol("virSetErrorFunc"),
            getVersion: symbol("virGetVersion"),
            getLastError: symbol("virGetLastError"),
            resetLastError: symbol("virResetLastError"),
            connectOpen: symbol("virConnectOpen"),
            connectOpenReadOnly: symbol("virConnectOpenReadOnly"),
            connectClose: symbol("virConnectClose"),
            connectGetURI: symbol("virConnectGetURI"),
            connectGetLibVersion: symbol("virConnectGetLibVersion"),
            connectListAllDomains: symbol("virConnectListAllDomains"),
            domainGetName: symbol("virDomainGetName"),
            domainFree: symbol("virDomainFree"),
            domainGetUUIDString: symbol("virDomainGetUUIDString"),
            domainIsActive: symbol("virDomainIsActive"),
            domainGetXMLDesc: symbol("virDomainGetXMLDesc"),
            connectListAllInterfaces: symbol("virConnectListAllInterfaces"),
            interfaceGetName: symbol("virInterfaceGetName"),
            interfaceGetMACString: symbol("virInterfaceGetMACString"),
            interfaceFree: symbol("virInterfaceFree"),
            interfaceGetXMLDesc: symbol("virInterfaceGetXMLDesc"),
            connectListAllNodeDevices: symbol("virConnectListAllNodeDevices"),
            nodeDeviceGetXMLDesc: symbol("virNodeDeviceGetXMLDesc"),
            nodeDeviceFree: symbol("virNodeDeviceFree"),
            domainLookupByName: symbol("virDomainLookupByName"),
            domainLookupByUUIDString: symbol("virDomainLookupByUUIDString"),
            domainLookupByID: symbol("virDomainLookupByID"),
            domainGetID: symbol("virDomainGetID"),
            domainGetState: symbol("virDomainGetState"),
            domainIsPersistent: symbol("virDomainIsPersistent"),
            domainGetAutostart: symbol("virDomainGetAutostart"),
            domainAttachDeviceFlags: symbol("virDomainAttachDeviceFlags"),
            domainDetachDeviceFlags: symbol("virDomainDetachDeviceFlags"),
            domainUpdateDeviceFlags: symbol("virDomainUpdateDeviceFlags"),
            connectListAllNetworks: symbol("virConnectListAllNetworks"),
            networkGetName: symbol("virNetworkGetName"),
            networkIsActive: symbol("virNetworkIsActive"),
            networkGetXMLDesc: symbol("virNetworkGetXMLDesc"),
            networkFree: symbol("virNetworkFree"),
            networkDefineXMLFlags: optionalSymbol(
                "virNetworkDefineXMLFlags"),
            networkCreate: symbol("virNetworkCreate"),
            networkDestroy: symbol("virNetworkDestroy"),
            networkUndefine: symbol("virNetworkUndefine"),
            eventRegisterDefaultImpl: symbol("virEventRegisterDefaultImpl"),
            eventRunDefaultImpl: symbol("virEventRunDefaultImpl"),
            connectDomainEventRegisterAny: symbol(
                "virConnectDomainEventRegisterAny"),
            connectDomainEventDeregisterAny: symbol("virConnectDomainEventDeregisterAny"),
            connectRegisterCloseCallback: symbol("virConnectRegisterCloseCallback"),
            connectUnregisterCloseCallback: symbol("virConnectUnregisterCloseCallback"),
            connectSetKeepAlive: symbol("virConnectSetKeepAlive"),
            domainDefineXMLFlags: symbol("virDomainDefineXMLFlags"),
            domainCreateWithFlags: symbol("virDomainCreateWithFlags"),
            domainDestroy: symbol("virDomainDestroy"),
            domainUndefineFlags: symbol("virDomainUndefineFlags"))
        guard libraries.missing.isEmpty else {
            return .failure(
                LibvirtError(
                    code: LibvirtError.Code.notLoaded.rawValue, domain: 0, message: "libvirt.so.0 lacks \(libraries.missing.joined(separator: ", ")); libvirt 1.2.14 or newer is needed",
                    operation: "loading libvirt"))
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
