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

    /// What libvirt makes of `xml`, asked three ways: a plain define, a define that validates
    /// against libvirt's schema first (`virsh define --validate`), and the inactive XML libvirt
    /// keeps after the plain define (read back before the domain is undefined again).
    public struct Judgement: Sendable {
        /// The plain define's refusal; nil when libvirt defined it.
        public var refusal: LibvirtError?
        /// The validating define's refusal; nil when libvirt defined it.
        public var validatingRefusal: LibvirtError?
        /// The inactive XML after the plain define; nil when it was refused.
        public var inactiveXML: String?
    }

    /// Defines `xml` twice (plain, then validating), reading the definition back in between.
    public func judge(_ xml: String, forQEMU: Bool) -> Judgement {
        let connection = forQEMU ? qemu : other
        var judgement = Judgement()
        do throws(LibvirtError) {
            let domain = try connection.defineDomain(xml: xml)
            judgement.inactiveXML = try? domain.xml(inactive: true)
            try? domain.undefine()
        } catch {
            judgement.refusal = error
        }
        do throws(LibvirtError) {
            let domain = try connection.defineDomain(xml: xml, validate: true)
            try? domain.undefine()
        } catch {
            judgement.validatingRefusal = error
        }
        return judgement
    }

    /// Closes both connections (the embedded driver shuts down with its last one).
    public func close() {
        qemu.close()
        other.close()
    }

    /// The libvirt version the verdicts come from, e.g. "9.0.0".
    public var version: String { LibvirtLibrary.version }
}
