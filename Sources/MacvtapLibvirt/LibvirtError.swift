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

    /// Reads libvirt's last error on this thread and resets it. Call right after the failing
    /// call, before anything else can overwrite it.
    static func last(operation: String) -> LibvirtError {
        guard let error = virGetLastError() else {
            return LibvirtError(code: 0, domain: 0, message: "unknown libvirt error", operation: operation)
        }
        let result = LibvirtError(
            code: Int(error.pointee.code),
            domain: Int(error.pointee.domain),
            message: error.pointee.message.map { String(cString: $0) } ?? "unknown libvirt error",
            operation: operation)
        virResetLastError()
        return result
    }
}

/// Process-wide libvirt setup: the library must be initialised once, and its default error
/// printer (which writes to stderr) replaced, because every error reaches the caller as a value.
enum LibvirtRuntime {
    static let ready: Void = {
        _ = virInitialize()
        virSetErrorFunc(nil, ignoreLibvirtError)
    }()
}

private let ignoreLibvirtError: virErrorFunc = { _, _ in }

/// The version of the libvirt library this process is linked against.
public enum LibvirtLibrary {
    public static var version: String {
        _ = LibvirtRuntime.ready
        var version: UInt = 0
        guard virGetVersion(&version, nil, nil) == 0 else { return "unknown" }
        return "\(version / 1_000_000).\(version / 1_000 % 1_000).\(version % 1_000)"
    }
}
