import ArgumentParser
import MacvtapKit

struct ChangeMode: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "change-mode",
        abstract: "Move a macvtap NIC to another mode (vepa, bridge, private, passthrough), keeping its MAC and PCI address.",
        discussion: """
            libvirt cannot change a direct NIC's mode in a running domain ("unable to change \
            config on 'direct' network type"). For the running domain this command detaches \
            the NIC, waits until the guest has released it, and attaches it again with the new \
            mode and the same MAC, model, user alias and PCI address; if that attach fails, it \
            puts the old NIC back and lists each step. The persistent definition is rewritten in \
            place. The checks attach runs (passthrough exclusivity, mixed modes on the device) \
            run first, against the domain with the new mode. The guest sees a short unplug. \
            --vlan N also moves the NIC to the VLAN device DEV.N of its device (the same \
            replug), after the checks have found DEV.N on the host.

            Exit codes: 0 done and shown by the XML; 1 refused by the checks; 2 usage; 3 libvirt \
            error (the old NIC is back); 4 a step is not confirmed by the domain XML.

            Examples:
              virt-macvtap change-mode vm1 --mac 52:54:00:12:34:56 --mode bridge
              virt-macvtap change-mode vm1 --target macvtap0 --mode private --live --config
              virt-macvtap change-mode web01 --alias ua-uplink --mode vepa --config
              virt-macvtap change-mode vm1 --mac 52:54:00:12:34:56 --mode bridge --vlan 15
            """
    )

    @Argument(help: "Domain name, UUID or id.")
    var domain: String

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var nic: NICSelectionOptions

    @Option(name: .long, help: ArgumentHelp("The new macvtap mode.", valueName: "vepa|bridge|private|passthrough"))
    var mode: MacvtapMode

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Also move the NIC into this 802.1Q VLAN: its source becomes DEV.N of its device (eth0 or eth0.10 → eth0.15), which must exist on the host (virt-macvtap host-vlan DEV N).",
            valueName: "N"))
    var vlan: VLANID?

    @OptionGroup var scope: ScopeFlags

    @Option(name: .long, help: "Seconds to wait for the guest to release the NIC.")
    var timeout = Seconds(10)

    @Option(name: .long, help: "Output format.")
    var format: LiveOutputFormat = .text

    func run() throws {
        let session = try connection.open(readOnly: false, receivesEvents: true)
        let linter = attachLinter()
        let report = try session.changeMode(
            ChangeModeRequest(
                domain: domain, selector: nic.selector, mode: mode, vlan: vlan?.value, copies: try scope.copies(),
                timeout: timeout.duration),
            linter: linter)
        try finish(report, format: format, what: "change-mode to \(mode)")
    }
}
