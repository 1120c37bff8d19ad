import MacvtapLibvirt

/// A libvirt call that failed: what we were doing, and libvirt's own error number, subsystem
/// and message. The live operations' one libvirt error (the wrapper module's `LibvirtError`
/// stays below this library's API).
public struct LibvirtFailure: Error, Sendable, CustomStringConvertible {
    /// What we were doing (e.g. "connecting to qemu:///system").
    public var operation: String
    /// libvirt's message, as virsh would print it.
    public var message: String
    /// libvirt's `virErrorNumber` (0 when the failure was ours, not libvirt's).
    public var code: Int
    /// libvirt's `virErrorDomain`: the subsystem that reported it.
    public var subsystem: Int
    /// The connection to the daemon broke: whether the call took effect is unknown.
    public var isConnectionFailure: Bool
    /// libvirt found no domain with that name, UUID or id.
    public var isNoSuchDomain: Bool

    init(_ error: LibvirtError) {
        operation = error.operation
        message = error.message
        code = error.code
        subsystem = error.domain
        isConnectionFailure = error.isConnectionFailure
        isNoSuchDomain = error.is(.noDomain)
    }

    /// One line, with what to do for the common causes (permission, polkit, no daemon).
    public var description: String {
        var hint = ""
        if message.contains("Permission denied") || message.contains("authentication") || message.contains("access denied") {
            hint = "; run as root or as a member of the libvirt group, or use a qemu:///session URI"
        } else if message.contains("system bus") || message.contains("polkit") {
            // Non-root access to qemu:///system is authorised through polkit over D-Bus.
            hint = "; a non-root user needs polkit (and a running D-Bus system bus) or the libvirt group: run as root, or use a qemu:///session URI"
        } else if message.contains("Failed to connect socket") || message.contains("No such file or directory") && message.contains("sock") {
            hint = "; is libvirtd (or virtqemud) running? Check the URI with -c or LIBVIRT_DEFAULT_URI"
        } else if isNoSuchDomain {
            hint = "; `virsh list --all` shows the names"
        }
        return "\(operation): \(message)\(hint)"
    }
}

extension LiveError {
    /// libvirt failed: the wrapper's error, as this library reports it.
    static func libvirt(_ error: LibvirtError) -> LiveError {
        .libvirt(LibvirtFailure(error))
    }

    /// One line for a libvirt error, with what to do for the common causes.
    static func describe(_ error: LibvirtError) -> String {
        LibvirtFailure(error).description
    }
}
