import FoundationEssentials
import Glibc

/// One hypervisor of a fleet repository, as `.virt-macvtap.json` declares it:
/// `"hosts": {"hv-a": {"files": ["hosts/a/**"], "uri": "qemu+ssh://root@hv-a/system"}}`.
public struct FleetHostConfiguration: Sendable, Codable, Equatable {
    /// Glob patterns (`*` and `**` cross directories, `?`, `[…]`), relative to the file that
    /// declares them (the configuration's directory; the current directory on the command line).
    public var files: [String]
    /// The host's libvirt URI, for `lint --hosts`.
    public var uri: String?
    /// The libvirt release the host runs (`"libvirt": "11.3"`): its files' findings are judged
    /// for it (without `-c`, where the host itself answers).
    public var libvirt: LibvirtRelease?
    /// This host's devices whose switch port reflects frames (hairpin); nil: the top level's.
    public var hairpin: [String]?
    /// This host's devices with a bridge-mode macvlan shim; nil: the top level's.
    public var shims: [String]?

    public init(files: [String], uri: String? = nil, libvirt: LibvirtRelease? = nil, hairpin: [String]? = nil, shims: [String]? = nil) {
        self.files = files
        self.uri = uri
        self.libvirt = libvirt
        self.hairpin = hairpin
        self.shims = shims
    }
}

/// Which linted file belongs to which host. Files no host claims form one unnamed host, as a
/// repository without hosts is today. Device rules (passthrough sharing, mixed modes, target
/// names) compare files within one host; MAC uniqueness is fleet-wide.
public struct FleetHosts: Sendable, Equatable {
    /// One fleet host: its name, the file patterns that are its domains, and its libvirt URI.
    public struct Host: Sendable, Equatable {
        public var name: String
        /// Absolute, standardized glob patterns.
        public var patterns: [String]
        public var uri: String?
        /// The libvirt release the host runs, when the configuration says.
        public var release: LibvirtRelease?
    }

    public var hosts: [Host]

    public init(hosts: [Host] = []) {
        self.hosts = hosts
    }

    public var isEmpty: Bool { hosts.isEmpty }

    /// The hosts of a configuration, their patterns anchored at `directory`.
    public init(_ configured: [String: FleetHostConfiguration], relativeTo directory: String) {
        hosts = configured.keys.sorted().map { name in
            Host(
                name: name, patterns: configured[name]!.files.map { Self.anchor($0, at: directory) }, uri: configured[name]!.uri,
                release: configured[name]!.libvirt)
        }
    }

    /// `--host NAME=GLOB` on top: a host named again gains the patterns (and keeps its URI).
    public func adding(_ name: String, pattern: String, relativeTo directory: String) -> FleetHosts {
        var result = self
        let anchored = Self.anchor(pattern, at: directory)
        if let index = result.hosts.firstIndex(where: { $0.name == name }) {
            result.hosts[index].patterns.append(anchored)
        } else {
            result.hosts.append(Host(name: name, patterns: [anchored], uri: nil, release: nil))
        }
        return result
    }

    package static func anchor(_ pattern: String, at directory: String) -> String {
        let absolute = pattern.hasPrefix("/") ? pattern : directory + "/" + pattern
        return standardized(absolute)
    }

    /// `a/./b/../c` → `a/c`, without touching the file system (patterns are not paths yet).
    package static func standardized(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            if part == "..", let last = parts.last, last != ".." {
                parts.removeLast()
                continue
            }
            parts.append(part)
        }
        return "/" + parts.joined(separator: "/")
    }

    /// The host a linted file belongs to: nil for standard input, an in-memory document or a
    /// file no host claims. A file two hosts claim is a configuration error.
    public func host(forFile file: String, currentDirectory: String) throws(FleetHostsError) -> String? {
        guard !hosts.isEmpty, file != "-", file != "<stdin>" else { return nil }
        let absolute = Self.standardized(file.hasPrefix("/") ? file : currentDirectory + "/" + file)
        let claiming = hosts.filter { host in host.patterns.contains { fnmatch($0, absolute, 0) == 0 } }
        if claiming.count > 1 {
            throw FleetHostsError(
                message: "\(file) belongs to hosts \(claiming.map { "'\($0.name)'" }.joined(separator: " and ")); make their file patterns disjoint")
        }
        return claiming.first?.name
    }
}

extension FleetHosts {
    /// The release a file's host runs, when its configuration names one (a file two hosts
    /// claim is reported by `host(forFile:)`; here it has none).
    public func release(forFile file: String, currentDirectory: String) -> LibvirtRelease? {
        guard hosts.contains(where: { $0.release != nil }), let name = try? host(forFile: file, currentDirectory: currentDirectory) else { return nil }
        return hosts.first { $0.name == name }?.release
    }

    /// What decides the per-file releases, for the lint cache's key.
    public var releaseKey: String {
        hosts.filter { $0.release != nil }.map { "\($0.name)=\($0.release!):\($0.patterns.joined(separator: ","))" }.joined(separator: ";")
    }
}

/// A fleet configuration that cannot be applied.
public struct FleetHostsError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
