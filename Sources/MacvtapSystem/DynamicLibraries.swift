#if canImport(Glibc)
    internal import Glibc
#elseif canImport(Musl)
    internal import Musl
#endif

/// Shared libraries opened with dlopen on first use, and their functions by name: how the
/// wrapper modules load libvirt, libpq and libnl, whose dozens of dependencies would otherwise
/// load (and cost start-up time) in every process. The handles stay open for the life of the
/// process; a missing function is recorded in ``missing`` (the caller refuses the whole table).
public final class DynamicLibraries: @unchecked Sendable {
    // @unchecked: written only while the caller builds its table, on one thread.
    private let handles: [UnsafeMutableRawPointer]
    private let placeholder: UnsafeMutableRawPointer
    /// The functions asked for with ``function(_:as:)`` that none of the libraries has.
    public private(set) var missing: [String] = []

    /// Opens `names` (looked up in that order for each function). `placeholder` names a function
    /// the first library surely has; it stands in for missing ones until the caller gives up.
    /// Throws dlerror's reason when one cannot be opened.
    public init(loading names: [String], placeholder: String) throws(DynamicLibraryError) {
        var handles: [UnsafeMutableRawPointer] = []
        for name in names {
            guard let handle = dlopen(name, RTLD_LAZY | RTLD_LOCAL) else {
                throw DynamicLibraryError(reason: dlerror().map { String(cString: $0) } ?? "\(name) not found")
            }
            handles.append(handle)
        }
        guard let first = handles.first, let stand = dlsym(first, placeholder) else {
            throw DynamicLibraryError(reason: "\(names.first ?? "the library") lacks \(placeholder)")
        }
        self.handles = handles
        self.placeholder = stand
    }

    /// The function `name` as `type` (a `@convention(c)` function type).
    public func function<Function>(_ name: String, as type: Function.Type) -> Function {
        guard let address = optionalAddress(name) else {
            missing.append(name)
            return unsafeBitCast(placeholder, to: type)
        }
        return unsafeBitCast(address, to: type)
    }

    /// The function `name`, or nil when the installed version lacks it (an optional feature).
    public func optionalFunction<Function>(_ name: String, as type: Function.Type) -> Function? {
        optionalAddress(name).map { unsafeBitCast($0, to: type) }
    }

    private func optionalAddress(_ name: String) -> UnsafeMutableRawPointer? {
        for handle in handles {
            if let address = dlsym(handle, name) { return address }
        }
        return nil
    }
}

/// Why a library could not be opened (dlerror's words).
public struct DynamicLibraryError: Error, Sendable {
    public var reason: String
}
