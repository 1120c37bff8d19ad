/// The kernel's rules for interface names (dev_valid_name).
package enum LinuxInterfaceName {
    /// The device an interface name refers to when the kernel looks it up by ioctl: an IP alias
    /// label `eth0:1` resolves to `eth0` (libvirt starts a macvtap on `eth0:1` as on `eth0`).
    package static func device(of name: String) -> String {
        guard let colon = name.firstIndex(of: ":"), colon != name.startIndex else { return name }
        return String(name[..<colon])
    }

    package static func problem(with name: String) -> String? {
        if name.isEmpty { return "is empty" }
        if name.utf8.count > 15 { return "is \(name.utf8.count) bytes; Linux interface names have at most 15" }
        if name == "." || name == ".." { return "is not a valid interface name" }
        if name.contains("/") { return "contains '/'" }
        if name.contains(where: \.isWhitespace) { return "contains whitespace" }
        if name.contains(":") { return "contains ':'" }
        return nil
    }

    /// The VLAN device a guest in VLAN `vlan` of `device` sits on: `eth0` and 15 → `eth0.15` (the
    /// name `ip link add link eth0 name eth0.15 type vlan id 15` and every network stack use), or
    /// nil when that name would pass the kernel's 15 bytes; `vlanFallbackName` is then the one to
    /// give the VLAN device instead.
    package static func vlanDevice(of device: String, vlan: Int) -> String? {
        let name = "\(device).\(vlan)"
        return name.utf8.count <= 15 ? name : nil
    }

    /// A VLAN device's parts: `eth0.15` → (`eth0`, 15); any other name → (itself, nil). The
    /// naming every network stack uses for 802.1Q devices (ids 1–4094).
    package static func vlanParts(of name: String) -> (device: String, vlan: Int?) {
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex, let vlan = Int(name[name.index(after: dot)...]), (1...4094).contains(vlan)
        else { return (name, nil) }
        return (String(name[..<dot]), vlan)
    }

    /// A VLAN device name that always fits: `vlan15` (the kernel's own VLAN_NAME_TYPE_PLUS_VID_NO_PAD).
    package static func vlanFallbackName(vlan: Int) -> String { "vlan\(vlan)" }
}
