internal import CLibvirt

/// An error reported by libvirt, keeping its numeric code, domain and message.
public struct LibvirtError: Error, Sendable, CustomStringConvertible {
    /// libvirt's `virErrorNumber` (e.g. 42 = VIR_ERR_NO_DOMAIN).
    public var code: Int
    /// libvirt's `virErrorDomain` (which subsystem reported it).
    public var domain: Int
    /// libvirt's message, as virsh would print it.
    public var message: String
    /// What we were doing when libvirt failed (e.g. "connecting to qemu:///system").
    public var operation: String

    public var description: String { "\(operation): \(message)" }

    /// The `virErrorNumber`s callers branch on, by name (libvirt's numbering is stable ABI),
    /// like GRDB's `ResultCode`: compare with `==` or match an error with `~=`
    /// (`case LibvirtError.Code.noDomain:`).
    public struct Code: RawRepresentable, Sendable, Hashable {
        public let rawValue: Int
        public init(rawValue: Int) { self.rawValue = rawValue }

        /// VIR_ERR_NO_DOMAIN: no domain with that name, UUID or id.
        public static let noDomain = Code(rawValue: Int(VIR_ERR_NO_DOMAIN.rawValue))
        /// VIR_ERR_OPERATION_INVALID: not possible in the domain's state (e.g. not running).
        public static let operationInvalid = Code(rawValue: Int(VIR_ERR_OPERATION_INVALID.rawValue))
        /// VIR_ERR_NO_SUPPORT: the driver does not implement the call.
        public static let noSupport = Code(rawValue: Int(VIR_ERR_NO_SUPPORT.rawValue))
        /// VIR_ERR_XML_ERROR: libvirt's parser refused the XML.
        public static let xmlError = Code(rawValue: Int(VIR_ERR_XML_ERROR.rawValue))
        /// VIR_ERR_CONFIG_UNSUPPORTED: valid XML that this driver cannot do.
        public static let configUnsupported = Code(rawValue: Int(VIR_ERR_CONFIG_UNSUPPORTED.rawValue))
        /// Not libvirt's: libvirt could not be loaded or lacks a function we need.
        public static let notLoaded = Code(rawValue: -1)

        public static func ~= (pattern: Code, error: any Error) -> Bool {
            (error as? LibvirtError)?.resultCode == pattern
        }
    }

    /// `code` by name.
    public var resultCode: Code { Code(rawValue: code) }

    /// Whether libvirt reported this `code`.
    public func `is`(_ code: Code) -> Bool { resultCode == code }

    /// The connection to the daemon broke (it stopped, crashed, or the socket closed): the call
    /// may or may not have taken effect on the host, so its outcome is unknown, not "failed".
    public var isConnectionFailure: Bool {
        domain == Int(VIR_FROM_RPC.rawValue) || code == Int(VIR_ERR_RPC.rawValue)
            || code == Int(VIR_ERR_NO_CONNECT.rawValue) || code == Int(VIR_ERR_INVALID_CONN.rawValue)
    }

    public init(code: Int, domain: Int, message: String, operation: String) {
        self.code = code
        self.domain = domain
        self.message = message
        self.operation = operation
    }

    /// Reads libvirt's last error on this thread and resets it. Call right after the failing
    /// call, before anything else can overwrite it.
    static func last(operation: String) -> LibvirtError {
        guard case .success(let api) = LibvirtAPI.shared, let error = api.getLastError() else {
            return LibvirtError(code: 0, domain: 0, message: "unknown libvirt error", operation: operation)
        }
        let result = LibvirtError(
            code: Int(error.pointee.code),
            domain: Int(error.pointee.domain),
            message: error.pointee.message.map { String(cString: $0) } ?? "unknown libvirt error",
            operation: operation)
        api.resetLastError()
        return result
    }
}

/// The version of the libvirt library this process is linked against.
public enum LibvirtLibrary {
    /// The loaded library's version, or "not installed".
    public static var version: String {
        guard case .success(let api) = LibvirtAPI.shared else { return "not installed" }
        var version: UInt = 0
        guard api.getVersion(&version, nil, nil) == 0 else { return "unknown" }
        return "\(version / 1_000_000).\(version / 1_000 % 1_000).\(version % 1_000)"
    }
}
