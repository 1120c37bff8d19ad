import ArgumentParser
import MacvtapKit

struct SetLink: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set-link",
        abstract: "Take a macvtap NIC's link down or bring it up, and confirm it in the domain XML.",
        discussion: """
            Sets <link state='up|down'/> on the NIC with virDomainUpdateDeviceFlags (what `virsh \
            domif-setlink` does), in each copy asked for, then reads that copy back. Down: the \
            guest sees its NIC lose carrier and the macvtap carries nothing; the NIC stays in \
            the domain.

            Exit codes: 0 done and shown by the XML; 1 refused (no such NIC, domain not running \
            for --live); 2 usage; 3 libvirt error; 4 libvirt accepted it but the XML does not \
            show it.

            Examples:
              virt-macvtap set-link vm1 --mac 52:54:00:12:34:56 down
              virt-macvtap set-link vm1 --target macvtap0 up --live --config
              virt-macvtap set-link web01 --alias ua-uplink down --config
            """
    )

    @Argument(help: "Domain name, UUID or id.")
    var domain: String

    @Argument(help: ArgumentHelp("The new link state.", valueName: "up|down"))
    var state: LinkState

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var nic: NICSelectionOptions
    @OptionGroup var scope: ScopeFlags

    @Option(name: .long, help: "Output format.")
    var format: LiveOutputFormat = .text

    func run() throws {
        let session = try connection.open(readOnly: false)
        let report = try session.setLink(
            SetLinkRequest(domain: domain, selector: nic.selector, state: state, copies: try scope.copies()))
        try finish(report, format: format, what: "set-link \(state)")
    }
}
