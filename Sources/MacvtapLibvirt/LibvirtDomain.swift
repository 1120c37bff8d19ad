internal import CLibvirt

#if canImport(Glibc)
    internal import Glibc
#endif

/// One libvirt domain. Owns its `virDomainPtr` (freed in `deinit`); libvirt's own reference
/// keeps the connection alive as long as the domain object is.
///
/// Usable from several threads at once: libvirt's domain objects are reference-counted and
/// thread-safe, its RPC client carries calls from several threads over one socket, and the
/// error we read after a failed call is the calling thread's own.
public final class LibvirtDomain: @unchecked Sendable {
    public let name: String
    public let uuid: String
    /// The URI of the connection it was looked up on, for messages.
    public let uri: String
    private let pointer: virDomainPtr
    private let api: LibvirtAPI

    init(pointer: virDomainPtr, uri: String, api: LibvirtAPI) {
        self.pointer = pointer
        self.uri = uri
        self.api = api
        self.name = api.domainGetName(pointer).map { String(cString: $0) } ?? ""
        var buffer = [CChar](repeating: 0, count: Int(VIR_UUID_STRING_BUFLEN))
        self.uuid =
            api.domainGetUUIDString(pointer, &buffer) == 0
            ? String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : ""
    }

    deinit {
        _ = api.domainFree(pointer)
    }

    /// The running domain's id; nil when it is shut off.
    public var id: Int? {
        let id = api.domainGetID(pointer)
        return id == UInt32.max ? nil : Int(id)
    }

    public func state() throws(LibvirtError) -> DomainState {
        var state: Int32 = 0
        var reason: Int32 = 0
        guard api.domainGetState(pointer, &state, &reason, 0) == 0 else {
            throw LibvirtError.last(operation: "reading the state of domain '\(name)'")
        }
        return DomainState(rawValue: Int(state)) ?? .noState
    }

    public var isPersistent: Bool { api.domainIsPersistent(pointer) == 1 }

    public var isActive: Bool { api.domainIsActive(pointer) == 1 }

    /// Whether libvirt starts it when the host boots (false when libvirt cannot say).
    public var autostarts: Bool {
        var flag: Int32 = 0
        return api.domainGetAutostart(pointer, &flag) == 0 && flag == 1
    }

    /// Its name, UUID, state and XML: both copies while it runs, else the persistent one.
    public func record() throws(LibvirtError) -> DomainRecord {
        let isActive = isActive
        return DomainRecord(
            name: name, uuid: uuid.isEmpty ? nil : uuid, isActive: isActive, autostarts: autostarts,
            liveXML: isActive ? try xml(inactive: false) : nil, inactiveXML: try xml(inactive: true))
    }

    /// The live XML (`inactive: false`, only while it runs) or the persistent configuration.
    public func xml(inactive: Bool) throws(LibvirtError) -> String {
        let flags = inactive ? UInt32(VIR_DOMAIN_XML_INACTIVE.rawValue) : 0
        guard let xml = api.domainGetXMLDesc(pointer, flags) else {
            throw LibvirtError.last(operation: "reading the \(inactive ? "persistent" : "live") XML of domain '\(name)'")
        }
        defer { free(xml) }
        return String(cString: xml)
    }

    /// The persistent configuration as a migration sends it (`VIR_DOMAIN_XML_MIGRATABLE`:
    /// inactive, without what the destination fills in itself), ready for `virsh migrate --xml`.
    public func migratableXML() throws(LibvirtError) -> String {
        let flags = UInt32(VIR_DOMAIN_XML_MIGRATABLE.rawValue)
        guard let xml = api.domainGetXMLDesc(pointer, flags) else {
            throw LibvirtError.last(operation: "reading the migratable XML of domain '\(name)'")
        }
        defer { free(xml) }
        return String(cString: xml)
    }

    /// virDomainUpdateDeviceFlags: changes a device in place (a NIC is found by its MAC).
    public func updateDevice(_ xml: String, scope: DeviceScope) throws(LibvirtError) {
        guard api.domainUpdateDeviceFlags(pointer, xml, scope.libvirtFlags) == 0 else {
            throw LibvirtError.last(operation: "updating a device of domain '\(name)'")
        }
    }

    /// virDomainAttachDeviceFlags.
    public func attachDevice(_ xml: String, scope: DeviceScope) throws(LibvirtError) {
        guard api.domainAttachDeviceFlags(pointer, xml, scope.libvirtFlags) == 0 else {
            throw LibvirtError.last(operation: "attaching a device to domain '\(name)'")
        }
    }

    /// virDomainDetachDeviceFlags. For a live detach, success only means the request was sent:
    /// the guest acknowledges it later (see `DeviceRemovalWatch`).
    public func detachDevice(_ xml: String, scope: DeviceScope) throws(LibvirtError) {
        guard api.domainDetachDeviceFlags(pointer, xml, scope.libvirtFlags) == 0 else {
            throw LibvirtError.last(operation: "detaching a device from domain '\(name)'")
        }
    }

    /// Starts the persistent domain (virDomainCreateWithFlags); `paused` starts QEMU with its
    /// vCPUs stopped: every device, macvtap included, is created all the same.
    public func start(paused: Bool = false) throws(LibvirtError) {
        let flags = paused ? UInt32(VIR_DOMAIN_START_PAUSED.rawValue) : 0
        guard api.domainCreateWithFlags(pointer, flags) == 0 else {
            throw LibvirtError.last(operation: "starting domain '\(name)'")
        }
    }

    /// Stops the running domain at once (virDomainDestroy), as pulling the power cord would.
    public func destroy() throws(LibvirtError) {
        guard api.domainDestroy(pointer) == 0 else {
            throw LibvirtError.last(operation: "destroying domain '\(name)'")
        }
    }

    /// Removes the persistent definition (virDomainUndefineFlags with no flags); a running
    /// domain becomes transient and disappears when it stops.
    public func undefine() throws(LibvirtError) {
        guard api.domainUndefineFlags(pointer, 0) == 0 else {
            throw LibvirtError.last(operation: "undefining domain '\(name)'")
        }
    }

    func withPointer<Result>(_ body: (virDomainPtr) throws(LibvirtError) -> Result) throws(LibvirtError) -> Result {
        try body(pointer)
    }
}

/// Which copies of a domain's definition a device change touches (`virDomainModificationImpact`);
/// empty is VIR_DOMAIN_AFFECT_CURRENT: live when the domain runs, else config.
public struct DeviceScope: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// The running domain (VIR_DOMAIN_AFFECT_LIVE).
    public static let live = DeviceScope(rawValue: UInt32(VIR_DOMAIN_AFFECT_LIVE.rawValue))
    /// The persistent definition (VIR_DOMAIN_AFFECT_CONFIG).
    public static let config = DeviceScope(rawValue: UInt32(VIR_DOMAIN_AFFECT_CONFIG.rawValue))

    var libvirtFlags: UInt32 { rawValue }
}

/// `virDomainState`, named as virsh prints it.
public enum DomainState: Int, Sendable, CustomStringConvertible {
    case noState = 0
    case running, blocked, paused, shuttingDown, shutOff, crashed, suspended

    public var isActive: Bool { self != .shutOff && self != .noState }

    public var description: String {
        switch self {
        case .noState: "no state"
        case .running: "running"
        case .blocked: "idle"
        case .paused: "paused"
        case .shuttingDown: "in shutdown"
        case .shutOff: "shut off"
        case .crashed: "crashed"
        case .suspended: "pmsuspended"
        }
    }
}
