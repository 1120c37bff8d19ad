internal import CLibvirt
#if canImport(Glibc)
    internal import Glibc
#endif

/// An open libvirt connection. Owns its `virConnectPtr` and closes it in `close()` or `deinit`.
///
/// Not thread-safe (libvirt's connection is, but the error slot we read is per thread, so each
/// call reads its own error right after the failing call on the same thread).
public final class LibvirtConnection {
    public let uri: String
    public let isReadOnly: Bool
    private var pointer: virConnectPtr?

    /// Opens `uri` (e.g. `qemu:///system`, `test:///default`); read-only where nothing changes.
    public init(uri: String, readOnly: Bool) throws(LibvirtError) {
        _ = LibvirtRuntime.ready
        let opened = readOnly ? virConnectOpenReadOnly(uri) : virConnectOpen(uri)
        guard let opened else { throw LibvirtError.last(operation: "connecting to \(uri)") }
        self.uri = uri
        self.isReadOnly = readOnly
        self.pointer = opened
    }

    deinit {
        close()
    }

    public func close() {
        if let pointer { virConnectClose(pointer) }
        pointer = nil
    }

    /// The URI libvirt resolved the connection to (e.g. `test:///default`).
    public func canonicalURI() throws(LibvirtError) -> String {
        let connection = try open("reading the connection URI")
        guard let uri = virConnectGetURI(connection) else {
            throw LibvirtError.last(operation: "reading the connection URI")
        }
        defer { free(uri) }
        return String(cString: uri)
    }

    /// Names of every domain, running or not.
    public func domainNames() throws(LibvirtError) -> [String] {
        let connection = try open("listing domains")
        var domains: UnsafeMutablePointer<virDomainPtr?>?
        let count = virConnectListAllDomains(connection, &domains, 0)
        guard count >= 0, let domains else { throw LibvirtError.last(operation: "listing domains on \(uri)") }
        defer { free(domains) }
        var names: [String] = []
        for index in 0..<Int(count) {
            guard let domain = domains[index] else { continue }
            if let name = virDomainGetName(domain) { names.append(String(cString: name)) }
            virDomainFree(domain)
        }
        return names
    }

    private func open(_ operation: String) throws(LibvirtError) -> virConnectPtr {
        guard let pointer else {
            throw LibvirtError(code: 0, domain: 0, message: "the connection is closed", operation: operation)
        }
        return pointer
    }
}
