/// The macvtap mode of a direct interface (`<source mode=…>`): who can reach whom.
public enum MacvtapMode: String, CaseIterable, Sendable, Codable, CustomStringConvertible {
    case vepa
    case bridge
    case `private`
    case passthrough

    /// What libvirt uses when `<source>` has no `mode` attribute.
    public static let libvirtDefault: MacvtapMode = .vepa

    /// Parses libvirt's spelling exactly (case-sensitive, as libvirt is).
    public init?(libvirtName: String) {
        self.init(rawValue: libvirtName)
    }

    public var description: String { rawValue }

    /// The name `ip -d link` shows for this mode (`macvtap mode passthru`).
    public var kernelName: String {
        self == .passthrough ? "passthru" : rawValue
    }

    /// One sentence on reachability, used in help text and lint advice.
    public var reachability: String {
        switch self {
        case .vepa:
            "every frame goes out to the switch; guests on the same device reach each other only if the "
                + "switch port reflects frames back (hairpin / reflective relay)"
        case .bridge:
            "guests in bridge mode on the same device reach each other directly inside the host; "
                + "everything else goes out to the LAN"
        case .private:
            "guests on the same device never reach each other, not even through a hairpin switch; "
                + "only the LAN beyond the device is reachable"
        case .passthrough:
            "one guest owns the device (typically an SR-IOV VF): it takes the guest's MAC and goes "
                + "promiscuous, and no other macvtap may share it"
        }
    }
}
