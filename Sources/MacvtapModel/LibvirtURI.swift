import FoundationEssentials

/// Which libvirt URI a live command talks to: `-c`, else `LIBVIRT_DEFAULT_URI`, else
/// `qemu:///system` (virsh's order, minus its own VIRSH_DEFAULT_CONNECT_URI).
public enum LibvirtURI {
    public static let fallback = "qemu:///system"

    public static func resolve(_ explicit: String?, environment: [String: String]? = nil) -> String {
        if let explicit, !explicit.isEmpty { return explicit }
        let environment = environment ?? ProcessInfo.processInfo.environment
        if let fromEnvironment = environment["LIBVIRT_DEFAULT_URI"], !fromEnvironment.isEmpty { return fromEnvironment }
        return fallback
    }

    /// Whether `uri` names a daemon on this machine (`qemu:///system`, `test:///default`,
    /// `qemu+unix:///system`): no host part, so its links are this machine's.
    public static func isLocal(_ uri: String) -> Bool {
        guard let range = uri.firstRange(of: "://") else { return false }
        let rest = uri[range.upperBound...]
        return rest.hasPrefix("/") || rest.hasPrefix("localhost/")
    }

    /// `text` with the password of every `scheme://user:password@host` in it replaced by `***`:
    /// secrets in URIs are never printed.
    public static func redacted(_ text: String) -> String {
        text.replacing(/(:\/\/[^\/\s:@]*:)[^@\s\/]*@/) { match in "\(match.output.1)***@" }
    }

    /// The host a URI names when it is not this one (`qemu+ssh://root@hv-a/system` → `hv-a`);
    /// nil for local URIs (`qemu:///system`, `qemu+tcp://localhost/system`).
    public static func remoteHost(_ uri: String) -> String? {
        guard let schemeEnd = uri.firstRange(of: "://") else { return nil }
        let authority = uri[schemeEnd.upperBound...].prefix { $0 != "/" && $0 != "?" }
        var host = Substring(authority.split(separator: "@", omittingEmptySubsequences: false).last ?? "")
        if host.hasPrefix("[") {
            host = host.dropFirst().prefix { $0 != "]" }
        } else if let colon = host.firstIndex(of: ":") {
            host = host[..<colon]
        }
        return host.isEmpty || ["localhost", "127.0.0.1", "::1"].contains(host) ? nil : String(host)
    }
}
