internal import CLibvirt

/// A libvirt virtual network, owned: freed when the value goes.
public final class LibvirtNetwork: @unchecked Sendable {
    // @unchecked: libvirt's objects are thread-safe; the pointer never leaves this type.
    public let name: String
    private let pointer: OpaquePointer
    private let api: LibvirtAPI

    init(pointer: OpaquePointer, api: LibvirtAPI) {
        self.pointer = pointer
        self.api = api
        name = api.networkGetName(pointer).map { String(cString: $0) } ?? ""
    }

    deinit {
        _ = api.networkFree(pointer)
    }

    public var isActive: Bool { api.networkIsActive(pointer) == 1 }

    /// Starts the network (virNetworkCreate).
    public func start() throws(LibvirtError) {
        guard api.networkCreate(pointer) == 0 else { throw LibvirtError.last(operation: "starting network '\(name)'") }
    }

    /// Stops it (virNetworkDestroy).
    public func destroy() throws(LibvirtError) {
        guard api.networkDestroy(pointer) == 0 else { throw LibvirtError.last(operation: "stopping network '\(name)'") }
    }

    /// Removes its persistent definition (virNetworkUndefine).
    public func undefine() throws(LibvirtError) {
        guard api.networkUndefine(pointer) == 0 else { throw LibvirtError.last(operation: "undefining network '\(name)'") }
    }
}
