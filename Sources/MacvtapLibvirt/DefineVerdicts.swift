/// libvirt's verdict on whole domain definitions, with no daemon and nothing started: QEMU and
/// KVM domains go to libvirt's embedded QEMU driver (`qemu:///embed?root=DIR`, in this process,
/// its capability probe cached under DIR), every other domain type to the test driver. Each
/// domain is defined and at once undefined again.
///
/// `@unchecked Sendable`: libvirt's connections are thread-safe and the error we read after a
/// failed call is the calling thread's own; both connections live until `deinit`.
public final class DefineVerdicts: @unchecked Sendable {
    private let qemu: LibvirtConnection
    private let other: LibvirtConnection

    /// Opens both drivers. `root` must exist and hold `etc/qemu.conf`; the first open in a new
    /// root probes QEMU's capabilities (a few seconds), later ones read them back.
    public init(embeddedRoot root: String) throws(LibvirtError) {
        qemu = try LibvirtConnection(uri: "qemu:///embed?root=\(root)", readOnly: false, receivesEvents: true)
        other = try LibvirtConnection(uri: "test:///default", readOnly: false)
    }

    /// nil when libvirt defines `xml` (it is undefined again at once), else libvirt's refusal.
    /// `name` is the domain's name in `xml`, for cleaning up after a define that worked.
    public func refusal(defining xml: String, forQEMU: Bool) -> LibvirtError? {
        do throws(LibvirtError) {
            let domain = try (forQEMU ? qemu : other).defineDomain(xml: xml)
            try? domain.undefine()
            return nil
        } catch {
            return error
        }
    }

    /// Closes both connections (the embedded driver shuts down with its last one).
    public func close() {
        qemu.close()
        other.close()
    }

    /// The libvirt version the verdicts come from, e.g. "9.0.0".
    public var version: String { LibvirtLibrary.version }
}
