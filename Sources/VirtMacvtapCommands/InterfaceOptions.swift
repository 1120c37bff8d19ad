import ArgumentParser
import MacvtapKit

/// The options that describe one direct interface; shared by `generate` and `edit --add-direct`.
struct InterfaceOptions: ParsableArguments {
    @Option(name: .long, help: "Host network device the macvtap sits on (the lower device), e.g. eth0.")
    var source: String?

    @Option(name: .long, help: "MAC address; default: a random free one under 52:54:00.")
    var mac: MACAddress?

    @OptionGroup var shape: InterfaceShapeOptions

    func spec() throws -> DirectInterfaceSpec {
        guard let source else {
            throw ValidationError("--source is required: name the host device, e.g. --source eth0")
        }
        return shape.spec(source: source, mac: mac)
    }

    func validate() throws {
        if let source { _ = try shape.sourceDevice(for: source, vlan: shape.vlan) }
    }

    var target: String? { shape.target }
    var alias: String? { shape.alias }
}

/// Everything about a direct interface except where it sits and its MAC (which `attach` takes
/// in its own forms: several --source, --mac auto).
struct InterfaceShapeOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "macvtap mode (libvirt's default is vepa).",
            discussion: MacvtapMode.allCases.map { "\($0): \($0.reachability)." }.joined(separator: "\n"),
            valueName: "vepa|bridge|private|passthrough"))
    var mode: MacvtapMode = .libvirtDefault

    @Option(name: .long, help: "Guest NIC model.")
    var model: String = "virtio"

    @Option(name: .long, help: "Host-side macvtap name (default: libvirt picks macvtapN).")
    var target: String?

    @Option(name: .long, help: "User alias; must start with 'ua-'.")
    var alias: String?

    @Flag(name: .long, help: "Let the guest change the host-side MAC filter (trustGuestRxFilters='yes').")
    var trustGuestRxFilters = false

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Put the guest in this 802.1Q VLAN: the source becomes the VLAN device DEV.N (eth0 --vlan 15 → eth0.15), which must exist on the host (virt-macvtap host-vlan DEV N makes it; lint -c checks it). libvirt's own <vlan> works on direct interfaces only in passthrough mode on an SR-IOV VF.",
            valueName: "N"))
    var vlan: VLANID?

    /// The source device for `source`: itself, or its VLAN device with --vlan.
    func sourceDevice(for source: String, vlan: VLANID?) throws -> String {
        guard let vlan else { return source }
        guard !source.isEmpty else { return source }
        guard let device = LinuxInterfaceName.vlanDevice(of: source, vlan: vlan.value) else {
            throw ValidationError(
                "--vlan \(vlan.value) on \(source): '\(source).\(vlan.value)' would pass the kernel's 15 bytes for an interface name; "
                    + "create the VLAN device under a shorter name (virt-macvtap host-vlan \(source) \(vlan.value) --name \(LinuxInterfaceName.vlanFallbackName(vlan: vlan.value))) "
                    + "and give it as --source \(LinuxInterfaceName.vlanFallbackName(vlan: vlan.value)) without --vlan")
        }
        return device
    }

    func spec(source: String, mac: MACAddress?) -> DirectInterfaceSpec {
        DirectInterfaceSpec(
            sourceDevice: (try? sourceDevice(for: source, vlan: vlan)) ?? source, mode: mode, mac: mac, model: model, targetDevice: target,
            alias: alias, trustGuestRxFilters: trustGuestRxFilters)
    }
}

extension InterfaceSpecError {
    /// The problem in the command line's words: the option the value was given with.
    var commandLineDescription: String {
        let option: String =
            switch field {
            case .sourceDevice: "--source"
            case .targetDevice: "--target"
            case .model: "--model"
            case .alias: "--alias"
            case .mac: "--mac"
            case .network: "--network"
            case .portgroup: "--portgroup"
            case .networkName: "the network name"
            case .poolDevice: "--dev"
            case .physicalFunction: "--pf"
            }
        return describe(as: option)
    }
}
