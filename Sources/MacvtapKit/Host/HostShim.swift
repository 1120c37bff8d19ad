import FoundationEssentials
import Glibc
package import MacvtapNetlink
public import MacvtapSystem
import MacvtapXML

/// The network configuration system that recreates a shim at boot.
public enum NetworkStack: String, Sendable, Hashable, Codable, CaseIterable, CustomStringConvertible {
    case networkd, networkmanager, ifupdown
    public var description: String { rawValue }
}

/// What `host-shim` was asked to create.
public struct HostShimRequest: Sendable {
    /// The lower device the guests' macvtaps sit on.
    public var device: String
    /// The host's address on the shim, with its prefix length (`192.0.2.2/24`).
    public var address: String
    /// The shim's name; nil: `mv-` + the device's name.
    public var name: String?
    /// Also write boot-time configuration: nil none, `.some(nil)` detect the stack.
    public var persist: NetworkStack??

    public init(device: String, address: String, name: String? = nil, persist: NetworkStack?? = nil) {
        self.device = device
        self.address = address
        self.name = name
        self.persist = persist
    }

    /// The default name for a shim on `device` (15 bytes at most, the kernel's limit).
    public static func defaultName(for device: String) -> String {
        String(("mv-" + device).utf8.prefix(15))!
    }
}

/// What `host-vlan` was asked to create: the 802.1Q device that puts macvtap guests in VLAN
/// `id` of `device` (their source device is then `DEV.N`).
public struct HostVLANRequest: Sendable {
    public var device: String
    /// 1–4094.
    public var id: Int
    /// The VLAN device's name; nil: `DEV.N`.
    public var name: String?
    /// Also write boot-time configuration: nil none, `.some(nil)` detect the stack.
    public var persist: NetworkStack??

    public init(device: String, id: Int, name: String? = nil, persist: NetworkStack?? = nil) {
        self.device = device
        self.id = id
        self.name = name
        self.persist = persist
    }
}

/// A file the shim's boot-time configuration consists of.
public struct ShimFile: Sendable, Hashable, Codable {
    public var path: String
    public var content: String
    /// 0600 for NetworkManager keyfiles (it ignores readable ones), else 0644.
    public var mode: UInt32
}

/// Everything decided before the host changes.
public struct HostShimPlan: Sendable {
    public var name: String
    public var device: String
    /// The shim's address; empty for a VLAN device.
    public var address: String
    /// Set for a VLAN device (`host-vlan`); nil for a shim.
    public var vlanID: Int? = nil
    public var stack: NetworkStack?
    public var files: [ShimFile]
    /// Things the user should know (netplan has no macvlan type, ifupdown's source line, …).
    public var notes: [String]
}

/// What the tool made (a shim, or a VLAN device), so `--remove` takes away exactly that.
public struct HostShimRecord: Sendable, Hashable, Codable {
    public var name: String
    public var device: String
    /// The shim's address; empty for a VLAN device.
    public var address: String
    /// Set for a VLAN device (`host-vlan`); nil for a shim (and in records older than it).
    public var vlanID: Int?
    public var mac: String?
    /// The network namespace it was made in (`net:[4026531840]`): a shim of the same name in
    /// another namespace is not ours.
    public var namespace: String
    public var files: [String]
}

/// A libnl call or a kernel answer that failed: what we were doing, and libnl's error number
/// and message (the wrapper module's `NetlinkError` stays below this library's API).
public struct NetlinkFailure: Error, Sendable, CustomStringConvertible {
    public var operation: String
    public var message: String
    /// libnl's error number (NLE_*), positive; -1 when libnl could not be loaded.
    public var code: Int
    /// The kernel refused for lack of privilege (CAP_NET_ADMIN).
    public var isPermission: Bool

    init(_ error: NetlinkError) {
        operation = error.operation
        message = error.message
        code = error.code
        isPermission = error.isPermission
    }

    public var description: String { "\(operation): \(message)" }
}

/// Why `host-shim` did not do what was asked.
public enum HostShimError: Error, Sendable, CustomStringConvertible {
    /// Checked before anything changed: one line with what to do.
    case refused(String)
    case netlink(NetlinkFailure)
    case file(FileError)

    /// libnl or the kernel failed: the wrapper's error, as this library reports it.
    static func netlink(_ error: NetlinkError) -> HostShimError {
        .netlink(NetlinkFailure(error))
    }

    public var description: String {
        switch self {
        case .refused(let message): message
        case .netlink(let error):
            error.description + (error.isPermission ? "; creating links needs root (CAP_NET_ADMIN)" : "")
        case .file(let error): error.description
        }
    }
}

extension HostShimError {
    /// Runs `body`, keeping a `HostShimError` and wrapping libnl's: the checks mix both.
    static func mapping(_ body: () throws -> Void) throws(HostShimError) {
        do {
            try body()
        } catch let error as HostShimError {
            throw error
        } catch let error as NetlinkError {
            throw .netlink(error)
        } catch {
            throw .refused("\(error)")
        }
    }
}

/// Where the shim's files and records go; tests point it at a scratch directory.
public struct HostShimEnvironment: Sendable {
    /// The root the configuration files are written under (`/` on a real host).
    public var root: String
    /// The JSON file that records the shims this tool made.
    public var recordPath: String

    public init(root: String = "/", recordPath: String) {
        self.root = root
        self.recordPath = recordPath
    }

    /// Beside the MAC ledger: `$XDG_STATE_HOME/virt-macvtap/host-shims.json`, else
    /// `~/.local/state/virt-macvtap/host-shims.json`.
    public static func standard(environment: [String: String]? = nil) -> HostShimEnvironment {
        let ledger = SQLiteLedger.defaultPath(environment: environment)
        let directory = ledger.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        return HostShimEnvironment(recordPath: directory + "/host-shims.json")
    }

    func path(_ absolute: String) -> String {
        root == "/" ? absolute : root + absolute
    }
}

/// A macvlan in bridge mode on the guests' lower device, with an address of the host's: the
/// host then reaches the guests whose macvtaps on that device are in bridge mode (a macvtap's
/// lower device never hands their frames to the host itself).
public enum HostShims {
    /// What every file the tool writes carries (older shim files say "… host-shim" after it).
    static let marker = "Written by virt-macvtap"

    /// Checks the request against the namespace and plans the files; changes nothing.
    package static func plan(
        _ request: HostShimRequest, netlink: RouteNetlink, environment: HostShimEnvironment
    ) throws(HostShimError) -> HostShimPlan {
        let name = request.name ?? HostShimRequest.defaultName(for: request.device)
        if let problem = LinuxInterfaceName.problem(with: name) {
            throw .refused("shim name '\(name)': \(problem); give another with --name")
        }
        let canonical: String
        do {
            canonical = try netlink.parseAddress(request.address)
        } catch {
            throw .refused("'\(request.address)' is not an address with a prefix length; write it like 192.0.2.2/24")
        }
        guard request.address.contains("/") else {
            throw .refused("'\(request.address)' has no prefix length; write it like 192.0.2.2/24 (the guests' subnet)")
        }
        try checkDevice(request.device, newName: name, for: "the shim", netlink: netlink)
        try HostShimError.mapping {
            let host = String(canonical.split(separator: "/", maxSplits: 1).first ?? "")
            let links = Dictionary(try netlink.links().map { ($0.index, $0.name) }, uniquingKeysWith: { first, _ in first })
            if let existing = try netlink.addresses().first(where: { $0.host == host }) {
                throw HostShimError.refused(
                    "address \(host) is already on \(links[existing.linkIndex] ?? "link \(existing.linkIndex)") (\(existing.address)); give the shim an address of its own in the guests' subnet")
            }
        }
        var plan = HostShimPlan(name: name, device: request.device, address: canonical, stack: nil, files: [], notes: [])
        try planFiles(&plan, persist: request.persist, environment: environment)
        return plan
    }

    /// Checks a VLAN device request against the namespace and plans the files; changes
    /// nothing. Whether the kernel has 802.1Q shows only when the link is made.
    package static func plan(
        _ request: HostVLANRequest, netlink: RouteNetlink, environment: HostShimEnvironment
    ) throws(HostShimError) -> HostShimPlan {
        guard (1...4094).contains(request.id) else { throw .refused("VLAN id \(request.id) is outside 1–4094") }
        guard let name = request.name ?? LinuxInterfaceName.vlanDevice(of: request.device, vlan: request.id) else {
            throw .refused(
                "'\(request.device).\(request.id)' passes the kernel's 15 bytes; name the VLAN device with --name \(LinuxInterfaceName.vlanFallbackName(vlan: request.id)) and give guests that name as their source device"
            )
        }
        if let problem = LinuxInterfaceName.problem(with: name) {
            throw .refused("VLAN device name '\(name)': \(problem); give another with --name")
        }
        try checkDevice(request.device, newName: name, for: "the VLAN device", netlink: netlink)
        var plan = HostShimPlan(name: name, device: request.device, address: "", vlanID: request.id, stack: nil, files: [], notes: [])
        try planFiles(&plan, persist: request.persist, environment: environment)
        return plan
    }

    /// The lower device exists here, is not itself a macvlan/macvtap nor wireless, and the new
    /// link's name is free.
    static func checkDevice(_ device: String, newName name: String, for what: String, netlink: RouteNetlink) throws(HostShimError) {
        try HostShimError.mapping {
            guard let parent = try netlink.link(named: device) else {
                let names = (try? netlink.links().map(\.name).filter { $0 != "lo" }.sorted()) ?? []
                throw HostShimError.refused(
                    "device '\(device)' does not exist in this network namespace; use one of: \(names.prefix(8).joined(separator: ", "))")
            }
            if let kind = parent.kind, ["macvlan", "macvtap"].contains(kind) {
                throw HostShimError.refused(
                    "device '\(device)' is itself a \(kind); give \(what) the device the guests' macvtaps sit on (its lower device)")
            }
            if FileIO.exists(atPath: "/sys/class/net/\(device)/wireless") || FileIO.exists(atPath: "/sys/class/net/\(device)/phy80211") {
                throw HostShimError.refused(
                    "device '\(device)' is wireless: an access point drops frames from MAC addresses it did not associate, so macvtap guests do not work on it")
            }
            if try netlink.link(named: name) != nil {
                throw HostShimError.refused("the name '\(name)' is taken by an existing link; give another with --name, or remove that link")
            }
        }
    }

    static func planFiles(_ plan: inout HostShimPlan, persist: NetworkStack??, environment: HostShimEnvironment) throws(HostShimError) {
        guard let persist else { return }
        let stack: NetworkStack
        if let chosen = persist { stack = chosen } else { stack = try detectStack(environment: environment, notes: &plan.notes) }
        plan.stack = stack
        plan.files = try files(for: stack, plan: plan, environment: environment, notes: &plan.notes)
        for file in plan.files where FileIO.exists(atPath: file.path) {
            let existing = (try? FileIO.readFile(atPath: file.path)).map { String(decoding: $0, as: UTF8.self) } ?? ""
            guard existing.contains(marker) else {
                throw .refused("\(file.path) exists and was not written by virt-macvtap; it is left alone: remove it or choose another --name")
            }
        }
    }

    /// Which stack this host uses: NetworkManager when it runs, netplan (rendered to networkd),
    /// systemd-networkd when it runs, else ifupdown's /etc/network/interfaces.
    static func detectStack(environment: HostShimEnvironment, notes: inout [String]) throws(HostShimError) -> NetworkStack {
        if FileIO.exists(atPath: environment.path("/run/NetworkManager")) { return .networkmanager }
        let netplan = environment.path("/etc/netplan")
        if let entries = try? FileManager.default.contentsOfDirectory(atPath: netplan), entries.contains(where: { $0.hasSuffix(".yaml") }) {
            notes.append("this host uses netplan, which has no macvlan type: writing systemd-networkd files, which netplan's networkd renderer leaves in place")
            return .networkd
        }
        if FileIO.exists(atPath: environment.path("/run/systemd/netif")) { return .networkd }
        if FileIO.exists(atPath: environment.path("/etc/network/interfaces")) { return .ifupdown }
        throw .refused(
            "cannot tell which network configuration this host uses (no NetworkManager, netplan, systemd-networkd or /etc/network/interfaces); name it with --persist networkd|networkmanager|ifupdown")
    }

    static func files(
        for stack: NetworkStack, plan: HostShimPlan, environment: HostShimEnvironment, notes: inout [String]
    ) throws(HostShimError) -> [ShimFile] {
        if let id = plan.vlanID { return try vlanFiles(for: stack, name: plan.name, device: plan.device, id: id, environment: environment, notes: &notes) }
        let (name, device, address) = (plan.name, plan.device, plan.address)
        let header = "# \(marker) host-shim (\(device), \(address)); `virt-macvtap host-shim \(device) --remove --name \(name)` removes it.\n"
        switch stack {
        case .networkd:
            let directory = environment.path("/etc/systemd/network")
            guard let parentNetwork = networkdFile(matching: device, environment: environment) else {
                throw .refused(
                    "no systemd-networkd .network file matches \(device), so nothing would add the shim to it at boot (MACVLAN=\(name)); configure \(device) with networkd first, or use --persist networkmanager|ifupdown"
                )
            }
            return [
                ShimFile(
                    path: "\(directory)/50-virt-macvtap-\(name).netdev",
                    content: header + "[NetDev]\nName=\(name)\nKind=macvlan\n\n[MACVLAN]\nMode=bridge\n", mode: 0o644),
                ShimFile(
                    path: "\(directory)/50-virt-macvtap-\(name).network",
                    content: header + "[Match]\nName=\(name)\n\n[Network]\nAddress=\(address)\n", mode: 0o644),
                // A drop-in adds MACVLAN= to the device's own .network without touching it.
                ShimFile(
                    path: "\(directory)/\(parentNetwork).d/virt-macvtap-\(name).conf",
                    content: header + "[Network]\nMACVLAN=\(name)\n", mode: 0o644),
            ]
        case .networkmanager:
            let family = address.contains(":") ? "ipv6" : "ipv4"
            let other = family == "ipv4" ? "ipv6" : "ipv4"
            return [
                ShimFile(
                    path: environment.path("/etc/NetworkManager/system-connections/virt-macvtap-\(name).nmconnection"),
                    content: header
                        + "[connection]\nid=virt-macvtap-\(name)\ntype=macvlan\ninterface-name=\(name)\n\n"
                        + "[macvlan]\nparent=\(device)\n# 2 = bridge\nmode=2\n\n"
                        + "[\(family)]\nmethod=manual\naddress1=\(address)\n\n[\(other)]\nmethod=disabled\n",
                    mode: 0o600)
            ]
        case .ifupdown:
            let interfaces = environment.path("/etc/network/interfaces")
            let main = (try? FileIO.readFile(atPath: interfaces)).map { String(decoding: $0, as: UTF8.self) } ?? ""
            if !main.contains("interfaces.d") {
                notes.append("\(interfaces) does not source /etc/network/interfaces.d; add `source /etc/network/interfaces.d/*` for the shim to come up at boot")
            }
            let family = address.contains(":") ? "inet6" : "inet"
            return [
                ShimFile(
                    path: environment.path("/etc/network/interfaces.d/virt-macvtap-\(name)"),
                    content: header
                        + "auto \(name)\niface \(name) \(family) static\n    address \(address)\n"
                        + "    pre-up ip link add \(name) link \(device) type macvlan mode bridge\n"
                        + "    post-down ip link del \(name)\n",
                    mode: 0o644)
            ]
        }
    }

    /// A VLAN device's boot-time configuration: up, without an address of the host's (the
    /// guests' macvtaps are what use it).
    static func vlanFiles(
        for stack: NetworkStack, name: String, device: String, id: Int, environment: HostShimEnvironment, notes: inout [String]
    ) throws(HostShimError) -> [ShimFile] {
        let header = "# \(marker) host-vlan (VLAN \(id) on \(device)); `virt-macvtap host-vlan \(device) \(id) --remove --name \(name)` removes it.\n"
        switch stack {
        case .networkd:
            let directory = environment.path("/etc/systemd/network")
            guard let parentNetwork = networkdFile(matching: device, environment: environment) else {
                throw .refused(
                    "no systemd-networkd .network file matches \(device), so nothing would add the VLAN to it at boot (VLAN=\(name)); configure \(device) with networkd first, or use --persist networkmanager|ifupdown"
                )
            }
            return [
                ShimFile(path: "\(directory)/50-virt-macvtap-\(name).netdev", content: header + "[NetDev]\nName=\(name)\nKind=vlan\n\n[VLAN]\nId=\(id)\n", mode: 0o644),
                // A .network file is what makes networkd bring the link up; no address, none wanted.
                ShimFile(
                    path: "\(directory)/50-virt-macvtap-\(name).network",
                    content: header + "[Match]\nName=\(name)\n\n[Link]\nRequiredForOnline=no\n\n[Network]\nLinkLocalAddressing=no\nConfigureWithoutCarrier=yes\n", mode: 0o644),
                ShimFile(path: "\(directory)/\(parentNetwork).d/virt-macvtap-\(name).conf", content: header + "[Network]\nVLAN=\(name)\n", mode: 0o644),
            ]
        case .networkmanager:
            return [
                ShimFile(
                    path: environment.path("/etc/NetworkManager/system-connections/virt-macvtap-\(name).nmconnection"),
                    content: header
                        + "[connection]\nid=virt-macvtap-\(name)\ntype=vlan\ninterface-name=\(name)\n\n"
                        + "[vlan]\nparent=\(device)\nid=\(id)\n\n[ipv4]\nmethod=disabled\n\n[ipv6]\nmethod=disabled\n",
                    mode: 0o600)
            ]
        case .ifupdown:
            let interfaces = environment.path("/etc/network/interfaces")
            let main = (try? FileIO.readFile(atPath: interfaces)).map { String(decoding: $0, as: UTF8.self) } ?? ""
            if !main.contains("interfaces.d") {
                notes.append("\(interfaces) does not source /etc/network/interfaces.d; add `source /etc/network/interfaces.d/*` for the VLAN device to come up at boot")
            }
            return [
                ShimFile(
                    path: environment.path("/etc/network/interfaces.d/virt-macvtap-\(name)"),
                    content: header
                        + "auto \(name)\niface \(name) inet manual\n"
                        + "    pre-up ip link add link \(device) name \(name) type vlan id \(id)\n"
                        + "    post-down ip link del \(name)\n",
                    mode: 0o644)
            ]
        }
    }

    /// The name of the networkd `.network` file whose `[Match] Name=` matches `device`, in
    /// networkd's own search order (the first file by name across /etc, /run and /usr/lib).
    static func networkdFile(matching device: String, environment: HostShimEnvironment) -> String? {
        var seen: Set<String> = []
        var candidates: [(name: String, path: String)] = []
        for directory in ["/etc/systemd/network", "/run/systemd/network", "/usr/lib/systemd/network"] {
            let path = environment.path(directory)
            for entry in ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted() where entry.hasSuffix(".network") {
                if seen.insert(entry).inserted { candidates.append((entry, path + "/" + entry)) }
            }
        }
        for candidate in candidates.sorted(by: { $0.name < $1.name }) {
            guard let bytes = try? FileIO.readFile(atPath: candidate.path) else { continue }
            var inMatch = false
            for line in String(decoding: bytes, as: UTF8.self).split(whereSeparator: \.isNewline) {
                let text = String(line).trimmingWhitespace()
                if text.hasPrefix("[") { inMatch = text == "[Match]" }
                guard inMatch, text.hasPrefix("Name=") else { continue }
                let patterns = text.dropFirst(5).split(separator: " ").map(String.init)
                if patterns.contains(where: { fnmatch($0, device, 0) == 0 }) { return candidate.name }
            }
        }
        return nil
    }

    /// Creates the shim (and its files), records it, and returns the link as the kernel shows it.
    package static func create(
        _ plan: HostShimPlan, netlink: RouteNetlink, environment: HostShimEnvironment
    ) throws(HostShimError) -> NetworkLink {
        var records = try loadRecords(environment)
        let namespace = currentNamespace()
        let link: NetworkLink
        do throws(NetlinkError) {
            guard let parent = try netlink.link(named: plan.device) else {
                throw NetlinkError(code: 31, message: "no such device", operation: "looking up link '\(plan.device)'")
            }
            if let id = plan.vlanID {
                link = try netlink.addVLAN(named: plan.name, id: UInt16(id), parent: parent.index)
            } else {
                link = try netlink.addBridgeMacvlan(named: plan.name, parent: parent.index)
                do {
                    try netlink.addAddress(plan.address, toLink: link.index)
                } catch {
                    try? netlink.deleteLink(named: plan.name)
                    throw error
                }
            }
        } catch {
            if plan.vlanID != nil, error.resultCode == .operationNotSupported {
                throw .refused(
                    "this kernel has no 802.1Q VLAN support (creating '\(plan.name)': \(error.message)); load it (modprobe 8021q) or use a kernel built with it; nothing was changed")
            }
            throw .netlink(error)
        }
        records.append(
            HostShimRecord(
                name: plan.name, device: plan.device, address: plan.address, vlanID: plan.vlanID, mac: link.mac, namespace: namespace,
                files: plan.files.map(\.path)))
        do {
            for file in plan.files {
                let directory = String(file.path[..<(file.path.lastIndex(of: "/") ?? file.path.endIndex)])
                try FileIO.createDirectories(atPath: directory, mode: 0o755)
                try FileIO.replaceAtomically(atPath: file.path, with: Array(file.content.utf8), creating: true, newFileMode: file.mode)
            }
            try saveRecords(records, environment)
        } catch {
            // Without its record the shim could not be removed by --remove: take it back.
            try? netlink.deleteLink(named: plan.name)
            for file in plan.files { try? FileIO.removeFile(atPath: file.path) }
            throw .file(error)
        }
        return (try? netlink.link(named: plan.name)) ?? link
    }

    /// The record of the shim named `name` (default for `device`) made in this namespace, and
    /// whether the kernel still shows that very link (same name, parent and MAC).
    package static func findRecord(
        device: String, name: String?, vlanID: Int? = nil, netlink: RouteNetlink, environment: HostShimEnvironment
    ) throws(HostShimError) -> HostShimRecord {
        let what = vlanID == nil ? "shim" : "VLAN device"
        let name =
            name ?? vlanID.map { LinuxInterfaceName.vlanDevice(of: device, vlan: $0) ?? LinuxInterfaceName.vlanFallbackName(vlan: $0) }
            ?? HostShimRequest.defaultName(for: device)
        let namespace = currentNamespace()
        guard let record = try loadRecords(environment).first(where: { $0.name == name && $0.namespace == namespace && $0.vlanID == vlanID }) else {
            throw .refused(
                "virt-macvtap has no record of creating '\(name)' in this network namespace (\(environment.recordPath)); it removes only the \(what)s it made")
        }
        guard record.device == device else {
            throw .refused("the \(what) '\(name)' virt-macvtap made is on '\(record.device)', not '\(device)'")
        }
        return record
    }

    /// Removes the recorded shim: the link (only when it is still the one made: a macvlan on
    /// the same device with the same MAC) and the files that still carry our marker.
    package static func remove(
        _ record: HostShimRecord, netlink: RouteNetlink, environment: HostShimEnvironment
    ) throws(HostShimError) -> [String] {
        var done: [String] = []
        try HostShimError.mapping {
            if let link = try netlink.link(named: record.name) {
                let parent = try netlink.link(named: record.device)
                let kind = record.vlanID == nil ? "macvlan" : "vlan"
                guard link.kind == kind, link.parentIndex == parent?.index, record.mac == nil || link.mac == record.mac else {
                    throw HostShimError.refused(
                        "'\(record.name)' is no longer the \(kind) virt-macvtap made on \(record.device) (kind \(link.kind ?? "device"), MAC \(link.mac ?? "?")); it is left alone")
                }
                try netlink.deleteLink(named: record.name)
                done.append("deleted link \(record.name)")
            } else {
                done.append("link \(record.name) was already gone")
            }
        }
        for path in record.files {
            guard let bytes = try? FileIO.readFile(atPath: path) else { continue }
            guard String(decoding: bytes, as: UTF8.self).contains(marker) else {
                done.append("left \(path): it no longer carries virt-macvtap's marker")
                continue
            }
            do {
                try FileIO.removeFile(atPath: path)
            } catch {
                throw .file(error)
            }
            if path.hasSuffix(".conf"), let slash = path.lastIndex(of: "/") {
                FileIO.removeDirectoryIfEmpty(atPath: String(path[..<slash]))
            }
            done.append("removed \(path)")
        }
        do {
            try saveRecords(try loadRecords(environment).filter { $0 != record }, environment)
        } catch let error as HostShimError {
            throw error
        } catch {
            throw .refused("\(error)")
        }
        return done
    }

    static func currentNamespace() -> String {
        FileIO.symbolicLinkDestination(atPath: "/proc/self/ns/net") ?? "net:[unknown]"
    }

    static func loadRecords(_ environment: HostShimEnvironment) throws(HostShimError) -> [HostShimRecord] {
        guard FileIO.exists(atPath: environment.recordPath) else { return [] }
        let bytes: [UInt8]
        do {
            bytes = try FileIO.readFile(atPath: environment.recordPath)
        } catch {
            throw .file(error)
        }
        guard let records = try? JSONDecoder().decode([HostShimRecord].self, from: Data(bytes)) else {
            throw .refused("\(environment.recordPath) is not a record virt-macvtap wrote; move it aside")
        }
        return records
    }

    static func saveRecords(_ records: [HostShimRecord], _ environment: HostShimEnvironment) throws(FileError) {
        let path = environment.recordPath
        if let slash = path.lastIndex(of: "/") {
            try FileIO.createDirectories(atPath: String(path[..<slash]), mode: 0o700)
        }
        try FileIO.replaceAtomically(atPath: path, with: Array(JSONOutput.encode(records).utf8), creating: true, newFileMode: 0o600)
    }
}

/// `host-shim`'s work on this host through one netlink socket, opened once: plan, create, find
/// and remove the shims this tool made (the socket stays inside; callers see plain values).
public final class HostShimSession {
    private let netlink: RouteNetlink
    public let environment: HostShimEnvironment

    /// The shim a session created, as the kernel shows it.
    public struct Link: Sendable, Hashable {
        public var name: String
        public var mac: String?
        public var isUp: Bool
    }

    /// Opens the netlink socket (libnl is loaded on first use).
    public init(environment: HostShimEnvironment) throws(HostShimError) {
        do {
            netlink = try RouteNetlink()
        } catch {
            throw .netlink(error)
        }
        self.environment = environment
    }

    /// Checks the request against the namespace and plans the files; changes nothing.
    public func plan(_ request: HostShimRequest) throws(HostShimError) -> HostShimPlan {
        try HostShims.plan(request, netlink: netlink, environment: environment)
    }

    /// Creates the planned shim (and its files) and records it.
    public func create(_ plan: HostShimPlan) throws(HostShimError) -> Link {
        let link = try HostShims.create(plan, netlink: netlink, environment: environment)
        return Link(name: link.name, mac: link.mac, isUp: link.isUp)
    }

    /// Checks a VLAN device request and plans its files; changes nothing.
    public func plan(_ request: HostVLANRequest) throws(HostShimError) -> HostShimPlan {
        try HostShims.plan(request, netlink: netlink, environment: environment)
    }

    /// The record of the shim named `name` (default for `device`) made in this namespace; with
    /// `vlanID`, of that VLAN device (default name `DEV.N`).
    public func findRecord(device: String, name: String?, vlanID: Int? = nil) throws(HostShimError) -> HostShimRecord {
        try HostShims.findRecord(device: device, name: name, vlanID: vlanID, netlink: netlink, environment: environment)
    }

    /// Removes the recorded shim and its files; one line per thing done.
    public func remove(_ record: HostShimRecord) throws(HostShimError) -> [String] {
        try HostShims.remove(record, netlink: netlink, environment: environment)
    }
}
